"""Benchmark: one monitoring round over 100 Links of the lab fits in one 60 s interval.

Builds its own lab (name `bmo`, 172.20.57.0/24; removed at the end, even on failure),
allocates `--links` Links between enterprise Connectors in Paris (pe1-par) and Frankfurt
(pe1-fra), every Link with its own pair of VRFs and its VXLAN segment across the core, and
deploys the routers' whole intended config in one commit each (the orchestration's
per-Link gates are not what is measured here; the CEs are absent, so no customer session
is up, and the probes do not need one: they run between the Link's two VRFs). Half the
Links start in Paris, half in Frankfurt.

Then `monitor.poll` (what the workers' schedule runs) with `--probes` pings per Link, at
each `--parallel` (pings at a time per PE over its SSH connection), against the same
round done one ping after another on each PE (parallel 1) in the same run. Prints the
round's time, the time per Link, and the ratio.

    .venv/bin/python bench/monitor_poll.py [--links 100] [--probes 20] [--json]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from labkit import lab_service, unwind_on_sigterm
from nornir.core.task import Result, Task
from report import report

from onramp.core.store import ConnectorRow, LinkRow, move
from onramp.flow import monitor, render
from onramp.flow.service import Service
from onramp.lab.run import down
from onramp.network import templates
from onramp.network.inventory.plugin import init_nornir
from onramp.tasks.config import device
from onramp.tasks.failure import failed

LAB, OCTET = "bmo", 57
SITES = ("ent-par", "ent-fra")


def allocate(svc: Service, n: int) -> list[str]:
    """n Links, their Connectors and the Links made active in the store."""
    links = []
    for k in range(n):
        ends = []
        for onramp in SITES if k % 2 == 0 else reversed(SITES):
            order = {"tenant": "bench", "onramp": onramp, "kind": "enterprise",
                     "bandwidth_mbps": 10, "customer_asn": 65101,
                     "prefixes": [f"192.168.{k % 250}.0/24"]}  # fmt: skip
            c = svc.create_connector(svc.connector_request(order))
            svc.store.transact(
                lambda s, i=c["id"]: move(s, s.get(ConnectorRow, i), "active", "bench")
            )
            ends.append(c["id"])
        link = svc.create_link(svc.link_request({"tenant": "bench", "a": ends[0], "b": ends[1],
                                                 "bandwidth_mbps": 10}))  # fmt: skip
        svc.store.transact(lambda s, i=link["id"]: move(s, s.get(LinkRow, i), "active", "bench"))
        links.append(link["id"])
    return links


def push(task: Task, configs: dict[str, str]) -> Result:
    dev = device(task)
    dev.load_replace_candidate(config=configs[task.host.name])
    dev.commit_config()
    return Result(host=task.host, changed=True)


def deploy(svc: Service, nr: Any, timeout_s: int = 60) -> float:
    """The PEs' whole config in one commit each. `timeout_s`: the driver's wait for one
    command; frr-reload of 500 Links' config (300 kB, 10,000 lines) outlives the default 60 s."""
    routers = ["pe1-par", "pe1-fra"]
    with svc.store.session() as s:
        services = render.services(s, svc.backbone, svc.vault, routers)
    configs = {r: templates.router_config(svc.backbone, r, services[r]) for r in routers}
    napalm = nr.inventory.defaults.connection_options["napalm"]
    usual = napalm.extras
    napalm.extras = {**usual, "timeout": timeout_s}  # for the connections opened now
    pes = nr.filter(filter_func=lambda h: h.name in routers)
    pes.close_connections()
    t = time.perf_counter()
    try:
        result = pes.run(task=push, configs=configs)
    finally:
        napalm.extras = usual
        pes.close_connections()  # the monitor's reopen with the usual timeout
    if result.failed:
        raise SystemExit(
            f"deploy failed: {[failed(h[0], 'ONR-DEPLOY-002') for h in result.values()]}"
        )
    return time.perf_counter() - t


def main() -> None:
    unwind_on_sigterm()
    ap = argparse.ArgumentParser()
    ap.add_argument("--links", type=int, default=100)
    ap.add_argument("--probes", type=int, default=20)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        try:
            _, svc = lab_service(tmp, LAB, OCTET)
            links = allocate(svc, a.links)
            nr = init_nornir(svc.settings)
            deployed = deploy(svc, nr)
            monitor.poll(svc, nr, 2, parallel=a.parallel)  # the segments' first ARP, warm SSH
            figures: dict[str, Any] = {"links": len(links), "probes per link": a.probes,
                                       "deploy s": round(deployed, 1)}  # fmt: skip
            for parallel in (a.parallel, 1):
                t = time.perf_counter()
                got = monitor.poll(svc, nr, a.probes, parallel=parallel)
                took = time.perf_counter() - t
                lossy = [w for w in got if w["loss_pct"] > 0 or w["error"]]
                figures[f"round s (parallel {parallel}/PE, 2 PEs)"] = round(took, 1)
                figures[f"per link s (parallel {parallel})"] = round(took / len(links), 3)
                figures[f"links with loss/errors (parallel {parallel})"] = len(lossy)
            figures["ratio sequential / parallel"] = round(
                figures["round s (parallel 1/PE, 2 PEs)"]
                / figures[f"round s (parallel {a.parallel}/PE, 2 PEs)"],
                1,
            )
            figures["fits a 60 s interval"] = (
                figures[f"round s (parallel {a.parallel}/PE, 2 PEs)"] < 60
            )
            nr.close_connections()
        finally:
            down(LAB, tmp / "state")
    report(figures, a.json)


if __name__ == "__main__":
    main()
