"""Benchmark: the inventory read from Nautobot (what every command with Nautobot as its
inventory does first), this tree's reader against an earlier revision's.

Starts what `tests/inventory/test_nautobot.py` starts (a PostgreSQL, a Redis, `nautobot-server
runserver`), loads the example backbone with `onramp inventory export`, then reads it with
each revision's `OnrampNautobotInventory.raw()` in turn, `--runs` times each, alternating (the
machine is shared: only figures of one run compare). Both must read the same inventory.
Prints each median, the ratio this / baseline and the load average around the run.

    .venv/bin/python bench/nautobot_read.py [--baseline REV] [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from report import report
from typer.testing import CliRunner

from onramp.cli.main import app
from tests.conftest import pg_server
from tests.nautobot_server import nautobot_server

ROOT = Path(__file__).resolve().parents[1]
MODULE = "onramp/network/inventory/nautobot.py"


def reader(source: str, name: str) -> Any:
    """That revision's OnrampNautobotInventory class (its module run from source)."""
    space: dict[str, Any] = {"__name__": name}
    exec(compile(source, name, "exec"), space)
    return space["OnrampNautobotInventory"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="b48ef13", help="git revision (before depth 0)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    old = subprocess.run(["git", "show", f"{args.baseline}:{MODULE}"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    readers = {
        "baseline": reader(old, "baseline"),
        "this": reader((ROOT / MODULE).read_text(), "this"),
    }
    inventory = ROOT / "inventory"
    figures: dict[str, object] = {"load_before": os.getloadavg()[0]}
    with pg_server() as pg, nautobot_server(pg.base / "sock") as nb:
        os.environ["NAUTOBOT_TOKEN"] = nb.token
        made = CliRunner().invoke(app, ["inventory", "export", "--to", "nautobot", nb.url,
                                        str(inventory), "--json"])  # fmt: skip
        assert made.exit_code == 0, made.output
        took: dict[str, list[float]] = {k: [] for k in readers}
        for _ in range(args.runs):
            raws = []
            for name, cls in readers.items():
                start = time.monotonic()
                raws.append(cls(directory=str(inventory), nautobot_url=nb.url).raw())
                took[name].append(time.monotonic() - start)
            assert raws[0] == raws[1], "the two revisions read different inventories"
    base, this = statistics.median(took["baseline"]), statistics.median(took["this"])
    figures |= {"routers": len(raws[1]["hosts"]), "baseline": args.baseline,
                "baseline_s": round(base, 2), "this_s": round(this, 2),
                "ratio_this_over_baseline": round(this / base, 2),
                "runs_baseline_s": [round(t, 2) for t in took["baseline"]],
                "runs_this_s": [round(t, 2) for t in took["this"]],
                "load_after": os.getloadavg()[0]}  # fmt: skip
    report(figures, args.json)


if __name__ == "__main__":
    main()
