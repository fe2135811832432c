"""The edge ranking on recorded IS-IS databases (tests/validation/recorded/): exclusions
with their reason, a secondary kept off the primary's PE, and the database merged from
every router's copy (the freshest LSP of each router)."""

from __future__ import annotations

from onramp.core.settings import EdgeWeights
from onramp.core.shapes import TopologyView
from onramp.flow.edges import Port, exclusion, graph, rank
from onramp.flow.topology import freshest

from . import recorded

RRS = ["p1", "p2"]
TED_RRS = ["p1-fra", "p1-par"]


def topology() -> TopologyView:
    return recorded.topology("twelve", RRS)


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


def test_a_stale_overload_bit_of_a_cut_off_pe_reads_isolated() -> None:
    """p1-par's copy after pe1-lon's core links went down: pe1-lon's last LSP there still
    has the overload bit (cleared since, unable to flood) and its old adjacencies; the
    route reflectors' own LSPs no longer list pe1-lon. Was "overloaded" (issue 24)."""
    topo = recorded.healthy(recorded.copies("isolated")["p1-par"], TED_RRS)
    assert topo["nodes"]["pe1-lon"]["overload"]  # the stale bit is in this copy
    why = exclusion(topo, graph(topo["nodes"]), "pe1-lon", TED_RRS)
    assert why == "isolated: no IGP path to a route reflector"


def test_the_freshest_lsp_of_each_router_wins() -> None:
    """Merged from p1-par's copy and pe1-lon's own: pe1-lon as it says it is now (bit
    cleared, no adjacency); the others as p1-par has them, which are no older."""
    dbs = recorded.copies("isolated")
    merged = freshest(dbs.values())["nodes"]
    own = dbs["pe1-lon"]["nodes"]["pe1-lon"]
    assert merged["pe1-lon"] == own
    assert own["seq"] > dbs["p1-par"]["nodes"]["pe1-lon"]["seq"]
    assert not own["overload"] and own["neighbors"] == {}
    for name in ("p1-par", "p1-fra", "pe2-lon"):
        assert merged[name] == dbs["p1-par"]["nodes"][name]
    topo = recorded.healthy({"nodes": merged}, TED_RRS)
    why = exclusion(topo, graph(merged), "pe1-lon", TED_RRS)
    assert why == "isolated: no IGP path to a route reflector"
