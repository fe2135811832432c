"""Infrastructure faults under a change: the store, the broker, a router's FRR, its SSH
session or the API fails while a Connector is being made. Each test ends with:

- the Connector active, or cleanly rolled back and failed;
- routers: the running config has the Connector's config (active: planning it again
  changes nothing) or equals the config before (failed); no commit left pending;
- provider: the AWS simulator holds exactly one live VIF for it (active), none (failed);
- store: its allocation held once (active) or released (failed); its history complete
  (requested, validated, allocated ... its state); no lease, no router lock left on it.

One lab of this module's own, a PostgreSQL store and a RabbitMQ broker of its own (they
are restarted here, so no other module's), the AWS simulator in this process driving the
lab's cloud side, and `onramp worker --beat` processes, as an engineer starts them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, or_, select

from onramp import worker
from onramp.api import keys as apikeys
from onramp.core.store import AllocationRow, ConnectorRow, LinkRow, PlanRow, RouterLockRow, now
from onramp.csp.aws.simulator import DirectConnect, serve
from onramp.csp.simulator import Behaviour
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.plan import make_plan
from onramp.flow.service import Service
from onramp.lab.attach import LabAttachment
from onramp.lab.faults import cut_ssh, restart_frr
from onramp.lab.run import Lab

from ..conftest import PgServer, RabbitNode, new_postgres_db, pg_server, rabbitmq_node
from .conftest import AWS_ORDER as AWS
from .conftest import module_lab, running

OCTET, PE = 57, "pe1-par"


@dataclass
class Env:
    lab: Lab
    svc: Service
    config: Path
    sim: DirectConnect
    pg: PgServer
    rabbit: RabbitNode
    orch: Orchestrator  # reads only: the workers do the steps

    def start_worker(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "onramp.cli", "worker", "--concurrency", "1", "--beat"],
            env={**os.environ, "ONRAMP_CONFIG": str(self.config)}, stdout=subprocess.DEVNULL,
            stderr=(self.config.parent / f"worker-{time.time_ns()}.log").open("wb"),
        )  # fmt: skip


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("faults")
    customer = Behaviour(accept_after_s=0.5, provisioning_s=0.5)
    with pg_server() as pg, rabbitmq_node() as rabbit, serve(DirectConnect(behaviour=customer)) as (
        url, sim):  # fmt: skip
        config = {
            "store_url": new_postgres_db(pg.url),
            "csp": {"aws": {"endpoint_url": url, "region": "eu-west-3"}},
            # a lease a failed step could not give back (the store was down) runs out soon
            "worker": {"broker_url": rabbit.url, "poll_s": 0.2, "sweep_s": 1.0,
                       "lease_s": 10.0, "revert_in_s": 40, "check_timeout_s": 15},
        }  # fmt: skip
        with module_lab(tmp, "tfl", OCTET, **config) as (lab, svc, _):
            sim.hook = LabAttachment(lab, svc.backbone)
            worker.configure(svc.settings)
            yield Env(lab, svc, svc.settings.path, sim, pg, rabbit, Orchestrator(svc, {}, "test"))


@pytest.fixture
def one_worker(env: Env) -> Iterator[subprocess.Popen[bytes]]:
    proc = env.start_worker()
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------ what every test checks
def held(env: Env, owner: str) -> int:
    with env.svc.store.session() as s:
        q = select(func.count()).select_from(AllocationRow).where(AllocationRow.owner == owner)
        return s.scalar(q) or 0


def live_vifs(env: Env, ident: str) -> list[dict[str, Any]]:
    return [v for v in env.sim.vifs.values() if v["virtualInterfaceName"] == f"{ident}:csp"
            and v["virtualInterfaceState"] != "deleted"]  # fmt: skip


def pending_mark(lab: Lab, router: str) -> Path:
    """The NAPALM driver's unconfirmed-commit mark on the router's disk (its /var/tmp)."""
    return lab.node_dir(router) / "var-tmp" / "napalm-frr" / router / "pending"


def orphans(env: Env) -> int:
    """Allocations no Connector or Link owns."""
    with env.svc.store.session() as s:
        owners = select(ConnectorRow.id).union(select(LinkRow.id))
        q = select(func.count()).select_from(AllocationRow)
        return s.scalar(q.where(AllocationRow.owner.not_in(owners))) or 0


def until(what: Callable[[], bool], timeout: float, poll: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(poll)
    return False


def reached(env: Env, ident: str, state: str) -> Callable[[], bool]:
    return lambda: state in [h["to"] for h in env.orch.history("connector", ident)]


def story(env: Env, ident: str) -> str:
    """What happened to a Connector, for a failing assertion: its transitions and plans."""
    lines = [f"{h['at']} {h['to']} {h['actor']} {h['reason']}"
             for h in env.orch.history("connector", ident)]  # fmt: skip
    with env.svc.store.session() as s:
        for p in s.scalars(select(PlanRow).where(PlanRow.target_id == ident)
                           .order_by(PlanRow.created_at)):  # fmt: skip
            outcome = {h: o["state"] for h, o in ((p.result or {}).get("devices") or {}).items()}
            lines.append(f"{p.created_at} plan {p.id[:8]} {p.action} {p.state} {outcome}")
    return "\n".join(sorted(lines))


def settled_cleanly(
    env: Env, c: dict[str, Any], allocated: int, before: str, timeout_s: float = 150
) -> str:
    """The outcome rules of this module (see its docstring); returns the end state."""
    end = env.orch.watch("connector", c["id"], poll_s=0.2, timeout_s=timeout_s)
    assert end in ("active", "failed"), story(env, c["id"])
    history = [h["to"] for h in env.orch.history("connector", c["id"])]
    assert history[:3] == ["requested", "validated", "allocated"] and history[-1] == end

    def let_go() -> bool:  # the step that settled it gives its lease back as it ends
        with env.svc.store.session() as s:
            row = s.get(ConnectorRow, c["id"])
            return row is not None and (row.lease_until is None or row.lease_until < now())

    assert until(let_go, 15, poll=0.2), "a settled Connector's lease is still held"
    with env.svc.store.session() as s:
        locks = s.scalars(
            select(RouterLockRow).where(RouterLockRow.owner == f"connector:{c['id']}")
        )
        assert list(locks) == []
    assert not pending_mark(env.lab, PE).exists()
    vifs = live_vifs(env, c["id"])
    if end == "active":
        assert len(vifs) == 1 and vifs[0]["virtualInterfaceState"] == "available"
        assert held(env, c["id"]) == allocated  # nothing leaked, nothing taken twice
        again = make_plan(env.svc, "connector", c["id"])  # nothing half-configured
        assert all(d["diff"] == "" for d in again["devices"].values()), story(env, c["id"])
    else:
        assert vifs == [] and held(env, c["id"]) == 0
        assert running(env.lab, PE) == before
    return end


def create(env: Env) -> tuple[dict[str, Any], int, str]:
    """A new AWS Connector on pe1-par, its allocation and pe1-par's config before."""
    before = running(env.lab, PE)
    c = env.svc.create_connector(env.svc.connector_request(AWS))
    return dict(c), held(env, c["id"]), before


