"""The backbone as the network says it is: the IS-IS link-state database and each PE's
health, read over the same NAPALM/SSH path as every change (one Nornir task per router,
in parallel), cached in a file with its time, read again when older than
`topology.max_age_s` (before a plan) and on the workers' schedule (`topology.refresh_s`).

The source is pluggable (`SOURCES`): "isis-ssh" reads each router's own database and
health with its platform's parsers (onramp.validation.parsers.<gate_parser>). BGP-LS
(IOS-XR, Junos) would feed the same IgpDatabase shape; it is not built: this lab has
no BGP-LS speaker to verify it against.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from importlib import import_module
from statistics import median
from typing import Any, cast

import networkx as nx
from napalm.base.exceptions import CommandErrorException
from nornir.core import Nornir
from nornir.core.task import Result, Task
from nornir.plugins.runners import ThreadedRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onramp.core.errors import OnrampError
from onramp.core.model import RELEASED_STATES
from onramp.core.settings import Settings
from onramp.core.shapes import (
    BackboneView,
    Calibration,
    IgpDatabase,
    IgpNode,
    LinkImpact,
    PeHealth,
    PeLoad,
    RouterMark,
    TopologyView,
    WhatIf,
)
from onramp.core.store import (
    AttachmentRow,
    ConnectorRow,
    KpiSampleRow,
    LinkRow,
    PortUsageRow,
    Store,
)
from onramp.flow.edges import graph, reaches
from onramp.network.inventory import Backbone
from onramp.network.inventory.plugin import init_nornir
from onramp.network.platforms import PLATFORMS
from onramp.tasks.config import device
from onramp.tasks.failure import failure

log = logging.getLogger(__name__)


class _Device:
    """What a Genie parser calls: `execute(command)` -> text, over a NAPALM driver; the
    commands `fetch` named are sent together (one SSH exec on FRR) and answered from it."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.answers: dict[str, str] = {}

    def fetch(self, commands: list[str]) -> None:
        if commands:
            self.answers |= {k: str(v) for k, v in self.driver.cli(commands).items()}

    def execute(self, command: str) -> str:
        if command not in self.answers:
            self.fetch([command])
        return self.answers[command]


def _commands(parser: Any) -> list[str]:
    return [parser.cli_command] if isinstance(parser.cli_command, str) else parser.cli_command


def router_state(task: Task) -> Result:
    """One router's daemons, its IS-IS database and its default-VRF BGP sessions, asked
    in one batch; when one fails (a daemon down), the daemons first, then what they allow."""
    platform = PLATFORMS[str(task.host.platform)]
    parsers = import_module(f"onramp.validation.parsers.{platform.gate_parser}")
    dev = _Device(device(task))
    wanted = [(parsers.ShowIsisDatabase, "isisd"), (parsers.ShowBgpVrfAllSummary, "bgpd")]
    try:
        dev.fetch([*_commands(parsers.ShowDaemons), *(c for p, _ in wanted for c in _commands(p))])
    except CommandErrorException:
        dev.answers.clear()
        dev.fetch(_commands(parsers.ShowDaemons))
        up = parsers.ShowDaemons(device=dev).parse()["daemons"]
        dev.fetch([c for p, d in wanted if d in up for c in _commands(p)])
    daemons = parsers.ShowDaemons(device=dev).parse()["daemons"]
    db = parsers.ShowIsisDatabase(device=dev).parse() if "isisd" in daemons else {"nodes": {}}
    sessions = (
        parsers.ShowBgpVrfAllSummary(device=dev).parse()["sessions"] if "bgpd" in daemons else []
    )
    ibgp = {s["neighbor"]: s["state"] for s in sessions if s["vrf"] == "default"}
    return Result(host=task.host, result={"daemons": daemons, "db": db, "ibgp": ibgp})


def route_reflectors(bb: Backbone) -> list[str]:
    """The iBGP route reflectors (`Router.route_reflector`: the P routers unless named)."""
    return sorted(r.name for r in bb.routers.values() if r.route_reflector)


