"""The state machine on a real lab, with the simulators as the providers: a Connector from
request to active and back to deleted; a failing pyATS gate ending in rolled-back routers,
the provider's side undone and the allocation released; a customer who never answers.

One lab for this module; every test leaves routers, simulator and store clean.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from csp.aws.adapter import AwsAdapter, client
from csp.aws.simulator import PARTNER_KEY, DirectConnect, serve
from csp.registry import connections
from csp.simulator import Behaviour, CloudPeer, Customer
from lab.attach import LabAttachment
from lab.run import Lab, sh
from lab.topology import HOST_OFFSET, cloud_lans
from onramp.orchestrate import Orchestrator, Timings
from onramp.service import Service
from onramp.store import AllocationRow
from tasks.config import canonical

from .conftest import module_lab

OCTET = 48
AWS = {"tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
       "bandwidth_mbps": 100, "aws_account": "123456789012", "prefixes": ["10.100.0.0/24"]}  # fmt: skip


@dataclass
class Env:
    lab: Lab
    svc: Service
    attach: LabAttachment

    def running(self, router: str) -> str:
        """The running config, canonical: equal when the config is (stanza order aside)."""
        return canonical(self.lab.vtysh(router, "show running-config"))

    def held(self, owner: str) -> int:
        with self.svc.store.session() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(AllocationRow)
                    .where(AllocationRow.owner == owner)
                )
                or 0
            )


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with module_lab(tmp_path_factory.mktemp("orchestrate"), "tor", OCTET) as (lab, svc, _):
        yield Env(lab, svc, LabAttachment(lab, svc.backbone))


@dataclass
class WrongAsn:
    """The cloud side configured with another ASN for us than the one we use."""

    inner: LabAttachment

    def up(self, peer: CloudPeer) -> None:
        self.inner.up(replace(peer, remote_as=peer.remote_as + 1))

    def down(self, peer: CloudPeer) -> None:
        self.inner.down(replace(peer, remote_as=peer.remote_as + 1))


def orchestrator(
    env: Env, hook: Any, behaviour: Behaviour, **timings: Any
) -> Iterator[tuple[Orchestrator, DirectConnect]]:
    with serve(DirectConnect(hook=hook, behaviour=behaviour)) as (url, state):
        dx = client(url, region_name="eu-west-3", aws_access_key_id=PARTNER_KEY,
                    aws_secret_access_key="-")  # fmt: skip
        adapters: dict[str, Any] = {"aws": AwsAdapter(dx, connections(env.svc.backbone, "aws"))}
        t = Timings(revert_in_s=60, check_timeout_s=15, **timings)
        yield Orchestrator(env.svc, adapters, actor="test", timings=t), state


def states(orch: Orchestrator, ident: str) -> list[str]:
    return [h["to"] for h in orch.history("connector", ident)]


def test_connector_request_to_active_and_decommission(env: Env) -> None:
    before = env.running("pe1-par")
    for orch, state in orchestrator(env, env.attach, Behaviour(accept_after_s=0.3)):
        c = env.svc.create_connector(env.svc.connector_request(AWS))
        assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "active"
        assert states(orch, c["id"]) == [
            "requested", "validated", "allocated", "csp_requested", "awaiting_customer",
            "configuring", "verifying", "active"]  # fmt: skip
        (vif,) = state.vifs.values()
        assert vif["virtualInterfaceState"] == "available"
        assert f"vrf {c['vrf']}" in env.running("pe1-par")
        assert orch.decommission("connector", c["id"]) == "decommissioning"
        assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "deleted"
        assert vif["virtualInterfaceState"] == "deleted"
    assert env.running("pe1-par") == before
    assert env.held(c["id"]) == 0
    assert env.attach.failed == []


def test_failing_gate_rolls_back_everything(env: Env) -> None:
    before = env.running("pe1-par")
    for orch, state in orchestrator(env, WrongAsn(env.attach), Behaviour()):
        c = env.svc.create_connector(env.svc.connector_request(AWS))
        assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "failed"
        history = orch.history("connector", c["id"])
        assert [h["to"] for h in history][-3:] == ["verifying", "rolling_back", "failed"]
        reason = env.svc.connector(c["id"])["reason"]
        assert reason == history[-1]["reason"]
        assert "ONR-DEPLOY-003" in reason and "not Established" in reason
        (vif,) = state.vifs.values()
        assert vif["virtualInterfaceState"] == "deleted"  # the provider's side undone
    assert env.running("pe1-par") == before
    assert env.held(c["id"]) == 0


def test_customer_who_never_answers_times_out_cleanly(env: Env) -> None:
    for orch, state in orchestrator(env, env.attach, Behaviour(customer=Customer.NEVER),
                                    awaiting_s=0.5):  # fmt: skip
        c = env.svc.create_connector(env.svc.connector_request(AWS))
        assert orch.drive("connector", c["id"], poll_s=0.2, timeout_s=60) == "failed"
        assert "awaiting_customer" in states(orch, c["id"])
        assert "ONR-CSP-004" in orch.history("connector", c["id"])[-1]["reason"]
        assert [v["virtualInterfaceState"] for v in state.vifs.values()] == ["deleted"]
    assert env.held(c["id"]) == 0


ENT_FRA = {"tenant": "acme", "onramp": "ent-fra", "kind": "enterprise", "bandwidth_mbps": 100,
           "customer_asn": 65101}  # fmt: skip


def ce_side(env: Env, c: dict[str, Any], remove: bool = False) -> None:
    """An enterprise site's CE, configured as the customer would (no provider API)."""
    from onramp.store import ConnectorRow

    with env.svc.store.session() as s:
        row = s.get(ConnectorRow, c["id"])
        assert row is not None
        key = env.svc.vault.decrypt(row.md5_key) if row.md5_key else None
    (a,) = c["attachments"]
    env.lab.cloud_peering(env.lab.topo.edge_of(a["router"], a["port"]), vlan=a["vlan"],
                          inner_vlan=None, address=a["peer_address"],
                          neighbor=a["local_address"].split("/")[0], remote_as=c["local_asn"],
                          password=key, remove=remove)  # fmt: skip


