"""Monitoring: Link KPIs measured from inside the customer's VRF, judged against the SLA of
the Link's class, stored as a time series; breaches as events with a start, an end and
the worst value.

A poll (`onramp kpi poll`, or the workers' schedule every `monitor.interval_s`) sends each
active Link's probes (`monitor.probes` pings, NAPALM `ping` with `vrf` through
nornir-napalm) from its A end's PE to its B end (`render.probe_path`), one Nornir task
per PE, the PEs in parallel. Per window:

- loss: the share of probes without a reply, in %;
- latency: the replies' average round trip and its 95th percentile (nearest rank), ms;
- jitter: the mean absolute difference of successive round trips (RFC 3550's idea, not
  ping's mdev, which is the spread around the mean and grows with any latency change).

The SLA (inventory/backbone.yaml `slas`, per class; latency per region pair of the ends)
is checked per window: a metric over its limit opens an event ("sla", the metric), the
next window within it closes it; the event keeps the worst value. Availability of a Link
over a period: the share of its windows in which any probe came back; SLA met: the share
without a breach.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Interface
from itertools import pairwise
from typing import Any, cast

from nornir.core import Nornir
from nornir.core.task import Result, Task
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from onramp.core.errors import OnrampError
from onramp.core.model import State
from onramp.core.shapes import (
    BgpChange,
    Breach,
    KpiMonth,
    KpiSample,
    KpiWindow,
    LinkKpis,
    Metric,
    MonitorRound,
    SlaLimits,
)
from onramp.core.store import (
    BgpSessionRow,
    ConnectorRow,
    EventRow,
    KpiSampleRow,
    LinkRow,
    TrafficSampleRow,
    now,
)
from onramp.flow import render
from onramp.flow.service import Service
from onramp.flow.views import vrf_name
from onramp.network.inventory import Backbone
from onramp.network.inventory.schema import Sla
from onramp.tasks.config import device
from onramp.tasks.counters import read_counters
from onramp.tasks.failure import failed
from onramp.validation.collect import sessions

METRICS = ("loss", "latency", "jitter")
log = logging.getLogger(__name__)
ESTABLISHED = "Established"


@dataclass(frozen=True)
class Probe:
    link: str
    router: str
    vrf: str
    source: str
    destination: str


def loss_pct(sent: int, received: int) -> float:
    """The share of probes without a reply; a window that sent none lost everything."""
    return 100.0 * (sent - received) / sent if sent else 100.0


@dataclass(frozen=True)
class Window:
    """One Link's measurement in one poll."""

    link: str
    sent: int
    received: int
    latency_avg_ms: float | None
    latency_p95_ms: float | None
    jitter_ms: float | None
    error: str = ""  # the probe could not run at all (router unreachable, ...)

    @property
    def loss_pct(self) -> float:
        return loss_pct(self.sent, self.received)

    def value(self, metric: str) -> float | None:
        return {"loss": self.loss_pct, "latency": self.latency_avg_ms,
                "jitter": self.jitter_ms}[metric]  # fmt: skip


def measure(link: str, ping: dict[str, Any]) -> Window:
    """A window from NAPALM's ping result; the replies' round trips in the order they came."""
    if "success" not in ping:
        return Window(link, 0, 0, None, None, None, str(ping.get("error", "no answer"))[:200])
    ok = ping["success"]
    rtts = [float(r["rtt"]) for r in ok.get("results", [])]
    sent = int(ok["probes_sent"])
    received = sent - int(ok["packet_loss"])
    if not rtts:
        return Window(link, sent, received, None, None, None)
    ranked = sorted(rtts)
    p95 = ranked[max(0, math.ceil(0.95 * len(ranked)) - 1)]
    jitter = sum(abs(b - a) for a, b in pairwise(rtts)) / (len(rtts) - 1) if len(rtts) > 1 else 0.0
    return Window(link, sent, received, round(sum(rtts) / len(rtts), 3), p95, round(jitter, 3))


