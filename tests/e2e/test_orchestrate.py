"""The state machine on a real lab, with the simulators as the providers: a Connector from
request to active and back to deleted; a failing pyATS gate ending in rolled-back routers,
the provider's side undone and the allocation released; a customer who never answers.

One lab for this module; every test leaves routers, simulator and store clean.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from onramp.core.store import AllocationRow
from onramp.csp.aws.adapter import AwsAdapter, client
from onramp.csp.aws.simulator import PARTNER_KEY, DirectConnect, serve
from onramp.csp.registry import connections
from onramp.csp.simulator import Behaviour, CloudPeer, Customer
from onramp.flow.orchestrate import Orchestrator, Timings
from onramp.flow.plan import list_plans, show_plan
from onramp.flow.service import Service
from onramp.lab.attach import LabAttachment
from onramp.lab.run import Lab, sh
from onramp.lab.topology import HOST_OFFSET, cloud_lans

from .conftest import AWS_ORDER as AWS
from .conftest import ce_side, module_lab, running, unanswered

OCTET = 48


@dataclass
class Env:
    lab: Lab
    svc: Service
    attach: LabAttachment

    def running(self, router: str) -> str:
        return running(self.lab, router)

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


@pytest.mark.parametrize("bgp_down", [False, True], ids=["bgp-up", "bgp-down"])
def test_connector_request_to_active_and_decommission(env: Env, bgp_down: bool) -> None:
    """bgp_down: AWS reports the VIF `down` once provisioned, as the real one does until
    its session is up (the simulator watches no BGP: it stays so); the Connector goes on
    to its routers all the same, its gate judges the session, and the delete takes the
    cloud side away."""
    before = env.running("pe1-par")
    behaviour = Behaviour(accept_after_s=0.3, bgp_down=bgp_down)
    for orch, state in orchestrator(env, env.attach, behaviour):
        c = env.svc.create_connector(env.svc.connector_request(AWS))
        assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "active"
        assert states(orch, c["id"]) == [
            "requested", "validated", "allocated", "csp_requested", "awaiting_customer",
            "configuring", "verifying", "active"]  # fmt: skip
        (vif,) = state.vifs.values()
        assert vif["virtualInterfaceState"] == ("down" if bgp_down else "available")
        assert f"vrf {c['vrf']}" in env.running("pe1-par")
        assert orch.decommission("connector", c["id"]) == "decommissioning"
        assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "deleted"
        assert vif["virtualInterfaceState"] == "deleted"
    assert env.running("pe1-par") == before
    assert env.held(c["id"]) == 0
    assert env.attach.failed == []
    assert [event for event, _ in env.attach.applied[-2:]] == ["up", "down"]


def test_a_connector_without_prefixes_goes_active_with_its_session_up(env: Env) -> None:
    """No prefix declared: the router accepts no route from the cloud (its filter denies
    every one), so the gate asks the session Established with none received, as declared;
    it waited for a prefix the router could never accept and rolled back after its timeout
    (a stranger's first order, stop 41: `ONR-DEPLOY-003 ... 0 prefixes, expected 1-100`)."""
    for orch, _ in orchestrator(env, env.attach, Behaviour(accept_after_s=0.3)):
        c = env.svc.create_connector(env.svc.connector_request({**AWS, "prefixes": []}))
        got = orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120)
        assert got == "active", env.svc.connector(c["id"])["reason"]
        assert orch.decommission("connector", c["id"]) == "decommissioning"
        assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "deleted"
    assert env.held(c["id"]) == 0


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


