"""The edge choice from the network's state: which PEs may carry a new leg, and in which
order, with the reason for each (`EdgeChoice`). Pure: a topology in, a ranking out; the
topology is read by onramp.flow.topology, the ranking is used by onramp.flow.allocate.

Excluded, in this order of reasons: unreachable over SSH, a daemon down (unhealthy),
isolated from the route reflectors (no two-way IGP path from any), the IS-IS overload bit,
no iBGP session to a route reflector Established (isolated too). The rest are scored by
config.yaml `topology.weights`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from onramp.core.settings import EdgeWeights
from onramp.core.shapes import EdgeChoice, IgpNode, TopologyView

if TYPE_CHECKING:  # imported where a graph is built or searched: networkx is ~70 ms of
    import networkx as nx  # every CLI command's start-up otherwise (issue 23)

DAEMONS = ("zebra", "isisd", "bgpd")  # what a PE needs to carry a Connector


def graph(nodes: dict[str, IgpNode], without: Iterable[str] = ()) -> nx.DiGraph:
    """The IGP graph as SPF sees it: an adjacency counts only when both ends announce it
    (a router whose links went down still has its old LSP in the others' databases);
    `without`: routers ("pe1-lon") or links ("pe1-lon--p1-par") taken out."""
    import networkx as nx

    gone = set(without)
    g = nx.DiGraph()
    g.add_nodes_from(n for n in nodes if n not in gone)
    for a, node in nodes.items():
        for b, metric in node["neighbors"].items():
            if a in gone or b in gone or f"{a}--{b}" in gone or f"{b}--{a}" in gone:
                continue
            if a in nodes.get(b, {"neighbors": {}})["neighbors"]:
                g.add_edge(a, b, weight=metric)
    return g


def reaches(g: nx.DiGraph, router: str, rrs: Iterable[str]) -> bool:
    """Whether some route reflector's SPF reaches `router` (edges count only two-way)."""
    import networkx as nx

    return router in g and any(rr in g and nx.has_path(g, rr, router) for rr in rrs)


def exclusion(topo: TopologyView, g: nx.DiGraph, router: str, rrs: list[str]) -> str | None:
    """Why `router` must not get a new leg now; None: it may."""
    h = topo["health"].get(router)
    if h is None or not h["reachable"]:
        return f"unreachable: {h['error'] if h else 'not read'}"
    if down := [d for d in DAEMONS if not h["daemons"].get(d, False)]:
        return f"unhealthy: {', '.join(down)} down"
    # isolated before overloaded: the LSP of a router SPF cannot reach is stale, its bit moot
    if not reaches(g, router, rrs):
        return "isolated: no IGP path to a route reflector"
    if topo["nodes"].get(router, {"overload": False})["overload"]:
        return "overloaded: IS-IS overload bit set"
    if not any(h["rr_sessions"].get(rr) == "Established" for rr in rrs_loopbacks(topo, rrs)):
        return "isolated: no iBGP session to a route reflector Established"
    return None


def rrs_loopbacks(topo: TopologyView, rrs: list[str]) -> list[str]:
    return [topo["nodes"][r]["router_id"] for r in rrs if r in topo["nodes"]]


def shares_failure(g: nx.DiGraph, a: str, b: str, rrs: list[str]) -> bool:
    """Whether one core router's failure cuts both `a` and `b` off every route reflector."""
    for x in g.nodes:
        if x in (a, b) or (x in rrs and len(rrs) == 1):
            continue
        h = g.subgraph(n for n in g.nodes if n != x)
        alive = [r for r in rrs if r != x]
        if not reaches(h, a, alive) and not reaches(h, b, alive):
            return True
    return False


@dataclass(frozen=True)
class Port:
    """A candidate port as the allocation sees it."""

    router: str
    port: str
    speed_mbps: int
    used_mbps: int


def rank(
    ports: list[Port],
    role: str,
    bandwidth_mbps: int,
    topo: TopologyView,
    weights: EdgeWeights,
    rrs: list[str],
    peers: list[str],  # routers of the tenant's other Connectors
    primary: str | None = None,  # the secondary's leg: the router the primary took
    g: nx.DiGraph | None = None,
) -> list[EdgeChoice]:
    """Every port of `role`: excluded with a reason, or scored; usable ones first, best first."""
    import networkx as nx

    g = graph(topo["nodes"]) if g is None else g
    costs: dict[str, float] = {}
    out: list[EdgeChoice] = []
    for p in ports:
        why = exclusion(topo, g, p.router, rrs)
        if why is None and primary == p.router:
            why = "same PE as the primary leg"
        if why is None and p.used_mbps + bandwidth_mbps > p.speed_mbps:
            why = f"port full: {p.used_mbps}/{p.speed_mbps} Mb/s used"
        if why is not None:
            out.append({"role": role, "router": p.router, "port": p.port, "score": None,
                        "terms": {}, "excluded": why, "chosen": False})  # fmt: skip
            continue
        if p.router not in costs:
            dist = nx.single_source_dijkstra_path_length(g, p.router) if peers else {}
            reach = [dist[x] for x in peers if x in dist]
            costs[p.router] = sum(reach) / len(reach) if reach else 0.0
        terms = {
            "igp": costs[p.router],
            "load": float(topo["load"].get(p.router, {"connectors": 0})["connectors"]),
            "headroom": (p.used_mbps + bandwidth_mbps) / p.speed_mbps,
            "shared_failure": float(
                primary is not None and shares_failure(g, primary, p.router, rrs)
            ),
        }
        score = sum(v * getattr(weights, k) for k, v in terms.items())
        out.append({"role": role, "router": p.router, "port": p.port, "score": round(score, 3),
                    "terms": terms, "excluded": None, "chosen": False})  # fmt: skip
    return sorted(
        out, key=lambda c: (c["score"] is None, c["score"] or 0.0, c["router"], c["port"])
    )
