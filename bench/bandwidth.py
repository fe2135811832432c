"""Benchmark: what frr-netdev's shaper delivers, measured with iperf3 (UDP, 1400 B).

On the namespaces of tests/lab/test_shaper.py (sender -- shaping PE -- receiver, no FRR):
offered 300 Mb/s into a 100 Mb/s Connector (target: within 5 % of 100); two 100 Mb/s
Connectors on one port, both offered 300 (target: each >= 95); the same Connector after
a change to 200 in place (target: within 5 % of 200). Root and iperf3 needed; run under
the lab lock:

    flock /tmp/onramp-lab.lock .venv/bin/python bench/bandwidth.py [--json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from onramp.lab import netdev
from tests.lab.test_shaper import udp_mbps, wire


def both(offered: int) -> list[float]:
    """Both Connectors offered `offered` Mb/s at once: what each delivers."""
    servers = [
        subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                "tbw-b",
                "iperf3",
                "-s",
                "-1",
                "-J",
                "-B",
                f"10.69.{100 + k}.1",
                "-p",
                str(5400 + k),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in (1, 2)
    ]
    time.sleep(0.3)
    clients = [
        subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                "tbw-a",
                "iperf3",
                "-c",
                f"10.69.{100 + k}.1",
                "-p",
                str(5400 + k),
                "-u",
                "-b",
                f"{offered}M",
                "-l",
                "1400",
                "-t",
                "4",
            ],
            stdout=subprocess.DEVNULL,
        )
        for k in (1, 2)
    ]
    for c in clients:
        c.wait(timeout=30)
    return [
        float(json.loads(s.communicate(timeout=30)[0])["end"]["sum_received"]["bits_per_second"])
        / 1e6
        for s in servers
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    setup = wire.__wrapped__()  # type: ignore[attr-defined]
    next(setup)
    try:
        netdev.shape("pe-b1", "tbw-pe", 100)
        netdev.shape("pe-b2", "tbw-pe", 100)
        one = udp_mbps(1, offered=300)
        two = both(300)
        netdev.shape("pe-b1", "tbw-pe", 200)
        changed = udp_mbps(1, offered=300)
    finally:
        next(setup, None)
    figures = {"300_into_100": one, "two_100s": two, "after_change_to_200": changed}
    if args.json:
        print(json.dumps(figures))
        return
    print(f"offered 300 into 100 Mb/s: {one:.1f} Mb/s ({(one / 100 - 1) * 100:+.1f} %)")
    print(f"two 100 Mb/s on one port, each offered 300: {two[0]:.1f} and {two[1]:.1f} Mb/s")
    print(f"after a change to 200 Mb/s: {changed:.1f} Mb/s ({(changed / 200 - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