# ------------------------------------------------------------ the faults
def test_postgresql_restarted_while_verifying(
    env: Env, one_worker: subprocess.Popen[bytes]
) -> None:
    """PostgreSQL stopped (fast: connections cut) while the Connector is verifying (its
    commit on the router, the gate waiting for BGP) and started again 4 s later. The
    worker lives on (the store's errors are ONR-STORE-001: try again) and the Connector
    ends active with one VIF, its allocation held once, nothing pending, nothing left to
    change, no lease or lock left."""
    c, allocated, before = create(env)
    worker.submit("connector", c["id"])
    assert until(reached(env, c["id"], "verifying"), 60), env.svc.connector(c["id"])
    env.pg.ctl("-m", "fast", "stop")
    try:
        time.sleep(4)
    finally:
        env.pg.ctl("start")
    assert settled_cleanly(env, c, allocated, before) == "active", env.svc.connector(c["id"])
    assert one_worker.poll() is None  # the worker survived the outage
    assert orphans(env) == 0


def test_rabbitmq_restarted_with_messages_in_flight(
    env: Env, one_worker: subprocess.Popen[bytes]
) -> None:
    """Four Connectors queued at once, RabbitMQ restarted (the whole node) while their
    steps' messages are queued, being run and delayed (a waiting step's next poll). The
    worker reconnects, and every Connector ends active: one VIF each, allocations held
    once, nothing pending, no lease or lock left; none is lost (the sweep queues what
    no message carries any more)."""
    made = [create(env) for _ in range(4)]
    for c, _, _ in made:
        worker.submit("connector", c["id"])
    assert until(reached(env, made[0][0]["id"], "csp_requested"), 60)
    env.rabbit.restart()
    for c, _, _ in made:  # all settled first: a plan shows the others still in flight too
        env.orch.watch("connector", c["id"], poll_s=0.2, timeout_s=150)
    for c, allocated, before in made:
        assert settled_cleanly(env, c, allocated, before) == "active", story(env, c["id"])
    assert one_worker.poll() is None  # it reconnected rather than died
    assert orphans(env) == 0


