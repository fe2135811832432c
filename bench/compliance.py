"""Benchmark: compliance of 1,000 router configs against the same comparison done by
hier_config directly, in the same run.

A generated inventory of 1,000 FRR routers (`onramp.network.inventory.generate`); every PE
carries `--vrfs` customer Connectors (VRF, subinterface, BGP neighbor with key,
prefix-lists, route-map), rendered by the deploy's templates into the router's whole
intended config, as FRR shows it (sections merged). The "running" config is that text,
with drift injected into 10 % of the routers, one of: an extra static route, the
customer's BGP neighbor removed, a prefix-list entry changed, a core interface's IS-IS
metric line added.

- onramp: `compliance.compare` per router (the same lines under the same parents:
  compliant at once; else both parsed, hier_config's difference both ways, each line
  sorted into its feature by the rules, secrets masked, scores);
- baseline: hier_config alone: `get_hconfig` both, `difference` both ways, every router.
  The drifted routers are also timed alone, where both do the full comparison.

Checks that every injected drift is reported in the feature it belongs to and nothing
else is reported. Prints both times and the ratio (target: onramp <= 10 s, ratio <= 1.5).

    .venv/bin/python bench/compliance.py [--routers 1000] [--vrfs 20] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from hier_config import Platform, get_hconfig
from report import report

from onramp.core.model import Attachment, Connector
from onramp.flow import compliance
from onramp.network import intent, templates
from onramp.network.inventory import load
from onramp.network.inventory.generate import generate, write

KEY = "Bench0Key0For0Compliance"


def connectors(bb: Any, router: str, n: int) -> list[dict[str, Any]]:
    """n Connectors' intent data on `router`'s first on-ramp port."""
    r = bb.routers[router]
    port = r.onramp_ports[0]
    pool = IPv4Network("169.254.0.0/16").subnets(new_prefix=30)
    out = []
    for k in range(n):
        subnet = next(pool)
        hosts = list(subnet.hosts())
        c = Connector(id=uuid.UUID(int=k + 1), tenant=f"t{k % 7}", onramp=port.onramp,
                      kind="enterprise", state="active", bandwidth_mbps=100, vrf=f"c{k + 1}",
                      local_asn=bb.asn, peer_asn=65101 + k, mtu=1500, md5_key="set",
                      request={"prefixes": [f"10.{k}.0.0/24"]}, created_at=None,
                      attachments=[Attachment(role="single", router=router, port=port.name,
                                              interface=f"{port.name}.{k + 2}", vlan=k + 2,
                                              inner_vlan=None, rd=f"{r.loopback.ip}:{k + 1}",
                                              subnet=subnet, local_address=f"{hosts[0]}/30",
                                              peer_address=f"{hosts[1]}/30")])  # fmt: skip
        out.append(intent.connector(bb, c, router, md5_key=KEY, route_targets=[f"{bb.asn}:{k + 1}"],
                                    remote_prefixes=["192.168.0.0/16"], max_prefixes=100))  # fmt: skip
    return out


def as_frr_shows_it(text: str) -> str:
    """The rendered config with its repeated sections merged, as FRR would show it."""
    return "\n".join(compliance.tree("frr", text).lines()) + "\n"


DRIFTS = ("static", "bgp_neighbor", "prefix_list", "isis")


Report = tuple[str, str, str]  # (feature, "missing" | "extra", line)


def drift(text: str, kind: str) -> tuple[str, set[Report]]:
    """(running text, what must be reported) for one injected drift."""
    lines = text.splitlines()
    if kind == "static":
        line = "ip route 10.99.0.0/24 Null0"
        return text + line + "\n", {("static", "extra", line)}
    if kind == "bgp_neighbor":
        gone = next(
            x for x in lines if x.strip().startswith("neighbor 169.254.") and "remote-as" in x
        )
        parent = next(x for x in reversed(lines[: lines.index(gone)]) if not x.startswith(" "))
        kept = [x for x in lines if x != gone]
        return "\n".join(kept) + "\n", {("bgp_neighbor", "missing", f"{parent} / {gone.strip()}")}
    if kind == "prefix_list":
        old = next(x for x in lines if x.startswith("ip prefix-list ") and " permit 10." in x)
        new = old.replace(" permit 10.", " permit 11.")
        # a changed line: the intended one missing, the new one extra
        return text.replace(old, new), {
            ("bgp_neighbor", "missing", old),
            ("bgp_neighbor", "extra", new),
        }
    old = next(x for x in lines if x.startswith("interface eth"))
    return (text.replace(old + "\n", old + "\n  isis metric 99\n", 1),
            {("isis", "extra", f"{old} / isis metric 99")})  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routers", type=int, default=1000)
    ap.add_argument("--vrfs", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        write(generate(a.routers, mgmt_subnet="10.0.0.0/12"), Path(d))
        bb = load(Path(d))
    rnd = random.Random(7)
    pairs: dict[str, tuple[str, str]] = {}
    expected: dict[str, set[Report]] = {}
    for name, r in bb.routers.items():
        services = templates.RouterServices(name)
        if r.role == "pe" and r.onramp_ports:
            services.connectors = connectors(bb, name, a.vrfs)
        want = as_frr_shows_it(templates.router_config(bb, name, services))
        have = want
        if rnd.random() < 0.10:
            kind = DRIFTS[len(expected) % len(DRIFTS)] if services.connectors else "isis"
            have, expected[name] = drift(want, kind)
        pairs[name] = (want, have)
    lines = statistics.mean(len(w.splitlines()) for w, _ in pairs.values())

    def onramp_run() -> dict[str, Any]:
        return {n: compliance.compare("frr", w, h, [KEY]) for n, (w, h) in pairs.items()}

    def hier_run(only: set[str] | None = None) -> None:
        for name, (w, h) in pairs.items():
            if only is not None and name not in only:
                continue
            want, have = get_hconfig(Platform.GENERIC, w), get_hconfig(Platform.GENERIC, h)
            want.difference(have)
            have.difference(want)

    ours, theirs = [], []
    for _ in range(a.runs):
        t = time.perf_counter()
        result = onramp_run()
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        hier_run()
        theirs.append(time.perf_counter() - t)

    # the routers with drift alone: there both sides build and diff two trees
    drifted = set(expected)
    t = time.perf_counter()
    for name in drifted:
        compliance.compare("frr", *pairs[name], [KEY])
    ours_drifted = time.perf_counter() - t
    t = time.perf_counter()
    hier_run(drifted)
    theirs_drifted = time.perf_counter() - t

    found, false = 0, []
    for name, got in result.items():
        reported = {(f, side, line) for f, e in got["features"].items()
                    for side in ("missing", "extra") for line in e[side]}  # fmt: skip
        want_report = expected.get(name, set())
        if want_report and want_report <= reported:
            found += 1
        if reported - want_report:
            false.append((name, sorted(reported - want_report)[:3]))
    figures = {
        "routers": len(pairs),
        "lines per config (mean)": round(lines),
        "routers with drift": len(expected),
        "drift found": found,
        "false reports": len(false),
        "onramp s (median)": round(statistics.median(ours), 2),
        "hier_config alone s (median)": round(statistics.median(theirs), 2),
        "ratio": round(statistics.median(ours) / statistics.median(theirs), 2),
        "drifted only: onramp / hier_config s": f"{ours_drifted:.2f} / {theirs_drifted:.2f}",
        "drifted only: ratio": round(ours_drifted / theirs_drifted, 2),
        "targets met": statistics.median(ours) <= 10
        and found == len(expected)
        and not false
        and statistics.median(ours) / statistics.median(theirs) <= 1.5,
    }
    if false:
        figures["first false reports"] = false[:3]
    report(figures, a.json)


if __name__ == "__main__":
    main()
