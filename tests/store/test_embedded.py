"""The embedded worker's stop (`worker.embedded`), in a process of its own: it must end
before the interpreter does.

CI, stop 31: `onramp demo --json` printed `%CELERY-ERROR: RuntimeError: cannot schedule new
futures after interpreter shutdown` after its JSON. The embedded worker stopped cold
(celery.contrib.testing's start_worker): the task it was running went on alone, and at the
interpreter's exit its next ThreadPoolExecutor.submit (as Nornir's runner makes) failed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from onramp.core.settings import local_config

# a task that blocks on an Event (6 s at most: longer than the old cold stop took, 2-4 s,
# its consumer's two polls of the broker), then does what Nornir's runner does: a thread pool
SCRIPT = textwrap.dedent("""
    import logging, sys, threading
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path
    from onramp import worker
    from onramp.core.settings import load_settings

    tmp, bound = Path(sys.argv[1]), float(sys.argv[2])
    release, started = threading.Event(), threading.Event()

    @worker.app.task(name="test.blocks")
    def blocks() -> None:
        started.set()
        release.wait(6)
        with ThreadPoolExecutor(2) as pool:
            pool.submit(len, "xy").result()
        (tmp / "done").touch()

    logging.basicConfig(stream=sys.stderr, format="%(levelname)s %(message)s")
    bounded = {"stop_timeout_s": bound} if bound < 1 else {}  # else the default (60 s)
    with worker.embedded(load_settings(tmp / "config.yaml"), **bounded):
        blocks.delay()
        assert started.wait(60), "the worker did not take the task"
    print("stopped; task done:", (tmp / "done").exists(), file=sys.stderr)
    if bounded:  # a task still running after the bound goes on, and ends (before the exit)
        release.set()
        for _ in range(600):
            if (tmp / "done").exists():
                break
            threading.Event().wait(0.05)
""")


def _run(tmp: Path, bound_s: float) -> subprocess.CompletedProcess[str]:
    local_config(tmp, worker={"broker_url": f"sqla+sqlite:///{tmp / 'broker.db'}", "sweep_s": 0},
                 monitor={"interval_s": 0}, compliance={"interval_s": 0},
                 webhooks={"interval_s": 0}, topology={"source": "off"})  # fmt: skip
    return subprocess.run([sys.executable, "-c", SCRIPT, str(tmp), str(bound_s)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_the_stop_waits_for_the_running_task_and_the_exit_is_silent(tmp_path: Path) -> None:
    """Stopped while a task runs: the stop returns once the task is done, and nothing fails
    at the interpreter's exit; stdout stays empty. (Before: the stop returned with the task
    still running, and its thread pool failed at exit.)"""
    done = _run(tmp_path, bound_s=60)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "stopped; task done: True" in done.stderr, done.stderr[-3000:]
    assert "cannot schedule new futures" not in done.stderr + done.stdout
    assert done.stdout == ""


def test_a_task_past_the_bound_is_named_and_left_to_finish(tmp_path: Path) -> None:
    """A task that runs past `stop_timeout_s` (released only after the stop returned): the
    stop says so instead of waiting for ever, and the task finishes."""
    done = _run(tmp_path, bound_s=0.5)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "stopped; task done: False" in done.stderr, done.stderr[-3000:]
    assert "a task still runs after 0.5 s" in done.stderr
    assert (tmp_path / "done").exists()
    assert done.stdout == ""