def linked_to_aws(
    env: Env, orch: Orchestrator, site_order: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """AWS Paris (its LAN's prefix) and an enterprise site (its CE configured), both
    driven to active, then linked, the Link driven to active."""
    lans = cloud_lans(env.lab.topo)
    aws = env.svc.create_connector(env.svc.connector_request(
        {**AWS, "prefixes": [str(lans["aws-dx-par"])]}))  # fmt: skip
    site = env.svc.create_connector(env.svc.connector_request(site_order))
    ce_side(env.lab, env.svc, site)
    for c in (aws, site):
        assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "active"
    link = env.svc.create_link(env.svc.link_request(
        {"tenant": "acme", "a": aws["id"], "b": site["id"], "bandwidth_mbps": 100}))  # fmt: skip
    assert orch.drive("link", link["id"], poll_s=0.1, timeout_s=120) == "active"
    return aws, site, link


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
        aws, ent, link = linked_to_aws(env, orch, {**ENT_FRA, "prefixes": [str(lans["ent-fra"])]})
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
        ce_side(env.lab, env.svc, ent, remove=True)
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
        ce_side(env.lab, env.svc, ent)
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
            ce_side(env.lab, env.svc, ent, remove=True)


def patch_ce_when_made(env: Env, old: str, made: list[dict[str, Any]]) -> None:
    """The customer: configures the CE on the replacement's port as soon as it exists."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for state in ("allocated", "configuring", "verifying"):
            for c in env.svc.connectors("acme", state):
                if c["request"].get("idempotency_key") == f"drain:{old}":
                    ce_side(env.lab, env.svc, c)
                    made.append(c)
                    return
        time.sleep(0.1)


def test_drain_pe_moves_a_linked_connector_make_before_break(env: Env) -> None:
    """A London site (pe1-lon) linked to AWS Paris; pe1-lon drained: the runbook's dry run
    says where the site's Connector would go; applied, a replacement comes up on pe2-lon
    (the customer patches the CE to the new cross-connect), is linked, and only then are
    the old Link and Connector removed. A ping from the site's host to the VPC host, every
    50 ms for the whole drain, loses nothing."""
    import threading

    from onramp.runbooks import drain

    lans = cloud_lans(env.lab.topo)
    target = str(lans["aws-dx-par"][HOST_OFFSET])
    for orch, _ in orchestrator(env, env.attach, Behaviour(accept_after_s=0.2)):
        aws, site, link = linked_to_aws(
            env, orch, {**ENT_FRA, "onramp": "ent-lon", "prefixes": [str(lans["ent-lon"])]}
        )
        assert [a["router"] for a in site["attachments"]] == ["pe1-lon"]
        assert env.lab.ping("ent-lon-host", target).received >= 4  # the first may meet ARP

        dry = drain.drain_pe(env.svc, "pe1-lon", False, orch, lambda _: None)
        (planned,) = dry["moves"]
        assert planned["connector"] == site["id"] and planned["blocked"] is None
        assert planned["to"] == [planned["to"][0]] and planned["to"][0].startswith("pe2-lon eth4.")
        assert env.svc.connector(site["id"])["state"] == "active"  # the dry run changed nothing

        replaced: list[dict[str, Any]] = []

        patcher = threading.Thread(target=patch_ce_when_made, args=(env, site["id"], replaced))
        patcher.start()
        pinger = subprocess.Popen(
            ["ip", "netns", "exec", env.lab.ns("ent-lon-host"), "ping", "-n", "-i", "0.05",
             target], stdout=subprocess.PIPE, text=True)  # fmt: skip
        try:
            time.sleep(1)
            done = drain.drain_pe(env.svc, "pe1-lon", True, orch, lambda _: None)
            time.sleep(1)
        finally:
            pinger.send_signal(signal.SIGINT)
            report = pinger.communicate(timeout=10)[0]
            patcher.join(timeout=5)
        (moved,) = done["moves"]
        assert moved["result"] == "moved" and done["left"] == [], done
        sent, lost = unanswered(report)
        assert sent > 100 and lost == [], f"{len(lost)} of {sent} lost: {lost}"
        new = env.svc.connector(moved["replacement"])
        assert new["state"] == "active" and [a["router"] for a in new["attachments"]] == ["pe2-lon"]
        assert env.svc.connector(site["id"])["state"] == "deleted"
        assert env.svc.link(link["id"])["state"] == "deleted"
        # on the AWS side both Links brought the site's prefix: the old one's removal left
        # its line where it was (a line deleted then added again loses the route between)
        (removal,) = [p for p in list_plans(env.svc) if p["target_id"] == link["id"]
                      and p["action"] == "remove" and p["state"] == "applied"]  # fmt: skip
        aws_diff = removal["devices"]["pe1-par"]["diff"]
        assert not [ln for ln in aws_diff.splitlines() if ln.startswith(("-", "+"))
                    and str(lans["ent-lon"]) in ln], aws_diff  # fmt: skip
        (new_link,) = [lk for lk in env.svc.links("acme") if lk["state"] == "active"]
        assert {new_link["a"], new_link["b"]} == {new["id"], aws["id"]}
        assert "vrf c" not in env.running("pe1-lon")
        assert drain.drain_pe(env.svc, "pe1-lon", False, orch, lambda _: None)["moves"] == []

        drain.undrain_pe(env.svc, "pe1-lon", True)
        orch.decommission("link", new_link["id"])
        assert orch.drive("link", new_link["id"], poll_s=0.1, timeout_s=120) == "deleted"
        for c in (new, aws):
            orch.decommission("connector", c["id"])
            assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "deleted"
        for c in (site, *replaced):
            ce_side(env.lab, env.svc, c, remove=True)


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
            # each deploy's compliance re-check, queued by the worker, reaches its plan (a
            # router busy with the other Connector's change is judged once that is over)
            deploys = [p for p in list_plans(env.svc) if p["target_id"] in {c["id"] for c in made}
                       and p["action"] == "deploy" and p["state"] == "applied"]  # fmt: skip
            assert len(deploys) == 2

            def scores(plan: str) -> Any:
                return show_plan(env.svc, plan)["result"].get("compliance", {}).get("pe1-par")

            for p in deploys:
                deadline = time.monotonic() + 30
                while not isinstance(scores(p["id"]), float):
                    assert time.monotonic() < deadline, f"no compliance re-check: {scores(p['id'])}"
                    time.sleep(0.2)
                assert scores(p["id"]) == 100.0
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

    from onramp.cli.main import app

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


@dataclass
class SeesTheOrder:
    """The lab's cloud side, noting at the VIF's deletion what the routers and the store
    still hold: the provider's side goes after our routers and before the release."""

    env: Env
    ident: str = ""
    at_delete: tuple[bool, int] | None = None  # (VRF still on pe1-par, values still held)

    def up(self, peer: CloudPeer) -> None:
        self.env.attach.up(peer)

    def down(self, peer: CloudPeer) -> None:
        if self.ident:
            vrf = self.env.svc.connector(self.ident)["vrf"]
            self.at_delete = (
                f"vrf {vrf}" in self.env.running("pe1-par"),
                self.env.held(self.ident),
            )
        self.env.attach.down(peer)


def test_cli_delete_of_an_active_connector_decommissions_it_in_order(
    env: Env, tmp_path: Path
) -> None:
    """`onramp connector delete ID --wait`: routers first (no VRF, subinterface or session
    left), then the VIF deleted at AWS, and only then the allocation released."""
    import json

    from typer.testing import CliRunner

    from onramp.cli.main import app

    before = env.running("pe1-par")
    sees = SeesTheOrder(env)
    with serve(DirectConnect(hook=sees, behaviour=Behaviour())) as (url, sim):
        dx = client(url, region_name="eu-west-3", aws_access_key_id=PARTNER_KEY,
                    aws_secret_access_key="-")  # fmt: skip
        adapters: dict[str, Any] = {"aws": AwsAdapter(dx, connections(env.svc.backbone, "aws"))}
        orch = Orchestrator(env.svc, adapters, actor="test",
                            timings=Timings(revert_in_s=60, check_timeout_s=15))  # fmt: skip
        c = env.svc.create_connector(env.svc.connector_request(AWS))
        assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "active"
        (a,) = c["attachments"]
        assert f"interface {a['interface']}" in env.running("pe1-par")
        sees.ident = c["id"]
        data = yaml.safe_load(env.svc.settings.path.read_text())
        data["csp"] = {"aws": {"endpoint_url": url, "region": "eu-west-3"}}
        data["worker"] = {"revert_in_s": 60, "check_timeout_s": 15}
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump(data))
        done = CliRunner().invoke(app, ["--config", str(config), "connector", "delete",
                                        c["id"][:8], "--wait", "--json"])  # fmt: skip
        assert done.exit_code == 0, done.output
        gone = json.loads(done.stdout)
        (vif,) = sim.vifs.values()
        assert vif["virtualInterfaceState"] == "deleted"
    assert gone["state"] == "deleted"
    assert [h["to"] for h in gone["history"]][-3:] == ["active", "decommissioning", "deleted"]
    assert gone["history"][-2]["actor"].startswith("cli:")
    assert sees.at_delete == (False, 3)  # at the VIF's deletion: off the router, still held
    running_now = env.running("pe1-par")
    assert f"vrf {c['vrf']}" not in running_now
    assert f"interface {a['interface']}" not in running_now
    assert a["peer_address"].split("/")[0] not in running_now  # no BGP session
    assert running_now == before
    assert env.held(c["id"]) == 0
