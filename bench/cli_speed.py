"""Benchmark: how long the engineers' CLI takes to start, per command, against the bare
interpreter in the same run (issue 23 item 6: read-only commands <= 0.3 s, --help <= 0.15 s).

Each command runs --runs times from this checkout (cwd: the repository, so its config.yaml
and var/onramp.db are used, as an engineer's loop would); the median is printed with its
ratio to `python -c pass` (what no code of ours can go under). Run once first to let the
store reach its newest schema: the figure is the steady state, not the first start.

    .venv/bin/python bench/cli_speed.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from report import report
from startup import median_s

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "help": ["--help"],
    "connector_help": ["connector", "--help"],
    "catalogue_json": ["catalogue", "--json"],
    "connector_list_json": ["connector", "list", "--json"],
    "inventory_check": ["inventory", "check"],
    "config_show": ["config", "show"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONRAMP_")}
    env["PYTHONPATH"] = str(ROOT)

    def timed(argv: list[str]) -> float:
        subprocess.run(argv, cwd=ROOT, env=env, check=True, capture_output=True)  # warm-up
        return median_s(argv, ROOT, env, args.runs)

    bare = timed([sys.executable, "-c", "pass"])
    figures: dict[str, object] = {"runs": args.runs, "python_bare_s": round(bare, 3)}
    for name, argv in COMMANDS.items():
        took = timed([sys.executable, "-m", "onramp.cli", *argv])
        figures |= {f"{name}_s": round(took, 3), f"{name}_ratio_to_bare": round(took / bare, 1)}
    figures["load_avg_1m"] = round(os.getloadavg()[0], 2)
    report(figures, args.json)


if __name__ == "__main__":
    main()