def read_isis_ssh(bb: Backbone, nr: Nornir) -> tuple[IgpDatabase, dict[str, PeHealth]]:
    # every router at once (config.yaml's num_workers may be fewer): the read is waits
    got = nr.with_runner(ThreadedRunner(num_workers=max(1, len(nr.inventory.hosts)))).run(
        task=router_state, on_failed=True
    )
    health: dict[str, PeHealth] = {}
    dbs: dict[str, IgpDatabase] = {}
    for name in bb.routers:
        host = got.get(name)
        if host is None or host.failed:
            why = failure(host[0].exception if host else None, "ONR-DEPLOY-001")[1]
            health[name] = {"reachable": False, "daemons": {}, "rr_sessions": {}, "error": why}
            continue
        r = host[0].result
        health[name] = {"reachable": True, "daemons": {d: True for d in r["daemons"]},
                        "rr_sessions": r["ibgp"], "error": ""}  # fmt: skip
        dbs[name] = r["db"]
    return freshest(dbs.values()), health


def freshest(dbs: Iterable[IgpDatabase]) -> IgpDatabase:
    """One database from every router's copy: each LSP as its highest sequence number has
    it. One router's copy can be stale: a PE whose core links went down cannot flood its
    new LSP, so the route reflectors keep its last one (an overload bit it has cleared
    since, adjacencies it no longer has); its own copy is the newest."""
    nodes: dict[str, IgpNode] = {}
    for db in dbs:
        for name, node in db["nodes"].items():
            if name not in nodes or node["seq"] > nodes[name]["seq"]:
                nodes[name] = node
    return {"nodes": nodes}


def bgp_ls_state(task: Task) -> Result:
    """A BGP-LS speaker's link-state table, by its platform's parser."""
    from onramp.validation.parsers.bgp_ls import PARSERS

    parser = PARSERS[str(task.host.platform)]
    return Result(host=task.host, result=parser(device=_Device(device(task))).parse())


def read_bgp_ls(bb: Backbone, nr: Nornir) -> tuple[IgpDatabase, dict[str, PeHealth]]:
    """The graph from the BGP-LS table of a route reflector that speaks it (the first of
    them that answers); the PEs' health read as isis-ssh reads it (which today only FRR
    answers). Not verified against a live router: nothing here speaks BGP-LS."""
    speakers = [n for n in route_reflectors(bb) if PLATFORMS[bb.routers[n].platform].bgp_ls]
    if not speakers:
        raise OnrampError("ONR-TOPO-002", "route reflectors "
                          + ", ".join(f"{n} ({bb.routers[n].platform})" for n in route_reflectors(bb)))  # fmt: skip
    _, health = read_isis_ssh(bb, nr)
    got = nr.filter(filter_func=lambda h: h.name in speakers).run(task=bgp_ls_state, on_failed=True)
    for name in speakers:
        if name in got and not got[name].failed:
            return cast(IgpDatabase, got[name][0].result), health
    return {"nodes": {}}, health  # none answered: the plan falls back to the inventory


Source = Callable[[Backbone, Nornir], tuple[IgpDatabase, dict[str, PeHealth]]]
SOURCES: dict[str, Source] = {"isis-ssh": read_isis_ssh, "bgp-ls": read_bgp_ls}


def load_of(s: Session, bb: Backbone) -> dict[str, PeLoad]:
    """Per router: Connectors on its on-ramp ports, used and total capacity (the store)."""
    out: dict[str, PeLoad] = {
        r.name: {
            "connectors": 0,
            "used_mbps": 0,
            "capacity_mbps": sum(p.speed_mbps for p in r.onramp_ports),
        }
        for r in bb.routers.values()
    }
    rows = s.execute(
        select(
            PortUsageRow.router,
            func.sum(PortUsageRow.attachments),
            func.sum(PortUsageRow.used_mbps),
        ).group_by(PortUsageRow.router)
    )
    for router, attachments, used in rows:
        if router in out:
            out[router]["connectors"], out[router]["used_mbps"] = int(attachments), int(used)
    return out


