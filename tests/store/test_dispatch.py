"""Dispatch: orders reach the workers when stored (no sweep needed), a dead worker's work is
resumed within its lease (seconds, renewed by a heartbeat) plus a sweep, a worker paused
past its lease commits nothing (fencing), transient failures back off and give up.

No lab: the AWS simulator runs in this process with the customer never answering, so a
Connector stops at `awaiting_customer` once the provider has it; a slow answer of the
simulator (the work done at once, the reply late) stands for a long step.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from onramp import worker
from onramp.cli.main import app as cli
from onramp.core.errors import OnrampError
from onramp.core.model import State
from onramp.core.secrets import Vault
from onramp.core.settings import Settings, load_settings, local_config
from onramp.core.store import ConnectorRow, Store, now
from onramp.csp.aws.adapter import AwsAdapter, client
from onramp.csp.aws.simulator import PARTNER_KEY, DirectConnect, serve
from onramp.csp.simulator import Behaviour, Customer, Faults
from onramp.flow.orchestrate import Orchestrator, Timings
from onramp.flow.service import Service
from onramp.network.inventory import Backbone

AWS = {"tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
       "bandwidth_mbps": 100, "aws_account": "123456789012",
       "prefixes": ["10.100.0.0/24"]}  # fmt: skip
ASKED = "AllocatePrivateVirtualInterface"


@dataclass
class Env:
    tmp: Path
    url: str
    sim: DirectConnect

    def config(self, name: str, **worker_settings: Any) -> Path:
        """A config.yaml of its own (store, broker and key shared by every config here)."""
        d = self.tmp / name
        d.mkdir(exist_ok=True)
        return local_config(
            d, db=str(self.tmp / "onramp.db"), secret_key_file=str(self.tmp / "k"),
            csp={"aws": {"endpoint_url": self.url, "region": "eu-west-3"}},
            worker={"broker_url": f"sqla+sqlite:///{self.tmp / 'broker.db'}", "poll_s": 0.2,
                    **worker_settings},
        )  # fmt: skip

    def settings(self, name: str, **worker_settings: Any) -> Settings:
        return load_settings(self.config(name, **worker_settings))

    def start_worker(self, config: Path, *args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "onramp.cli", "worker", "--concurrency", "1", *args],
            env={**os.environ, "ONRAMP_CONFIG": str(config)}, stdout=subprocess.DEVNULL,
            stderr=(config.parent / f"worker-{time.time_ns()}.log").open("wb"),
        )  # fmt: skip


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with serve(DirectConnect(behaviour=Behaviour(customer=Customer.NEVER))) as (url, sim):
        yield Env(tmp_path, url, sim)


def until(what: Callable[[], Any], timeout_s: float = 60, every: float = 0.05) -> Any:
    """Poll until `what()` is truthy; its value. Not a timed assertion: a generous ceiling."""
    deadline = time.monotonic() + timeout_s
    while not (got := what()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)
    return got


def history(svc: Service, ident: str) -> list[dict[str, Any]]:
    return Orchestrator(svc, {}).history("connector", ident)


def moved(svc: Service, ident: str) -> bool:
    return len(history(svc, ident)) > 3  # requested, validated, allocated, then a step


def kill(*procs: subprocess.Popen[bytes]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGCONT)
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=10)


def test_an_order_reaches_the_embedded_worker_without_a_sweep(env: Env) -> None:
    settings = env.settings("embedded", sweep_s=0)  # no safety net: only the hand-over
    svc = Service.open(settings, worker.submit)
    svc.add_tenant("acme", "ACME")
    with worker.embedded(settings):
        c = svc.create_connector(svc.connector_request(AWS))
        until(lambda: moved(svc, c["id"]))
    steps = history(svc, c["id"])[3:]
    assert steps[0]["from"] == "allocated" and steps[0]["actor"].startswith("worker:"), steps


def test_an_order_is_kept_when_the_broker_is_down_and_the_sweep_takes_it(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    down = env.settings("down")
    down.worker.broker_url = "amqp://guest:guest@127.0.0.1:1//"  # nothing listens there
    worker.configure(down)
    svc = Service.open(down, worker.submit)
    svc.add_tenant("acme", "ACME")
    started = time.monotonic()
    c = svc.create_connector(svc.connector_request(AWS))
    print(f"create with the broker down answered in {time.monotonic() - started:.2f} s")
    assert svc.connector(c["id"])["state"] == "allocated"
    assert "not handed to the workers" in caplog.text

    up = env.settings("up", sweep_s=0.5)
    with worker.embedded(up):
        until(lambda: moved(svc, c["id"]))


def test_a_killed_worker_is_replaced_within_lease_and_sweep(env: Env) -> None:
    """`onramp connector create` hands the order to a worker without --beat (no sweep
    anywhere); the provider answers it slowly; while it waits, the heartbeat keeps its lease
    (several lease lengths); it is SIGKILLed, and a second worker resumes the Connector."""
    lease_s, sweep_s = 1.5, 0.5
    first_cfg = env.config("first", lease_s=lease_s, sweep_s=0)
    env.sim.faults = Faults(slow_next=1, slow_s=15.0, slow_op=ASKED)
    first = env.start_worker(first_cfg)
    second: subprocess.Popen[bytes] | None = None
    try:
        run = CliRunner().invoke
        opts = ["--config", str(first_cfg)]
        assert run(cli, [*opts, "tenant", "add", "acme", "ACME"]).exit_code == 0
        made = run(cli, [*opts, "connector", "create", "--tenant", "acme", "--onramp",
                         "aws-dx-par", "--kind", "aws-hosted-vif", "--bandwidth", "100",
                         "--aws-account", "123456789012", "--json"])  # fmt: skip
        assert made.exit_code == 0, made.output
        ident = json.loads(made.output)["id"]
        svc = Service.open(load_settings(first_cfg))
        until(lambda: ASKED in env.sim.calls)  # the worker is inside the step
        held = _held(svc, ident)
        assert held["owner"].startswith(f"worker:{os.uname().nodename}:{first.pid}/")
        time.sleep(3 * lease_s)  # the step outlives its lease: the heartbeat renews it
        renewed = _held(svc, ident)
        assert renewed["owner"] == held["owner"] and renewed["lease_left_s"] > 0, renewed
        assert renewed["heartbeat_at"] > held["heartbeat_at"]

        kill(first)
        killed = time.monotonic()
        second = env.start_worker(env.config("second", lease_s=lease_s, sweep_s=sweep_s),
                                  "--beat")  # fmt: skip
        until(lambda: moved(svc, ident))
        took = time.monotonic() - killed
        print(f"resumed {took:.1f} s after the SIGKILL (lease {lease_s} s, sweep {sweep_s} s, "
              "a worker's start included)")  # fmt: skip
        steps = history(svc, ident)[3:]
        assert steps[0]["actor"].startswith(f"worker:{os.uname().nodename}:{second.pid}")
        assert len(env.sim.vifs) == 1  # the second found the VIF the first had asked for
    finally:
        kill(first, *([second] if second else []))


def test_a_worker_paused_past_its_lease_commits_nothing(env: Env) -> None:
    """Fencing: the first worker is stopped (SIGSTOP: a long GC pause, a frozen VM) inside
    its step; its lease runs out, a second worker takes the Connector on; when the first
    wakes up with the provider's answer, its transition is refused."""
    lease_s = 1.0
    first_cfg = env.config("first", lease_s=lease_s, sweep_s=0)
    settings = load_settings(first_cfg)
    worker.configure(settings)
    svc = Service.open(settings, worker.submit)
    svc.add_tenant("acme", "ACME")
    env.sim.faults = Faults(slow_next=1, slow_s=6.0, slow_op=ASKED)
    first = env.start_worker(first_cfg)
    second: subprocess.Popen[bytes] | None = None
    try:
        c = svc.create_connector(svc.connector_request(AWS))
        until(lambda: ASKED in env.sim.calls)
        paused_outside_the_store(first, env.tmp / "onramp.db")
        second = env.start_worker(env.config("second", lease_s=lease_s, sweep_s=0.3), "--beat")
        until(lambda: moved(svc, c["id"]))
        first.send_signal(signal.SIGCONT)  # its answer comes: it tries to commit it
        log = next(first_cfg.parent.glob("worker-*.log"))
        # it gives up (refused), or (without fencing) commits over the second worker's work
        until(lambda: "no longer holds" in log.read_text() or _by(svc, c["id"], first.pid),
              timeout_s=30)  # fmt: skip
    finally:
        kill(first, *([second] if second else []))
    steps = history(svc, c["id"])[3:]
    assert not _by(svc, c["id"], first.pid), steps
    assert [s["to"] for s in steps][:1] == ["csp_requested"], steps
    assert sum(s["from"] == "allocated" for s in steps) == 1, steps


