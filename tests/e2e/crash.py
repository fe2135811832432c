"""Crash tests' parts, one copy for every flow: worker processes (`onramp worker --beat`, as
an engineer starts them) on a SQLite broker, one killed (SIGKILL) in a chosen state, another
started; then what every flow must show: active, the allocation held once, nothing left to
change on a router, decommissioned to nothing. What the provider must hold is the caller's.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from onramp.core.store import AllocationRow
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.plan import make_plan
from onramp.flow.service import Service
from onramp.lab.run import Lab

from .conftest import running


def worker_config(tmp: Path) -> dict[str, Any]:
    """config.yaml's `worker:` for crash tests: a SQLite broker; short polls and leases, so
    a dead worker's lease runs out in seconds."""
    return {"worker": {"broker_url": f"sqla+sqlite:///{tmp / 'broker.db'}", "poll_s": 0.2,
                       "sweep_s": 1.0, "lease_s": 3.0, "revert_in_s": 40,
                       "check_timeout_s": 15}}  # fmt: skip


# A worker process whose imports are done (some 3 s of CPU on these machines: pyATS, Celery,
# the ORM), waiting for a line on stdin before it runs `onramp worker`. The next one for a
# config warms while the current works, so a crash test's second worker (and the next
# test's first) starts in a fraction of a second: what is tested is what the worker does
# after a crash, not how long Python takes to import. EOF (the test process gone) ends it.
_WARM = (
    "import sys\n"
    "import onramp.cli.main, onramp.worker, onramp.flow.orchestrate, onramp.validation.bgp_gate\n"
    "if not sys.stdin.readline():\n"
    "    sys.exit(0)\n"
    "sys.argv = ['onramp', 'worker', '--concurrency', '1', '--beat']\n"
    "onramp.cli.run()\n"
)
_spares: dict[Path, subprocess.Popen[bytes]] = {}


def _spawn(config: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ONRAMP_CONFIG": str(config)}
    return subprocess.Popen(
        [sys.executable, "-c", _WARM], env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=(config.parent / f"worker-{time.time_ns()}.log").open("wb"),
    )  # fmt: skip


def no_spare(config: Path) -> None:
    """Stop the spare warming for `config` (it never ran a worker): what is left of this
    config's processes after that is what the workers left."""
    if (proc := _spares.pop(config, None)) is not None:
        kill(proc)


@atexit.register
def _no_spares() -> None:
    for config in list(_spares):
        no_spare(config)


def start_worker(config: Path) -> subprocess.Popen[bytes]:
    """A worker process (`onramp worker --concurrency 1 --beat`) on this config.yaml, its
    log beside it: the spare warmed for it if there is one; another warms for next time."""
    proc = _spares.pop(config, None)
    if proc is None or proc.poll() is not None:  # none yet, or it died warming: a new one
        proc = _spawn(config)
    assert proc.stdin is not None
    proc.stdin.write(b"start\n")
    proc.stdin.flush()
    _spares[config] = _spawn(config)
    return proc


def kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    if proc.stdin is not None:
        proc.stdin.close()


def held(svc: Service, owner: str) -> int:
    """How many allocations (VLANs, addresses, numbers) `owner` holds."""
    with svc.store.session() as s:
        return s.scalar(select(func.count()).select_from(AllocationRow)
                        .where(AllocationRow.owner == owner)) or 0  # fmt: skip


def states(orch: Orchestrator, ident: str, kind: str = "connector") -> list[str]:
    return [h["to"] for h in orch.history(kind, ident)]


def catch(orch: Orchestrator, ident: str, wanted: str, timeout: float = 60) -> str:
    """Poll fast until the Connector has reached `wanted` (or a later state)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = states(orch, ident)
        if wanted in seen or seen[-1] == "active":
            return seen[-1]
        time.sleep(0.01)
    raise AssertionError(f"never reached {wanted}: {orch.state('connector', ident)}")


def killed_in(svc: Service, orch: Orchestrator, ident: str, at: str) -> str:
    """A worker takes the Connector and is killed once it has reached `at`; the state it
    was killed in (never active: the test would prove nothing)."""
    from onramp import worker

    worker.configure(svc.settings)
    first = start_worker(svc.settings.path)
    try:
        worker.submit("connector", ident)
        state = catch(orch, ident, at)
    finally:
        kill(first)
    assert state != "active", f"finished before the kill: {states(orch, ident)}"
    return state


def resumes(
    svc: Service,
    orch: Orchestrator,
    lab: Lab,
    c: dict[str, Any],
    allocated: int,
    at_provider: Callable[[], None],
    routers: Iterable[str],
    before: dict[str, str],
    seen: Callable[[], object] = lambda: "",
) -> None:
    """A second worker ends the Connector active; `at_provider` checks what the provider
    holds (exactly one of each); nothing leaked or half-configured; then decommissioned to
    nothing: no allocation and `routers` as `before`. `seen`: what else a failure shows
    (the simulator's calls, its lab hook's failures)."""
    from onramp import worker

    second = start_worker(svc.settings.path)
    try:
        assert orch.watch("connector", c["id"], poll_s=0.2, timeout_s=150) == "active", (
            svc.connector(c["id"])["reason"], seen())  # fmt: skip
        at_provider()
        assert held(svc, c["id"]) == allocated  # nothing leaked, nothing taken twice
        again = make_plan(svc, "connector", c["id"])  # nothing half-configured
        assert all(d["diff"] == "" for d in again["devices"].values())
        orch.decommission("connector", c["id"])
        worker.submit("connector", c["id"])
        assert orch.watch("connector", c["id"], poll_s=0.2, timeout_s=120) == "deleted"
    finally:
        kill(second)
    assert held(svc, c["id"]) == 0
    assert {r: running(lab, r) for r in routers} == before
