"""The FRR parsers (Genie's shape, onramp.core.shapes' BgpSession) on outputs recorded from
lab routers, and the pyATS gate judging them: passes what is right, fails with a readable
finding for each thing wrong, and as a standalone testscript exits non-zero when a test
fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from onramp.core.shapes import BgpRoute, BgpSession
from onramp.validation.bgp_gate import Evidence, by_peer, run
from onramp.validation.parsers.frr import ShowBgpVrfAllSummary, ShowBgpVrfRoutes

RECORDED = Path(__file__).parent / "recorded" / "bgp"
PEER = "169.254.64.2"


def summary(case: str) -> list[BgpSession]:
    text = (RECORDED / case / "pe1-par" / "show_bgp_vrf_all_summary_json.txt").read_text()
    return ShowBgpVrfAllSummary(device=None).parse(output=text)["sessions"]  # type: ignore[no-any-return]


def accepted(case: str) -> dict[str, BgpRoute]:
    name = f"show_bgp_vrf_c1_ipv4_unicast_neighbors_{PEER}_routes_json.txt"
    text = (RECORDED / case / "pe1-par" / name).read_text()
    return ShowBgpVrfRoutes(device=None).parse(vrf="c1", neighbor=PEER, output=text)["vrf"]["c1"][  # type: ignore[no-any-return]
        "routes"
    ]


def test_summary_parser_normalizes_every_vrf_and_family() -> None:
    up, down = by_peer(summary("established")), by_peer(summary("peer_down"))
    assert {vrf for vrf, _ in up} == {"default", "c1"}
    assert len(up) == len(summary("established"))  # each session once, whatever its families
    session = up[("c1", PEER)]
    assert (session["state"], session["remote_as"], session["connections_dropped"]) == (
        "Established", 64512, 0)  # fmt: skip
    assert session["prefixes_received"] == {"ipv4_unicast": 1}
    ibgp = up[("default", "10.255.0.11")]
    assert set(ibgp["prefixes_received"]) == {"ipv4_unicast", "vpnv4"}
    lost = down[("c1", PEER)]
    assert (lost["state"], lost["connections_dropped"]) == ("Connect", 1)
    assert lost["prefixes_received"]["ipv4_unicast"] == 0


def test_routes_parser_and_schema() -> None:
    assert accepted("established") == {
        "10.100.0.0/24": {"best": True, "as_path": "64512", "next_hop": PEER, "origin": "IGP",
                          "from": PEER},
    }  # fmt: skip
    assert accepted("peer_down") == {}
    broken = '{"default": {"ipv4Unicast": {"peers": {"10.0.0.1": {"remoteAs": "x"}}}}}'
    with pytest.raises(ValueError, match="'x'"):  # an AS that is no number: no session
        ShowBgpVrfAllSummary(device=None).parse(output=broken)


def evidence(after: str, allowed: list[str], **changes: Any) -> Evidence:
    """The change that added c1's session on pe1-par, judged on a recorded after-state."""
    before = [s for s in summary("established") if s["vrf"] != "c1"]  # no VRF c1 before
    ev = Evidence(
        expected={
            "pe1-par": {"c1": {PEER: {"min_prefixes": 1, "max_prefixes": 100, "allowed": allowed}}}
        },
        before={"pe1-par": before},
        after={"pe1-par": summary(after)},
        accepted={"pe1-par": {"c1": {PEER: accepted(after)}}},
    )
    for key, value in changes.items():
        setattr(ev, key, value)
    return ev


def test_gate_passes_the_established_session() -> None:
    verdict = run(evidence("established", ["10.100.0.0/16"]))
    assert verdict.passed and verdict.findings == [] and verdict.result == "passed"


def test_gate_fails_a_session_that_is_down() -> None:
    verdict = run(evidence("peer_down", ["10.100.0.0/16"]))
    assert not verdict.passed
    assert verdict.findings == [
        f"pe1-par vrf c1 {PEER} is Connect, not Established",
        f"pe1-par vrf c1 {PEER}: 0 prefixes, expected 1-100",
    ]