def test_frr_restarted_between_commit_and_confirm(
    env: Env, one_worker: subprocess.Popen[bytes]
) -> None:
    """pe1-par's FRR daemons killed and started again (they load the startup config) after
    the Connector's commit, before the gate passed. Another Connector was active on
    pe1-par before. The Connector ends active (its config and the other's on the router,
    planning either again changes nothing) or failed (pe1-par's running config exactly as
    before: the other's included; no VIF; nothing held); nothing pending."""
    first, allocated, before = create(env)
    worker.submit("connector", first["id"])
    assert settled_cleanly(env, first, allocated, before) == "active"
    c, allocated, before = create(env)
    worker.submit("connector", c["id"])
    vrf = f"vrf {c['vrf']}"
    committed = lambda: pending_mark(env.lab, PE).exists() and vrf in running(env.lab, PE)  # noqa: E731
    assert until(committed, 60, poll=0.05), env.svc.connector(c["id"])
    restart_frr(env.lab, PE)
    settled_cleanly(env, c, allocated, before)
    again = make_plan(env.svc, "connector", first["id"])  # the other one is still whole
    assert all(d["diff"] == "" for d in again["devices"].values()), again["devices"]


def test_confirmed_config_survives_an_frr_restart(
    env: Env, one_worker: subprocess.Popen[bytes]
) -> None:
    """A confirmed change is the router's startup config too: pe1-par's FRR daemons killed
    and started again with nothing in flight come back with the active Connector (planning
    it again changes nothing): frr-reload writes what it loads to frr.conf, which the
    daemons load when they start (a restart must not lose the Connectors configured since
    the lab came up)."""
    c, allocated, before = create(env)
    worker.submit("connector", c["id"])
    assert settled_cleanly(env, c, allocated, before) == "active"
    restart_frr(env.lab, PE)
    # zebra and bgpd start in a few seconds alone, but CI runs lab modules side by side on 2
    # cores: a bound, not a wait (until() returns as soon as the VRF is there)
    assert until(lambda: f"vrf {c['vrf']}" in running(env.lab, PE), 60), running(env.lab, PE)
    again = make_plan(env.svc, "connector", c["id"])
    assert all(d["diff"] == "" for d in again["devices"].values()), again["devices"]


