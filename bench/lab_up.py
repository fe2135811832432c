"""Benchmark: `lab up` to fully converged, and the lab's memory.

Cases, each built, converged (every IS-IS adjacency Up, every iBGP session Established)
and removed --repeat times: a 3-router baseline, the default inventory, and a generated
30-router inventory with iosxr/junos stand-ins. Prints median seconds, the lab's memory
(PSS: shared pages counted once; RSS: summed) and ratios to the baseline of this same
run and to the targets (default <= 10 s; 30 routers <= 20 s and < 2 GB).

Run as root: `make bench` or `.venv/bin/python bench/lab_up.py [--repeat N] [--json]`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from onramp.core.settings import ROOT, LabSettings
from onramp.lab.run import Lab, down, namespaces, sh
from onramp.lab.topology import build
from onramp.network.inventory import load
from onramp.network.inventory.generate import generate, write

SETTINGS = LabSettings(name="bench", state_dir=Path(tempfile.gettempdir()) / "onramp-bench")


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
    elif case == "generated-30":
        write(generate(30, subnet, ["frr", "iosxr", "junos"]), directory)
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


def run_case(case: str, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        topo = build(load(inventory(case, Path(tmp))), SETTINGS)
        times, mems = [], []
        for _ in range(repeat):
            down(SETTINGS.name, SETTINGS.state_dir)
            lab = Lab(topo, SETTINGS.state_dir)
            start = time.monotonic()
            try:
                lab.up(converge_timeout=60)
                times.append(time.monotonic() - start)
                mems.append(memory_kib(SETTINGS.name))
            finally:
                down(SETTINGS.name, SETTINGS.state_dir)
    return {
        "case": case,
        "routers": len(topo.routers()),
        "nodes": len(topo.nodes),
        "converged_s": round(statistics.median(times), 2),
        "converged_s_all": [round(t, 2) for t in times],
        "pss_mib": round(statistics.median(m[0] for m in mems) / 1024, 1),
        "rss_mib": round(statistics.median(m[1] for m in mems) / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [run_case(c, args.repeat) for c in ("baseline-3", "default", "generated-30")]
    base = results[0]
    targets = {"default": (10.0, None), "generated-30": (20.0, 2048.0)}
    for r in results:
        r["time_vs_baseline"] = round(r["converged_s"] / base["converged_s"], 2)
        r["pss_per_router_mib"] = round(r["pss_mib"] / r["routers"], 1)
        t, m = targets.get(r["case"], (None, None))
        r["time_vs_target"] = round(r["converged_s"] / t, 2) if t else None
        r["pss_vs_target"] = round(r["pss_mib"] / m, 3) if m else None
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(
        f"{'case':14} {'routers':>7} {'nodes':>5} {'converged s':>11} {'x base':>6} {'vs target':>9} "
        f"{'PSS MiB':>8} {'RSS MiB':>8} {'PSS/router':>10}"
    )
    for r in results:
        print(
            f"{r['case']:14} {r['routers']:7} {r['nodes']:5} {r['converged_s']:11.2f} {r['time_vs_baseline']:6.2f} "
            f"{r['time_vs_target'] if r['time_vs_target'] is not None else '-':>9} {r['pss_mib']:8.1f} "
            f"{r['rss_mib']:8.1f} {r['pss_per_router_mib']:10.1f}"
        )
    print("all runs (s):", {r["case"]: r["converged_s_all"] for r in results})


if __name__ == "__main__":
    main()
