"""Workers: Celery tasks that advance Connectors and Links, a step (or a few) per message.

A message only says "advance <kind> <id>"; the database is the truth (onramp.flow.orchestrate).
An order is handed to the workers as soon as it is stored (`submit`, wired into the
Service by every entry point). A step that changed the state runs the next at once, in
the same message (up to `CHAIN` steps, then it queues the next); a wait just begun is asked once
more at once, in the same message, then again after `poll_in` (at most `worker.poll_s`); a failed
one after its backoff. `sweep` (a
`sweeper` thread: `onramp worker --beat`, the embedded runner; or `celery -A onramp.worker
beat`) is the safety net: it re-queues whatever is unfinished, not leased and not backing
off, so work a dead worker held resumes once its lease (seconds: a heartbeat renews it
while a step runs) has run out, and an order whose message was lost (broker down) starts.

Embedded default: a SQLite broker file and an in-process worker thread (`embedded()`),
no server. Scale-out: `worker.broker_url: amqp://...` (RabbitMQ), `onramp worker` on as
many machines as wanted, one of them with `--beat`, PostgreSQL as the store.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy import make_url, or_, select

from onramp.core.engine import BUSY_TIMEOUT_S
from onramp.core.model import SETTLED, State
from onramp.core.settings import Settings, load_settings
from onramp.core.store import ROWS, now
from onramp.flow import compliance, monitor, webhooks
from onramp.flow.orchestrate import WAITING, Orchestrator
from onramp.flow.service import Service
from onramp.network.inventory.plugin import init_nornir

log = logging.getLogger(__name__)
app = Celery("onramp")
app.conf.update(
    task_acks_late=True,  # a worker that dies mid-step leaves the message for another
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    # a broker that is down fails an order's hand-over in about a second, not minutes:
    # the order is stored, and the sweep takes it (Service.publish)
    broker_connection_timeout=2,
    task_publish_retry_policy={
        "max_retries": 1,
        "interval_start": 0.2,
        "interval_step": 0.5,
        "interval_max": 0.5,
    },
)
_current: dict[str, Any] = {}  # the settings and adapters this process's tasks use
# how often the embedded (SQLite) broker's consumer looks for a message: half of it on
# average before each order's first step (0.1 s: 0.05-0.06 s of a Connector's ~2.8 s);
# an idle embedded worker's CPU is 5.5% of a core at 0.025 s, 2.7% at 0.1 s (RabbitMQ
# pushes: no such wait, no such cost)
SQLITE_POLL_S = 0.025


def configure(settings: Settings, adapters: dict[str, Any] | None = None) -> Celery:
    """Point the app at this config's broker; adapters default to config.yaml's `csp:`."""
    _current.update(settings=settings, adapters=adapters)
    _orchestrator.cache_clear()
    url = settings.resolved_broker_url()
    if app.conf.broker_url not in (None, url):
        # another broker than before (tests, the demo): connections made for the old one
        # must not be reused. The app has no public reset, so drop its pools.
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
    app.conf.broker_url = url
    # kombu hands these to create_engine (and keeps the engine for the process). SQLite's
    # default wait for a lock is 5 s: a publish or a consumer's read behind a busy writer
    # failed with "database is locked" where the store's own engine waits BUSY_TIMEOUT_S
    app.conf.broker_transport_options = (
        {"connect_args": {"timeout": BUSY_TIMEOUT_S}} if url.startswith("sqla+sqlite") else {}
    )
    if app.conf.broker_url.startswith("sqla+"):
        from kombu.transport import sqlalchemy as sqla

        # the SQLite broker polls its table, once a second by default: a second per step.
        # (kombu hands this transport's options to create_engine, so not via the options)
        sqla.Transport.polling_interval = SQLITE_POLL_S
        _declare_queue(app.conf.broker_url)
    app.conf.beat_schedule = {
        "sweep": {"task": "onramp.sweep", "schedule": settings.worker.sweep_s},
        "kpis": {"task": "onramp.kpis", "schedule": settings.monitor.interval_s},
        "compliance": {
            "task": "onramp.flow.compliance",
            "schedule": settings.compliance.interval_s,
        },
        "webhooks": {"task": "onramp.webhooks", "schedule": settings.webhooks.interval_s},
        "topology": {"task": "onramp.topology", "schedule": settings.topology.refresh_s},
    }
    return app


def _declare_queue(url: str) -> None:
    """Make the task queue on a SQL broker once, before any worker or publisher uses it.

    kombu's SQL transport makes a queue's row on first use, by a read then an insert. A
    worker starting while `connector create` publishes, both on a new broker file, can both
    insert: the loser's IntegrityError is "unrecoverable" to Celery, and that worker never
    consumes (CI of stop 30: every order stayed `allocated`). Made here under a file lock
    beside the SQLite file, the row exists before either reads. A server database (sqla+
    postgresql) gets no lock: scale-out uses RabbitMQ, whose queues are declared safely."""
    database = make_url(url.removeprefix("sqla+")).database
    if not database or database == ":memory:":
        return _declare()
    with Path(f"{database}.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # released when closed
        _declare()


def _declare() -> None:
    with app.connection_for_write() as conn:
        conn.default_channel.queue_declare(queue=app.conf.task_default_queue)


def configure_once(settings: Settings) -> None:
    """`configure` unless this process already uses this broker (an embedded worker keeps
    its adapters)."""
    current: Settings | None = _current.get("settings")
    if current is None or current.resolved_broker_url() != settings.resolved_broker_url():
        configure(settings)


@app.on_after_configure.connect
def _from_config(**_: Any) -> None:
    """`celery -A onramp.worker ...` and `onramp worker` start here: config.yaml decides."""
    if "settings" not in _current:
        configure(load_settings())


@cache
def _orchestrator() -> Orchestrator:
    svc = Service.open(_current["settings"], submit)
    orch = Orchestrator.from_settings(svc, adapters=_current.get("adapters"))
    orch.audit = recheck.delay  # a deploy's compliance re-check: queued, not waited for
    return orch


# steps one message may run back to back (then the next goes through the broker, so a
# long chain, e.g. a rollback retrying, leaves room for other orders)
CHAIN = 8


@app.task(name="onramp.advance")
def advance(kind: str, ident: str) -> str | None:
    orch = _orchestrator()
    asked_again = False
    for _ in range(CHAIN):
        before = orch.state(kind, ident)
        state = orch.advance(kind, ident)
        if state is not None and State(state) in SETTLED:
            return state  # done
        due = orch.due_in(kind, ident)  # a failed step backing off
        if state is None and not due:
            return None  # another worker has it (and queues its next step)
        if (
            state is not None
            and state != before
            and State(state) in WAITING
            and not (due or asked_again)
        ):
            # a wait just begun (the provider has the request): asked once more at once,
            # here. A customer who accepts by automation (the simulator's at 0 s) is seen
            # without a broker trip and poll_in's tenth of a second; one call more per
            # order to a provider whose customer takes longer, then poll_in's schedule
            asked_again = True
            continue
        waiting = state is None or state == before or State(state) in WAITING
        if waiting or due:
            break
        # moved on and ready (configuring -> verifying, rolling_back -> ...): its next
        # step at once, here; a trip through the broker costs its polling interval
    else:
        due, waiting = 0.0, False
    countdown = due or (poll_in(orch.in_state_for(kind, ident)) if waiting else 0)
    advance.apply_async((kind, ident), countdown=countdown)
    return state


def poll_in(waited_s: float) -> float:
    """When a waiting item asks again: after half the time it has waited so far, at least
    0.1 s and at most `worker.poll_s`. A provider (or customer) that answers in a second is
    seen within a fraction of it; one that takes an hour is asked every `poll_s`, so the
    calls stay few (a geometric backoff that needs no counter)."""
    poll: float = _current["settings"].worker.poll_s
    return min(poll, max(0.1, waited_s / 2))


@app.task(name="onramp.sweep")
def sweep() -> int:
    """Queue every unfinished Connector and Link that no live worker holds and that is not
    backing off. Cheap: the state index finds the unfinished rows (few, however many are
    active or deleted), the lease and backoff are read on those alone."""
    orch = _orchestrator()
    unfinished = [s.value for s in State if s not in SETTLED and s != State.REQUESTED]
    queued = 0
    at = now()
    with orch.svc.store.session() as s:
        for kind, table in ROWS.items():
            rows = s.scalars(
                select(table.id).where(
                    table.state.in_(unfinished),
                    or_(table.lease_until.is_(None), table.lease_until < at),
                    or_(table.retry_at.is_(None), table.retry_at <= at),
                )
            )
            for ident in rows:
                advance.delay(kind.value, ident)
                queued += 1
    return queued


@app.task(name="onramp.kpis", expires=60)
def kpis() -> int:
    """One monitoring round (onramp.flow.monitor.poll); a round older than a minute is dropped
    (`expires`): the next one measures the same Links. With `monitor.parts` > 1 the Links
    go out as that many `onramp.kpis.part` tasks, for the other workers to share."""

    settings: Settings = _current["settings"]
    orch = _orchestrator()
    nr = init_nornir(settings)
    try:
        if settings.monitor.parts == 1:
            return len(monitor.round_(orch.svc, nr, settings.monitor.probes)["links"])
        at = now()
        shares = monitor.parts(orch.svc, settings.monitor.parts)
        for share in shares:  # one window time for the whole round
            kpis_part.delay(share, at.isoformat())
        monitor.poll_connectors(orch.svc, nr, at)
        return sum(map(len, shares))
    finally:
        nr.close_connections()


@app.task(name="onramp.kpis.part", expires=60)
def kpis_part(links: list[str], at: str) -> int:
    """A part of a monitoring round: these Links' windows, at the round's time."""
    settings: Settings = _current["settings"]
    nr = init_nornir(settings)
    try:
        when = datetime.fromisoformat(at)
        return len(monitor.poll(_orchestrator().svc, nr, settings.monitor.probes, when,
                                links=links))  # fmt: skip
    finally:
        nr.close_connections()


@app.task(name="onramp.recheck", bind=True, max_retries=150)
def recheck(self: Any, plan_id: str) -> None:
    """Compliance on the routers an applied plan changed; the plan keeps the scores. A
    router still busy with another change is judged when that change is over."""

    if not _orchestrator().recheck(plan_id):
        raise self.retry(countdown=_current["settings"].worker.poll_s)


@app.task(name="onramp.flow.compliance", expires=3600)
def compliance_run() -> float | None:
    """Every router's running config against its intended one; the report is stored
    (`GET /v1/compliance`, `onramp compliance run` by hand). Returns the score."""

    nr = init_nornir(_current["settings"])
    try:
        return compliance.run(_orchestrator().svc, nr)["score"]
    finally:
        nr.close_connections()


@app.task(name="onramp.webhooks", expires=60)
def deliver_webhooks() -> int:
    """Send the webhook deliveries that are due (onramp.flow.webhooks: the outbox `move`
    writes); a round older than a minute is dropped, the next one sends the same. Returns
    how many were delivered."""
    svc = _orchestrator().svc
    cfg = svc.settings.webhooks
    return webhooks.deliver_due(svc.store, svc.vault, cfg, budget_s=max(1.0, 5 * cfg.interval_s))


@app.task(name="onramp.topology", expires=60)
def topology_read() -> int:
    """Read the backbone from the network into the cache the edge choice uses
    (onramp.flow.topology); a read older than a minute is dropped. Returns its routers."""

    from onramp.flow import topology

    settings: Settings = _current["settings"]
    if settings.topology.source == "off":
        return 0
    svc = _orchestrator().svc
    nr = init_nornir(settings)
    try:
        return len(topology.read(settings, svc.store, svc.backbone, nr)["nodes"])
    finally:
        nr.close_connections()


def submit(kind: str, ident: str) -> None:
    """Ask the workers to take it from here."""
    advance.delay(kind, ident)


# how long an embedded worker's stop waits for the tasks it runs (a step with its gate
# takes seconds; one still running after this resumes from the sweep once its lease is out)
STOP_TIMEOUT_S = 60.0


@contextmanager
def embedded(
    settings: Settings,
    adapters: dict[str, Any] | None = None,
    concurrency: int = 2,
    stop_timeout_s: float = STOP_TIMEOUT_S,
) -> Iterator[Celery]:
    """A worker (and the sweep timer) in this process, on the SQLite broker: the embedded
    default, for `make demo` and for tests. On exit the timer stops, then the worker stops
    as on SIGTERM (Celery's warm shutdown): it takes no new message and waits, up to
    `stop_timeout_s`, for the tasks it runs. Messages it took but had not started go back
    to the broker (acks_late); a task still running after the bound is left to finish."""
    from celery.contrib.testing.worker import TestWorkController, setup_app_for_worker
    from celery.platforms import EX_OK
    from celery.utils.nodenames import anon_nodename
    from celery.worker import state

    configure(settings, adapters)
    setup_app_for_worker(app, "WARNING", None)
    # not celery.contrib.testing's start_worker: its stop is a cold shutdown, which leaves
    # the thread pool's running task behind; at the interpreter's exit that task's next
    # ThreadPoolExecutor.submit (Nornir's runner) failed with "cannot schedule new futures
    # after interpreter shutdown" (CI, stop 31: a log line in `onramp demo --json`)
    worker = TestWorkController(app=app, hostname=anon_nodename(), pool="threads",
                                concurrency=concurrency, loglevel="WARNING", logfile=None,
                                ready_callback=None, without_heartbeat=True,
                                without_mingle=True, without_gossip=True)  # fmt: skip
    thread = threading.Thread(target=worker.start, name="onramp-worker", daemon=True)
    thread.start()
    worker.ensure_started()
    stop = threading.Event()
    timer = sweeper(settings, stop)
    try:
        yield app
    finally:
        stop.set()
        timer.join(timeout=5)
        state.should_stop = EX_OK  # seen by the consumer's loop, in its own thread
        thread.join(stop_timeout_s)
        if thread.is_alive():  # the flag stays up: the consumer must not take more
            log.warning("embedded worker: a task still runs after %g s; left to finish (its "
                        "order resumes from the sweep if it does not)", stop_timeout_s)  # fmt: skip
        else:
            state.should_stop = None  # the process's next embedded worker starts afresh


def sweeper(settings: Settings, stop: threading.Event) -> threading.Thread:
    """The schedule: a `sweep` every `worker.sweep_s`, a monitoring round every
    `monitor.interval_s`, a compliance run every `compliance.interval_s`, the webhooks'
    due deliveries every `webhooks.interval_s`, until `stop`,
    from a thread of this process. Not Celery's beat: `worker --beat` runs beat as a child process, which a
    SIGKILLed worker (the OOM killer, a crash test) leaves behind, still queueing sweeps
    for ever; a thread dies with its worker."""

    every = {sweep: settings.worker.sweep_s, kpis: settings.monitor.interval_s,
             compliance_run: settings.compliance.interval_s,
             deliver_webhooks: settings.webhooks.interval_s,
             topology_read: settings.topology.refresh_s if settings.topology.source != "off" else 0}  # fmt: skip
    every = {task: s for task, s in every.items() if s > 0}
    due = {task: time.monotonic() + s for task, s in every.items()}

    def run() -> None:
        if not due:  # nothing scheduled
            return
        while not stop.wait(max(0.0, min(due.values()) - time.monotonic())):
            for task, at in due.items():
                if time.monotonic() >= at:
                    due[task] = at + every[task]
                    try:
                        task.delay()
                    except Exception as exc:  # the broker's client's (kombu, amqp, OSError)
                        # the broker is down: this round is lost, the next one comes; the
                        # thread must outlive it, or nothing re-queues lost work again
                        log.warning("%s not queued (%s): next try in %g s", task.name, exc,
                                    every[task])  # fmt: skip

    timer = threading.Thread(target=run, name="onramp-sweep", daemon=True)
    timer.start()
    return timer