def test_ssh_cut_during_the_commit(env: Env, one_worker: subprocess.Popen[bytes]) -> None:
    """Every SSH session to pe1-par killed as the commit begins (its unconfirmed mark
    written, the reload running), and again for half a second. The Connector ends active
    (nothing left to change) or failed (pe1-par exactly as before, no VIF, nothing held);
    nothing pending."""
    c, allocated, before = create(env)
    worker.submit("connector", c["id"])
    assert until(pending_mark(env.lab, PE).exists, 60, poll=0.005), env.svc.connector(c["id"])
    cut = 0
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        cut += cut_ssh(env.lab, PE)
        time.sleep(0.02)
    assert cut >= 1
    settled_cleanly(env, c, allocated, before)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_api_killed_while_answering_creates(env: Env, one_worker: subprocess.Popen[bytes]) -> None:
    """`onramp api serve` SIGKILLed at once and 20, 50, 100 ms after a create was sent,
    then started again; the same request with the same Idempotency-Key makes exactly one
    Connector each time (the one the killed server may have made); no allocation without
    its Connector; every one proceeds to active with the workers (one VIF each, its
    allocation held once, nothing pending)."""
    key = apikeys.issue(env.svc.store, "acme", "faults")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/v1/connectors"
    headers = {"Authorization": f"Bearer {key}"}
    log = (env.config.parent / "api.log").open("wb")

    def start() -> subprocess.Popen[bytes]:
        api = subprocess.Popen([sys.executable, "-m", "onramp.cli", "api", "serve", "--port",
                                str(port)], env={**os.environ, "ONRAMP_CONFIG": str(env.config)},
                               stdout=log, stderr=log)  # fmt: skip
        up = lambda: api.poll() is None and _listening(port)  # noqa: E731
        assert until(up, 60, poll=0.1), "the API did not start"
        return api

    made = []
    api = start()
    try:
        for n, after in enumerate((0.0, 0.02, 0.05, 0.1)):
            idem = {**headers, "Idempotency-Key": f"fault-{n}"}
            sent = threading.Thread(target=_post, args=(url, idem))
            sent.start()
            time.sleep(after)
            api.send_signal(signal.SIGKILL)
            api.wait()
            sent.join()
            api = start()
            r = requests.post(url, json=AWS, headers=idem, timeout=30)
            assert r.status_code == 202, r.text
            with env.svc.store.session() as s:
                same = s.scalars(select(ConnectorRow.id).where(
                    ConnectorRow.idempotency_key == f"fault-{n}"))  # fmt: skip
                assert list(same) == [r.json()["id"]]
            made.append(r.json())
        assert orphans(env) == 0
    finally:
        api.send_signal(signal.SIGKILL)
        api.wait()
    allocated = held(env, made[0]["id"])
    for c in made:
        assert held(env, c["id"]) == allocated
        env.orch.watch("connector", c["id"], poll_s=0.2, timeout_s=150)
    for c in made:
        assert settled_cleanly(env, c, allocated, "") == "active", env.svc.connector(c["id"])


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def _post(url: str, headers: dict[str, str]) -> None:
    with suppress(requests.RequestException):  # the server died under it: the point
        requests.post(url, json=AWS, headers=headers, timeout=30)


def test_no_unfinished_row_is_left_unleased(env: Env) -> None:
    """After every fault: no Connector or Link left unfinished, and none leased."""
    with env.svc.store.session() as s:
        for table in (ConnectorRow, LinkRow):
            stuck = s.scalars(select(table.id).where(or_(
                table.state.not_in(["active", "failed", "deleted"]),
                table.lease_owner.is_not(None))))  # fmt: skip
            assert list(stuck) == []


def test_the_sweep_outlives_a_broker_restart(env: Env, one_worker: subprocess.Popen[bytes]) -> None:
    """RabbitMQ restarted while the worker's sweep runs (every second); then a Connector
    stored without a message (as when the API died between the two) is found by the sweep
    and ends active. Last: it leaves that Connector behind when it fails."""
    time.sleep(3)  # the worker is up and sweeping
    env.rabbit.restart()
    c, allocated, before = create(env)  # no submit: only the sweep can find it
    try:  # a living sweep finds it within a second: 30 s is plenty
        assert settled_cleanly(env, c, allocated, before, 30) == "active", story(env, c["id"])
    finally:
        env.svc.delete_connector(c["id"])  # never advanced: nothing but its allocation
