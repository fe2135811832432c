"""Benchmark: the operator's path (issue 18), as a stranger runs it. Runs
tests/e2e/test_operator.py (a generated 12-router backbone with names of its own, the
simulators and workers as processes, orders through the CLI only) and prints its figures:

- request -> active through `onramp connector create` + `onramp worker --beat`, for AWS,
  Azure, Google and an enterprise site, and the ratio of AWS's against the same order
  driven by the state machine in the test's process (baseline; target <= 1.5);
- a worker SIGKILLed in `verifying` -> active again under a new worker (target <= 45 s),
  with the worker's lease and sweep at their defaults.

    .venv/bin/python bench/operator.py [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from report import report

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "figures.json"
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             str(ROOT / "tests/e2e/test_operator.py")],
            cwd=ROOT, env={**os.environ, "ONRAMP_FIGURES": str(out)},
            capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0 or not out.exists():
            sys.exit(f"tests/e2e/test_operator.py failed:\n{done.stdout[-3000:]}")
        seen = json.loads(out.read_text())
    figures = {**seen}
    if "cli_aws_s" in seen and "baseline_aws_s" in seen:
        figures["ratio_cli_aws_over_baseline"] = round(
            seen["cli_aws_s"] / seen["baseline_aws_s"], 2
        )
        figures["target_ratio"] = 1.5
    if "worker_death_to_active_s" in seen:
        figures["ratio_worker_death_over_45s"] = round(seen["worker_death_to_active_s"] / 45, 2)
    report(figures, args.json)


if __name__ == "__main__":
    main()
