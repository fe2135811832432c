"""Benchmark: start-up of `onramp --help` and `onramp inventory check` from the installed
wheel (built from this tree, installed into a fresh venv in a temporary folder, run from a
project `onramp init` wrote) against the same commands from this checkout's venv, same run.
Prints the median of runs of each and the ratio installed / checkout (target <= 1.2: the
wheel adds no start-up of its own; the dependencies come from this venv in both).

    .venv/bin/python bench/startup.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import venv
from pathlib import Path

from report import report

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {"help": ["--help"], "inventory_check": ["inventory", "check"]}


def install(tmp: Path, env: dict[str, str]) -> Path:
    """The wheel in a fresh venv; the dependencies: this venv's site-packages, on the path."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(tmp / "dist")],
                   check=True, env=env, capture_output=True)  # fmt: skip
    for scratch in ("build", "onramp_interconnect.egg-info"):
        subprocess.run(["rm", "-rf", str(ROOT / scratch)], check=True)
    venv.create(tmp / "venv", with_pip=False)
    purelib = sysconfig.get_paths(vars={"base": str(tmp / "venv"), "platbase": str(tmp / "venv")})
    Path(purelib["purelib"], "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (wheel,) = (tmp / "dist").glob("*.whl")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(tmp / "venv/bin/python"),
                    "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, env=env, capture_output=True)  # fmt: skip
    return tmp / "venv" / "bin" / "onramp"


def median_s(argv: list[str], cwd: Path, env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("ONRAMP_")}
    checkout = Path(sys.executable).parent / "onramp"
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        installed = install(tmp, env)
        subprocess.run([str(installed), "init", "proj"], cwd=tmp, env=env, check=True,
                       capture_output=True)  # fmt: skip
        figures: dict[str, object] = {"runs": args.runs}
        for name, argv in COMMANDS.items():
            wheel = median_s([str(installed), *argv], tmp / "proj", env, args.runs)
            tree = median_s([str(checkout), *argv], ROOT, env, args.runs)
            figures |= {f"{name}_installed_s": round(wheel, 3), f"{name}_checkout_s": round(tree, 3),
                        f"{name}_ratio": round(wheel / tree, 2)}  # fmt: skip
        figures["load_avg_1m"] = os.getloadavg()[0]
    report(figures, args.json)


if __name__ == "__main__":
    main()
