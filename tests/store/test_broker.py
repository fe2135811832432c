"""The embedded SQL broker (kombu's `sqla+sqlite`) shared by processes that start together.

kombu's SQL transport makes its queue's row on first use by a read then an insert. A
worker starting while `onramp connector create` published its first order, both on a new
broker file, both inserted; the loser's IntegrityError was "unrecoverable" to Celery and
that worker consumed nothing while the test waited for it (CI, stop 30: 5 tests in
test_operator.py). `worker.configure` now makes the queue first, under a file lock.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from onramp.core.settings import local_config


def _config(tmp: Path) -> Path:
    return local_config(tmp, worker={"broker_url": f"sqla+sqlite:///{tmp / 'broker.db'}"})


def test_processes_publishing_at_once_on_a_new_broker_all_publish(tmp_path: Path) -> None:
    """Four processes (as many `connector create`s, or workers starting) configure onramp's
    workers and publish at the same instant on a broker file nobody used: none fails, and
    every message is in the one queue."""
    config, ready = _config(tmp_path), tmp_path / "ready"
    ready.mkdir()
    # a barrier after the imports: all four start on the broker within a millisecond or so
    code = textwrap.dedent(f"""
        import os, time
        from pathlib import Path
        from onramp import worker
        from onramp.core.settings import load_settings
        ready = Path({str(ready)!r})
        (ready / str(os.getpid())).touch()
        while len(list(ready.iterdir())) < 4:
            time.sleep(0.001)
        worker.configure(load_settings(Path({str(config)!r})))
        worker.submit("connector", "c-" + str(os.getpid()))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
             for _ in range(4)]  # fmt: skip
    failed = [err[-800:] for p in procs if (err := p.communicate(timeout=60)[1]) and p.returncode]
    assert failed == []
    with sqlite3.connect(tmp_path / "broker.db") as db:
        assert db.execute("SELECT name FROM kombu_queue").fetchall() == [("celery",)]
        assert db.execute("SELECT count(*) FROM kombu_message").fetchone() == (4,)


def test_a_worker_that_cannot_consume_exits_with_an_error(tmp_path: Path) -> None:
    """A broker that refuses the worker its queue (here a trigger; in CI, the lost race):
    the worker exits non-zero, so a supervisor restarts it. Before, Celery logged
    "Unrecoverable error" and `onramp worker` exited 0."""
    config = _config(tmp_path)
    with sqlite3.connect(tmp_path / "broker.db") as db:
        db.execute("CREATE TABLE kombu_queue (id INTEGER PRIMARY KEY, name VARCHAR(200) UNIQUE)")
        db.execute("CREATE TRIGGER refuse BEFORE INSERT ON kombu_queue "
                   "BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: kombu_queue.name'); END")  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "onramp.cli", "--config", str(config), "worker"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode != 0, done.stderr[-2000:]
    assert "kombu_queue" in done.stderr


def test_a_publish_waits_for_a_writer_as_long_as_the_store_does(tmp_path: Path) -> None:
    """Another connection holds the broker file's write lock for 12 s (a busy moment of the
    embedded default): the order's hand-over waits for it, as the store's own engine does
    (BUSY_TIMEOUT_S), instead of failing after SQLite's default 5 s twice (kombu retries
    once) with "database is locked"."""
    config, flag = _config(tmp_path), tmp_path / "flag"
    code = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from onramp import worker
        from onramp.core.settings import load_settings
        worker.configure(load_settings(Path({str(config)!r})))  # the queue made, no lock
        flag = Path({str(flag)!r})
        flag.write_text("configured")
        while flag.read_text() != "locked":
            time.sleep(0.01)
        worker.submit("connector", "c-1")
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (flag.exists() and flag.read_text() == "configured"):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.01)
        db = sqlite3.connect(tmp_path / "broker.db", isolation_level=None)
        db.execute("BEGIN IMMEDIATE")  # the write lock, held
        flag.write_text("locked")
        time.sleep(12)
        db.execute("ROLLBACK")
        db.close()
        err = proc.communicate(timeout=60)[1]
        assert proc.returncode == 0, err[-1500:]
    finally:
        proc.kill()
    with sqlite3.connect(tmp_path / "broker.db") as check:
        assert check.execute("SELECT count(*) FROM kombu_message").fetchone() == (1,)
