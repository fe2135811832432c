"""Recorded router outputs, one directory per case: every command the driver sent, its
output in a file of its own, and its exit status in `commands.json`.

`python -m tests.napalm_frr.recorded CASE HOST KEY_FILE [getter ...]` records a case from a
live router (a lab router: `onramp lab up`); `RecordedFRR` replays it offline.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

from napalm_frr import FRRDriver
from onramp.core.settings import ROOT

DATA = Path(__file__).parent / "mocked_data"
GETTERS: dict[str, tuple[str, dict[str, Any]]] = {
    "get_facts": ("get_facts", {}),
    "get_interfaces": ("get_interfaces", {}),
    "get_interfaces_ip": ("get_interfaces_ip", {}),
    "get_interfaces_counters": ("get_interfaces_counters", {}),
    "get_bgp_neighbors": ("get_bgp_neighbors", {}),
    "get_bgp_neighbors_detail": ("get_bgp_neighbors_detail", {}),
    "get_config": ("get_config", {"sanitized": True}),
    "get_lldp_neighbors": ("get_lldp_neighbors", {}),
    "ping_loopback": ("ping", {"destination": "10.255.0.11", "count": 3}),
    "ping_vrf": ("ping", {"destination": "169.254.64.2", "vrf": "c1", "count": 3}),
    "ping_unreachable": ("ping", {"destination": "10.255.9.9", "count": 2, "timeout": 1}),
}


def file_name(command: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", command.lower()).strip("_")[:60]
    return f"{slug}_{hashlib.sha1(command.encode()).hexdigest()[:8]}.txt"


class RecordedFRR(FRRDriver):
    """The driver with every command answered from a case directory; an unknown command
    fails the test naming it."""

    def __init__(self, case: Path) -> None:
        super().__init__("recorded", "root", "", optional_args={"vrf_exec": "ip netns exec {vrf}"})
        self.case = case
        self.index: dict[str, int] = json.loads((case / "commands.json").read_text())

    def open(self) -> None:
        return None

    def _run(self, command: str, stdin: str | None = None, check: bool = True) -> str:
        if command not in self.index:
            raise AssertionError(f"{self.case.name}: no recorded output for {command!r}")
        self._last_status = self.index[command]
        return (self.case / file_name(command)).read_text()


def record(case: str, host: str, key_file: str, getters: list[str]) -> None:
    out = DATA / case
    out.mkdir(parents=True, exist_ok=True)
    index: dict[str, int] = {}
    dev = FRRDriver(
        host,
        "root",
        "",
        optional_args={
            "key_file": key_file,
            "vrf_exec": "ip netns exec {vrf}",
            "known_hosts": str(ROOT / "var" / "known_hosts"),  # the default lab's (inventory/)
        },
    )
    real_run = dev._run

    def recording(command: str, stdin: str | None = None, check: bool = True) -> str:
        text = real_run(command, stdin, check=False)
        index[command] = dev._last_status
        (out / file_name(command)).write_text(text)
        if check and dev._last_status != 0:
            raise RuntimeError(f"{command}: exit {dev._last_status}")
        return text

    dev._run = recording  # type: ignore[method-assign]
    dev.open()
    expected = {}
    for name in getters:
        method, kwargs = GETTERS[name]
        expected[name] = getattr(dev, method)(**kwargs)
    dev.close()
    (out / "commands.json").write_text(json.dumps(index, indent=1, sort_keys=True))
    (out / "expected_result.json").write_text(json.dumps(expected, indent=1, sort_keys=True))


if __name__ == "__main__":
    record(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:] or list(GETTERS))
