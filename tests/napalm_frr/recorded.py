"""Recorded router outputs, in napalm's test layout.

- `mocked_data/<case>/`: what one router answered, once per case: every command the driver
  sent, its output in a file of its own, its exit status in `commands.json`.
- `mocked_data/<test>/<case>/expected_result.json`: what a getter returned then. `<test>`
  is the name of napalm's own test (`test_get_facts`, ...: napalm.base.test.getters'
  BaseTestGetters runs those, see test_napalm_suite.py) or one of ours (`ping_vrf`, ...).
  napalm's suite asks for fixed arguments (8.8.8.8, 1.0.4.0/24, VRF `TEST`) that a lab
  has not (and may not send traffic to): `substitute.json` beside the expected result
  maps each to the lab's own, in the commands sent and replayed.

`python -m tests.napalm_frr.recorded CASE HOST KEY_FILE [test ...]` records a case from a
live router (a lab router: `onramp lab up`, under the lab lock); `RecordedFRR` replays it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

from napalm.base.test.double import BaseTestDouble
from napalm.base.test.getters import BaseTestGetters

from napalm_frr import FRRDriver
from onramp.core.settings import ROOT

DATA = Path(__file__).parent / "mocked_data"
# napalm's suite tests the driver answers (the others raise NotImplementedError: skipped)
SUITE = [
    "test_is_alive",
    "test_get_facts",
    "test_get_interfaces",
    "test_get_interfaces_ip",
    "test_get_interfaces_counters",
    "test_get_bgp_neighbors",
    "test_get_bgp_neighbors_detail",
    "test_get_bgp_config",
    "test_get_config",
    "test_get_config_filtered",
    "test_get_config_sanitized",
    "test_get_config_sanitized_filtered",
    "test_get_network_instances",
    "test_get_route_to",
    "test_get_route_to_longer",
    "test_get_arp_table",
    "test_get_arp_table_with_vrf",
    "test_ping",
    "test_traceroute",
    "test_get_environment",
]
# our own calls, with the lab's arguments
OWN: dict[str, tuple[str, dict[str, Any]]] = {
    "ping_loopback": ("ping", {"destination": "10.255.0.11", "count": 3}),
    "ping_vrf": ("ping", {"destination": "169.254.64.2", "vrf": "c1", "count": 3}),
    "ping_unreachable": ("ping", {"destination": "10.255.9.9", "count": 2, "timeout": 1}),
}
# napalm's fixed arguments -> the lab's, per test (pe1-par with the demo's AWS Connector in
# VRF c1: the VPC's LAN 10.100.0.0/24 is a BGP route there; a route reflector's loopback
# is reached across the core)
SUBSTITUTED: dict[str, dict[str, str]] = {
    "test_ping": {"8.8.8.8": "10.255.0.12"},
    "test_traceroute": {"8.8.8.8": "10.255.0.12"},
    "test_get_route_to": {"1.0.4.0/24": "10.100.0.0/24"},
    "test_get_route_to_longer": {"1.0.4.0/24": "10.100.0.0/24"},
    "test_get_arp_table_with_vrf": {"TEST": "c1"},
}


def file_name(command: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", command.lower()).strip("_")[:60]
    return f"{slug}_{hashlib.sha1(command.encode()).hexdigest()[:8]}.txt"


def cases(test: str) -> list[str]:
    """The cases recorded for one test (napalm's conftest lists the same folders)."""
    folder = DATA / test
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def expected(case: str, test: str) -> Any:
    return json.loads((DATA / test / case / "expected_result.json").read_text())


def substitute(command: str, mapping: dict[str, str]) -> str:
    for suite, lab in mapping.items():
        command = command.replace(suite, lab)
    return command


class Recording(BaseTestDouble):  # type: ignore[misc]
    """One case's answers; napalm's suite sets `current_test` and `current_test_case`
    (its `patched_attrs`) before each test, and reads `expected_result` through
    find_file (mocked_data/<test>/<case>/, beside this module)."""

    def answer(self, command: str) -> tuple[int, str]:
        case = DATA / self.current_test_case
        mapping_file = DATA / self.current_test / self.current_test_case / "substitute.json"
        if mapping_file.exists():
            command = substitute(command, json.loads(mapping_file.read_text()))
        index: dict[str, int] = json.loads((case / "commands.json").read_text())
        if command not in index:
            raise AssertionError(f"{case.name}: no recorded output for {command!r}")
        return index[command], (case / file_name(command)).read_text()


class RecordedFRR(FRRDriver):
    """The driver with every command answered from a case directory; an unknown command
    fails the test naming it. Built as napalm's suite builds a driver, or on one case."""

    def __init__(
        self,
        hostname: str = "recorded",
        username: str = "root",
        password: str = "",
        timeout: int = 60,
        optional_args: dict[str, Any] | None = None,
        case: Path | None = None,
    ) -> None:
        super().__init__(hostname, username, password, timeout,
                         optional_args={"vrf_exec": "ip netns exec {vrf}"})  # fmt: skip
        self.recording = Recording()
        self.patched_attrs = ["recording"]
        if case is not None:
            self.recording.current_test_case = case.name

    def open(self) -> None:
        return None

    def is_alive(self) -> dict[str, bool]:
        return {"is_alive": True}  # a replay stands for an open session

    def _run(self, command: str, stdin: str | None = None, check: bool = True) -> str:
        self._last_status, text = self.recording.answer(command)
        return text


class _Suite:
    """napalm's test methods need only `device`."""

    def __init__(self, device: FRRDriver) -> None:
        self.device = device


def record(case: str, host: str, key_file: str, tests: list[str]) -> None:
    out = DATA / case
    out.mkdir(parents=True, exist_ok=True)
    index_file = out / "commands.json"
    index: dict[str, int] = json.loads(index_file.read_text()) if index_file.exists() else {}
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
    mapping: dict[str, str] = {}

    answered: dict[str, str] = {}

    def recording(command: str, stdin: str | None = None, check: bool = True) -> str:
        command = substitute(command, mapping)
        if command in answered:
            # one snapshot per run: a replay answers a command the same each time (napalm's
            # counters test asks twice; a second, newer answer would not match the first)
            dev._last_status, text = index[command], answered[command]
        else:
            text = answered[command] = real_run(command, stdin, check=False)
            index[command] = dev._last_status
            (out / file_name(command)).write_text(text)
        if check and dev._last_status != 0:
            raise RuntimeError(f"{command}: exit {dev._last_status}")
        return text

    dev._run = recording  # type: ignore[method-assign]
    dev.open()
    try:
        for test in tests:
            mapping.clear()
            mapping.update(SUBSTITUTED.get(test, {}))
            if test in OWN:
                method, kwargs = OWN[test]
                result = getattr(dev, method)(**kwargs)
            else:
                # the suite's own test body, its checks included, on the live router
                body = getattr(BaseTestGetters, test).__wrapped__
                try:
                    result = body(_Suite(dev), case)
                except NotImplementedError:
                    print(f"{test}: not implemented, skipped")
                    continue
                except Exception as exc:  # the outputs stay recorded, to fix the parser offline
                    print(f"{test}: FAILED {exc!r}")
                    continue
            folder = DATA / test / case
            folder.mkdir(parents=True, exist_ok=True)
            text = json.dumps(result, indent=1, sort_keys=True)
            (folder / "expected_result.json").write_text(text + "\n")
            if mapping:
                (folder / "substitute.json").write_text(json.dumps(mapping, indent=1) + "\n")
            print(f"{test}: recorded")
    finally:
        dev.close()
        index_file.write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    record(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:] or [*SUITE, *OWN])
