"""What the provider tests share: a lab hook that records what a simulator brought up."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from onramp.csp.simulator import CloudPeer


@dataclass
class RecordingHook:
    """A LabHook that keeps what it was told, in order: ("up" | "down", peer)."""

    events: list[tuple[str, CloudPeer]] = field(default_factory=list)

    def up(self, peer: CloudPeer) -> None:
        self.events.append(("up", peer))

    def down(self, peer: CloudPeer) -> None:
        self.events.append(("down", peer))


@pytest.fixture
def hook() -> RecordingHook:
    return RecordingHook()


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's retries as configured, without their backoff sleeps (tests count attempts)."""
    import botocore.endpoint

    monkeypatch.setattr(botocore.endpoint.time, "sleep", lambda _: None)