def broken(w: Window, sla: Sla | None, regions: tuple[str, str]) -> dict[str, float]:
    """{metric: value} for each SLA limit this window is over."""
    if sla is None or w.error:
        return {"loss": 100.0} if w.error else {}
    limits = {"loss": sla.loss_pct, "latency": sla.latency_for(*regions), "jitter": sla.jitter_ms}
    out: dict[str, float] = {}
    for metric, limit in limits.items():
        v = w.value(metric)
        if v is not None and v > limit:
            out[metric] = v
    return out


# ------------------------------------------------------------------ probing
def ping_links(task: Task, probes: list[Probe], count: int, parallel: int = 8) -> Result:
    """This PE's probes, `parallel` at a time over its one SSH connection (a channel each:
    sshd's MaxSessions must allow it, 10 by default); PEs run in parallel too."""
    dev = device(task)
    mine = [p for p in probes if p.router == task.host.name]

    def one(p: Probe) -> tuple[str, Window]:
        try:
            ping = dev.ping(p.destination, source=p.source, vrf=p.vrf, count=count, timeout=1)
        except Exception as exc:  # one probe that could not run is that Link's window only
            ping = {"error": f"{type(exc).__name__}: {exc}"}
        return p.link, measure(p.link, ping)

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(mine)))) as pool:
        return Result(host=task.host, result=dict(pool.map(one, mine)))


def probes(svc: Service, links: Collection[str] | None = None) -> list[Probe]:
    """Every active Link's probe (`links`: of these Links only)."""
    out = []
    with svc.store.session() as s:
        q = select(LinkRow).where(LinkRow.state == State.ACTIVE.value)
        if links is not None:
            q = q.where(LinkRow.id.in_(links))
        for lk in s.scalars(q):
            try:
                out.append(Probe(lk.id, *render.probe_path(s, svc.backbone, lk)))
            except OnrampError as exc:  # one Link that cannot be measured stops no other
                log.warning("link %s not probed: %s", lk.id, exc)
    return out


def poll(
    svc: Service,
    nr: Nornir,
    count: int,
    at: datetime | None = None,
    parallel: int = 8,
    links: Collection[str] | None = None,
) -> list[KpiWindow]:
    """One round: probe every active Link (`links`: these, a part of a round), store the
    windows, open and close breaches. Returns what each Link measured with the SLA metrics
    it broke."""
    todo = probes(svc, links)
    if not todo:
        return []
    routers = {p.router for p in todo}
    results = nr.filter(filter_func=lambda h: h.name in routers).run(
        task=ping_links, probes=todo, count=count, parallel=parallel, on_failed=True
    )
    windows: list[Window] = []
    for p in todo:
        host = results.get(p.router)
        if host is None or host.failed:
            why = failed(host[0], "ONR-DEPLOY-001")[1] if host else "not in the inventory"
            windows.append(Window(p.link, 0, 0, None, None, None, why))
        else:
            windows.append(host[0].result[p.link])
    return record(svc, windows, at or now())


def record(svc: Service, windows: list[Window], at: datetime) -> list[KpiWindow]:
    """Store the windows; an SLA metric over its limit opens an event (or makes the open
    one's worst value worse), one back within it closes the open one."""

    def run(s: Session) -> list[KpiWindow]:
        out: list[KpiWindow] = []
        for w in windows:
            link = s.get(LinkRow, w.link)
            if link is None:
                continue
            over = broken(w, sla_of(svc.backbone, link), regions(s, svc.backbone, link))
            s.merge(KpiSampleRow(link_id=w.link, at=at, sent=w.sent, received=w.received,
                                 latency_avg_ms=w.latency_avg_ms,
                                 latency_p95_ms=w.latency_p95_ms, jitter_ms=w.jitter_ms,
                                 breaches=",".join(sorted(over))))  # fmt: skip
            open_ = {e.what: e for e in s.scalars(select(EventRow).where(
                EventRow.kind == "sla", EventRow.target_id == w.link,
                EventRow.ended_at.is_(None)))}  # fmt: skip
            for metric in METRICS:
                event, value = open_.get(metric), over.get(metric)
                if value is not None and event is None:
                    s.add(EventRow(kind="sla", target_id=w.link, what=metric, started_at=at,
                                   worst=value, detail={"error": w.error} if w.error else {}))  # fmt: skip
                elif value is not None and event is not None:
                    event.worst = max(event.worst or 0.0, value)
                elif event is not None:
                    event.ended_at = at
            out.append({"link": w.link, "sent": w.sent, "received": w.received,
                        "latency_avg_ms": w.latency_avg_ms, "latency_p95_ms": w.latency_p95_ms,
                        "jitter_ms": w.jitter_ms, "error": w.error,
                        "loss_pct": round(w.loss_pct, 2), "breaches": sorted(over)})  # fmt: skip
        return out

    return svc.store.transact(run)


