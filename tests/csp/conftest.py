"""What the provider tests share: a lab hook that records what a simulator brought up; a
Service on the default inventory for the orchestration's tests without a lab."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from onramp.core.secrets import Vault
from onramp.core.settings import ROOT, load_settings
from onramp.core.store import Store, TenantRow
from onramp.csp.simulator import CloudPeer
from onramp.flow.service import Service
from onramp.network.inventory import load

BB = load(ROOT / "inventory")


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


@pytest.fixture
def svc(tmp_path: Path) -> Service:
    """The default inventory, a new SQLite store, tenant `acme`."""
    store = Store(f"sqlite:///{tmp_path / 'o.db'}")
    store.migrate()
    with store.session() as s:
        s.add(TenantRow(id="acme", name="Acme"))
    return Service(load_settings(), store, BB, Vault(tmp_path / "k"))
