"""One reading of a router's BGP sessions (validation/sessions.bgp_sessions -> BgpSession):
the gate and monitoring read it through the NAPALM driver (validation/collect.sessions), the
lab's status from vtysh; on outputs recorded from lab routers they see the same sessions,
in the states NAPALM's own getter reports."""

from __future__ import annotations

import json

import pytest

from onramp.core.shapes import BgpSession
from onramp.validation.collect import NapalmDevice
from onramp.validation.parsers.frr import ShowBgpVrfAllSummary
from onramp.validation.sessions import bgp_sessions
from tests.napalm_frr.recorded import DATA, RecordedFRR, file_name

SUMMARY = "vtysh -c 'show bgp vrf all summary json'"
CASES = sorted(p.name for p in DATA.iterdir() if (p / file_name(SUMMARY)).exists())
# what `onramp lab status --json` showed per session before the reading was shared: its
# keys stay, in their order; prefixes_sent (a drain's quiesce) and connections_dropped (the
# gate's flap check) come last
LAB_KEYS = ["vrf", "neighbor", "remote_as", "description", "state", "uptime", "prefixes_received"]


def recorded(case: str) -> str:
    return (DATA / case / file_name(SUMMARY)).read_text()


@pytest.mark.parametrize("case", CASES)
def test_the_napalm_path_reads_what_vtysh_reads(case: str) -> None:
    through_napalm = ShowBgpVrfAllSummary(
        device=NapalmDevice(RecordedFRR(case=DATA / case))
    ).parse()
    assert through_napalm["sessions"] == bgp_sessions(recorded(case))


@pytest.mark.parametrize("case", CASES)
def test_states_are_those_napalm_reports(case: str) -> None:
    """Monitoring read NAPALM's get_bgp_neighbors_detail before; the shared reading gives
    every session the same state (FRR's summary names the default VRF `default`)."""
    detail = RecordedFRR(case=DATA / case).get_bgp_neighbors_detail()
    napalm = {("default" if vrf == "global" else vrf, p["remote_address"]): p["connection_state"]
              for vrf, per_as in detail.items() for peers in per_as.values() for p in peers}  # fmt: skip
    ours = {(s["vrf"], s["neighbor"]): s["state"] for s in bgp_sessions(recorded(case))}
    assert ours == napalm
    assert "Connect" in ours.values() or case != "pe-vrf-session-down"  # a down one is there


def test_a_session_as_the_lab_status_shows_it() -> None:
    sessions = bgp_sessions(recorded("p-route-reflector"))
    assert sessions and all(
        list(s) == [*LAB_KEYS, "prefixes_sent", "connections_dropped"] for s in sessions
    )
    one: BgpSession = sessions[0]
    assert set(one["prefixes_received"]) == {"ipv4_unicast", "vpnv4"}


@pytest.mark.parametrize("case", CASES)
def test_prefixes_received_and_sent_per_family_are_frrs(case: str) -> None:
    """The counts a gate (received) and a drain's quiesce (sent, onramp.flow.orchestrate)
    judge by: FRR's pfxRcd and pfxSnt, per session and address family."""
    raw = json.loads(recorded(case))
    frr = {(vrf, fam, addr): (p["pfxRcd"], p["pfxSnt"])
           for vrf, fams in raw.items() for fam, t in fams.items() if isinstance(t, dict)
           for addr, p in t.get("peers", {}).items()}  # fmt: skip
    ours = {(s["vrf"], fam, s["neighbor"]): (n, s["prefixes_sent"][fam])
            for s in bgp_sessions(recorded(case)) for fam, n in s["prefixes_received"].items()}  # fmt: skip
    assert len(ours) == len(frr) and sorted(ours.values()) == sorted(frr.values())


def test_no_answer_is_no_session() -> None:
    assert bgp_sessions("") == []
    assert bgp_sessions('{"c9": {}}') == []