# ------------------------------------------------------------------ Connectors
@dataclass(frozen=True)
class Leg:
    """One attachment of an active Connector: where its traffic and BGP session are."""

    connector: str
    router: str
    vrf: str
    interface: str
    neighbor: str


def legs(svc: Service) -> list[Leg]:
    with svc.store.session() as s:
        rows = s.scalars(select(ConnectorRow).where(ConnectorRow.state == State.ACTIVE.value))
        return [
            Leg(
                c.id,
                a.router,
                vrf_name(c),
                f"{a.port}.{a.vlan}",
                str(IPv4Interface(a.peer_address).ip),
            )
            for c in rows
            for a in c.attachments
        ]


def edge_state(task: Task) -> Result:
    """This PE's interface counters and its BGP sessions' states ({vrf: {neighbor: state}}),
    read as the gate reads them (onramp.validation.collect.sessions)."""
    dev = device(task)
    states: dict[str, dict[str, str]] = {}
    for s in sessions(task):
        states.setdefault(s["vrf"], {})[s["neighbor"]] = s["state"]
    # when each interface's counters were read, not when the round began: the SSH round
    # trips before it vary by a tenth of a second, 5 % of a 2 s interval's bitrate
    counters, read_at = read_counters(dev)
    return Result(host=task.host, result={"counters": counters, "bgp": states,
                                          "read_at": read_at})  # fmt: skip


def poll_connectors(svc: Service, nr: Nornir, at: datetime | None = None) -> list[BgpChange]:
    """Every active Connector's counters and BGP session states, stored; a session that
    leaves Established opens a "bgp" event, its return closes it. Returns what changed.
    The counters are stamped with when each router read them (`at`, if given, for all)."""
    todo = legs(svc)
    given, at = at, at or now()
    routers = {leg.router for leg in todo}
    if not todo:
        return []
    results = nr.filter(filter_func=lambda h: h.name in routers).run(
        task=edge_state,
        on_failed=True,  # a router that failed last round is asked again
    )

    def run(s: Session) -> list[BgpChange]:
        changes = []
        for leg in todo:
            host = results.get(leg.router)
            if host is None or host.failed:
                continue  # unreachable this round: no sample (a gap), no invented state
            got = host[0].result
            counters = got["counters"].get(leg.interface)
            if counters is not None:
                read_at = given or got["read_at"][leg.interface]
                s.merge(TrafficSampleRow(connector_id=leg.connector, at=read_at, router=leg.router,
                                         interface=leg.interface, rx_octets=counters["rx_octets"],
                                         tx_octets=counters["tx_octets"]))  # fmt: skip
            state = got["bgp"].get(leg.vrf, {}).get(leg.neighbor, "absent")
            if change := _bgp_state(s, leg, state, at):
                changes.append(change)
        return changes

    return svc.store.transact(run)


def _bgp_state(s: Session, leg: Leg, state: str, at: datetime) -> BgpChange | None:
    row = s.get(BgpSessionRow, (leg.router, leg.vrf, leg.neighbor))
    before = row.state if row else None
    if row is None:
        row = BgpSessionRow(router=leg.router, vrf=leg.vrf, neighbor=leg.neighbor,
                            connector_id=leg.connector, state=state, since=at, checked_at=at)  # fmt: skip
        s.add(row)
    row.checked_at = at
    if before == state:
        return None
    row.state, row.since, row.connector_id = state, at, leg.connector
    what = f"{leg.router} {leg.vrf} {leg.neighbor}"
    open_ = s.scalars(select(EventRow).where(
        EventRow.kind == "bgp", EventRow.target_id == leg.connector, EventRow.what == what,
        EventRow.ended_at.is_(None))).first()  # fmt: skip
    if state == ESTABLISHED and open_ is not None:
        open_.ended_at = at
        open_.detail = {**open_.detail, "back": at.isoformat()}
    elif state != ESTABLISHED and open_ is None:
        s.add(EventRow(kind="bgp", target_id=leg.connector, what=what, started_at=at,
                       detail={"from": before, "to": state}))  # fmt: skip
    elif state != ESTABLISHED and open_ is not None:
        open_.detail = {**open_.detail, "to": state}
    return {"connector": leg.connector, "session": what, "from": before, "to": state}