def paused_outside_the_store(proc: subprocess.Popen[bytes], db: Path) -> None:
    """SIGSTOP `proc` at a moment it holds no write lock on SQLite file `db`, as the pause
    this test stands for comes while the step waits on the provider. A pause inside one of
    its transactions (the heartbeat writes every third of the lease: 6 of 300 pauses under
    load) holds SQLite's one write lock, and every other writer waits for it, past the busy
    timeout: "database is locked", which no fencing can avoid on a single-file database."""
    for tries in itertools.count(1):
        proc.send_signal(signal.SIGSTOP)
        until(lambda: all(_stopped(t) for t in Path(f"/proc/{proc.pid}/task").iterdir()))
        probe = sqlite3.connect(db, timeout=0)
        try:
            probe.execute("BEGIN IMMEDIATE")  # fails at once if a writer holds the lock
            probe.execute("ROLLBACK")
            print(f"paused outside a store transaction at try {tries}")
            return
        except sqlite3.OperationalError:
            proc.send_signal(signal.SIGCONT)  # inside a transaction: let it finish, again
            time.sleep(0.01)
        finally:
            probe.close()


def _stopped(task: Path) -> bool:
    """A thread stopped (or gone). Its state follows its name, which is in parentheses."""
    try:
        return (task / "stat").read_text().rsplit(")", 1)[1].split()[0] in ("T", "t")
    except FileNotFoundError:
        return True


