"""Crash tests: a worker process killed (SIGKILL) while a Connector is in each state of
the machine, then a new worker started. Every Connector ends active, with exactly one VIF
at the provider, its allocation held once, nothing pending on a router and nothing left
to change; then decommissioned to nothing.

The AWS simulator runs in this process (it configures the lab's cloud side); the workers
are `onramp worker --beat` processes on a SQLite broker, as an engineer starts them.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from onramp.csp.aws.simulator import DirectConnect, serve
from onramp.csp.simulator import Behaviour
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.plan import make_plan
from onramp.flow.service import Service
from onramp.lab.attach import LabAttachment
from onramp.lab.run import Lab
from onramp.lab.topology import HOST_OFFSET, cloud_lans

from .conftest import AWS_ORDER as AWS
from .conftest import ce_side, module_lab, running
from .crash import held, kill, no_spare, start_worker, worker_config

OCTET = 50


@dataclass
class Env:
    lab: Lab
    svc: Service
    config: Path
    sim: DirectConnect
    orch: Orchestrator  # only to read state and history here: the workers do the steps

    def start_worker(self) -> subprocess.Popen[bytes]:
        return start_worker(self.config)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("crash")
    # slow enough to be caught in each state, fast enough to finish
    with serve(DirectConnect(behaviour=Behaviour(accept_after_s=2.0, provisioning_s=1.5))) as (
        url, sim):  # fmt: skip
        config = {
            "csp": {"aws": {"endpoint_url": url, "region": "eu-west-3"}},
        } | worker_config(tmp)  # fmt: skip
        with module_lab(tmp, "tcr", OCTET, **config) as (lab, svc, _):
            sim.hook = LabAttachment(lab, svc.backbone)
            yield Env(lab, svc, svc.settings.path, sim, Orchestrator(svc, {}, actor="test"))


# the AWS flow: allocated -> csp_requested (asked) -> awaiting_customer -> csp_requested
# (accepted, AWS provisioning) -> configuring -> verifying -> active
FLOW = ["allocated", "csp_requested", "awaiting_customer", "csp_requested", "configuring",
        "verifying", "active"]  # fmt: skip


def catch(env: Env, ident: str, wanted: int, timeout: float = 60) -> int:
    """Poll fast until the Connector is at step `wanted` of FLOW (or past it); returns the
    step it was at."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = [h["to"] for h in env.orch.history("connector", ident)][2:]  # from allocated
        if len(seen) - 1 >= wanted:
            return len(seen) - 1
        time.sleep(0.01)
    raise AssertionError(f"never reached {FLOW[wanted]}: {env.orch.state('connector', ident)}")


@pytest.mark.parametrize("at", [0, 1, 2, 3, 4, 5], ids=lambda i: f"{i}-{FLOW[i]}")
def test_worker_killed_in_each_state_resumes_to_active(env: Env, at: int) -> None:
    before = running(env.lab, "pe1-par")
    c = env.svc.create_connector(env.svc.connector_request(AWS))
    allocated = held(env.svc, c["id"])
    first = env.start_worker()
    try:
        from onramp import worker

        worker.configure(env.svc.settings)
        worker.submit("connector", c["id"])
        killed_in = catch(env, c["id"], at)
    finally:
        kill(first)
    second = env.start_worker()
    try:
        assert env.orch.watch("connector", c["id"], poll_s=0.2, timeout_s=150) == "active", (
            env.svc.connector(c["id"])["reason"]
        )
        # killed where meant; the first csp_requested and configuring last well under a
        # second, so the poll may first see the next state
        brief = {1, 4}
        assert killed_in == at or (at in brief and killed_in == at + 1), FLOW[killed_in]
        history = [h["to"] for h in env.orch.history("connector", c["id"])]
        assert history[-1] == "active" and FLOW[killed_in] in history
        live = [v for v in env.sim.vifs.values()
                if v["virtualInterfaceName"] == f"{c['id']}:csp"
                and v["virtualInterfaceState"] != "deleted"]  # fmt: skip
        assert len(live) == 1 and live[0]["virtualInterfaceState"] == "available"
        assert held(env.svc, c["id"]) == allocated  # nothing leaked, nothing taken twice
        again = make_plan(env.svc, "connector", c["id"])  # nothing half-configured
        assert all(d["diff"] == "" for d in again["devices"].values())
        assert running(env.lab, "pe1-par") != before  # it is there
        env.orch.decommission("connector", c["id"])
        assert env.orch.watch("connector", c["id"], poll_s=0.2, timeout_s=120) == "deleted"
    finally:
        kill(second)
    assert held(env.svc, c["id"]) == 0
    assert live[0]["virtualInterfaceState"] == "deleted"
    assert running(env.lab, "pe1-par") == before