# a Connector "at its limit": its measured bitrate, one way, >= this share of its configured
# rate in each of the last samples (one sample alone is a burst, not a Connector held back)
AT_LIMIT_SHARE = 0.95
AT_LIMIT_SAMPLES = 3


def at_limit(bps: Iterable[float], mbps: int, samples: int = AT_LIMIT_SAMPLES) -> bool:
    """Whether each of the last `samples` bitrates (bit/s) is >= 95 % of `mbps` (Mb/s).

    >>> at_limit([10e6, 96e6, 97e6, 99e6], 100)
    True
    >>> at_limit([96e6, 50e6, 97e6], 100), at_limit([97e6, 98e6], 100)
    (False, False)
    """
    last = list(bps)[-samples:]
    return len(last) == samples and all(r >= AT_LIMIT_SHARE * mbps * 1e6 for r in last)


def _rates(rows: Iterable[TrafficSampleRow]) -> list[dict[str, Any]]:
    """Bitrates in and out from successive samples of one attachment (rows ordered by
    router, interface, time); a counter that went back, a reset, gives no rate."""
    rates = []
    for prev, cur in pairwise(rows):
        same = (prev.router, prev.interface) == (cur.router, cur.interface)
        dt = (cur.at - prev.at).total_seconds()
        drx, dtx = cur.rx_octets - prev.rx_octets, cur.tx_octets - prev.tx_octets
        if same and dt > 0 and drx >= 0 and dtx >= 0:
            rates.append({"at": cur.at, "router": cur.router, "interface": cur.interface,
                          "in_bps": round(drx * 8 / dt, 1), "out_bps": round(dtx * 8 / dt, 1)})  # fmt: skip
    return rates


def limited(rates: list[dict[str, Any]], mbps: int) -> bool:
    """Any attachment at its limit, either way (`rates` as `_rates` gives them)."""
    legs = {(r["router"], r["interface"]) for r in rates}
    return any(
        at_limit([r[way] for r in rates if (r["router"], r["interface"]) == leg], mbps)
        for leg in legs
        for way in ("in_bps", "out_bps")
    )


def traffic(
    svc: Service, connector_id: str, since: datetime, until: datetime | None = None
) -> dict[str, Any]:
    """A Connector's bitrates in and out per attachment (from successive counter samples;
    a counter that went back, a reset, gives no rate), its configured rate and whether it
    runs at it (`at_limit`), its BGP sessions and their events."""
    until = until or now()
    with svc.store.session() as s:
        rows = list(s.scalars(select(TrafficSampleRow).where(
            TrafficSampleRow.connector_id == connector_id, TrafficSampleRow.at >= since,
            TrafficSampleRow.at <= until,
        ).order_by(TrafficSampleRow.router, TrafficSampleRow.interface, TrafficSampleRow.at)))  # fmt: skip
        sessions = list(s.scalars(select(BgpSessionRow).where(
            BgpSessionRow.connector_id == connector_id)))  # fmt: skip
        events = list(s.scalars(select(EventRow).where(
            EventRow.kind == "bgp", EventRow.target_id == connector_id,
            (EventRow.ended_at.is_(None)) | (EventRow.ended_at >= since),
        ).order_by(EventRow.started_at)))  # fmt: skip
        mbps = s.scalar(select(ConnectorRow.bandwidth_mbps).where(ConnectorRow.id == connector_id))
    rates = _rates(rows)
    return {
        "connector": connector_id,
        "since": since,
        "until": until,
        "rate_mbps": mbps,
        "at_limit": mbps is not None and limited(rates, mbps),
        "rates": sorted(rates, key=lambda r: r["at"]),
        "bgp": [
            {
                "router": b.router,
                "vrf": b.vrf,
                "neighbor": b.neighbor,
                "state": b.state,
                "since": b.since,
                "checked_at": b.checked_at,
            }
            for b in sessions
        ],
        "events": [
            {
                "session": e.what,
                "started_at": e.started_at,
                "ended_at": e.ended_at,
                "from": e.detail.get("from"),
                "to": e.detail.get("to"),
            }
            for e in events
        ],
    }


