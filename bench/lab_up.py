"""Benchmark: `lab up` to fully converged, the lab's memory, and `lab down` to nothing.

Cases, each built, converged and removed --repeat times: a 3-router baseline, the default
inventory, and generated inventories of 10, 30 and 100 routers with iosxr/junos stand-ins
(`--cases` picks some). Per case, median seconds of: up (namespaces, links, keys, daemons
started), converged (every IS-IS adjacency Up on every core link, every iBGP session to the
route reflectors Established: `Lab.wait_converged`, from the start of up), down; the
lab's memory at convergence and 2 s after, the larger (PSS: shared pages counted once; RSS:
summed), and what down left behind (namespaces, processes, root links, FRR directories: must
be none). Ratios to the baseline of this same run and to the targets (default <= 5 s;
30 routers <= 20 s and < 2 GB; 100 routers <= 30 s and < 4 GB).

Run as root: `make bench` or
`.venv/bin/python bench/lab_up.py [--repeat N] [--cases default,generated-100] [--lab bench
--subnet 172.20.20.0/24] [--json]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import yaml
from labkit import unwind_on_sigterm

from onramp.core.settings import ROOT, LabSettings
from onramp.lab.run import FRR_ETC, FRR_RUN, Lab, down, namespaces, root_links, sh
from onramp.lab.topology import build
from onramp.network.inventory import load
from onramp.network.inventory.generate import generate, write

SETTINGS = LabSettings(name="bench", state_dir=Path(tempfile.gettempdir()) / "onramp-bench")
CASES = ("baseline-3", "default", "generated-10", "generated-30", "generated-100")
TARGETS = {"default": (5.0, None), "generated-30": (20.0, 2048.0), "generated-100": (30.0, 4096.0)}


def memory_kib(lab: str) -> tuple[int, int]:
    """(PSS, RSS) in KiB summed over every process inside the lab's namespaces."""
    pss = rss = 0
    for ns in namespaces(lab):
        for pid in sh("ip", "netns", "pids", ns, check=False).split():
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            for line in rollup.splitlines():
                key, _, value = line.partition(":")
                if key == "Pss":
                    pss += int(value.split()[0])
                elif key == "Rss":
                    rss += int(value.split()[0])
    return pss, rss


def inventory(case: str, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    subnet = str(SETTINGS.mgmt_subnet)
    if case == "baseline-3":
        write(generate(3, subnet), directory)
    elif case.startswith("generated-"):
        write(generate(int(case.split("-")[1]), subnet, ["frr", "iosxr", "junos"]), directory)
    else:  # the default inventory, management addresses moved into the bench subnet
        for f in (ROOT / "inventory").glob("*.yaml"):
            shutil.copy(f, directory / f.name)
        hosts = yaml.safe_load((directory / "hosts.yaml").read_text())
        for h in hosts.values():
            h["hostname"] = str(
                SETTINGS.mgmt_subnet.network_address + int(h["hostname"].split(".")[-1])
            )
        (directory / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    return directory


def leftovers(lab: str) -> dict[str, int]:
    """What of lab `lab` is still on the machine: its namespaces, root-namespace links, FRR
    directories, and processes (FRR daemons run with `-N <lab>-<node>`, sshd with the
    lab's state directory in its config path)."""
    procs = 0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        text = b" ".join(args).decode(errors="replace")
        if f"-N {lab}-" in text or f"/{lab}/nodes/" in text:
            procs += 1
    dirs = [*FRR_ETC.glob(f"{lab}-*"), *FRR_RUN.glob(f"{lab}-*"), SETTINGS.state_dir / lab]
    return {
        "namespaces": len(namespaces(lab)),
        "links": len(root_links(lab)),
        "processes": procs,
        "dirs": sum(d.exists() for d in dirs),
    }


def run_case(case: str, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        topo = build(load(inventory(case, Path(tmp))), SETTINGS)
        ups, converged, downs, mems, left = [], [], [], [], []
        for _ in range(repeat):
            down(SETTINGS.name, SETTINGS.state_dir)
            lab = Lab(topo, SETTINGS.state_dir)
            start = time.monotonic()
            try:
                lab.up()
                ups.append(time.monotonic() - start)
                status = lab.wait_converged(120)
                converged.append(time.monotonic() - start)
                assert status.converged
                first = memory_kib(SETTINGS.name)
                time.sleep(2)  # BGP's first updates and timers settle: the larger of the two
                second = memory_kib(SETTINGS.name)
                mems.append(max(first, second))
            finally:
                t = time.monotonic()
                down(SETTINGS.name, SETTINGS.state_dir)
                downs.append(time.monotonic() - t)
                left.append(leftovers(SETTINGS.name))
    routers = topo.routers()
    return {
        "case": case,
        "routers": len(routers),
        "nodes": len(topo.nodes),
        "isis_adjacencies": sum(len(r.expect_isis) for r in routers),
        "ibgp_sessions": sum(len(r.expect_bgp) for r in routers) // 2,
        "up_s": round(statistics.median(ups), 2),
        "converged_s": round(statistics.median(converged), 2),
        "converged_s_all": [round(t, 2) for t in converged],
        "down_s": round(statistics.median(downs), 2),
        "pss_mib": round(statistics.median(m[0] for m in mems) / 1024, 1),
        "rss_mib": round(statistics.median(m[1] for m in mems) / 1024, 1),
        "left_after_down": {k: max(x[k] for x in left) for k in left[0]},
    }


def main() -> None:
    unwind_on_sigterm()
    global SETTINGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--cases", default=",".join(CASES), help="comma-separated, of " + ", ".join(CASES)
    )
    parser.add_argument("--lab", default=SETTINGS.name)
    parser.add_argument("--subnet", default=str(SETTINGS.mgmt_subnet))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    SETTINGS = SETTINGS.model_copy(
        update={"name": args.lab, "mgmt_subnet": IPv4Network(args.subnet)}
    )
    cases = args.cases.split(",")
    results = [run_case(c, args.repeat) for c in cases]
    base = results[0]
    for r in results:
        r["time_vs_baseline"] = round(r["converged_s"] / base["converged_s"], 2)
        r["pss_per_router_mib"] = round(r["pss_mib"] / r["routers"], 1)
        t, m = TARGETS.get(r["case"], (None, None))
        r["time_vs_target"] = round(r["converged_s"] / t, 2) if t else None
        r["pss_vs_target"] = round(r["pss_mib"] / m, 3) if m else None
    machine = {"cores": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)}
    if args.json:
        print(json.dumps({"machine": machine, "cases": results}, indent=2))
        return
    print(
        f"{'case':14} {'routers':>7} {'nodes':>5} {'up s':>5} {'converged s':>11} {'x base':>6} "
        f"{'vs target':>9} {'down s':>6} {'PSS MiB':>8} {'RSS MiB':>8} {'PSS/router':>10}  left"
    )
    for r in results:
        left = sum(r["left_after_down"].values()) or "nothing"
        print(
            f"{r['case']:14} {r['routers']:7} {r['nodes']:5} {r['up_s']:5.2f} {r['converged_s']:11.2f} "
            f"{r['time_vs_baseline']:6.2f} {r['time_vs_target'] if r['time_vs_target'] is not None else '-':>9} "
            f"{r['down_s']:6.2f} {r['pss_mib']:8.1f} {r['rss_mib']:8.1f} {r['pss_per_router_mib']:10.1f}  {left}"
        )
    print("all runs (s):", {r["case"]: r["converged_s_all"] for r in results}, machine)


if __name__ == "__main__":
    main()