def segments(env: Env, router: str) -> list[str]:
    """The Links' stand-in devices on a lab router: VXLAN segments and their bridges."""
    out = sh("ip", "-br", "link", ns=env.lab.ns(router))
    return [ln.split()[0] for ln in out.splitlines() if ln.startswith(("seg", "vxs"))]


def test_link_between_two_pes_to_active_and_decommissioned(env: Env) -> None:
    """AWS Paris (pe1-par) and an enterprise site in Frankfurt (pe1-fra), linked by the
    state machine: the gate passes only with each side's routes usable in the other's VRF;
    the VPC host then reaches the site's host across the core; decommissioned, the Link
    leaves no segment, no route and no session behind."""
    lans = cloud_lans(env.lab.topo)
    before = {r: env.running(r) for r in ("pe1-par", "pe1-fra")}
    for orch, _ in orchestrator(env, env.attach, Behaviour(accept_after_s=0.2)):
        aws = env.svc.create_connector(env.svc.connector_request(
            {**AWS, "prefixes": [str(lans["aws-dx-par"])]}))  # fmt: skip
        ent = env.svc.create_connector(env.svc.connector_request(
            {**ENT_FRA, "prefixes": [str(lans["ent-fra"])]}))  # fmt: skip
        ce_side(env, ent)
        for c in (aws, ent):
            assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "active"
        link = env.svc.create_link(env.svc.link_request(
            {"tenant": "acme", "a": aws["id"], "b": ent["id"], "bandwidth_mbps": 100}))  # fmt: skip
        assert orch.drive("link", link["id"], poll_s=0.1, timeout_s=120) == "active"
        assert [h["to"] for h in orch.history("link", link["id"])][-3:] == [
            "configuring", "verifying", "active"]  # fmt: skip
        site = str(lans["ent-fra"][HOST_OFFSET])
        ping = env.lab.ping("aws-dx-par-host", site, size=1472)
        assert ping.received >= 4, ping.text
        assert segments(env, "pe1-par") and segments(env, "pe1-fra")

        assert orch.decommission("link", link["id"]) == "decommissioning"
        assert orch.drive("link", link["id"], poll_s=0.1, timeout_s=120) == "deleted"
        assert env.lab.ping("aws-dx-par-host", site, count=2).received == 0
        assert segments(env, "pe1-par") == [] and segments(env, "pe1-fra") == []
        assert "interface vpn" not in env.running("pe1-par")
        for c in (aws, ent):
            orch.decommission("connector", c["id"])
            assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "deleted"
        ce_side(env, ent, remove=True)
    assert {r: env.running(r) for r in before} == before
    assert env.held(link["id"]) == 0