def parts(svc: Service, n: int) -> list[list[str]]:
    """The active Links in `n` parts (or fewer) for as many workers, each part's Links
    spread over the PEs (a part's pings then run on every PE at once)."""
    with svc.store.session() as s:
        ids = list(s.scalars(select(LinkRow.id).where(LinkRow.state == State.ACTIVE.value)
                             .order_by(LinkRow.a_id, LinkRow.id)))  # fmt: skip
    return [p for p in (ids[k::n] for k in range(n)) if p]


def round_(svc: Service, nr: Nornir, count: int) -> MonitorRound:
    """One monitoring round: the Links' windows and the Connectors' traffic and sessions."""
    # the Connectors' counters carry their own read times: a bitrate is only as exact as them
    return {"links": poll(svc, nr, count, now()), "bgp_changes": poll_connectors(svc, nr)}


# ------------------------------------------------------------------ reading
def sla_of(bb: Backbone, link: LinkRow) -> Sla | None:
    return next((sla for cls, sla in bb.catalogue.slas.items() if cls == link.sla_class), None)


def regions(s: Session, bb: Backbone, link: LinkRow) -> tuple[str, str]:
    def region(cid: str) -> str:
        c = s.get(ConnectorRow, cid)
        return bb.catalogue.pops[bb.catalogue.onramps[c.onramp].pop].region if c else "?"

    return region(link.a_id), region(link.b_id)


def kpis(svc: Service, link_id: str, since: datetime, until: datetime | None = None) -> LinkKpis:
    """A Link's windows and SLA events from `since`, its SLA, availability and SLA met."""
    until = until or now()
    with svc.store.session() as s:
        link = s.get(LinkRow, link_id)
        if link is None:
            raise OnrampError("ONR-REQ-011", f"link {link_id}")
        # plain rows, not ORM objects: a day is 1,440 of them, read on every API call
        k = KpiSampleRow
        rows = s.execute(select(k.at, k.sent, k.received, k.latency_avg_ms, k.latency_p95_ms,
                                k.jitter_ms, k.breaches).where(
            k.link_id == link_id, k.at >= since, k.at <= until).order_by(k.at)).all()  # fmt: skip
        events = list(s.scalars(select(EventRow).where(
            EventRow.kind == "sla", EventRow.target_id == link_id,
            (EventRow.ended_at.is_(None)) | (EventRow.ended_at >= since),
        ).order_by(EventRow.started_at)))  # fmt: skip
        sla = sla_of(svc.backbone, link)
        pair = regions(s, svc.backbone, link)
    answered = sum(1 for r in rows if r.received > 0)
    clean = sum(1 for r in rows if not r.breaches)
    limits: SlaLimits | None = None
    if sla is not None:
        limits = {"loss_pct": sla.loss_pct, "jitter_ms": sla.jitter_ms,
                  "latency_ms": sla.latency_for(*pair)}  # fmt: skip
    return {
        "link": link_id,
        "sla_class": link.sla_class,
        "sla": limits,
        "since": since,
        "until": until,
        "windows": len(rows),
        "availability_pct": round(100.0 * answered / len(rows), 3) if rows else None,
        "sla_met_pct": round(100.0 * clean / len(rows), 3) if rows else None,
        "samples": [_sample(r) for r in rows],
        "breaches": [_breach(e) for e in events],
    }


def _sample(r: Any) -> KpiSample:
    return {"at": r.at, "sent": r.sent, "loss_pct": round(loss_pct(r.sent, r.received), 2),
            "latency_avg_ms": r.latency_avg_ms, "latency_p95_ms": r.latency_p95_ms,
            "jitter_ms": r.jitter_ms, "breaches": r.breaches.split(",") if r.breaches else []}  # fmt: skip


