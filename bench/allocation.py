"""Benchmark: allocation time per Connector at 100 and at 10,000 existing Connectors.

One run, one store: seed the store to 100 Connectors, time MEASURE allocations (plan,
then create); seed on to 10,000, time MEASURE more. Prints p50/p99 per size and the
ratio p99(10,000) / p99(100) (target <= 2). SQLite by default; --url for PostgreSQL.
Also a plan with a warm topology (the edge choice of issue 24: every PE healthy, the IGP
graph from the inventory's core links) against the same plan without: what the choice adds
(target < 5 ms at 10,000).

    .venv/bin/python bench/allocation.py [--url URL] [--measure 200] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from onramp.core.model import ConnectorRequest
from onramp.core.secrets import Vault
from onramp.core.settings import EdgeWeights
from onramp.core.shapes import TopologyView
from onramp.core.store import Store, TenantRow
from onramp.flow import allocate as al
from onramp.flow.topology import route_reflectors
from onramp.network.inventory import Backbone, load
from onramp.network.inventory.generate import generate, write


def bench_inventory(directory: Path) -> list[str]:
    """A generated backbone with an AWS on-ramp on every PE (100 Gb/s ports)."""
    files = generate(40)
    onramps = files["backbone"]["onramps"]
    for name, host in files["hosts"].items():
        if name.startswith("pe"):
            pop = host["data"]["pop"]
            onramps.setdefault(
                f"aws-{pop}", {"provider": "aws", "pop": pop, "description": f"aws at {pop}"}
            )
            port = f"eth{len(host['data']['core_interfaces']) + len(host['data'].get('onramp_ports', [])) + 1}"
            host["data"].setdefault("onramp_ports", []).append(
                {
                    "name": port,
                    "onramp": f"aws-{pop}",
                    "vlan_range": [2, 4094],
                    "speed_mbps": 100000,
                }
            )
    write(files, directory)
    return sorted(o for o in onramps if o.startswith("aws-"))


def warm_topology(bb: Backbone) -> TopologyView:
    """A topology as a read of a healthy backbone would cache it."""
    rr_ids = [str(bb.routers[r].loopback.ip) for r in route_reflectors(bb)]
    return {"source": "bench", "read_at": "", "age_s": 0.0, "read_s": 0.0,
            "nodes": {r.name: {"name": r.name, "system_id": "", "router_id": str(r.loopback.ip),
                               "overload": False, "seq": 0,
                               "neighbors": {i.peer.host: i.isis_metric for i in r.core_interfaces}}
                      for r in bb.routers.values()},
            "health": {r: {"reachable": True, "daemons": dict.fromkeys(("zebra", "isisd", "bgpd"), True),
                           "rr_sessions": dict.fromkeys(rr_ids, "Established"), "error": ""}
                       for r in bb.routers},
            "load": {}}  # fmt: skip


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url")
    parser.add_argument("--measure", type=int, default=200)
    parser.add_argument("--sizes", default="100,10000")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="onramp-bench-"))
    onramps = bench_inventory(tmp / "inventory")
    bb = load(tmp / "inventory")
    store = Store(args.url or f"sqlite:///{tmp / 'bench.db'}")
    store.migrate()
    with store.session() as s:
        s.merge(TenantRow(id="bench", name="Bench"))
    vault = Vault(tmp / "key")
    count = 0
    topo = warm_topology(bb)
    edge = al.EdgeContext(topo, EdgeWeights(), route_reflectors(bb), [])

    def request(i: int) -> ConnectorRequest:
        return ConnectorRequest(
            tenant="bench",
            onramp=onramps[i % len(onramps)],
            kind="aws-hosted-vif",
            bandwidth_mbps=50,
            aws_account="123456789012",
        )

    results: list[dict[str, Any]] = []
    for size in (int(x) for x in args.sizes.split(",")):
        seed_start = time.monotonic()
        while count < size:
            al.create_connector(store, bb, request(count), vault)
            count += 1
        seeded = time.monotonic() - seed_start
        plans, creates, chosen = [], [], []
        for _ in range(args.measure):
            t = time.perf_counter()
            al.plan_connector(store, bb, request(count), vault, edge)
            chosen.append((time.perf_counter() - t) * 1000)
            t0 = time.perf_counter()
            al.plan_connector(store, bb, request(count), vault)
            t1 = time.perf_counter()
            al.create_connector(store, bb, request(count), vault)
            t2 = time.perf_counter()
            plans.append((t1 - t0) * 1000)
            creates.append((t2 - t1) * 1000)
            count += 1
        results.append(
            {
                "existing": size,
                "measured": args.measure,
                "seed_s": round(seeded, 1),
                "plan_p50_ms": round(statistics.median(plans), 2),
                "plan_p99_ms": round(pct(plans, 99), 2),
                "create_p50_ms": round(statistics.median(creates), 2),
                "create_p99_ms": round(pct(creates, 99), 2),
                "plan_with_topology_p50_ms": round(statistics.median(chosen), 2),
                "topology_adds_p50_ms": round(
                    statistics.median(chosen) - statistics.median(plans), 2
                ),
            }
        )
    first, last = results[0], results[-1]
    summary = {
        "store": store.engine.url.get_backend_name(),
        "results": results,
        "create_p99_ratio": round(last["create_p99_ms"] / first["create_p99_ms"], 2),
        "plan_p99_ratio": round(last["plan_p99_ms"] / first["plan_p99_ms"], 2),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"store: {summary['store']}")
    print(
        f"{'existing':>9} {'plan p50':>9} {'plan p99':>9} {'create p50':>11} {'create p99':>11}  (ms, {args.measure} each)"
    )
    for r in results:
        print(
            f"{r['existing']:>9} {r['plan_p50_ms']:>9} {r['plan_p99_ms']:>9} {r['create_p50_ms']:>11} {r['create_p99_ms']:>11}"
        )
    for r in results:
        print(f"{r['existing']:>9} plan with a warm topology p50 {r['plan_with_topology_p50_ms']} ms: "
              f"the edge choice adds {r['topology_adds_p50_ms']} ms (target < 5)")  # fmt: skip
    print(
        f"p99 ratio {last['existing']}/{first['existing']}: create {summary['create_p99_ratio']}, "
        f"plan {summary['plan_p99_ratio']} (target <= 2)"
    )


if __name__ == "__main__":
    main()
