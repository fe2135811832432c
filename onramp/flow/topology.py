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
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import import_module
from typing import Any, cast

from nornir.core import Nornir
from nornir.core.task import Result, Task
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onramp.core.errors import OnrampError
from onramp.core.model import RELEASED_STATES
from onramp.core.settings import Settings
from onramp.core.shapes import (
    BackboneView,
    IgpDatabase,
    PeHealth,
    PeLoad,
    RouterMark,
    TopologyView,
    WhatIf,
)
from onramp.core.store import AttachmentRow, ConnectorRow, LinkRow, PortUsageRow, Store
from onramp.flow.edges import graph, reaches
from onramp.network.inventory import Backbone
from onramp.network.inventory.plugin import init_nornir
from onramp.network.platforms import PLATFORMS
from onramp.tasks.config import device
from onramp.tasks.failure import failure

log = logging.getLogger(__name__)


class _Device:
    """What a Genie parser calls: `execute(command)` -> text, over a NAPALM driver."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def execute(self, command: str) -> str:
        return str(self.driver.cli([command])[command])


def router_state(task: Task) -> Result:
    """One router's daemons, its IS-IS database and its default-VRF BGP sessions."""
    platform = PLATFORMS[str(task.host.platform)]
    parsers = import_module(f"onramp.validation.parsers.{platform.gate_parser}")
    dev = _Device(device(task))
    daemons = parsers.ShowDaemons(device=dev).parse()["daemons"]
    db = parsers.ShowIsisDatabase(device=dev).parse() if "isisd" in daemons else {"nodes": {}}
    sessions = (
        parsers.ShowBgpVrfAllSummary(device=dev).parse()["sessions"] if "bgpd" in daemons else []
    )
    ibgp = {s["neighbor"]: s["state"] for s in sessions if s["vrf"] == "default"}
    return Result(host=task.host, result={"daemons": daemons, "db": db, "ibgp": ibgp})


def route_reflectors(bb: Backbone) -> list[str]:
    """The P routers are the iBGP route reflectors (inventory/groups.yaml)."""
    return sorted(r.name for r in bb.routers.values() if r.role == "p")


def read_isis_ssh(bb: Backbone, nr: Nornir) -> tuple[IgpDatabase, dict[str, PeHealth]]:
    got = nr.run(task=router_state, on_failed=True)
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
    # the route reflectors' view first: they sit in the middle of the graph
    order = route_reflectors(bb) + sorted(bb.routers)
    empty: IgpDatabase = {"nodes": {}}
    db = next((dbs[n] for n in order if dbs.get(n, empty)["nodes"]), empty)
    return db, health


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
    read anew; None when the source is off."""
    if settings.topology.source == "off":
        return None
    topo = cached(settings)
    limit = settings.topology.max_age_s if max_age_s is None else max_age_s
    if topo is None or topo["age_s"] > limit or topo["source"] != settings.topology.source:
        topo = read(settings, store, bb)
    return topo


# ------------------------------------------------------------------ what-if


def what_if(
    topo: TopologyView, store: Store, bb: Backbone, fail: str, ms_per_metric: float
) -> WhatIf:
    """What failing router `fail` or link `a--b` would do; nothing is touched. A Connector
    loses a leg when its router is failed or cut off from every route reflector; a Link is
    breached when its ends' IGP cost times `ms_per_metric` passes its SLA's latency."""
    from onramp.flow.monitor import regions, sla_of  # the SLA reading lives with the KPIs

    rrs = route_reflectors(bb)
    before, after = graph(topo["nodes"]), graph(topo["nodes"], [fail])
    cut = sorted(n for n in before if n not in rrs and reaches(before, n, rrs)
                 and not reaches(after, n, rrs))  # fmt: skip
    lost = set(cut) | ({fail} if fail in before else set())
    down, degraded, breached = [], [], []
    with store.session() as s:
        live = [st.value for st in RELEASED_STATES]
        routers: dict[str, list[str]] = {}
        for cid, router in s.execute(
            select(AttachmentRow.connector_id, AttachmentRow.router)
            .join(ConnectorRow)
            .where(ConnectorRow.state.not_in(live))
        ):
            routers.setdefault(cid, []).append(router)
        for cid, rs in sorted(routers.items()):
            gone = [r for r in rs if r in lost]
            if gone and len(gone) == len(rs):
                down.append(cid)
            elif gone:
                degraded.append(cid)
        for link in s.scalars(select(LinkRow).where(LinkRow.state.not_in(live))):
            a, b = routers.get(link.a_id, [""])[0], routers.get(link.b_id, [""])[0]
            sla = sla_of(bb, link)
            if a not in before or b not in before or sla is None:
                continue
            cost = _cost(before, a, b)
            new = _cost(after, a, b)
            limit = _latency_limit(sla, regions(s, bb, link))
            if new != cost and (new is None or (limit is not None and new * ms_per_metric > limit)):
                breached.append({"link": link.id, "sla_class": link.sla_class, "cost_before": cost,
                                 "cost_after": new, "limit_ms": limit,
                                 "latency_ms": None if new is None else new * ms_per_metric})  # fmt: skip
    return {"fail": fail, "isolated": cut, "connectors_down": down,
            "connectors_degraded": degraded, "links_breached": breached}  # fmt: skip


def _cost(g: Any, a: str, b: str) -> float | None:
    import networkx as nx

    try:
        return float(nx.dijkstra_path_length(g, a, b))
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return None


def _latency_limit(sla: Any, pair: tuple[str, str]) -> float | None:
    limits = sla.latency_ms
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
