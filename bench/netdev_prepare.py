"""Benchmark: `frr-netdev prepare` for one new Connector on a PE (issue 23 item 1: the lab's
stand-in for the router OS is part of every commit), and the revert that removes it.

On the default lab (name `bnd`, 172.20.91.0/24; run under the lab lock, removed at the end),
inside pe1-par's namespaces as its SSH sessions are (network, UTS, mount: its VRFs live
under its own /run/netns), each round:
- add: `prepare` of the running config + one Connector (a new VRF, a VLAN subinterface
  in it shaped to 100 Mb/s), the wall time from the command's start to its end, which
  includes zebra taking the VRF up (the wait bgpd's MD5 socket needs): what a new
  Connector's commit does before FRR has its config; then `finish` of the same config
  (`add finish`: its shapers, since they moved there; before, it had nothing to do), after
  FRR has it, beside the session coming up; `add total`, both;
- remove: `prepare` of the running config again (the subinterface, its shapers and ifb
  go) then `finish` (the namespace goes);
each checked against the kernel and zebra afterwards. With `--baseline DIR` the same rounds
run DIR's netdev.py alternating with this tree's, on the same lab: the ratio is of one run.
`--profile` times every process the tool starts (ip, tc, vtysh, sysctl) and the sleeps.

    flock /tmp/onramp-lab.lock .venv/bin/python bench/netdev_prepare.py [--runs 5]
        [--baseline /path/to/old/checkout] [--profile] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from labkit import moved_inventory, unwind_on_sigterm
from report import report

from onramp.core.settings import LabSettings
from onramp.lab import netdev
from onramp.lab.run import Lab, down
from onramp.lab.topology import build
from onramp.network.inventory import load

LAB, OCTET, PE = "bnd", 91, "pe1-par"
HERE = Path(__file__).resolve().parents[1] / "onramp" / "lab" / "netdev.py"
# run inside the router: every subprocess the tool starts and every sleep, timed
PROFILER = """
import json, runpy, subprocess, sys, time
calls = []
run, sleep = subprocess.run, time.sleep
def timed(cmd, *a, **k):
    t = time.perf_counter()
    try:
        return run(cmd, *a, **k)
    finally:
        calls.append([" ".join(cmd[:4]), time.perf_counter() - t])
def slept(s):
    calls.append(["sleep", s]); sleep(s)
subprocess.run, time.sleep = timed, slept
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit:
    pass
