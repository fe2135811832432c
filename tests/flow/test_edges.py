"""The edge ranking on a recorded IS-IS database (tests/validation/recorded/isis/twelve):
exclusions with their reason, and a secondary kept off the primary's PE."""

from __future__ import annotations

from pathlib import Path

from onramp.core.settings import EdgeWeights
from onramp.core.shapes import TopologyView
from onramp.flow.edges import Port, rank
from onramp.validation.parsers.frr import ShowIsisDatabase

CASE = Path(__file__).parent.parent / "validation" / "recorded" / "isis" / "twelve"
RRS = ["p1", "p2"]


def topology() -> TopologyView:
    nodes = ShowIsisDatabase(device=None).parse(
        output=(CASE / "database.txt").read_text(), hostnames=(CASE / "hostname.txt").read_text()
    )["nodes"]
    rr_ids = [nodes[r]["router_id"] for r in RRS]
    return {"source": "recorded", "read_at": "", "age_s": 0.0, "read_s": 0.0, "nodes": nodes,
            "health": {n: {"reachable": True, "daemons": dict.fromkeys(("zebra", "isisd", "bgpd"), True),
                           "rr_sessions": dict.fromkeys(rr_ids, "Established"), "error": ""}
                       for n in nodes},
            "load": {}}  # fmt: skip


def ranked(topo: TopologyView, primary: str | None = None) -> dict[str, str]:
    ports = [Port(r, "eth3", 1000, 0) for r in ("pe1", "pe2", "pe3")]
    out = rank(ports, "single", 100, topo, EdgeWeights(), RRS, [], primary)
    return {e["router"]: e["excluded"] or "usable" for e in out}


def test_each_reason_excludes() -> None:
    topo = topology()
    topo["nodes"]["pe1"]["overload"] = True
    topo["health"]["pe2"]["daemons"]["bgpd"] = False
    topo["health"]["pe3"] = {
        "reachable": False,
        "daemons": {},
        "rr_sessions": {},
        "error": "timeout",
    }
    assert ranked(topo) == {"pe1": "overloaded: IS-IS overload bit set", "pe2": "unhealthy: bgpd down",
                            "pe3": "unreachable: timeout"}  # fmt: skip


def test_one_way_adjacency_isolates() -> None:
    topo = topology()
    for rr in RRS:  # the RRs no longer announce pe1: its own stale LSP is not enough
        del topo["nodes"][rr]["neighbors"]["pe1"]
    assert ranked(topo)["pe1"] == "isolated: no IGP path to a route reflector"


def test_secondary_not_on_the_primarys_pe() -> None:
    assert ranked(topology(), primary="pe1")["pe1"] == "same PE as the primary leg"