def read(settings: Settings, store: Store, bb: Backbone, nr: Nornir | None = None) -> TopologyView:
    """Read the topology from the network now and cache it."""
    started = time.monotonic()
    mine = nr is None
    nr = init_nornir(settings) if nr is None else nr
    try:
        db, health = SOURCES[settings.topology.source](bb, nr)
    finally:
        if mine:
            nr.close_connections()
    with store.session() as s:
        load = load_of(s, bb)
    topo: TopologyView = {"source": settings.topology.source, "read_at": datetime.now(UTC).isoformat(),
                          "age_s": 0.0, "read_s": round(time.monotonic() - started, 3),
                          "nodes": db["nodes"], "health": health, "load": load}  # fmt: skip
    path = settings.topology_cache
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(topo))
    os.replace(tmp, path)  # readers see the old file or the new one, never half of one
    return topo


def cached(settings: Settings) -> TopologyView | None:
    try:
        topo = cast(TopologyView, json.loads(settings.topology_cache.read_text()))
    except (OSError, ValueError):
        return None
    topo["age_s"] = round(
        (datetime.now(UTC) - datetime.fromisoformat(topo["read_at"])).total_seconds(), 1
    )
    return topo


def current(
    settings: Settings, store: Store, bb: Backbone, max_age_s: float | None = None
) -> TopologyView | None:
    """The cached topology if younger than `max_age_s` (default: topology.max_age_s), else
    read anew; None when the source is off. A cached read that got no IS-IS database
    (the lab was down) is read again: the next plan should see the network once it is up."""
    if settings.topology.source == "off":
        return None
    topo = cached(settings)
    limit = settings.topology.max_age_s if max_age_s is None else max_age_s
    if (topo is None or topo["age_s"] > limit or not topo["nodes"]
            or topo["source"] != settings.topology.source):  # fmt: skip
        return read(settings, store, bb)
    with store.session() as s:  # the store's part is cheap: always as it is now
        topo["load"] = load_of(s, bb)
    return topo


# ------------------------------------------------------------------ what-if


def _live_legs(s: Session) -> dict[str, list[str]]:
    """Connector id -> the routers of its legs, for every live Connector."""
    live = [st.value for st in RELEASED_STATES]
    legs: dict[str, list[str]] = {}
    for cid, router in s.execute(
        select(AttachmentRow.connector_id, AttachmentRow.router)
        .join(ConnectorRow)
        .where(ConnectorRow.state.not_in(live))
        .order_by(AttachmentRow.connector_id, AttachmentRow.router)
    ):
        legs.setdefault(cid, []).append(router)
    return legs


def _live_links(s: Session) -> list[LinkRow]:
    live = [st.value for st in RELEASED_STATES]
    return list(s.scalars(select(LinkRow).where(LinkRow.state.not_in(live)).order_by(LinkRow.id)))


def _path_cost(g: nx.DiGraph, a: list[str], b: list[str]) -> float | None:
    """The cheapest IGP path between any leg of one end and any leg of the other (a
    redundant Connector's traffic takes the leg still reachable); None: no path."""
    best: float | None = None
    for x in a:
        if x not in g:
            continue
        dist = nx.single_source_dijkstra_path_length(g, x)
        for y in b:
            if y in dist and (best is None or dist[y] < best):
                best = float(dist[y])
    return best


def calibrate(
    s: Session, g: nx.DiGraph, fallback_ms: float, window: timedelta = timedelta(days=1)
) -> Calibration:
    """Round-trip ms per IGP metric unit, fitted (least squares through 0) to the Links'
    KPI probes of the last `window`: each Link's median latency against its ends' IGP
    cost. No Link with samples and a cost above 0: `fallback_ms` (topology.ms_per_metric)."""
    legs = _live_legs(s)
    since = datetime.now(UTC) - window
    cx = cc = 0.0
    links = samples = 0
    for link in _live_links(s):
        got = [v for v in s.scalars(select(KpiSampleRow.latency_avg_ms).where(
            KpiSampleRow.link_id == link.id, KpiSampleRow.at >= since,
            KpiSampleRow.latency_avg_ms.is_not(None))) if v is not None]  # fmt: skip
        cost = _path_cost(g, legs.get(link.a_id, []), legs.get(link.b_id, []))
        if not got or not cost:
            continue
        latency = median(got)
        cx, cc = cx + cost * latency, cc + cost * cost
        links, samples = links + 1, samples + len(got)
    if not links:
        return {"ms_per_metric": fallback_ms, "source": "config", "links": 0, "samples": 0}
    return {"ms_per_metric": round(cx / cc, 4), "source": "kpi", "links": links,
            "samples": samples}  # fmt: skip