def test_link_whose_routes_never_arrive_rolls_back(env: Env) -> None:
    """The site was ordered for two prefixes, its CE announces one: the Connector is up (it
    has a route), the Link's gate finds no route to the other in the cloud's VRF; the
    routers go back to before the Link, which ends failed with the reason, its route
    target released."""
    lans = cloud_lans(env.lab.topo)
    for orch, _ in orchestrator(env, env.attach, Behaviour(accept_after_s=0.2)):
        aws = env.svc.create_connector(env.svc.connector_request(
            {**AWS, "prefixes": [str(lans["aws-dx-par"])]}))  # fmt: skip
        ent = env.svc.create_connector(env.svc.connector_request(
            {**ENT_FRA, "prefixes": [str(lans["ent-fra"]), "192.168.77.0/24"]}))  # fmt: skip
        ce_side(env, ent)
        try:
            for c in (aws, ent):
                assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "active"
            before = {r: env.running(r) for r in ("pe1-par", "pe1-fra")}
            link = env.svc.create_link(env.svc.link_request(
                {"tenant": "acme", "a": aws["id"], "b": ent["id"], "bandwidth_mbps": 100}))  # fmt: skip
            assert orch.drive("link", link["id"], poll_s=0.1, timeout_s=120) == "failed"
            reason = orch.history("link", link["id"])[-1]["reason"]
            assert "ONR-DEPLOY-003" in reason and "no route to 192.168.77.0/24" in reason, reason
            assert {r: env.running(r) for r in before} == before
            assert segments(env, "pe1-par") == [] and segments(env, "pe1-fra") == []
            assert env.held(link["id"]) == 0
        finally:
            for c in (aws, ent):
                if orch.state("connector", c["id"]) == "active":
                    orch.decommission("connector", c["id"])
                    orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120)
            ce_side(env, ent, remove=True)


def test_embedded_celery_worker_takes_connectors_to_active(env: Env, tmp_path: Path) -> None:
    """The embedded default: a SQLite broker file, a worker thread in this process;
    messages only say "advance X"."""
    from onramp import worker

    settings = env.svc.settings.model_copy(deep=True)
    settings.worker.broker_url = f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    settings.worker.poll_s, settings.worker.sweep_s = 0.2, 1.0
    settings.worker.revert_in_s, settings.worker.check_timeout_s = 60, 15
    for orch, state in orchestrator(env, env.attach, Behaviour(accept_after_s=0.2)):
        with worker.embedded(settings, adapters=orch.adapters):
            made = [env.svc.create_connector(env.svc.connector_request(AWS)) for _ in range(2)]
            for c in made:
                worker.submit("connector", c["id"])
            for c in made:  # the test only watches: the worker does every step
                assert orch.watch("connector", c["id"], poll_s=0.2, timeout_s=120) == "active"
                actors = {h["actor"] for h in orch.history("connector", c["id"])[3:]}
                assert all(a.startswith("worker:") for a in actors), actors
            for c in made:
                orch.decommission("connector", c["id"])
                worker.submit("connector", c["id"])
            for c in made:
                assert orch.watch("connector", c["id"], poll_s=0.2, timeout_s=120) == "deleted"
        assert sorted(v["virtualInterfaceState"] for v in state.vifs.values()) == ["deleted"] * 2


def test_runbooks_dry_run_then_apply(env: Env, tmp_path: Path) -> None:
    """`onramp runbook`: a dry run changes nothing anywhere; --apply provisions to active
    and decommissions to deleted, with the history in --json."""
    import json

    from typer.testing import CliRunner

    from onramp.cli import app

    with serve(DirectConnect(hook=env.attach, behaviour=Behaviour(accept_after_s=0.2))) as (
        url, sim):  # fmt: skip
        data = yaml.safe_load(env.svc.settings.path.read_text())
        data["csp"] = {"aws": {"endpoint_url": url, "region": "eu-west-3"}}
        data["worker"] = {"revert_in_s": 60, "check_timeout_s": 15}
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump(data))

        def run(*args: str) -> dict[str, Any]:
            done = CliRunner().invoke(app, ["--config", str(config), "runbook", *args, "--json"])
            assert done.exit_code == 0, done.output
            return json.loads(done.stdout)  # type: ignore[no-any-return]

        order = ["provision-connector", "--tenant", "acme", "--onramp", "aws-dx-par", "--kind",
                 "aws-hosted-vif", "--bandwidth", "100", "--aws-account", "123456789012",
                 "--prefix", "10.100.0.0/24"]  # fmt: skip
        before = len(env.svc.connectors(None, None))
        dry = run(*order)
        assert dry["dry_run"] and dry["provider_request"]["md5_key"] == "<masked>"
        assert sim.vifs == {} and len(env.svc.connectors(None, None)) == before
        done = run(*order, "--apply")
        assert done["state"] == "active" and done["history"][-1]["actor"].startswith("runbook:")
        ident = done["connector"]["id"]
        plan = run("decommission", "connector", ident[:8])
        assert (
            plan["dry_run"] and f"vrf {done['connector']['vrf']}" in plan["router_diffs"]["pe1-par"]
        )
        assert env.svc.connector(ident)["state"] == "active"  # the dry run changed nothing
        gone = run("decommission", "connector", ident[:8], "--apply")
        assert gone["state"] == "deleted"
        assert [v["virtualInterfaceState"] for v in sim.vifs.values()] == ["deleted"]