def _by(svc: Service, ident: str, pid: int) -> list[dict[str, Any]]:
    """The transitions a worker process committed."""
    return [s for s in history(svc, ident) if s["actor"].endswith(f":{pid}")]


def _held(svc: Service, ident: str) -> Any:
    return next(w for w in svc.worker_status()["work"] if w["id"] == ident)


def test_transient_failures_back_off_then_roll_back_with_the_last_error(env: Env) -> None:
    """Each failed try sets its next try's time (`retry_at`) a backoff ahead; before then a
    try is refused without counting; the delays grow to the cap; the last try gives up.

    No wall-clock window: the delays are tens of seconds (a 'not due yet' try right after a
    failure stays well before its time on any machine; 0.4 s delays failed once at load 10),
    time passing is `retry_at` moved into the past, and each delay is known only to lie
    between `retry_at` minus the clock after the try and minus the clock before it (the
    try's own duration, under load anything): that interval must meet [ceiling / 2, ceiling]."""
    settings = env.settings("retry")
    svc = Service.open(settings)
    svc.add_tenant("acme", "ACME")
    dx = client(env.url, attempts=1, region_name="eu-west-3",
                aws_access_key_id=PARTNER_KEY, aws_secret_access_key="-")  # fmt: skip
    timings = Timings(retry_max=5, retry_base_s=60, retry_cap_s=240)
    orch = Orchestrator(svc, {"aws": AwsAdapter(dx, {"pe1-par:eth3": "dxcon-onramp01"})},
                        "worker:test", timings)  # fmt: skip
    env.sim.faults.fail_next = 100  # the provider answers 500 every time
    c = svc.create_connector(svc.connector_request(AWS))

    def retry_at() -> datetime:
        with svc.store.session() as s:
            at = s.get(ConnectorRow, c["id"]).retry_at  # type: ignore[union-attr]
        assert at is not None
        return at

    spans = []  # (shortest, longest) each delay can have been
    for attempt in range(1, timings.retry_max):
        before = now()
        assert orch.advance("connector", c["id"]) == "allocated"
        after, due = now(), retry_at()
        row = _held(svc, c["id"])
        assert row["attempts"] == attempt and "ONR-CSP-002" in row["reason"], row
        spans.append(((due - after).total_seconds(), (due - before).total_seconds()))
        assert orch.advance("connector", c["id"]) is None  # not due yet: no try burnt
        assert _held(svc, c["id"])["attempts"] == attempt
        svc.store.transact(lambda s: s.execute(  # its time has come
            update(ConnectorRow).where(ConnectorRow.id == c["id"])
            .values(retry_at=now() - timedelta(seconds=1))))  # fmt: skip
    print("backoff delays between:", [f"{lo:.2f}-{hi:.2f}" for lo, hi in spans])
    ceilings = [min(240, 60 * 2**i) for i in range(len(spans))]
    assert all(lo <= c and hi >= c / 2 for (lo, hi), c in zip(spans, ceilings, strict=True)), spans
    assert spans[-1][0] > spans[0][1]  # they grow, up to the cap

    assert orch.advance("connector", c["id"]) == "rolling_back"  # the last try: give up
    assert orch.advance("connector", c["id"]) == "failed"
    failed = svc.connector(c["id"])
    assert "ONR-CSP-002" in (failed["reason"] or "") and "gave up after 5 tries" in (
        failed["reason"] or ""
    ), failed