def test_gate_fails_prefixes_outside_the_allowed_ones() -> None:
    verdict = run(evidence("established", ["10.200.0.0/16"]))
    assert verdict.findings == [
        f"pe1-par vrf c1 {PEER}: ['10.100.0.0/24'] not in ['10.200.0.0/16']"
    ]


def test_gate_fails_when_another_session_changed_state() -> None:
    """The change was meant for another neighbor; c1's session went down meanwhile."""
    ev = evidence("peer_down", [], before={"pe1-par": summary("established")})
    ev.expected = {"pe1-par": {"default": {}}}
    verdict = run(ev)
    assert verdict.findings == [f"pe1-par vrf c1 {PEER}: Established -> Connect"]


def test_a_session_that_comes_up_meanwhile_is_no_disturbance() -> None:
    """Another Connector's session was still coming up before the change: up after it is
    fine (only an Established session that goes down, or flaps, is a disturbance)."""
    ev = evidence("established", [], before={"pe1-par": summary("peer_down")})
    ev.expected = {"pe1-par": {"default": {}}}
    assert run(ev).findings == []


def test_gate_fails_a_missing_route_of_a_link() -> None:
    ev = evidence("established", [], present={"pe1-par": {"c1": ["10.100.1.0/24"]}},
                  tables={"pe1-par": {"c1": {"10.100.0.0/24": {}}}})  # fmt: skip
    assert run(ev).findings == ["pe1-par vrf c1: no route to 10.100.1.0/24"]


@pytest.mark.parametrize(("after", "status"), [("established", 0), ("peer_down", 1)])
def test_standalone_testscript_exit_status(tmp_path: Path, after: str, status: int) -> None:
    data = tmp_path / "evidence.json"
    data.write_text(json.dumps(evidence(after, ["10.100.0.0/16"]).as_dict()))
    done = subprocess.run([sys.executable, "-m", "onramp.validation.bgp_gate", str(data)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == status, done.stdout + done.stderr
    assert ("FAILED: pe1-par vrf c1" in done.stdout) == bool(status)


def prefix_change(allowed: list[str], added: list[str], after: str = "established") -> Evidence:
    """A prefix change on c1's live session: up before and after (judged as any other),
    its accepted routes against the new list, the prefixes let in against c1's table."""
    return Evidence(expected={}, before={"pe1-par": summary("established")},
                    after={"pe1-par": summary(after)},
                    accepted={"pe1-par": {"c1": {PEER: accepted(after)}}},
                    tables={"pe1-par": {"c1": accepted(after)}},
                    filters={"pe1-par": {"c1": {PEER: allowed}}},
                    covered={"pe1-par": {"c1": added}} if added else {})  # fmt: skip


def test_a_prefix_change_passes_when_its_routes_are_in_and_the_session_stayed() -> None:
    # the route 10.100.0.0/24 lies inside the prefix let in (an aggregate of it)
    verdict = run(prefix_change(["10.100.0.0/16", "10.9.0.0/24"], ["10.100.0.0/16"]))
    assert verdict.passed, verdict.findings


def test_a_prefix_change_fails_a_prefix_let_in_without_a_route() -> None:
    verdict = run(prefix_change(["10.100.0.0/24", "10.101.0.0/24"], ["10.101.0.0/24"]))
    assert verdict.findings == ["pe1-par vrf c1: no route inside ['10.101.0.0/24']"]


def test_a_prefix_change_fails_a_route_still_accepted_outside_the_new_list() -> None:
    # 10.100.0.0/24 taken out, yet its route still accepted: the filter did not take
    verdict = run(prefix_change(["10.9.0.0/24"], []))
    assert verdict.findings == [
        f"pe1-par vrf c1 {PEER}: accepts ['10.100.0.0/24'], not in ['10.9.0.0/24']"]  # fmt: skip
    verdict = run(prefix_change([], []))  # none allowed: none may be accepted
    assert verdict.findings == [
        f"pe1-par vrf c1 {PEER}: accepts ['10.100.0.0/24'], not in nothing"]  # fmt: skip


def test_a_prefix_change_that_dropped_its_session_fails() -> None:
    verdict = run(prefix_change(["10.100.0.0/24"], [], after="peer_down"))
    assert verdict.findings == [f"pe1-par vrf c1 {PEER}: Established -> Connect"]
