"""A bench stopped with SIGTERM (`kill`, a CI's timeout) still removes what it made: its
lab, its PostgreSQL and RabbitMQ are left by `with` blocks, which Python's default for
SIGTERM (die at once) skips. bench/scale_out.py, killed so, left both servers running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from onramp.core.settings import ROOT

BENCH = """
import sys, time
from contextlib import ExitStack
sys.path.insert(0, sys.argv[1])
from labkit import unwind_on_sigterm
unwind_on_sigterm()
with ExitStack() as made:
    made.callback(lambda: open(sys.argv[2], "w").write("removed"))
    print("ready", flush=True)
    time.sleep(60)
"""


def test_a_bench_stopped_with_sigterm_removes_what_it_made(tmp_path: Path) -> None:
    mark = tmp_path / "mark"
    proc = subprocess.Popen([sys.executable, "-c", BENCH, str(ROOT / "bench"), str(mark)],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        proc.terminate()
        assert proc.wait(timeout=20) == 143
    finally:
        proc.kill()
    assert mark.read_text() == "removed"
