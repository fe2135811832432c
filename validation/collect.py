"""Collecting the gate's evidence from routers: Nornir tasks that run the parsers on every
touched router in parallel, and a collector that polls until the new sessions are up
(or the time is up), so the gate then judges one consistent picture."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from importlib import import_module
from typing import Any

from napalm.base import NetworkDriver
from napalm.base.exceptions import CommandErrorException
from nornir.core import Nornir
from nornir.core.task import Result, Task

from napalm_frr import FRRDriver, shaped_rates
from onramp.core.errors import OnrampError
from onramp.core.shapes import BgpSession
from onramp.network.platforms import PLATFORMS
from onramp.tasks.config import device
from onramp.tasks.failure import failure
from onramp.validation.bgp_gate import Evidence, by_peer, outside, received, uncovered


class NapalmDevice:
    """What a Genie parser calls: `execute(command)` -> text, over a NAPALM driver. The
    commands `ahead` (what the caller's parsers ask next) go with the first one in one
    `cli` call (napalm_frr: one vtysh in one SSH exec, not a round trip each); a batch
    the router refuses is asked again one command at a time, as without them."""

    def __init__(self, driver: NetworkDriver, ahead: Iterable[str] = ()) -> None:
        self.driver = driver
        self._ahead = list(ahead)
        self._said: dict[str, str] = {}

    def execute(self, command: str) -> str:
        if command in self._said:
            return self._said.pop(command)
        batch = [command, *(c for c in self._ahead if c != command)]
        self._ahead = []
        if len(batch) > 1:
            try:
                self._said = {c: str(out) for c, out in self.driver.cli(batch).items()}
                return self._said.pop(command)
            except CommandErrorException:
                pass  # each alone: the one that fails says so, as it would have
        return str(self.driver.cli([command])[command])


def _parsers(task: Task) -> tuple[Any, Any]:
    """The platform's gate parsers (its `gate_parser` module): summary, then routes."""
    platform = PLATFORMS.get(str(task.host.platform))
    if platform is None or platform.gate_parser is None:
        raise OnrampError(
            "ONR-DEPLOY-005", f"{task.host.name}: no BGP parser for {task.host.platform}"
        )
    parsers = import_module(f"onramp.validation.parsers.{platform.gate_parser}")
    return parsers.ShowBgpVrfAllSummary, parsers.ShowBgpVrfRoutes


def sessions(task: Task) -> list[BgpSession]:
    """Every BGP session of the task's router, read by its platform's parser."""
    summary, _ = _parsers(task)
    found: list[BgpSession] = summary(device=NapalmDevice(device(task))).parse()["sessions"]
    return found


def bgp_summary(task: Task) -> Result:
    return Result(host=task.host, result=sessions(task))


def bgp_routes(task: Task, accepted: dict[str, list[str]], tables: list[str]) -> Result:
    """Routes accepted per neighbor ({vrf: [neighbor]}) and whole VRF tables ([vrf])."""
    _, routes = _parsers(task)
    dev = NapalmDevice(device(task), _route_commands(routes, accepted, tables))
    return Result(host=task.host, result=_read_routes(routes, dev, accepted, tables))


def bgp_poll(task: Task, ahead: dict[str, Wanted]) -> Result:
    """One poll of the gate: every session of the router (`sessions`) and, in the same
    exec, the routes of `ahead[router]` (`routes`, as `bgp_routes`; None if none): read
    with the poll that sees the sessions up, not in a round trip after it."""
    summary, routes = _parsers(task)
    accepted, tables = ahead.get(task.host.name, ({}, []))
    dev = NapalmDevice(device(task), _route_commands(routes, accepted, tables))
    found: list[BgpSession] = summary(device=dev).parse()["sessions"]
    read = _read_routes(routes, dev, accepted, tables) if accepted or tables else None
    return Result(host=task.host, result={"sessions": found, "routes": read})


def _route_commands(routes: Any, accepted: dict[str, list[str]], tables: list[str]) -> list[str]:
    return [routes.command(vrf, n) for vrf, nbrs in accepted.items() for n in nbrs] + [
        routes.command(vrf) for vrf in tables
    ]


def _read_routes(
    routes: Any, dev: NapalmDevice, accepted: dict[str, list[str]], tables: list[str]
) -> dict[str, Any]:
    per_neighbor = {
        vrf: {n: routes(device=dev).parse(vrf=vrf, neighbor=n)["vrf"][vrf]["routes"] for n in nbrs}
        for vrf, nbrs in accepted.items()
    }
    table = {vrf: routes(device=dev).parse(vrf=vrf)["vrf"][vrf]["routes"] for vrf in tables}
    return {"accepted": per_neighbor, "tables": table}


def shaper_rates(task: Task) -> Result:
    """What each device of the router is shaped to now ("<vrf> <device>" -> Mb/s), read by
    napalm_frr's `shaped_rates` (the router's netdev tool); another driver cannot prove a
    rate (ONR-CHG-007)."""
    driver = device(task)
    if not isinstance(driver, FRRDriver):
        raise OnrampError("ONR-CHG-007", f"{task.host.name}: its driver reads no rates",
                          "only napalm_frr reads shaped rates back (tc, through netdev)")  # fmt: skip
    return Result(host=task.host, result=shaped_rates(driver))


def snapshot(nr: Nornir) -> dict[str, list[BgpSession]]:
    """Every session on these routers, now (the gate's before-state)."""
    return _gather(nr.run(task=bgp_summary))


def poll_after(elapsed: float, cap: float = 1.0) -> float:
    """Seconds until the gate polls again, `elapsed` seconds after it began: every 0.1 s
    for the first 5 s (a session comes up in 1-3 s after a commit: seen within a tenth of
    a second, at one `show bgp` per router per poll), then a tenth of the time waited so
    far, at most `cap` (a peer slow to answer is not asked 10 times a second for a minute).

    >>> [poll_after(t) for t in (0.0, 4.9, 8.0, 30.0)]
    [0.1, 0.1, 0.8, 1.0]
    """
    return 0.1 if elapsed < 5 else round(min(cap, elapsed / 10), 3)


def pause(every: float, took: float) -> float:
    """Seconds to sleep after a poll that took `took`, to poll `every` seconds from one
    poll's start to the next (a sleep of `every` after each made it every 0.13-0.15 s,
    a session seen 0.03-0.05 s later on average); never less than half of `every`, so a
    slow router is not asked again at once.

    >>> [pause(0.1, t) for t in (0.0, 0.04, 0.07, 0.5)]
    [0.1, 0.06, 0.05, 0.05]
    """
    return round(max(every / 2, every - took), 3)


def poller(nr: Nornir, timeout: float, cap: float = 1.0) -> Callable[[Evidence], None]:
    """A collector: poll until every new session is Established with at least its minimum
    of prefixes and every route that must be present has a valid best path, or `timeout`
    passes (`poll_after` says how often). Routes and rates are read once the new sessions
    are up (before, the gate cannot pass), and on the last poll (its findings need them)."""

    def collect(ev: Evidence) -> None:
        start = time.monotonic()
        wants = _wants(ev)
        while True:
            began = time.monotonic()
            last = began - start > timeout
            ahead = _ahead(ev, wants)
            polled = _gather(nr.run(task=bgp_poll, ahead=ahead))
            ev.after = {h: p["sessions"] for h, p in polled.items()}
            if last or _sessions_up(ev):
                if ahead == wants:  # read with the sessions: no round trip more
                    ev.accepted = {h: polled[h]["routes"]["accepted"] for h in wants}
                    ev.tables = {h: polled[h]["routes"]["tables"] for h in wants}
                else:
                    _routes(nr, ev)
                if ev.rates:
                    on = nr.filter(filter_func=lambda h: h.name in ev.rates)
                    ev.rates_seen = _gather(on.run(task=shaper_rates))
                if last or _settled(ev):
                    return
            time.sleep(pause(poll_after(began - start, cap), time.monotonic() - began))

    return collect


# the routes the gate reads on a router: accepted per neighbor ({vrf: [neighbor]}), and
# whole VRF tables ([vrf])
Wanted = tuple[dict[str, list[str]], list[str]]


def _wants(ev: Evidence) -> dict[str, Wanted]:
    """router -> the routes the gate judges there: what its new sessions and changed
    filters accept, the VRF tables where routes must be present or covered."""
    routers = set(ev.expected) | set(ev.present) | set(ev.filters) | set(ev.covered)
    out: dict[str, Wanted] = {}
    for router in sorted(routers):
        accepted: dict[str, list[str]] = {}
        for source in (ev.expected, ev.filters):
            for vrf, nbrs in source.get(router, {}).items():
                have = accepted.setdefault(vrf, [])
                have.extend(n for n in nbrs if n not in have)
        out[router] = (accepted, sorted({*ev.present.get(router, {}), *ev.covered.get(router, {})}))
    return out


def _ahead(ev: Evidence, wants: dict[str, Wanted]) -> dict[str, Wanted]:
    """What of `wants` the next poll reads with the sessions: the neighbors the last poll
    (before the first: the before-snapshot) saw Established, the VRFs it saw. A session
    comes up about a second before its first prefix, so the poll that sees the prefix
    has its routes; asking for a neighbor or VRF not there yet could be refused."""
    out: dict[str, Wanted] = {}
    for router, (accepted, tables) in wants.items():
        seen = by_peer((ev.after or ev.before).get(router, []))
        vrfs = {vrf for vrf, _ in seen}
        up: dict[str, list[str]] = {}
        for vrf, nbrs in accepted.items():
            if ready := [
                n for n in nbrs if (x := seen.get((vrf, n))) and x["state"] == "Established"
            ]:
                up[vrf] = ready
        out[router] = (up, [vrf for vrf in tables if vrf in vrfs])
    return out


def _routes(nr: Nornir, ev: Evidence) -> None:
    wants = _wants(ev)
    if not wants:  # a removal: only the other sessions are judged
        ev.accepted, ev.tables = {}, {}
        return
    result = nr.filter(filter_func=lambda h: h.name in wants).run(
        task=lambda task: bgp_routes(task, *wants[task.host.name])
    )
    gathered = _gather(result)
    ev.accepted = {h: r["accepted"] for h, r in gathered.items()}
    ev.tables = {h: r["tables"] for h, r in gathered.items()}


def _sessions_up(ev: Evidence) -> bool:
    """Every new session Established with at least its minimum of prefixes."""
    for router, vrfs in ev.expected.items():
        after = by_peer(ev.after.get(router, []))
        for vrf, nbrs in vrfs.items():
            for nbr, want in nbrs.items():
                s = after.get((vrf, nbr))
                if not s or s["state"] != "Established":
                    return False
                if received(s) < want.get("min_prefixes", 1):
                    return False
    return True


def _settled(ev: Evidence) -> bool:
    if not _sessions_up(ev):
        return False
    for router, devices in ev.rates.items():
        seen = ev.rates_seen.get(router, {})
        if any(seen.get(dev) != mbps for dev, mbps in devices.items()):
            return False
    for router, filtered in ev.filters.items():  # a route taken out may take a moment to go
        for vrf, peers in filtered.items():
            for peer, allowed in peers.items():
                if outside(ev.accepted.get(router, {}).get(vrf, {}).get(peer, {}), allowed):
                    return False
    if any(
        uncovered(ev.tables.get(router, {}).get(vrf, {}), prefixes)
        for router, vrfs in ev.covered.items()
        for vrf, prefixes in vrfs.items()
    ):
        return False
    return all(
        (route := ev.tables.get(router, {}).get(vrf, {}).get(prefix)) is not None and route["best"]
        for router, vrfs in ev.present.items()
        for vrf, prefixes in vrfs.items()
        for prefix in prefixes
    )


def _gather(result: Any) -> dict[str, Any]:
    failed = {h: r[0].exception for h, r in result.items() if r.failed}
    if failed:
        host, exc = next(iter(failed.items()))
        if isinstance(exc, OnrampError):
            raise exc
        code, why = failure(exc, "ONR-DEPLOY-001")
        raise OnrampError(code, f"{host}: collecting BGP state: {why}")
    return {h: r[0].result for h, r in result.items()}
