"""The pyATS gate between a commit and its confirmation: an aetest testscript over
parsed, normalized BGP state (validation/parsers) of the routers a change touched.

Checks, each a pair (collect -> assert):
- the new sessions are Established;
- the prefixes accepted from each are within its bounds and inside its allowed prefixes;
- routes that must be in a VRF are there (a Link: each cloud's routes in the other's VRF);
- no other BGP session on the touched routers changed state or dropped meanwhile.
- a bandwidth change: each changed device is shaped to its new rate, read back from the
  router (`rates`; its own sessions are judged as the others: up, never dropped).
- a prefix change: each of its sessions accepts only routes inside the new list
  (`filters`: a prefix taken out is withdrawn), and each prefix let in that the customer
  announces has a route with a valid best path in its VRF and in its Links' far VRFs
  (`covered`).

In the deploy (`onramp.flow.plan`) `run()` is called with a collector that polls the routers
until the new sessions are up (or the time is up). Standalone, on data collected before
(the same JSON shape `Evidence.as_dict()` writes), it is a CI check with an exit status:

    python -m validation.bgp_gate evidence.json     # 0: passed, 1: a test failed
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from pyats import aetest
from pyats.log import ScreenHandler, managed_handlers

from onramp.core.shapes import BgpRoute, BgpSession, Expected, Present

Routes = dict[str, BgpRoute]  # prefix -> its best path


def _screens_to_stderr() -> None:
    """pyATS's screen handlers write to stdout: `managed_handlers.screen`, which
    `aetest.main` puts on the root logger, and those its imports put on loggers (unicon's).
    On the root logger, every record of the process went to stdout, and `onramp demo --json`
    printed a Celery worker's error after its JSON (CI, stop 31). onramp keeps stdout for its
    own output, so they write to stderr, as Python's own last-resort handler does."""
    loggers = [logging.root, *(lg for lg in logging.root.manager.loggerDict.values()
                               if isinstance(lg, logging.Logger))]  # fmt: skip
    for handler in [managed_handlers.screen, *(h for lg in loggers for h in lg.handlers)]:
        if isinstance(handler, ScreenHandler):
            handler.setStream(sys.stderr)


_screens_to_stderr()  # once, here: the one module of onramp that imports pyATS


@dataclass
class Evidence:
    """What the gate judges: the sessions before the change, and after it. Its fields are
    the evidence's JSON (`as_dict`, and the standalone script's input)."""

    expected: Expected
    before: dict[str, list[BgpSession]]  # router -> its sessions
    after: dict[str, list[BgpSession]] = field(default_factory=dict)  # router -> same
    accepted: dict[str, dict[str, dict[str, Routes]]] = field(
        default_factory=dict
    )  # router -> vrf -> nbr -> routes
    tables: dict[str, dict[str, Routes]] = field(default_factory=dict)  # router -> vrf -> routes
    present: Present = field(default_factory=dict)
    removing: Expected = field(default_factory=dict)  # sessions the change takes away
    rates: dict[str, dict[str, int]] = field(
        default_factory=dict
    )  # router -> "<vrf> <device>" -> the Mb/s it must be shaped to
    rates_seen: dict[str, dict[str, int]] = field(default_factory=dict)  # read back, same keys
    filters: dict[str, dict[str, dict[str, list[str]]]] = field(
        default_factory=dict
    )  # router -> vrf -> nbr -> the prefixes its accepted routes must lie inside
    covered: Present = field(default_factory=dict)  # router -> vrf -> [prefix] covered by a route

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def by_peer(sessions: list[BgpSession]) -> dict[tuple[str, str], BgpSession]:
    """A router's sessions by (vrf, neighbor)."""
    return {(s["vrf"], s["neighbor"]): s for s in sessions}


def received(s: BgpSession) -> int:
    return s["prefixes_received"].get("ipv4_unicast", 0)


class CommonSetup(aetest.CommonSetup):
    @aetest.subsection
    def collected(self, evidence: Evidence) -> None:
        """The after-state is there: polled from the routers by `run`, or given."""
        if not evidence.after:
            self.failed("no after-state collected")


class NewSessionsEstablished(aetest.Testcase):
    @aetest.test
    def established(self, evidence: Evidence, findings: list[str]) -> None:
        bad = []
        for router, vrfs in evidence.expected.items():
            after = by_peer(evidence.after.get(router, []))
            for vrf, nbrs in vrfs.items():
                for nbr in nbrs:
                    state = s["state"] if (s := after.get((vrf, nbr))) else "absent"
                    if state != "Established":
                        bad.append(f"{router} vrf {vrf} {nbr} is {state}, not Established")
        _verdict(self, bad, findings)


class PrefixesReceived(aetest.Testcase):
    @aetest.test
    def within_bounds(self, evidence: Evidence, findings: list[str]) -> None:
        bad = []
        for router, vrfs in evidence.expected.items():
            after = by_peer(evidence.after.get(router, []))
            for vrf, nbrs in vrfs.items():
                for nbr, want in nbrs.items():
                    s = after.get((vrf, nbr))
                    n = received(s) if s else 0
                    lo, hi = want.get("min_prefixes", 1), want.get("max_prefixes", 1_000_000)
                    if not lo <= n <= hi:
                        bad.append(f"{router} vrf {vrf} {nbr}: {n} prefixes, expected {lo}-{hi}")
        _verdict(self, bad, findings)

    @aetest.test
    def allowed_only(self, evidence: Evidence, findings: list[str]) -> None:
        bad = []
        for router, vrfs in evidence.expected.items():
            for vrf, nbrs in vrfs.items():
                for nbr, want in nbrs.items():
                    allowed = [IPv4Network(p) for p in want.get("allowed", [])]
                    if not allowed:
                        continue  # the customer named none: bounds only
                    got = evidence.accepted.get(router, {}).get(vrf, {}).get(nbr, {})
                    outside = [
                        p for p in got if not any(IPv4Network(p).subnet_of(a) for a in allowed)
                    ]
                    if outside:
                        bad.append(f"{router} vrf {vrf} {nbr}: {outside} not in {want['allowed']}")
        _verdict(self, bad, findings)


class RoutesPresent(aetest.Testcase):
    @aetest.test
    def in_vrf(self, evidence: Evidence, findings: list[str]) -> None:
        bad = []
        for router, vrfs in evidence.present.items():
            for vrf, prefixes in vrfs.items():
                table = evidence.tables.get(router, {}).get(vrf, {})
                for prefix in prefixes:
                    if prefix not in table:
                        bad.append(f"{router} vrf {vrf}: no route to {prefix}")
                    elif not table[prefix]["best"]:
                        # in the table but unusable: no valid path (next hop unresolved)
                        bad.append(f"{router} vrf {vrf}: {prefix} present, no valid best path")
        _verdict(self, bad, findings)


class RatesApplied(aetest.Testcase):
    @aetest.test
    def shaped(self, evidence: Evidence, findings: list[str]) -> None:
        bad = []
        for router, devices in evidence.rates.items():
            seen = evidence.rates_seen.get(router, {})
            for dev, mbps in devices.items():
                if seen.get(dev) != mbps:
                    now = f"{seen[dev]} Mb/s" if dev in seen else "not shaped"
                    bad.append(f"{router} {dev}: {now}, not {mbps} Mb/s")
        _verdict(self, bad, findings)


def outside(routes: Routes, allowed: list[str]) -> list[str]:
    """The routes not inside any allowed prefix."""
    nets = [IPv4Network(p) for p in allowed]
    return [p for p in routes if not any(IPv4Network(p).subnet_of(a) for a in nets)]


def uncovered(table: Routes, prefixes: list[str]) -> list[str]:
    """The prefixes no route of the table with a valid best path lies inside."""
    best = [IPv4Network(p) for p, r in table.items() if r["best"]]
    return [p for p in prefixes if not any(b.subnet_of(IPv4Network(p)) for b in best)]


class FiltersApplied(aetest.Testcase):
    @aetest.test
    def allowed_only(self, evidence: Evidence, findings: list[str]) -> None:
        bad = []
        for router, vrfs in evidence.filters.items():
            for vrf, nbrs in vrfs.items():
                for nbr, allowed in nbrs.items():
                    got = evidence.accepted.get(router, {}).get(vrf, {}).get(nbr, {})
                    if out := outside(got, allowed):
                        bad.append(f"{router} vrf {vrf} {nbr}: accepts {out}, "
                                   f"not in {allowed or 'nothing'}")  # fmt: skip
        _verdict(self, bad, findings)

    @aetest.test
    def let_in(self, evidence: Evidence, findings: list[str]) -> None:
        bad = [
            f"{router} vrf {vrf}: no route inside {missing}"
            for router, vrfs in evidence.covered.items()
            for vrf, prefixes in vrfs.items()
            if (missing := uncovered(evidence.tables.get(router, {}).get(vrf, {}), prefixes))
        ]
        _verdict(self, bad, findings)


class OtherSessionsUndisturbed(aetest.Testcase):
    @aetest.test
    def unchanged(self, evidence: Evidence, findings: list[str]) -> None:
        bad = []
        for router, sessions in evidence.before.items():
            mine = [evidence.expected.get(router, {}), evidence.removing.get(router, {})]
            after = by_peer(evidence.after.get(router, []))
            for was in sessions:
                vrf, nbr = was["vrf"], was["neighbor"]
                if any(nbr in m.get(vrf, {}) for m in mine):
                    continue
                # a session that was up must still be up and must not have dropped; one
                # that was down may stay down, come up, or go (stale config cleaned up)
                now = after.get((vrf, nbr))
                state = now["state"] if now else "absent"
                if was["state"] == "Established" and state != "Established":
                    bad.append(f"{router} vrf {vrf} {nbr}: Established -> {state}")
                elif now and now["connections_dropped"] > was["connections_dropped"]:
                    bad.append(f"{router} vrf {vrf} {nbr}: flapped during the change")
        _verdict(self, bad, findings)


def _verdict(section: aetest.Testcase, bad: list[str], findings: list[str]) -> None:
    if bad:
        findings.extend(bad)
        section.failed("; ".join(bad))
    else:
        section.passed()


_ONE_AT_A_TIME = threading.Lock()  # aetest keeps its runtime in module globals


@dataclass(frozen=True)
class Verdict:
    passed: bool
    findings: list[str]
    result: str  # aetest's word: passed, failed, errored, ...


@contextmanager
def _quiet(quiet: bool) -> Iterator[None]:
    """In-process the caller reports the verdict: aetest's report (stdout, and whatever
    handlers the host process put on the root logger, e.g. a Celery worker's) stays out."""
    if not quiet:
        yield
        return
    loggers = [logging.getLogger(n) for n in list(logging.root.manager.loggerDict)
               if n.startswith("pyats")] + [logging.getLogger("pyats")]  # fmt: skip
    levels = [(lg, lg.level) for lg in loggers]
    screen = managed_handlers.screen
    screen_level = screen.level
    root_handlers = list(logging.root.handlers)
    screen.setLevel(logging.CRITICAL + 1)
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        # aetest.main left its screen handler on the root logger: the host's logging is its own
        for handler in set(logging.root.handlers) - set(root_handlers):
            logging.root.removeHandler(handler)
        screen.setLevel(screen_level)
        for lg, level in levels:
            lg.setLevel(level)


@contextmanager
def _own_argv() -> Iterator[None]:
    saved, sys.argv = sys.argv, sys.argv[:1]
    try:
        yield
    finally:
        sys.argv = saved


def run(
    evidence: Evidence, collector: Callable[[Evidence], None] | None = None, quiet: bool = True
) -> Verdict:
    """Collect (when a collector is given), then run this testscript in-process; the
    findings say what failed, in words. (aetest would call a callable parameter itself,
    so collection happens here, before it.)"""
    findings: list[str] = []
    if collector is not None:
        collector(evidence)
    # aetest parses sys.argv as its own command line: a host process's options (pytest's
    # `-s`, `-p ...`, a CLI's) would be read as aetest's and end the process
    with _ONE_AT_A_TIME, _quiet(quiet), _own_argv():
        result = aetest.main(testable=sys.modules[__name__], evidence=evidence, findings=findings)
    return Verdict(str(result) == "passed", findings, str(result))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m validation.bgp_gate EVIDENCE.json", file=sys.stderr)
        return 2
    evidence = Evidence(**json.loads(Path(argv[1]).read_text()))
    verdict = run(evidence, quiet=False)
    for finding in verdict.findings:
        print(f"FAILED: {finding}")
    print(f"gate {verdict.result}")
    return 0 if verdict.passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
