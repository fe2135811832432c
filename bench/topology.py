"""Benchmark: the topology read (issue 24) of the default lab and of a 30-router lab.

Per case a lab is built and converged, then `onramp.flow.topology.read` is timed as a plan
with a stale cache runs it (Nornir opened, every router over SSH in parallel: daemons,
IS-IS database, iBGP; the store's load; the cache written) against the same read of one
router in the same run: the ratio says what the parallel read costs over one router.
Also the read with the connections kept open from the read before ("warm": what a
process that keeps its Nornir between reads pays). Target: under 1 s for 30 routers.
The 30 routers are FRR (the isis-ssh source parses FRR's output; the generator's iosxr/junos stand-ins would be read by parsers not built).

Run as root, under the lab lock (`flock /tmp/onramp-lab.lock ...`):
    .venv/bin/python bench/topology.py [--repeat 5] [--json]
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
from labkit import unwind_on_sigterm

from onramp.core.settings import ROOT, LabSettings, load_settings
from onramp.core.store import Store
from onramp.flow import topology
from onramp.lab.run import Lab, down
from onramp.lab.topology import build
from onramp.network.inventory import load
from onramp.network.inventory.generate import generate, write
from onramp.network.inventory.plugin import init_nornir

SETTINGS = LabSettings(
    name="btopo",
    mgmt_subnet="172.20.88.0/24",  # type: ignore[arg-type]  # pydantic parses it
    state_dir=Path(tempfile.gettempdir()) / "onramp-btopo",
)


def inventory(case: str, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    subnet = SETTINGS.mgmt_subnet
    if case == "generated-30":
        write(generate(30, str(subnet)), directory)
        return directory
    for f in (ROOT / "inventory").glob("*.yaml"):  # the default, moved into the bench subnet
        shutil.copy(f, directory / f.name)
    hosts = yaml.safe_load((directory / "hosts.yaml").read_text())
    for h in hosts.values():
        h["hostname"] = str(subnet.network_address + int(h["hostname"].split(".")[-1]))
    (directory / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    return directory


def config(tmp: Path, inv: Path) -> Path:
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump({
        "nornir": {"inventory": {"plugin": "OnrampInventory", "options": {"directory": str(inv)}},
                   "runner": {"plugin": "threaded", "options": {"num_workers": 20}},
                   "logging": {"enabled": False}},
        "store_url": f"sqlite:///{tmp / 'onramp.db'}", "secret_key_file": str(tmp / "key"),
        "lab": {**SETTINGS.model_dump(mode="json"), "state_dir": str(SETTINGS.state_dir)},
        "topology": {"source": "isis-ssh", "cache_file": str(tmp / "topology.json")},
    }))  # fmt: skip
    return path


def run_case(case: str, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        bb = load(inventory(case, tmp / "inventory"))
        down(SETTINGS.name, SETTINGS.state_dir)
        lab = Lab(build(bb, SETTINGS), SETTINGS.state_dir)
        try:
            lab.up(converge_timeout=90)
            settings = load_settings(config(tmp, tmp / "inventory"))
            store = Store(settings.resolved_store_url())
            store.migrate()
            one = next(r for r in sorted(bb.routers) if bb.routers[r].role == "pe")
            warm_nr = init_nornir(settings)  # kept open: the connections stay up between reads
            topology.read(settings, store, bb, warm_nr)
            cold, warm, ones = [], [], []
            for _ in range(repeat):
                nr = init_nornir(settings).filter(name=one)
                start = time.perf_counter()
                topology.read(settings, store, bb, nr)
                nr.close_connections()
                ones.append(time.perf_counter() - start)
                start = time.perf_counter()
                topo = topology.read(settings, store, bb)  # Nornir opened and closed inside
                cold.append(time.perf_counter() - start)
                read = [n for n, h in topo["health"].items() if h["reachable"]]
                assert len(read) == len(bb.routers), f"unread: {set(bb.routers) - set(read)}"
                assert len(topo["nodes"]) == len(bb.routers), "IS-IS database incomplete"
                start = time.perf_counter()
                topology.read(settings, store, bb, warm_nr)
                warm.append(time.perf_counter() - start)
            warm_nr.close_connections()
        finally:
            down(SETTINGS.name, SETTINGS.state_dir)
    med = statistics.median
    return {"case": case, "routers": len(bb.routers),
            "read_s": round(med(cold), 3), "read_s_all": [round(t, 3) for t in cold],
            "warm_s": round(med(warm), 3), "one_router_s": round(med(ones), 3),
            "ratio_to_one": round(med(cold) / med(ones), 2)}  # fmt: skip


def main() -> None:
    unwind_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = [run_case(c, args.repeat) for c in ("default", "generated-30")]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'case':14} {'routers':>7} {'read s':>7} {'warm s':>7} {'one router s':>12} "
          f"{'ratio':>6}  (median of {args.repeat})")  # fmt: skip
    for r in results:
        print(f"{r['case']:14} {r['routers']:7} {r['read_s']:7.3f} {r['warm_s']:7.3f} "
              f"{r['one_router_s']:12.3f} {r['ratio_to_one']:6.2f}")  # fmt: skip
    last = results[-1]
    print(f"target: 30 routers under 1 s: {last['read_s']:.3f} s "
          f"(connections kept: {last['warm_s']:.3f} s)")  # fmt: skip
    print("all runs (s):", {r["case"]: r["read_s_all"] for r in results})


if __name__ == "__main__":
    main()
