"""Benchmark: what the guaranteed rates deliver, measured with iperf3 (UDP, 1400 B, offered
300 Mb/s: 3x a 100 Mb/s rate), each figure beside its ratio to the configured rate.

- through the lab (tests/e2e/test_tbw.py: Connectors and Links ordered through the product,
  iperf3 between the clouds' and sites' hosts across the FRR backbone): 300 into a 100 Mb/s
  Connector, both ways (target: within 5 % of 100); two 100 Mb/s Connectors on one port
  (each >= 95); a 100 Mb/s Link between a 100 and a 200 Mb/s Connector (never above 100);
  a 100 Mb/s Connector with two Links, its cloud sending 300 on each (at most 105 in all);
- through the lab after changes in place (tests/e2e/test_change.py: the state machine's
  change, commit-confirm and gate): a Connector, its Link and its far end 100 -> 200
  (within 5 % of 200); a Link's 100 -> 200 whose gate failed, rolled back between two
  200 Mb/s Connectors (within 5 % of 100, not 200);
- on bare namespaces (onramp.lab.iperf.bare_pe: frr-netdev's shaper alone, no FRR): the
  same first two, and a change in place to 200 (within 5 % of 200).

Root, FRR and iperf3 needed; the lab is heavy, run under the lab lock:

    flock /tmp/onramp-lab.lock .venv/bin/python bench/bandwidth.py [--json] [--bare-only]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from report import report

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from onramp.lab import iperf, netdev  # noqa: E402 (after the path)

OFFERED = 300


def bare() -> dict[str, Any]:
    with iperf.bare_pe():
        netdev.shape("pe-b1", "shp-pe", 100)
        netdev.shape("pe-b2", "shp-pe", 100)
        one = iperf.one(iperf.to_b(1, OFFERED))
        two = iperf.udp([iperf.to_b(1, OFFERED, 5301), iperf.to_b(2, OFFERED, 5302)])
        netdev.shape_inbound("pe-b1", "shp-pe", 100)
        inbound = iperf.one(iperf.from_b(1, OFFERED))
        netdev.shape("pe-b1", "shp-pe", 200)
        changed = iperf.one(iperf.to_b(1, OFFERED))
    return {
        "bare_300_into_100": one.received_mbps,
        "bare_300_into_100_from_the_cloud": inbound.received_mbps,
        "bare_two_100s_on_one_port": [m.received_mbps for m in two],
        "bare_after_change_to_200": changed.received_mbps,
        "bare_sender_cpu_pct_max": max(m.sender_cpu_pct for m in (one, *two, inbound, changed)),
    }


LAB_TESTS = ("tests/e2e/test_tbw.py", "tests/e2e/test_change.py")


def lab(test: str) -> dict[str, Any]:
    """The figures `test` (a lab module) writes to $ONRAMP_FIGURES, and whether it passed."""
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "figures.json"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / test)],
            cwd=ROOT, env={**os.environ, "ONRAMP_FIGURES": str(out)},
            capture_output=True, text=True,
        )  # fmt: skip
        if not out.exists():
            sys.exit(f"{test} gave no figures:\n{done.stdout[-3000:]}")
        figures: dict[str, Any] = json.loads(out.read_text())
        figures[f"{Path(test).stem}_passed"] = done.returncode == 0
        return figures


def ratios(f: dict[str, Any]) -> dict[str, Any]:
    """Each delivered figure over the rate it was held to (100, or 200 after a change to it:
    a rolled-back change's key names no "change", its rate stayed 100)."""
    out = {}
    for k, v in f.items():
        if k.endswith(("_cpu_pct_max", "_passed")):
            continue
        rate = 200 if "200" in k and "change" in k else 100
        out[f"ratio_{k}"] = (
            [round(x / rate, 3) for x in v] if isinstance(v, list) else round(v / rate, 3)
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--bare-only", action="store_true", help="skip the lab (minutes)")
    args = parser.parse_args()
    figures = bare()
    for test in () if args.bare_only else LAB_TESTS:
        figures |= lab(test)
    report({"offered_mbps": OFFERED, **figures, **ratios(figures)}, args.json)


if __name__ == "__main__":
    main()
