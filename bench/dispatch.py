"""Benchmark: how soon an order reaches a worker, and how soon a dead worker's work resumes.

No lab: an in-process AWS simulator whose customer never answers (a Connector stops at
`awaiting_customer`), a SQLite store and broker in a temp directory.

- request -> first worker step: `--orders` Connectors created through the Service, about
  one a second, timed from the call to the worker's first transition row. With the hand-over (`submit`, the
  sweep off) against the sweep alone (no hand-over: what every entry point but the API
  did), at the new default `sweep_s` (5 s) and at the old one (30 s).
- dead-worker recovery: two `onramp worker` processes with the default lease (15 s) and
  sweep (5 s); the first takes the order and sits in the provider's call (answered late),
  and is SIGKILLed; the time until the second commits the step. Against the old defaults'
  bound (lease 600 s + sweep 30 s; not waited for here).

    .venv/bin/python bench/dispatch.py [--orders 10] [--recoveries 3] [--json]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from report import report

from onramp import worker
from onramp.core.settings import load_settings, local_config
from onramp.csp.aws.simulator import DirectConnect, serve
from onramp.csp.simulator import Behaviour, Customer, Faults
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service

AWS = {"tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
       "bandwidth_mbps": 100, "aws_account": "123456789012"}  # fmt: skip


def config(tmp: Path, name: str, url: str, **worker_settings: Any) -> Path:
    d = tmp / name
    d.mkdir(exist_ok=True)
    return local_config(
        d, db=str(tmp / "onramp.db"), secret_key_file=str(tmp / "k"),
        csp={"aws": {"endpoint_url": url, "region": "eu-west-3"}},
        worker={"broker_url": f"sqla+sqlite:///{tmp / 'broker.db'}", **worker_settings},
    )  # fmt: skip


def first_step(svc: Service, ident: str) -> float | None:
    """When the first worker step of it was committed (epoch seconds), or None yet."""
    steps = Orchestrator(svc, {}).history("connector", ident)[3:]
    return steps[0]["at"].timestamp() if steps else None


def latency(tmp: Path, url: str, orders: int, hand_over: bool, sweep_s: float) -> list[float]:
    """Seconds from each create to its first worker step."""
    settings = load_settings(config(tmp, f"lat-{hand_over}-{sweep_s}", url, sweep_s=sweep_s))
    svc = Service.open(settings, worker.submit if hand_over else None)
    svc.add_tenant("acme", "ACME")
    asked: dict[str, float] = {}
    with worker.embedded(settings):
        time.sleep(random.uniform(0, sweep_s))  # orders come at any phase of the sweep
        for _ in range(orders):
            t = time.time()
            asked[svc.create_connector(svc.connector_request(AWS))["id"]] = t
            time.sleep(random.uniform(0, 2))  # one every second or so
        done: dict[str, float] = {}
        while len(done) < len(asked):
            done |= {i: at for i in asked.keys() - done.keys() if (at := first_step(svc, i))}
            time.sleep(0.05)
    return [done[i] - t for i, t in asked.items()]


def recovery(tmp: Path, url: str, sim: DirectConnect) -> float:
    """Seconds from SIGKILL of the worker inside a step to the other worker's commit."""
    env = {**os.environ, "ONRAMP_CONFIG": str(config(tmp, "rec", url))}
    start = lambda *a: subprocess.Popen(  # noqa: E731
        [sys.executable, "-m", "onramp.cli", "worker", "--concurrency", "1", *a],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    settings = load_settings(Path(env["ONRAMP_CONFIG"]))
    worker.configure(settings)
    svc = Service.open(settings, worker.submit)
    svc.add_tenant("acme", "ACME")
    sim.faults = Faults(slow_next=1, slow_s=60.0, slow_op="AllocatePrivateVirtualInterface")
    first = start()
    second = None
    asked = sim.calls.count("AllocatePrivateVirtualInterface")  # (earlier orders' calls)
    try:
        c = svc.create_connector(svc.connector_request(AWS))
        while sim.calls.count("AllocatePrivateVirtualInterface") == asked:
            time.sleep(0.01)
        second = start("--beat")  # the standby, up before the first dies
        time.sleep(8)  # (its start: imports, broker connection)
        first.send_signal(signal.SIGKILL)
        killed = time.time()
        while (at := first_step(svc, c["id"])) is None:
            time.sleep(0.05)
        steps = Orchestrator(svc, {}).history("connector", c["id"])[3:]
        assert steps[0]["actor"].endswith(f":{second.pid}"), steps  # not the first's
        return at - killed
    finally:
        for p in (first, second):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=10)
    ap.add_argument("--recoveries", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for label, hand_over, sweep_s in (
            ("hand-over (sweep off)", True, 0.0),
            ("sweep only, sweep_s 5", False, 5.0),
            ("sweep only, sweep_s 30 (old default)", False, 30.0),
        ):
            with provider() as (url, _):  # a provider of its own: a store of its own
                got = latency(_fresh(tmp, label), url, args.orders, hand_over, sweep_s)
            rows[label] = {"median_s": statistics.median(got), "max_s": max(got)}
        base = rows["sweep only, sweep_s 30 (old default)"]["median_s"]
        for row in rows.values():
            row["ratio_to_old"] = row["median_s"] / base
        took = []
        for i in range(args.recoveries):
            with provider() as (url, sim):
                took.append(recovery(_fresh(tmp, f"recovery{i}"), url, sim))
    old_bound = 600 + 30
    figures = {
        "request -> first worker step": rows,
        "dead worker -> resumed (lease 15 s, sweep 5 s)": {
            "seconds": [round(t, 1) for t in took],
            "median_s": statistics.median(took),
            "old bound (lease 600 s + sweep 30 s)": old_bound,
            "ratio": statistics.median(took) / old_bound,
        },
    }
    report(figures, args.json)


def provider() -> Any:
    """The AWS simulator, its customer never answering (a Connector stops waiting on it)."""
    return serve(DirectConnect(behaviour=Behaviour(customer=Customer.NEVER)))


def _fresh(tmp: Path, label: str) -> Path:
    d = tmp / "".join(ch if ch.isalnum() else "-" for ch in label)
    d.mkdir()
    return d


if __name__ == "__main__":
    main()