def what_if(
    topo: TopologyView, store: Store, bb: Backbone, fail: str, fallback_ms: float
) -> WhatIf:
    """What failing router `fail` or link `a--b` would do; nothing is touched. A Connector
    loses a leg when its router fails or is cut off from every route reflector (down when
    it had no other). A Link is listed when its ends' IGP cost rises, breached when no path
    is left or the cost times the calibrated ms per metric passes its SLA's latency."""
    from onramp.flow.monitor import regions, sla_of  # the SLA reading lives with the KPIs

    rrs = route_reflectors(bb)
    before, after = graph(topo["nodes"]), graph(topo["nodes"], [fail])
    a_end, _, b_end = fail.partition("--")
    if fail not in before and not before.has_edge(a_end, b_end):
        raise OnrampError("ONR-REQ-011", f"{fail} is not a router or an adjacency of the "
                          "topology read", "name one from 'onramp topology show' (a link: "
                          "A--B)", field="fail")  # fmt: skip
    cut = sorted(n for n in before if n not in rrs and n != fail and reaches(before, n, rrs)
                 and not reaches(after, n, rrs))  # fmt: skip
    lost = set(cut) | ({fail} if fail in before else set())
    degraded: list[str] = []
    down: list[str] = []
    links: list[LinkImpact] = []
    with store.session() as s:
        cal = calibrate(s, before, fallback_ms)
        k = cal["ms_per_metric"]
        legs = _live_legs(s)
        for cid, rs in sorted(legs.items()):
            gone = [r for r in rs if r in lost]
            if gone:
                (down if len(gone) == len(rs) else degraded).append(cid)
        for link in _live_links(s):
            a, b = legs.get(link.a_id, []), legs.get(link.b_id, [])
            cost, new = _path_cost(before, a, b), _path_cost(after, a, b)
            if cost is None or new == cost:
                continue
            sla = sla_of(bb, link)
            limit = _latency_limit(sla.latency_ms, regions(s, bb, link)) if sla else None
            latency = None if new is None else round(new * k, 3)
            links.append({"link": link.id, "sla_class": link.sla_class, "cost_before": cost,
                          "cost_after": new, "latency_ms": latency, "limit_ms": limit,
                          "breached": latency is None or (limit is not None and latency > limit)})  # fmt: skip
    return {"fail": fail, "isolated": cut, "connectors_down": down,
            "connectors_degraded": degraded, "links": links, "calibration": cal}  # fmt: skip


def _latency_limit(limits: dict[str, float], pair: tuple[str, str]) -> float | None:
    for key in (f"{pair[0]}/{pair[1]}", f"{pair[1]}/{pair[0]}", "*"):
        if key in limits:
            return float(limits[key])
    return None


# ------------------------------------------------------------------ the engineers' page


def marked(topo: TopologyView, bb: Backbone) -> BackboneView:
    """`topo` with each router's role, PoP and whether a new leg may land on it (the same
    exclusions as the edge choice), for the Portal's backbone page."""
    from onramp.flow.edges import exclusion

    rrs = route_reflectors(bb)
    g = graph(topo["nodes"])
    routers: dict[str, RouterMark] = {}
    for name, r in bb.routers.items():
        why = None if name in rrs else exclusion(topo, g, name, rrs)
        state: Any = ("not in IS-IS" if name not in topo["nodes"] and why is None
                      else "excluded" if why else "route reflector" if name in rrs else "ok")  # fmt: skip
        routers[name] = {"role": r.role, "pop": r.pop, "state": state, "why": why}
    return {**topo, "routers": routers}
