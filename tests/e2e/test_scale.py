"""Scale-out: 20 Connectors (10 AWS Paris, 10 Google Frankfurt) requested at once and
advanced by 4 worker processes on RabbitMQ, with PostgreSQL as the store. All end active
with no duplicate resource (VIFs, attachments, VLANs, subnets), the work shared by the
workers; then all decommissioned to nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from onramp import worker
from onramp.core.store import AllocationRow
from onramp.csp.aws.simulator import DirectConnect
from onramp.csp.aws.simulator import serve as serve_aws
from onramp.csp.gcp.simulator import PARTNER_PROJECT, Compute
from onramp.csp.gcp.simulator import serve as serve_gcp
from onramp.csp.simulator import Behaviour
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service
from onramp.lab.attach import LabAttachment
from onramp.lab.topology import cloud_lans

from ..conftest import new_postgres_db
from .conftest import module_lab

OCTET, WORKERS, EACH = 51, 4, 10


@dataclass
class Env:
    svc: Service
    config: Path
    aws: DirectConnect
    gcp: Compute
    lans: dict[str, Any]
    orch: Orchestrator  # reads only: the workers do the steps


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, rabbitmq: str, postgres: str) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("scale")
    customer = Behaviour(accept_after_s=0.5, provisioning_s=0.5)
    with (
        serve_aws(DirectConnect(behaviour=customer)) as (aws_url, aws),
        serve_gcp(Compute(behaviour=customer)) as (gcp_url, gcp),
    ):
        config = {
            "store_url": new_postgres_db(postgres),
            "csp": {"aws": {"endpoint_url": aws_url, "region": "eu-west-3"},
                    "gcp": {"endpoint_url": gcp_url, "account": PARTNER_PROJECT}},
            "worker": {"broker_url": rabbitmq, "poll_s": 0.3, "sweep_s": 5.0,
                       "lease_s": 120.0, "revert_in_s": 60, "check_timeout_s": 20},
        }  # fmt: skip
        with module_lab(tmp, "tsc", OCTET, **config) as (lab, svc, topo):
            aws.hook = gcp.hook = LabAttachment(lab, svc.backbone)
            yield Env(svc, svc.settings.path, aws, gcp, cloud_lans(topo),
                      Orchestrator(svc, {}, "test"))  # fmt: skip


@pytest.fixture
def workers(env: Env) -> Iterator[list[subprocess.Popen[bytes]]]:
    run = {**os.environ, "ONRAMP_CONFIG": str(env.config)}
    logs = env.config.parent
    procs = [
        subprocess.Popen([sys.executable, "-m", "onramp.cli", "worker", "--concurrency", "1",
                          *(["--beat"] if i == 0 else [])],
                         env=run, stdout=subprocess.DEVNULL,
                         stderr=(logs / f"worker{i}.log").open("wb"))
        for i in range(WORKERS)
    ]  # fmt: skip
    worker.configure(env.svc.settings)
    try:
        yield procs
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=60)


def order(env: Env, n: int) -> dict[str, Any]:
    if n % 2:
        return {"tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
                "bandwidth_mbps": 100, "aws_account": "123456789012",
                "prefixes": [str(env.lans["aws-dx-par"])]}  # fmt: skip
    return {"tenant": "acme", "onramp": "gcp-pi-fra", "kind": "gcp-partner",
            "bandwidth_mbps": 100, "gcp_pairing_key": env.gcp.customer_attachment(),
            "prefixes": [str(env.lans["gcp-pi-fra"])]}  # fmt: skip


def test_twenty_connectors_at_once_through_four_workers(
    env: Env, workers: list[subprocess.Popen[bytes]]
) -> None:
    made = [env.svc.create_connector(env.svc.connector_request(order(env, n)))
            for n in range(2 * EACH)]  # fmt: skip
    for c in made:
        worker.submit("connector", c["id"])
    ends = {c["id"]: env.orch.watch("connector", c["id"], poll_s=0.5, timeout_s=300)
            for c in made}  # fmt: skip
    reasons = {i: env.svc.connector(i)["reason"] for i, s in ends.items() if s != "active"}
    assert reasons == {}
    # no duplicate resource at the providers or in the allocation
    vifs = [v for v in env.aws.vifs.values() if v["virtualInterfaceState"] != "deleted"]
    assert len(vifs) == EACH and len({v["virtualInterfaceName"] for v in vifs}) == EACH
    assert all(v["virtualInterfaceState"] == "available" for v in vifs)
    attachments = [a for a in env.gcp.attachments.values() if a["state"] == "ACTIVE"]
    assert len(attachments) == EACH
    legs = [(a["router"], a["port"], a["vlan"]) for c in made
            for a in env.svc.connector(c["id"])["attachments"]]  # fmt: skip
    assert not [leg for leg, n in Counter(legs).items() if n > 1]
    actors = Counter(h["actor"].rsplit(":", 1)[-1] for c in made
                     for h in env.orch.history("connector", c["id"])
                     if h["actor"].startswith("worker:"))  # fmt: skip
    assert len(actors) >= 2, actors  # the work was shared (pids)

    for c in made:
        env.orch.decommission("connector", c["id"])
        worker.submit("connector", c["id"])
    for c in made:
        assert env.orch.watch("connector", c["id"], poll_s=0.5, timeout_s=300) == "deleted"
    with env.svc.store.session() as s:
        assert s.scalar(select(func.count()).select_from(AllocationRow)) == 0
    assert all(v["virtualInterfaceState"] == "deleted" for v in env.aws.vifs.values())