def test_backoff_grows_with_jitter_and_stops_at_the_cap() -> None:
    t = Timings(retry_base_s=2, retry_cap_s=60)
    assert [t.backoff(n, lambda: 1.0) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    assert [t.backoff(n, lambda: 0.0) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_worker_status_shows_who_holds_what(env: Env) -> None:
    config = env.config("status")
    settings = load_settings(config)
    svc = Service.open(settings)
    svc.add_tenant("acme", "ACME")
    c = svc.create_connector(svc.connector_request(AWS))
    orch = Orchestrator(svc, {}, "worker:here")
    assert orch._lease("connector", c["id"])  # as a worker does when it takes a step

    done = CliRunner().invoke(cli, ["--config", str(config), "worker", "status", "--json"])
    assert done.exit_code == 0, done.output
    found = json.loads(done.stdout)  # the JSON alone: `output` has stderr mixed in
    [held] = [w for w in found["work"] if w["id"] == c["id"]]
    assert held["owner"].startswith("worker:here/") and held["state"] == "allocated"
    assert 0 < held["lease_left_s"] <= settings.worker.lease_s and held["heartbeat_at"]
    text = CliRunner().invoke(cli, ["--config", str(config), "worker", "status"])
    assert c["id"][:8] in text.output and "worker:here" in text.output


def test_fencing_in_the_moving_transaction_on_either_database(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    """The same race in one process, on SQLite and on PostgreSQL: A's lease ran out (a pause),
    B took the row; A's state change and A's release are refused, B's go through."""
    svc = Service(load_settings(), store, backbone, vault)
    c = svc.create_connector(svc.connector_request(AWS))
    a, b = Orchestrator(svc, {}, "worker:a"), Orchestrator(svc, {}, "worker:b")
    assert a._lease("connector", c["id"])
    assert not b._lease("connector", c["id"])  # held
    store.transact(lambda s: s.execute(  # A paused past its lease: what that leaves
        update(ConnectorRow).where(ConnectorRow.id == c["id"])
        .values(lease_until=now() - timedelta(seconds=1))))  # fmt: skip
    assert b._lease("connector", c["id"])

    with pytest.raises(OnrampError) as refused:
        a._go("connector", c["id"], State.CSP_REQUESTED, "A's late answer")
    assert refused.value.code == "ONR-STATE-002"
    with pytest.raises(OnrampError):
        a._finish("connector", c["id"], State.FAILED, "A gives up")
    assert svc.connector(c["id"])["state"] == "allocated"

    b._go("connector", c["id"], State.CSP_REQUESTED, "B's answer")
    assert [h["actor"] for h in b.history("connector", c["id"])][3:] == ["worker:b"]


def test_the_workers_back_off_and_give_up_by_themselves(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    """Through the embedded worker, no sweep: each failed try queues the next at its
    backoff; after retry_max tries the Connector ends failed with the provider's error."""
    settings = env.settings("giveup", sweep_s=0, retry_max=3, retry_base_s=0.2, retry_cap_s=0.4)
    svc = Service.open(settings, worker.submit)
    svc.add_tenant("acme", "ACME")
    dx = client(env.url, attempts=1, region_name="eu-west-3",
                aws_access_key_id=PARTNER_KEY, aws_secret_access_key="-")  # fmt: skip
    env.sim.faults.fail_next = 100
    with worker.embedded(settings, {"aws": AwsAdapter(dx, {"pe1-par:eth3": "dxcon-onramp01"})}):
        c = svc.create_connector(svc.connector_request(AWS))
        until(lambda: svc.connector(c["id"])["state"] == "failed")
    assert "gave up after 3 tries" in (svc.connector(c["id"])["reason"] or "")
    assert "ONR-CSP-002" in (svc.connector(c["id"])["reason"] or "")
    tries = [r for r in caplog.records if "in allocated: ONR-CSP-002" in r.getMessage()]
    assert len(tries) == 3  # no more


def test_a_waiting_connector_asks_again_soon_at_first(tmp_path: Path) -> None:
    """A waiting Connector asks its provider again after half the time it has waited so far
    (at least 0.1 s, at most `poll_s`): a customer who accepts in 0.3 s is seen within a
    fraction of a second, not after `poll_s` (60 s here, as slow as a real provider needs)."""
    with serve(DirectConnect(behaviour=Behaviour(accept_after_s=0.3, provisioning_s=0.3))) as (
        url, sim):  # fmt: skip
        settings = Env(tmp_path, url, sim).settings("soon", sweep_s=0, poll_s=60)
        svc = Service.open(settings, worker.submit)
        svc.add_tenant("acme", "ACME")
        with worker.embedded(settings):
            c = svc.create_connector(svc.connector_request(AWS))
            # past both waits (the customer's accept, AWS's provisioning): the routers' turn
            until(lambda: "configuring" in [h["to"] for h in history(svc, c["id"])], 20)


def test_a_wait_just_begun_asks_the_provider_once_more_in_the_same_message(env: Env) -> None:
    """The provider has the request and its customer accepts at once (by automation; the
    simulator's at 0 s): the message that asked sees the accept, with no broker trip and
    no wait (poll_in's first is 0.1 s), for one read more. AWS's own side then takes its
    time (60 s): that wait is asked by poll_in's schedule, not at once again. No worker
    consumes here: a queued step would not run."""
    env.sim.behaviour = Behaviour(accept_after_s=0, provisioning_s=60)
    settings = env.settings("at-once", sweep_s=0)
    worker.configure(settings)
    svc = Service.open(settings)  # nobody told: the test runs the task itself
    svc.add_tenant("acme", "ACME")
    c = svc.create_connector(svc.connector_request(AWS))
    asked = len(env.sim.calls)
    assert worker.advance("connector", c["id"]) == "csp_requested"
    assert [h["to"] for h in history(svc, c["id"])][3:] == [
        "csp_requested", "awaiting_customer", "csp_requested"]  # fmt: skip
    # the request (its look-up first), then one step's reads: the status, and the request's
    # look-up again (the provider's side is ours to finish: `_csp_wait`)
    assert env.sim.calls[asked:] == [
        "DescribeVirtualInterfaces",
        ASKED,
        "DescribeVirtualInterfaces",
        "DescribeVirtualInterfaces",
    ]


def test_a_busy_router_is_waited_for_not_counted_as_a_failed_try(env: Env) -> None:
    """Another change holds the PE (its router lock): the Connector waits, past retry_max
    of such turns, with no try counted and the router named. (Before: each turn was a
    failed try, and 50 orders on one PE gave up.)"""
    from onramp.core.store import RouterLockRow

    svc = Service.open(env.settings("busy"))
    svc.add_tenant("acme", "ACME")
    timings = Timings(retry_max=2, retry_base_s=0.05, retry_cap_s=0.1)
    orch = Orchestrator(svc, {}, "worker:test", timings)
    site = {"tenant": "acme", "onramp": "ent-par", "kind": "enterprise", "bandwidth_mbps": 10,
            "customer_asn": 65101, "prefixes": ["192.168.10.0/24"]}  # fmt: skip
    c = svc.create_connector(svc.connector_request(site))
    with svc.store.session() as s:
        s.add(
            RouterLockRow(
                router="pe1-par", owner="connector:other", until=now() + timedelta(hours=1)
            )
        )
    assert orch.advance("connector", c["id"]) == "configuring"  # no provider to call
    for _ in range(2 * timings.retry_max):
        time.sleep(orch.due_in("connector", c["id"]) or 0)
        assert orch.advance("connector", c["id"]) == "configuring"
        row = _held(svc, c["id"])
        assert row["attempts"] == 0 and "pe1-par is busy" in (row["reason"] or ""), row


def test_a_step_that_moves_on_runs_the_next_in_the_same_message(env: Env) -> None:
    """A refused order: the step that reads the refusal moves it to rolling_back, and the
    same message rolls it back to failed, with no trip through the broker (whose polling
    interval each hop would cost). No worker consumes here: a queued step would not run."""
    env.sim.behaviour = Behaviour(customer=Customer.REJECT)
    settings = env.settings("chain", sweep_s=0)
    worker.configure(settings)
    svc = Service.open(settings)  # nobody told: the test runs the task itself
    svc.add_tenant("acme", "ACME")
    c = svc.create_connector(svc.connector_request(AWS))
    # the task's body, in this process (a Celery task called is a plain call): the wait
    # just begun is asked again at once, which reads the refusal
    assert worker.advance("connector", c["id"]) == "failed"
    assert [h["to"] for h in history(svc, c["id"])][-2:] == ["rolling_back", "failed"]


def test_a_step_cut_at_the_interpreters_exit_leaves_its_order_to_the_sweep(env: Env) -> None:
    """An embedded worker's task still running when its process exits (past the stop's
    bound) fails at its next thread pool with RuntimeError, not an OnrampError: the row is
    unleased at once, its state unchanged, and the sweep of the next worker takes it."""
    settings = env.settings("cut", sweep_s=0)
    svc = Service.open(settings, lambda *_: None)  # not handed over: the step is run here
    svc.add_tenant("acme", "ACME")
    c = svc.create_connector(svc.connector_request(AWS))
    orch = Orchestrator.from_settings(svc)
    aws = orch.adapters["aws"]

    def at_exit(req: object) -> Any:  # what concurrent.futures raises once the interpreter exits
        raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    aws.request = at_exit  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="cannot schedule new futures"):
        orch.advance("connector", c["id"])
    with svc.store.session() as s:
        row = s.get(ConnectorRow, c["id"])
        assert row is not None
        assert (row.state, row.lease_owner) == ("allocated", None)
    with worker.embedded(env.settings("next", sweep_s=0.5)):
        until(lambda: moved(svc, c["id"]))
