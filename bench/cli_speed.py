"""Benchmark: how long the engineers' CLI takes to start, per command, against the bare
interpreter in the same run (issue 23 item 6: read-only commands <= 0.3 s, --help <= 0.15 s).

Each command runs --runs times from this checkout (cwd: the repository, so its config.yaml
and var/onramp.db are used, as an engineer's loop would); the median is printed with its
ratio to `python -c pass` (what no code of ours can go under). Each command runs once
first: the store reaches its newest schema and the bytecode is written (as an installed
wheel has it), so the figure is the steady state, not the first start.

    .venv/bin/python bench/cli_speed.py [--runs 5] [--json] [--baseline DIR]

--baseline DIR: another checkout (e.g. `git worktree add --detach /tmp/old main`) timed in
the same run, each command's runs alternating between the two, each from its own folder:
`<name>_vs_baseline` is this checkout's median over the baseline's (a "before" that shares
this run's load). `<name>_cpu_s`: the median CPU time (user + system) of the same runs, what
the other processes on a shared machine change least.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from report import report

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {
    "help": ["--help"],
    "connector_help": ["connector", "--help"],
    "catalogue_json": ["catalogue", "--json"],
    "connector_list_json": ["connector", "list", "--json"],
    "link_list_json": ["link", "list", "--json"],
    "tenant_list_json": ["tenant", "list", "--json"],
    "worker_status_json": ["worker", "status", "--json"],
    "lab_status_json": ["lab", "status", "--json"],
    "ticket_list_json": ["ticket", "list", "--json"],
    "inventory_check": ["inventory", "check"],
    "inventory_show_json": ["inventory", "show", "--json"],
    "config_show": ["config", "show"],
}


def run_s(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """One run's wall and CPU seconds (the child's user + system time)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    answered(argv, cwd, env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def answered(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    """Run it; a failure stops the bench. `lab status` answers 1 while no lab has converged
    (its answer, not a failure: a traceback's 1 would show in stderr)."""
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0 and not (argv[-3:-1] == ["lab", "status"] and done.returncode == 1
                                     and not done.stderr):  # fmt: skip
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}\n{done.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--baseline", type=Path, help="another checkout, timed in this run")
    args = parser.parse_args()
    # PYTHONDONTWRITEBYTECODE would compile onramp's ~50 modules again on every run (~60 ms)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ONRAMP_") and k != "PYTHONDONTWRITEBYTECODE"}  # fmt: skip

    trees = [ROOT] if args.baseline is None else [ROOT, args.baseline.resolve()]

    def timed(argv: list[str]) -> list[tuple[float, float]]:
        """Median (wall, CPU) seconds per tree, the trees' runs alternating."""
        envs = [env | {"PYTHONPATH": str(tree)} for tree in trees]
        for tree, here in zip(trees, envs, strict=True):  # warm-up
            answered(argv, tree, here)
        took: list[list[tuple[float, float]]] = [[] for _ in trees]
        for _ in range(args.runs):
            for i, (tree, here) in enumerate(zip(trees, envs, strict=True)):
                took[i].append(run_s(argv, tree, here))
        return [(statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
                for t in took]  # fmt: skip

    bare = timed([sys.executable, "-c", "pass"])[0][0]
    figures: dict[str, object] = {"runs": args.runs, "python_bare_s": round(bare, 3)}
    for name, argv in COMMANDS.items():
        (took, cpu), *before = timed([sys.executable, "-m", "onramp.cli", *argv])
        figures |= {f"{name}_s": round(took, 3), f"{name}_cpu_s": round(cpu, 3),
                    f"{name}_ratio_to_bare": round(took / bare, 1)}  # fmt: skip
        for was, was_cpu in before:
            figures |= {f"{name}_baseline_s": round(was, 3),
                        f"{name}_baseline_cpu_s": round(was_cpu, 3),
                        f"{name}_vs_baseline": round(took / was, 2),
                        f"{name}_cpu_vs_baseline": round(cpu / was_cpu, 2)}  # fmt: skip
    figures["load_avg_1m"] = round(os.getloadavg()[0], 2)
    report(figures, args.json)


if __name__ == "__main__":
    main()