LINK_FLOW = ["allocated", "configuring", "verifying", "active"]


@pytest.mark.parametrize("at", [1, 2], ids=["configuring", "verifying"])
def test_worker_killed_while_linking_resumes_to_active(env: Env, at: int) -> None:
    """A Link between AWS Paris and a Frankfurt site; the worker killed while the Link is
    configuring (plan made) or verifying (commits unconfirmed on two PEs): the next worker
    ends it active, nothing pending or left to change, the clouds reaching each other."""
    from onramp import worker

    lans = cloud_lans(env.lab.topo)
    before = {r: running(env.lab, r) for r in ("pe1-par", "pe1-fra")}
    aws = env.svc.create_connector(env.svc.connector_request(
        {**AWS, "prefixes": [str(lans["aws-dx-par"])]}))  # fmt: skip
    site = env.svc.create_connector(env.svc.connector_request(
        {"tenant": "acme", "onramp": "ent-fra", "kind": "enterprise", "bandwidth_mbps": 100,
         "customer_asn": 65101, "prefixes": [str(lans["ent-fra"])]}))  # fmt: skip
    ce_side(env.lab, env.svc, site)
    worker.configure(env.svc.settings)
    first = env.start_worker()
    try:
        for c in (aws, site):
            worker.submit("connector", c["id"])
        for c in (aws, site):
            assert env.orch.watch("connector", c["id"], poll_s=0.2, timeout_s=120) == "active"
        link = env.svc.create_link(env.svc.link_request(
            {"tenant": "acme", "a": aws["id"], "b": site["id"], "bandwidth_mbps": 100}))  # fmt: skip
        worker.submit("link", link["id"])
        deadline = time.monotonic() + 60
        while (
            (seen := [h["to"] for h in env.orch.history("link", link["id"])][2:])
            and len(seen) - 1 < at
            and time.monotonic() < deadline
        ):
            time.sleep(0.01)
    finally:
        kill(first)
    assert seen[-1] in LINK_FLOW[at:], seen
    second = env.start_worker()
    try:
        assert env.orch.watch("link", link["id"], poll_s=0.2, timeout_s=150) == "active", (
            env.svc.link(link["id"])
        )
        again = make_plan(env.svc, "link", link["id"])  # nothing half-configured
        assert all(d["diff"] == "" for d in again["devices"].values())
        ping = env.lab.ping("aws-dx-par-host", str(lans["ent-fra"][HOST_OFFSET]))
        assert ping.received >= 4, ping.text
        env.orch.decommission("link", link["id"])
        assert env.orch.watch("link", link["id"], poll_s=0.2, timeout_s=120) == "deleted"
        for c in (aws, site):
            env.orch.decommission("connector", c["id"])
            worker.submit("connector", c["id"])
        for c in (aws, site):
            assert env.orch.watch("connector", c["id"], poll_s=0.2, timeout_s=120) == "deleted"
    finally:
        kill(second)
        ce_side(env.lab, env.svc, site, remove=True)
    assert held(env.svc, link["id"]) == 0
    after = {r: running(env.lab, r) for r in before}
    assert after == before


def processes_of(config: Path) -> list[int]:
    """Processes started for this config (ONRAMP_CONFIG in their environment)."""
    mine = f"ONRAMP_CONFIG={config}".encode()
    found = []
    for p in Path("/proc").iterdir():
        try:
            if p.name.isdigit() and mine in (p / "environ").read_bytes().split(b"\0"):
                found.append(int(p.name))
        except OSError:
            continue  # gone meanwhile
    return found


def test_nothing_is_left_pending(env: Env) -> None:
    """After all the crashes, no router holds an unconfirmed commit and no process of a
    killed worker lives on (Celery's own beat, a child process, did: queueing sweeps)."""
    no_spare(env.config)  # the worker warmed for a next test: none comes
    assert processes_of(env.config) == []
    from onramp.flow.plan import nornir_for

    nr = nornir_for(env.svc)
    result = nr.run(task=lambda task: task.host.get_connection("napalm", task.nornir.config)
                    .has_pending_commit())  # fmt: skip
    assert {h: r[0].result for h, r in result.items()} == {h: False for h in result}