print("PROFILE " + json.dumps(calls))
"""


def timed(lab: Lab, tool: Path, verb: str, config: Path, profile: bool) -> tuple[float, Any]:
    head = [sys.executable, "-c", PROFILER] if profile else [sys.executable]
    t = time.perf_counter()
    # the profile comes last, on stdout after what the tool printed; umask 077 as the
    # NAPALM driver's commit runs the tool (its staged VRFs must stay readable to zebra)
    out = lab.inside(PE, "sh", "-c", 'umask 077 && exec "$@"', "-", *head, str(tool), verb,
                     str(config))  # fmt: skip
    took = time.perf_counter() - t
    calls = None
    for line in out.splitlines():
        if line.startswith("PROFILE "):
            calls = json.loads(line[8:])
    return took, calls


def main() -> None:
    unwind_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="an older checkout: its netdev.py too")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tools = {"new": HERE}
    if args.baseline:
        tools = {"old": args.baseline / "onramp" / "lab" / "netdev.py", **tools}
    took: dict[str, list[float]] = defaultdict(list)
    procs: dict[str, list[dict[str, tuple[int, float]]]] = defaultdict(list)
    stanzas: dict[str, set[str]] = defaultdict(set)  # the new VRF's, as FRR shows it
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        settings = LabSettings(name=LAB, mgmt_subnet=f"172.20.{OCTET}.0/24", state_dir=tmp)
        inv = load(moved_inventory(tmp, OCTET))
        lab = Lab(build(inv, settings), tmp)
        try:
            down(LAB, tmp)
            lab.up(converge_timeout=60)
            port = next(p for p in inv.routers[PE].onramp_ports)
            ifname = lab.topo.nodes[PE].ifnames.get(port.name, port.name)
            running = lab.vtysh(PE, "show running-config").split("\n", 3)[3]
            base, added = lab.node_dir(PE) / "base.conf", lab.node_dir(PE) / "added.conf"
            base.write_text(running)
            for i in range(args.runs):
                for k, (name, tool) in enumerate(tools.items()):
                    vrf, subif = f"c9{i}{k}", f"{ifname}.{3900 + i * 2 + k}"
                    added.write_text(
                        running + f"vrf {vrf}\nexit-vrf\n!\ninterface {subif} vrf {vrf}\n"
                        f" bandwidth 100\n ip address 169.254.250.1/30\nexit\n!\n"
                    )
                    t, calls = timed(lab, tool, "prepare", added, args.profile)
                    took[f"{name} add"].append(t)
                    if calls is not None:
                        procs[f"{name} add"].append(tally(calls))
                    t2, _ = timed(lab, tool, "finish", added, args.profile)
                    took[f"{name} add finish"].append(t2)
                    took[f"{name} add total"].append(t + t2)
                    stanzas[name].add(check(lab, vrf, subif, present=True).replace(vrf, "<vrf>"))
                    t1, calls = timed(lab, tool, "prepare", base, args.profile)
                    t2, calls2 = timed(lab, tool, "finish", base, args.profile)
                    took[f"{name} remove"].append(t1 + t2)
                    if calls is not None and calls2 is not None:
                        procs[f"{name} remove"].append(tally(calls + calls2))
                    check(lab, vrf, subif, present=False)
        finally:
            down(LAB, tmp)
    figures: dict[str, Any] = {"runs": args.runs, "load": Path("/proc/loadavg").read_text()[:14]}
    for label, values in took.items():
        figures[f"{label}_s (median; runs)"] = (round(statistics.median(values), 3),
                                                [round(v, 3) for v in values])  # fmt: skip
    figures["the new VRF in the running config"] = {n: sorted(v) for n, v in stanzas.items()}
    if "old add" in took:
        for what in ("add", "add total", "remove"):
            old, new = (statistics.median(took[f"{n} {what}"]) for n in ("old", "new"))
            figures[f"{what}_ratio new/old"] = round(new / old, 2)
    for label, rounds in procs.items():
        keys = {k for r in rounds for k in r}
        figures[f"{label}_profile (median per run: count, s)"] = {
            k: (statistics.median(r.get(k, (0, 0.0))[0] for r in rounds),
                round(statistics.median(r.get(k, (0, 0.0))[1] for r in rounds), 3))
            for k in sorted(keys)
        }  # fmt: skip
    report(figures, args.json)


def tally(calls: list[list[Any]]) -> dict[str, tuple[int, float]]:
    """Per kind of process (its first words), how many and their summed wall time."""
    out: dict[str, tuple[int, float]] = {}
    for cmd, s in calls:
        words = cmd.split()
        key = " ".join(w for w in words[:3] if not w.startswith("-"))[:24]
        n, total = out.get(key, (0, 0.0))
        out[key] = (n + 1, total + s)
    started = [v for k, v in out.items() if k != "sleep"]
    out["all processes"] = (sum(n for n, _ in started), sum(s for _, s in started))
    return out


def check(lab: Lab, vrf: str, subif: str, present: bool) -> str:
    """The kernel and zebra match what was asked; the VRF's stanza in the running config."""
    vrfs = lab.inside(PE, "ip", "netns", "list")
    zebra = lab.vtysh(PE, "show vrf")
    if present:
        assert vrf in vrfs and f"vrf {vrf} id" in zebra, (vrfs, zebra)
        link = lab.inside(PE, "ip", "-n", vrf, "-br", "link", "show", subif)
        assert subif in link, link
        shaped = json.loads(lab.inside(PE, "frr-netdev", "rates"))
        assert shaped.get(f"{vrf} {subif}") == 100, shaped
        ifbs = lab.inside(PE, "ip", "-n", vrf, "-br", "link", "show", "type", "ifb")
        assert shaped.get(f"{vrf} {ifbs.split()[0]}") == 100, (ifbs, shaped)
        running = lab.vtysh(PE, "show running-config")
        return "".join(re.findall(rf"^vrf {vrf}\n(?: .*\n)*exit-vrf\n", running, re.M))
    assert vrf not in vrfs, vrfs
    assert netdev.SUBIF.match(subif) and subif not in lab.vtysh(PE, "show interface brief")
    return ""


if __name__ == "__main__":
    main()