def _breach(e: EventRow) -> Breach:
    metric = cast(Metric, e.what)  # an "sla" event's `what` is one of METRICS
    return {"metric": metric, "started_at": e.started_at, "ended_at": e.ended_at,
            "worst": e.worst}  # fmt: skip


def month_bounds(year: int, mon: int) -> tuple[datetime, datetime]:
    """The first and the last instant of a calendar month, UTC."""
    start = datetime(year, mon, 1, tzinfo=UTC)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=UTC) - timedelta(microseconds=1)
    return start, end


def month(svc: Service, link_id: str, year: int, mon: int) -> KpiMonth:
    """Availability and SLA met of a Link over one calendar month (UTC)."""
    got = kpis(svc, link_id, *month_bounds(year, mon))
    return {"link": got["link"], "windows": got["windows"],
            "availability_pct": got["availability_pct"], "sla_met_pct": got["sla_met_pct"]}  # fmt: skip


# ------------------------------------------------------------------ Prometheus
def exposition(svc: Service) -> tuple[bytes, str]:
    """The latest figures in Prometheus' text format: per Link its last window (loss as a
    ratio, latency and jitter in seconds), open breaches and configured rate; per Connector
    attachment its interface octet counters (Prometheus' rate() makes the bitrates) and the
    bitrate between its last two samples, beside the Connector's configured rate and
    whether it runs at it (`at_limit`); BGP sessions up."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    from prometheus_client.core import CollectorRegistry, CounterMetricFamily, GaugeMetricFamily

    link_labels = ["link", "tenant", "sla_class"]
    loss = GaugeMetricFamily(
        "onramp_link_loss_ratio", "Share of probes lost in the last window", labels=link_labels
    )
    latency = GaugeMetricFamily(
        "onramp_link_latency_seconds",
        "Round trip in the last window",
        labels=[*link_labels, "stat"],
    )
    jitter = GaugeMetricFamily(
        "onramp_link_jitter_seconds",
        "Mean difference of successive round trips in the last window",
        labels=link_labels,
    )
    breached = GaugeMetricFamily(
        "onramp_link_sla_breached",
        "1 while the Link breaks this SLA metric",
        labels=[*link_labels, "metric"],
    )
    leg_labels = ["connector", "tenant", "router", "interface"]
    octets = CounterMetricFamily(
        "onramp_connector_octets",
        "Octets through the attachment",
        labels=[*leg_labels, "direction"],
    )
    rate = GaugeMetricFamily(
        "onramp_connector_rate_bps",
        "The Connector's configured (guaranteed and shaped) rate",
        labels=["connector", "tenant"],
    )
    bitrate = GaugeMetricFamily(
        "onramp_connector_bitrate_bps",
        "Measured through the attachment between its last two counter samples",
        labels=[*leg_labels, "direction"],
    )
    limit = GaugeMetricFamily(
        "onramp_connector_at_limit",
        f"1 while the Connector's bitrate is >= {AT_LIMIT_SHARE:.0%} of its rate in each of"
        f" its last {AT_LIMIT_SAMPLES} samples, one way",
        labels=["connector", "tenant"],
    )
    link_rate = GaugeMetricFamily(
        "onramp_link_rate_bps", "The Link's configured (shaped) rate", labels=link_labels
    )
    bgp_up = GaugeMetricFamily(
        "onramp_connector_bgp_up",
        "1 when the Connector's BGP session is Established",
        labels=["connector", "tenant", "router", "vrf", "neighbor"],
    )

    with svc.store.session() as s:
        breaking = {(t, w) for t, w in s.execute(select(EventRow.target_id, EventRow.what)
                    .where(EventRow.kind == "sla", EventRow.ended_at.is_(None)))}  # fmt: skip
        last = (
            select(KpiSampleRow.link_id, func.max(KpiSampleRow.at).label("at"))
            .group_by(KpiSampleRow.link_id)
            .subquery()
        )
        for k, link in s.execute(
            select(KpiSampleRow, LinkRow)
            .join(last, (KpiSampleRow.link_id == last.c.link_id) & (KpiSampleRow.at == last.c.at))
            .join(LinkRow, LinkRow.id == KpiSampleRow.link_id)
        ).all():
            labels = [k.link_id, link.tenant_id, link.sla_class]
            if k.sent:
                loss.add_metric(labels, loss_pct(k.sent, k.received) / 100)
            for stat, v in (("avg", k.latency_avg_ms), ("p95", k.latency_p95_ms)):
                if v is not None:
                    latency.add_metric([*labels, stat], v / 1000)
            if k.jitter_ms is not None:
                jitter.add_metric(labels, k.jitter_ms / 1000)
            for metric in METRICS:
                on = (k.link_id, metric) in breaking
                breached.add_metric([*labels, metric], 1.0 if on else 0.0)
        tenants = {i: t for i, t in s.execute(select(ConnectorRow.id, ConnectorRow.tenant_id))}
        lastt = (
            select(
                TrafficSampleRow.connector_id,
                TrafficSampleRow.router,
                TrafficSampleRow.interface,
                func.max(TrafficSampleRow.at).label("at"),
            )
            .group_by(
                TrafficSampleRow.connector_id, TrafficSampleRow.router, TrafficSampleRow.interface
            )
            .subquery()
        )
        for t in s.scalars(
            select(TrafficSampleRow).join(
                lastt,
                (TrafficSampleRow.connector_id == lastt.c.connector_id)
                & (TrafficSampleRow.router == lastt.c.router)
                & (TrafficSampleRow.interface == lastt.c.interface)
                & (TrafficSampleRow.at == lastt.c.at),
            )
        ):
            labels = [t.connector_id, tenants.get(t.connector_id, ""), t.router, t.interface]
            octets.add_metric([*labels, "in"], t.rx_octets)
            octets.add_metric([*labels, "out"], t.tx_octets)
        live = State.ACTIVE.value
        for link in s.scalars(select(LinkRow).where(LinkRow.state == live)):
            link_rate.add_metric([link.id, link.tenant_id, link.sla_class],
                                 link.bandwidth_mbps * 1e6)  # fmt: skip
        # the last few samples of each attachment: enough for its bitrate and at_limit
        newest = (
            func.row_number()
            .over(
                partition_by=(TrafficSampleRow.connector_id, TrafficSampleRow.router,
                              TrafficSampleRow.interface),
                order_by=TrafficSampleRow.at.desc(),
            )
            .label("newest")
        )  # fmt: skip
        recent = select(TrafficSampleRow, newest).subquery()
        kept = aliased(TrafficSampleRow, recent)
        samples: dict[str, list[TrafficSampleRow]] = {}
        for t in s.scalars(
            select(kept).where(recent.c.newest <= AT_LIMIT_SAMPLES + 1)
            .order_by(kept.connector_id, kept.router, kept.interface, kept.at)
        ):  # fmt: skip
            samples.setdefault(t.connector_id, []).append(t)
        for c in s.scalars(select(ConnectorRow).where(ConnectorRow.state == live)):
            rate.add_metric([c.id, c.tenant_id], c.bandwidth_mbps * 1e6)
            rates = _rates(samples.get(c.id, []))
            for leg in {(r["router"], r["interface"]): r for r in rates}.values():
                labels = [c.id, c.tenant_id, leg["router"], leg["interface"]]
                bitrate.add_metric([*labels, "in"], leg["in_bps"])
                bitrate.add_metric([*labels, "out"], leg["out_bps"])
            limit.add_metric([c.id, c.tenant_id], 1.0 if limited(rates, c.bandwidth_mbps) else 0.0)
        for b in s.scalars(select(BgpSessionRow)):
            bgp_up.add_metric(
                [b.connector_id, tenants.get(b.connector_id, ""), b.router, b.vrf, b.neighbor],
                1.0 if b.state == ESTABLISHED else 0.0,
            )

    families = [loss, latency, jitter, breached, link_rate, octets, bitrate, rate, limit, bgp_up]

    class Snapshot:
        def collect(self) -> Iterable[Any]:
            return families

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Snapshot())
    return generate_latest(registry), CONTENT_TYPE_LATEST
