"""Benchmark: dry-run diff on every lab PE in parallel vs on one PE alone.

Builds its own lab (name `bdf`, 172.20.47.0/24; removed at the end, even on failure),
allocates a Connector on every PE with an on-ramp (AWS Paris, Azure London x2, Google
Frankfurt), renders each PE's intended config and runs `tasks.config.diff_config`
through Nornir's threaded runner: on all PEs at once, and on pe1-par alone, interleaved,
each run with fresh SSH connections (as `onramp plan` does). Prints the medians, the
ratio all / one (target <= 1.5) and the CPU the PEs spent per run (every process in their
namespaces: sshd, vtysh, frr-reload, the daemons) and this process (Nornir, paramiko):
with more PEs than cores a dry run of all of them is CPU-bound, and that CPU is what to cut.
`ratio_if_idle` is that CPU spread over every core, over one PE's CPU: the ratio an idle
machine would give (the lab's routers run on its cores; a real network's each have their
own). Two PEs (as many as cores) are timed too.

    .venv/bin/python bench/diff.py [--runs 5] [--json] [--lab bdf --octet 47]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labkit import lab_service, unwind_on_sigterm
from report import report
from sqlalchemy import select

from onramp.core.store import ConnectorRow
from onramp.flow import render
from onramp.flow.service import Service
from onramp.lab.run import Lab, down, sh
from onramp.network import templates
from onramp.network.inventory.plugin import init_nornir
from onramp.tasks.config import diff_config

LAB, OCTET = "bdf", 47
REQUESTS: list[dict[str, Any]] = [
    {"onramp": "aws-dx-par", "kind": "aws-hosted-vif", "aws_account": "123456789012"},
    {
        "onramp": "azure-er-lon",
        "kind": "azure-expressroute",
        "azure_service_key": "6f1c2b9e-8a4d-4f2e-9b7a-1c2d3e4f5a6b",
    },
    {
        "onramp": "gcp-pi-fra",
        "kind": "gcp-partner",
        "gcp_pairing_key": "7e57d004-2b97-4c2d-9b8f-bada55c0ffee/europe-west3/1",
    },
]


def cpu_s(namespaces: list[str]) -> float:
    """CPU seconds (user + system, with reaped children) of every process in `namespaces`."""
    ticks = 0
    for ns in namespaces:
        for pid in sh("ip", "netns", "pids", ns, check=False).split():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile: its CPU went to its reaped parent
            ticks += sum(int(x) for x in stat[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def profile(svc: Service, lab: Lab, candidates: dict[str, str], runs: int) -> dict[str, Any]:
    """{step: {router_cpu_ms, own_cpu_ms}}, medians of `runs`, for one PE's dry run (the
    router's CPU in ticks of 10 ms: the kernel's clock, per process)."""
    pe = "pe1-par"
    nr = init_nornir(svc.settings).filter(filter_func=lambda h: h.name == pe)
    host = nr.inventory.hosts[pe]
    ns = [lab.ns(pe)]

    def spent(step: Callable[[], object]) -> tuple[float, float]:
        cpu, own = cpu_s(ns), time.process_time()
        step()
        own = time.process_time() - own
        time.sleep(0.2)  # reaped: counted
        return (cpu_s(ns) - cpu) * 1000, own * 1000

    # a Nornir of its own for the session step: `dev`'s connection stays open
    fresh = init_nornir(svc.settings).filter(filter_func=lambda h: h.name == pe)

    def session() -> None:
        fresh.inventory.hosts[pe].get_connection("napalm", fresh.config)._run("true")
        fresh.close_connections()

    def dry_run() -> None:
        dev.load_replace_candidate(config=candidates[pe])
        dev.compare_config()
        dev.discard_config()

    dev = host.get_connection("napalm", nr.config)
    dry_run()  # leaves the staged inputs that the steps below run on
    # the dry run's own paths (napalm_frr.compare_config): $d/premarked-1 answers
    # frr-reload's vtysh calls with the inputs marked by the one `vtysh -m`
    d = f"d={dev._dir} && "
    steps: dict[str, Callable[[], object]] = {
        "ssh_session_open_true_close": session,
        "exec_true": lambda: dev._run("true"),
        "show_running_config": lambda: dev._run(d + "vtysh -c 'show running-config' >/dev/null"),
        "vtysh_mark_both_inputs": lambda: dev._run(d + "vtysh -m -f $d/premarked.conf >/dev/null"),
        "frr_reload_help": lambda: dev._run(f"{dev.frr_reload} --help >/dev/null"),
        "frr_reload_test": lambda: dev._run(
            d + f"{dev.frr_reload} --bindir $d/premarked-1 --test --input $d/compared.input "
            "$d/candidate.conf.load >/dev/null"
        ),
        "whole_dry_run_one_exec": dry_run,
    }
    took: dict[str, list[tuple[float, float]]] = {k: [] for k in steps}
    for _ in range(runs):
        for name, step in steps.items():
            took[name].append(spent(step))
    nr.close_connections()
    return {
        k: {"router_cpu_ms": round(statistics.median(r for r, _ in v), 1),
            "own_cpu_ms": round(statistics.median(o for _, o in v), 1)}
        for k, v in took.items()
    }  # fmt: skip


def setup(tmp: Path, name: str, octet: int) -> tuple[Lab, Service]:
    lab, svc = lab_service(tmp, name, octet)
    for r in REQUESTS:
        svc.create_connector(
            svc.connector_request(
                {"tenant": "bench", "bandwidth_mbps": 100, "prefixes": ["10.1.0.0/16"], **r}
            )
        )
    return lab, svc


def main() -> None:
    unwind_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--profile", action="store_true", help="one PE's CPU, step by step")
    parser.add_argument("--lab", default=LAB, help=f"lab name (default {LAB})")
    parser.add_argument("--octet", type=int, default=OCTET, help="management 172.20.<octet>.0/24")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        try:
            lab, svc = setup(tmp, args.lab, args.octet)
            pes = sorted(r for r, x in svc.backbone.routers.items() if x.role == "pe")
            with svc.store.session() as s:
                ids = frozenset(s.scalars(select(ConnectorRow.id)))
                per = render.services(
                    s, svc.backbone, svc.vault, pes, render.Change(add_connectors=ids)
                )
            candidates = {r: templates.router_config(svc.backbone, r, per[r]) for r in pes}

            namespaces = [lab.ns(p) for p in pes]

            def run(hosts: list[str]) -> tuple[float, float, float]:
                nr = init_nornir(svc.settings).filter(filter_func=lambda h: h.name in hosts)
                cpu, own = cpu_s(namespaces), time.process_time()
                t = time.perf_counter()
                result = nr.run(task=diff_config, candidates=candidates)
                elapsed = time.perf_counter() - t
                own = time.process_time() - own  # ours: Nornir, paramiko, the diff's parsing
                nr.close_connections()
                time.sleep(0.2)  # sshd reaps the closed sessions: their CPU is counted
                assert not result.failed, {h: r[0].exception for h, r in result.items()}
                assert all(r[0].changed for r in result.values())  # a real diff everywhere
                return elapsed, cpu_s(namespaces) - cpu, own

            run(pes)  # warm-up: imports, first SSH host keys
            # as many PEs as cores too: if the CPU is what limits, two cost about one
            two = ["pe1-par", next(p for p in pes if p != "pe1-par")]
            cases = {"all": pes, "two": two, "one": ["pe1-par"]}
            wall: dict[str, list[float]] = {k: [] for k in cases}
            cpu: dict[str, list[float]] = {k: [] for k in cases}
            own: dict[str, list[float]] = {k: [] for k in cases}
            for _ in range(args.runs):
                for case, hosts in cases.items():
                    took, spent, ours = run(hosts)
                    wall[case].append(took)
                    cpu[case].append(spent)
                    own[case].append(ours)
            steps = profile(svc, lab, candidates, args.runs) if args.profile else None
        finally:
            down(args.lab, tmp / "state")
    cores = os.cpu_count() or 1
    w, c, o = ({k: statistics.median(v) for k, v in d.items()} for d in (wall, cpu, own))
    figures = {
        "pes": len(pes),
        "runs": args.runs,
        "all_pes_parallel_s": round(w["all"], 3),
        "one_pe_s": round(w["one"], 3),
        "ratio_all_over_one": round(w["all"] / w["one"], 3),
        "target_ratio": 1.5,
        "two_pes_parallel_s": round(w["two"], 3),
        "ratio_two_over_one": round(w["two"] / w["one"], 3),
        "pe_cpu_s_all": round(c["all"], 3),
        "pe_cpu_s_one": round(c["one"], 3),
        "own_cpu_s_all": round(o["all"], 3),  # ours: Nornir, paramiko, the diffs' parsing
        "own_cpu_s_one": round(o["one"], 3),
        # how much of one PE's wall is CPU (the routers' and ours); the rest is waiting,
        # mostly for a core the other work on this machine holds
        "cpu_share_of_one_pe_wall": round((c["one"] + o["one"]) / w["one"], 3),
        # all PEs' CPU spread over every core: the least time they can take here
        "cpu_floor_all_s": round((c["all"] + o["all"]) / cores, 3),
        # the ratio on an idle machine: one PE's dry run is a chain (one step after the
        # other, each waiting for the last), so it keeps one core busy; all PEs' CPU over
        # every core against that one chain's CPU
        "ratio_if_idle": round(max(1, (c["all"] + o["all"]) / cores / (c["one"] + o["one"])), 3),
        "load_avg_1m": round(os.getloadavg()[0], 2),  # other work sharing the cores
    }
    if steps is not None:
        figures["profile_one_pe"] = steps
    report(figures, args.json)


if __name__ == "__main__":
    main()
