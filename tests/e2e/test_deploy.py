"""Plan -> apply on a real lab: BGP to the AWS-side peer Established inside the customer
VRF; the safety net around it (confirm timer, post-commit check, rollback, drift).

One lab for this module (it changes router configs, so it does not share the read-only
lab); every test leaves the routers as it found them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import napalm
import pytest
import yaml

from onramp.core.errors import OnrampError
from onramp.core.settings import load_settings
from onramp.flow.apply import apply_plan
from onramp.flow.plan import make_plan, show_plan
from onramp.flow.service import Service
from onramp.lab.run import Lab, down
from onramp.lab.topology import HOST_OFFSET, build, cloud_lans
from onramp.network.inventory.plugin import init_nornir
from onramp.tasks.config import canonical, rollback

from .conftest import AWS_ORDER as AWS
from .conftest import decommissioned, default_inventory_in, lab_settings, write_config

OCTET = 46


@dataclass
class Env:
    lab: Lab
    svc: Service
    config: Path

    def driver(self, router: str) -> Any:
        """A NAPALM connection of our own, as any engineer's script would open."""
        params = init_nornir(self.svc.settings).inventory.hosts[router]
        extras = params.get_connection_parameters("napalm").extras or {}
        dev = napalm.get_network_driver("frr")(
            params.hostname, "root", "", optional_args=extras["optional_args"]
        )
        dev.open()
        return dev

    def running(self, router: str) -> str:
        """The running config, canonical: equal when the config is (stanza order aside)."""
        dev = self.driver(router)
        try:
            return canonical(str(dev.get_config(retrieve="running")["running"]))
        finally:
            dev.close()

    def cloud_side(self, connector: dict[str, Any], remove: bool = False, **override: Any) -> None:
        """The CSP edge configured with what the CSP was sent (the simulator's job later)."""
        row_key = self.md5_key(connector["id"])
        for a in connector["attachments"]:
            self.lab.cloud_peering(
                self.lab.topo.edge_of(a["router"], a["port"]),
                vlan=a["vlan"],
                inner_vlan=a["inner_vlan"],
                address=a["peer_address"],
                neighbor=a["local_address"].split("/")[0],
                remote_as=override.get("remote_as", connector["local_asn"]),
                password=row_key,
                remove=remove,
            )

    def md5_key(self, connector_id: str) -> str:
        from onramp.core.store import ConnectorRow

        with self.svc.store.session() as s:
            row = s.get(ConnectorRow, connector_id)
            assert row is not None and row.md5_key is not None
            return self.svc.vault.decrypt(row.md5_key)

    def bgp_state(self, router: str, vrf: str, peer: str) -> str:
        out = self.lab.vtysh_json(router, f"show bgp vrf {vrf} neighbors {peer} json")
        return str(out.get(peer, {}).get("bgpState", "absent"))


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("deploy")
    settings = lab_settings("tdp", tmp, OCTET)
    bb = default_inventory_in(OCTET, tmp / "inventory")
    topo = build(bb, settings)
    lab = Lab(topo, settings.state_dir)
    down(settings.name, settings.state_dir)
    config = write_config(tmp / "config.yaml", settings, tmp / "inventory")
    data = yaml.safe_load(config.read_text())
    data["store_url"] = f"sqlite:///{tmp / 'onramp.db'}"
    data["secret_key_file"] = str(tmp / "secret.key")
    config.write_text(yaml.safe_dump(data))
    try:
        lab.up(converge_timeout=settings.converge_timeout_s)
        svc = Service.open(load_settings(config))
        svc.add_tenant("acme", "Acme")
        yield Env(lab, svc, config)
    finally:
        down(settings.name, settings.state_dir)


def new_connector(env: Env, **extra: Any) -> dict[str, Any]:
    return env.svc.create_connector(env.svc.connector_request({**AWS, **extra}))


def take_off(env: Env, connector: dict[str, Any]) -> None:
    """Leave the lab as found: the service off the routers and the cloud side."""
    plan = make_plan(env.svc, "connector", connector["id"], "remove")
    apply_plan(env.svc, plan["id"], revert_in=60, check_timeout=5)
    env.cloud_side(connector, remove=True)
    decommissioned(env.svc, "connector", connector["id"])


def test_plan_apply_brings_bgp_up_in_the_customer_vrf(env: Env) -> None:
    c = new_connector(env)
    a = c["attachments"][0]
    peer = a["peer_address"].split("/")[0]
    key = env.md5_key(c["id"])
    plan = make_plan(env.svc, "connector", c["id"])
    diff = plan["devices"]["pe1-par"]["diff"]
    assert f"+ router bgp 65000 vrf {c['vrf']}" in diff
    assert f"+  neighbor {peer} password <masked>" in diff
    assert key not in json.dumps(plan)  # not in the stored plan as users see it
    assert env.bgp_state("pe1-par", c["vrf"], peer) == "absent"  # a plan changes nothing

    env.cloud_side(c)
    done = apply_plan(env.svc, plan["id"], revert_in=60, check_timeout=30)
    assert done["state"] == "applied"
    assert done["result"]["devices"]["pe1-par"]["state"] == "committed"
    assert key not in json.dumps(done)
    assert env.bgp_state("pe1-par", c["vrf"], peer) == "Established"
    assert env.svc.connector(c["id"])["state"] == "active"
    # the session runs inside the VRF: its address is not in the default table
    default = env.lab.vtysh_json("pe1-par", "show bgp neighbors json")
    assert peer not in default
    # the same plan cannot be applied twice; a new plan finds nothing to change
    with pytest.raises(OnrampError) as again:
        apply_plan(env.svc, plan["id"], revert_in=60, check_timeout=30)
    assert again.value.code == "ONR-PLAN-003"
    assert make_plan(env.svc, "connector", c["id"])["devices"]["pe1-par"]["diff"] == ""
    take_off(env, c)
    assert env.bgp_state("pe1-par", c["vrf"], peer) == "absent"


def test_the_gate_reads_a_new_sessions_routes_with_the_poll_that_sees_it_up(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate's route read (what the new session accepted) goes in the same exec as the
    session poll once the session is Established: the poll that sees its first prefix
    has its routes, where a round trip more followed it (~40 ms on the way to active).
    The gate still judges them: the Connector is active with its prefix accepted."""
    c = new_connector(env)
    peer = c["attachments"][0]["peer_address"].split("/")[0]
    plan = make_plan(env.svc, "connector", c["id"])
    env.cloud_side(c)
    nr = init_nornir(env.svc.settings).filter(filter_func=lambda h: h.name == "pe1-par")
    try:
        dev = nr.inventory.hosts["pe1-par"].get_connection("napalm", nr.config)
        commands = sent(dev, monkeypatch)
        done = apply_plan(env.svc, plan["id"], revert_in=60, check_timeout=30, nornir=nr)
        monkeypatch.undo()
    finally:
        nr.close_connections()
    assert done["state"] == "applied"
    routes = [x for x in commands if f"neighbors {peer} routes json" in x]
    assert routes, commands
    assert all("show bgp vrf all summary json" in x for x in routes), routes
    take_off(env, c)


def test_unconfirmed_broken_commit_reverts_by_itself(env: Env) -> None:
    """Wrong peer ASN committed with revert_in=10; the caller goes away without confirming:
    the router returns to its previous config on its own."""
    c = new_connector(env)
    env.cloud_side(c)
    apply_plan(env.svc, make_plan(env.svc, "connector", c["id"])["id"], 60, 30)
    before = env.running("pe1-par")
    dev = env.driver("pe1-par")
    broken = before.replace(f"remote-as {c['peer_asn']}", "remote-as 64999")
    assert broken != before
    dev.load_replace_candidate(config=broken)
    dev.commit_config(revert_in=10)
    assert "remote-as 64999" in env.running("pe1-par")
    dev.close()  # never confirmed
    deadline = time.monotonic() + 30
    while env.running("pe1-par") != before and time.monotonic() < deadline:
        time.sleep(1)
    assert env.running("pe1-par") == before
    assert not env.driver("pe1-par").has_pending_commit()
    take_off(env, c)


def test_rollback_after_a_confirmed_commit_restores_the_previous_config(env: Env) -> None:
    before = env.running("pe1-par")
    c = new_connector(env)
    env.cloud_side(c)
    apply_plan(env.svc, make_plan(env.svc, "connector", c["id"])["id"], 60, 30)
    assert env.running("pe1-par") != before
    nr = init_nornir(env.svc.settings).filter(name="pe1-par")
    result = nr.run(task=rollback)
    assert not result.failed and result["pe1-par"][0].changed
    assert env.running("pe1-par") == before
    env.cloud_side(c, remove=True)
    decommissioned(env.svc, "connector", c["id"])


def test_failed_post_commit_check_leaves_the_router_as_before(env: Env) -> None:
    """The cloud side answers with another ASN than we configured: BGP never comes up,
    the check fails, the commit is rolled back and the router is as before."""
    c = new_connector(env)
    env.cloud_side(c, remote_as=65999)  # the CSP expects another ASN of us
    before = env.running("pe1-par")
    plan = make_plan(env.svc, "connector", c["id"])
    with pytest.raises(OnrampError) as failed:
        apply_plan(env.svc, plan["id"], revert_in=40, check_timeout=8)
    assert failed.value.code == "ONR-DEPLOY-003"
    assert "not Established" in failed.value.reason
    assert env.running("pe1-par") == before
    assert show_plan(env.svc, plan["id"])["state"] == "failed"
    assert env.svc.connector(c["id"])["state"] == "allocated"
    env.cloud_side(c, remove=True)
    decommissioned(env.svc, "connector", c["id"])


def test_a_connector_another_plan_deployed_is_still_checked_before_active(env: Env) -> None:
    """Two Connectors being configured on pe1-par at once (as the workers do): the first's
    plan carries the second's config too (a plan renders every Connector its router
    carries). The second's own plan then changes nothing, and its session must still pass
    the gate before it is called active: here its cloud side was never configured, so it
    is not active. Found by bench/scale_out.py: 23 enterprise Connectors went active with
    no prefix on their sessions."""
    from onramp.core.store import ConnectorRow, move

    first, second = new_connector(env), new_connector(env)

    def configuring(s: Any) -> None:
        row = s.get(ConnectorRow, second["id"])
        move(s, row, "configuring", "test", "its worker is configuring it")

    env.svc.store.transact(configuring)
    env.cloud_side(first)  # only the first's cloud answers
    plan = make_plan(env.svc, "connector", first["id"])
    peer = second["attachments"][0]["peer_address"].split("/")[0]
    assert peer in plan["devices"]["pe1-par"]["diff"]  # the second's config rides along
    assert apply_plan(env.svc, plan["id"], revert_in=60, check_timeout=30)["state"] == "applied"

    own = make_plan(env.svc, "connector", second["id"])
    assert own["devices"]["pe1-par"]["diff"] == ""  # nothing left for its own plan to do
    with pytest.raises(OnrampError) as failed:
        apply_plan(env.svc, own["id"], revert_in=40, check_timeout=5)
    assert failed.value.code == "ONR-DEPLOY-003"
    assert peer in failed.value.reason and "not Established" in failed.value.reason
    assert show_plan(env.svc, own["id"])["state"] == "failed"
    assert env.svc.connector(second["id"])["state"] == "configuring"  # never active
    # its session is left as it was (nothing was committed for it: nothing to roll back)
    assert env.bgp_state("pe1-par", second["vrf"], peer) != "absent"

    env.cloud_side(second)  # its cloud answers now: the same empty plan passes the gate
    again = make_plan(env.svc, "connector", second["id"])
    assert apply_plan(env.svc, again["id"], revert_in=60, check_timeout=30)["state"] == "applied"
    assert env.svc.connector(second["id"])["state"] == "active"
    take_off(env, second)
    take_off(env, first)


def test_apply_refuses_when_the_router_changed_since_the_plan(env: Env) -> None:
    c = new_connector(env)
    plan = make_plan(env.svc, "connector", c["id"])
    sh = ["vtysh", "-N", env.lab.ns("pe1-par"), "-c", "configure terminal"]
    subprocess.run(
        ["ip", "netns", "exec", env.lab.ns("pe1-par"), *sh, "-c", "ip route 192.0.2.0/24 Null0"],
        check=True,
    )
    moved = env.running("pe1-par")
    try:
        with pytest.raises(OnrampError) as refused:
            apply_plan(env.svc, plan["id"], revert_in=60, check_timeout=30)
        assert refused.value.code == "ONR-PLAN-002"
        assert "pe1-par" in refused.value.reason
        assert env.running("pe1-par") == moved  # nothing applied
        assert show_plan(env.svc, plan["id"])["state"] == "refused"
    finally:
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                env.lab.ns("pe1-par"),
                *sh,
                "-c",
                "no ip route 192.0.2.0/24 Null0",
            ],
            check=True,
        )
    decommissioned(env.svc, "connector", c["id"])


def test_killed_apply_is_reverted_by_the_router(env: Env) -> None:
    """`onramp apply` killed (SIGKILL) while its check waits: nothing confirms, the router
    reverts by itself when the timer runs out."""
    c = new_connector(env)  # no cloud side: the check waits for BGP in vain
    before = env.running("pe1-par")
    plan = make_plan(env.svc, "connector", c["id"])
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "onramp.cli",
            "--config",
            str(env.config),
            "apply",
            plan["id"],
            "--revert-in",
            "20",
            "--check-timeout",
            "10",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 15
        while env.running("pe1-par") == before and time.monotonic() < deadline:
            time.sleep(0.3)
        assert env.running("pe1-par") != before, "apply never committed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    deadline = time.monotonic() + 40
    while env.running("pe1-par") != before and time.monotonic() < deadline:
        time.sleep(1)
    assert env.running("pe1-par") == before
    decommissioned(env.svc, "connector", c["id"])


def test_link_plan_joins_two_vrfs_and_routes_cross(env: Env) -> None:
    """AWS Paris and an enterprise site on pe1-par, linked: the Link's route target in both
    VRFs, each side's prefixes let out to the other, the clouds' routes in each other's VRF."""
    lans = cloud_lans(env.lab.topo)
    aws = new_connector(env, prefixes=[str(lans["aws-dx-par"])])
    ent = env.svc.create_connector(
        env.svc.connector_request(
            {
                "tenant": "acme",
                "onramp": "ent-par",
                "kind": "enterprise",
                "bandwidth_mbps": 100,
                "customer_asn": 65101,  # the lab's customer edge
                "prefixes": [str(lans["ent-par"])],
            }
        )
    )
    for c in (aws, ent):
        env.cloud_side(c)
        apply_plan(env.svc, make_plan(env.svc, "connector", c["id"])["id"], 60, 30)
    link = env.svc.create_link(
        env.svc.link_request(
            {"tenant": "acme", "a": aws["id"], "b": ent["id"], "bandwidth_mbps": 100}
        )
    )
    # a check that gives up before the segment's sessions are up: rolled back, as before
    before = env.running("pe1-par")
    with pytest.raises(OnrampError, match="no route to"):
        apply_plan(env.svc, make_plan(env.svc, "link", link["id"])["id"], 60, check_timeout=0)
    assert env.running("pe1-par") == before
    plan = make_plan(env.svc, "link", link["id"])
    diff = plan["devices"]["pe1-par"]["diff"]
    assert diff.count(f"rt vpn both {link['route_target']}") == 2
    assert f"permit {lans['ent-par']} le 32" in diff  # what AWS may now receive
    assert f"permit {lans['aws-dx-par']} le 32" in diff
    apply_plan(env.svc, plan["id"], revert_in=60, check_timeout=30)
    assert env.svc.link(link["id"])["state"] == "active"
    # on a router holding Connectors a Link only adds lines: frr-reload's own diff applied
    # in one pass, not --reload's two (the deny-all is no longer replaced at its number)
    dev = env.driver("pe1-par")
    try:
        assert "apply: its additions (vtysh -f)" in reload_log(dev)
    finally:
        dev.close()
    again = make_plan(env.svc, "link", link["id"])  # re-planning the active Link: nothing
    assert {r: d["diff"] for r, d in again["devices"].items()} == {"pe1-par": ""}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        routes = env.lab.vtysh_json("pe1-par", f"show ip route vrf {aws['vrf']} json")
        if str(lans["ent-par"]) in routes:
            break
        time.sleep(0.5)
    assert str(lans["ent-par"]) in routes, sorted(routes)
    back = env.lab.vtysh_json("pe1-par", f"show ip route vrf {ent['vrf']} json")
    assert str(lans["aws-dx-par"]) in back
    # both VRFs on one PE: their segment is a bridge on the router, no VXLAN between PEs
    ping = env.lab.ping("aws-dx-par-host", str(lans["ent-par"][HOST_OFFSET]), size=1472)
    assert ping.received >= 4, ping.text
    # take it all down again: the Link, then the Connectors
    apply_plan(env.svc, make_plan(env.svc, "link", link["id"], "remove")["id"], 60, 5)
    decommissioned(env.svc, "link", link["id"])
    assert env.running("pe1-par") == before  # exactly as before the Link
    for c in (aws, ent):
        take_off(env, c)


def test_every_router_runs_its_rendered_backbone_verbatim(env: Env) -> None:
    """The lab's routers were configured from templates/backbone/frr.j2; FRR kept every
    line as rendered: each router's intended config diffs empty against its running one
    (dry-run diff on all six routers in parallel)."""
    from onramp.network.templates import RouterServices, router_config
    from onramp.tasks.config import diff_config

    bb = env.svc.backbone
    candidates = {r: router_config(bb, r, RouterServices(r)) for r in bb.routers}
    result = init_nornir(env.svc.settings).run(task=diff_config, candidates=candidates)
    assert not result.failed
    assert {h: r[0].result["diff"] for h, r in result.items()} == {r: "" for r in bb.routers}


def test_a_dry_run_reads_the_running_config_once(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dry run is one SSH command per router: the running config it is diffed against
    comes back with the diff (a second read was a second vtysh, ~30 ms of the router's CPU,
    and a dry run of every PE at once is CPU-bound); its fingerprint is still the one a
    deploy checks (running_config's), and the diff is the change's line alone."""
    from onramp.tasks.config import diff_config, running_config

    nr = init_nornir(env.svc.settings).filter(filter_func=lambda h: h.name == "pe1-fra")
    try:
        dev = nr.inventory.hosts["pe1-fra"].get_connection("napalm", nr.config)
        before = dev.get_config(retrieve="running")["running"]
        commands = sent(dev, monkeypatch)
        candidate = {"pe1-fra": before + "ip route 192.0.2.0/24 Null0\n"}
        result = nr.run(task=diff_config, candidates=candidate)["pe1-fra"]
        assert not result.failed, result[0].exception
        assert len(commands) == 1, commands
        assert result[0].result["diff"] == "+ ip route 192.0.2.0/24 Null0"
        read = nr.run(task=running_config)["pe1-fra"][0].result
        assert result[0].result["running_sha256"] == read["sha256"]
    finally:
        nr.close_connections()


def sent(dev: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every shell command the driver `dev` runs from now on, in order (it still runs them)."""
    commands: list[str] = []
    run = dev._run

    def counted(command: str, *args: Any, **kwargs: Any) -> Any:
        commands.append(command)
        return run(command, *args, **kwargs)

    monkeypatch.setattr(dev, "_run", counted)
    return commands


def test_driver_merge_diff_discard_and_refusals(env: Env) -> None:
    """napalm_frr's config methods on a real router: a merge diffs as exactly its lines,
    discard forgets it, a replace with the running config diffs empty, a second commit
    while one waits is refused, and a candidate FRR rejects changes nothing."""
    from napalm.base.exceptions import CommitError

    dev = env.driver("pe1-fra")
    before = dev.get_config(retrieve="running")["running"]
    try:
        dev.load_merge_candidate(config="ip route 192.0.2.0/24 Null0\n")
        assert dev.compare_config() == "+ ip route 192.0.2.0/24 Null0"
        dev.discard_config()
        assert dev.compare_config() == ""
        dev.load_replace_candidate(config=before)
        assert dev.compare_config() == ""
        dev.load_merge_candidate(config="ip route 192.0.2.0/24 Null0\n")
        dev.commit_config(revert_in=60)
        assert dev.has_pending_commit()
        dev.load_merge_candidate(config="ip route 198.51.100.0/24 Null0\n")
        with pytest.raises(CommitError, match="waits for confirmation"):
            dev.commit_config(revert_in=60)
        dev.rollback()
        assert not dev.has_pending_commit()
        assert dev.get_config(retrieve="running")["running"] == before
        dev.load_replace_candidate(config=before + "router bgp 65000\n no-such-command 1\n")
        with pytest.raises(CommitError, match="frr-reload failed"):
            dev.commit_config()
        assert dev.get_config(retrieve="running")["running"] == before
    finally:
        if dev.has_pending_commit():
            dev.rollback()
        dev.close()


def reload_log(dev: Any) -> str:
    """What the router's last commit or rollback did (napalm_frr keeps it on the router)."""
    return str(dev._run(f"cat {dev._dir}/reload.log"))


def configure(env: Env, router: str, line: str) -> None:
    """A change by hand on the router (another engineer's), beside onramp's."""
    ns = env.lab.ns(router)
    subprocess.run(["ip", "netns", "exec", ns, "vtysh", "-N", ns, "-c", "configure terminal",
                    "-c", line], check=True)  # fmt: skip


@contextmanager
def driver_on(env: Env, router: str) -> Iterator[tuple[Any, str]]:
    """A driver of our own and the router's running config; the router put back as found
    afterwards, even after a failure with a commit waiting."""
    dev = env.driver(router)
    before = dev.get_config(retrieve="running")["running"]
    try:
        yield dev, before
    finally:
        if dev.has_pending_commit():
            dev.rollback()
        dev.load_replace_candidate(config=before)
        dev.commit_config()
        dev.close()
    assert canonical(env.running(router)) == canonical(before)


ADDED = "ip route 192.0.2.0/24 Null0\nip prefix-list T23 seq 5 permit 192.0.2.0/24\n"


def test_driver_commit_of_additions_applies_exactly_them(env: Env) -> None:
    """A commit whose diff only adds lines applies the dry run's diff (frr-reload --test,
    kept on the router) as it is (vtysh -f): the router ends with the candidate, and
    nothing else changed."""
    with driver_on(env, "pe1-fra") as (dev, before):
        dev.load_replace_candidate(config=before + ADDED)
        assert dev.compare_config() == "\n".join(f"+ {line}" for line in ADDED.splitlines())
        dev.get_config(retrieve="running")
        dev.load_replace_candidate(config=before + ADDED)
        dev.commit_config(revert_in=60)
        done = reload_log(dev)  # the dry run's diff, kept on the router, applied as it is
        assert "diff: kept from the dry run" in done and "apply: its additions (vtysh -f)" in done
        dev.confirm_commit()
        after = dev.get_config(retrieve="running")["running"]
        assert canonical(after) == canonical(before + ADDED)
        dev.load_replace_candidate(config=before + ADDED)
        assert dev.compare_config() == ""


@pytest.mark.parametrize("discarded", [False, True], ids=["alone", "after-discard"])
def test_a_deploy_after_its_dry_run_reads_the_running_config_once(
    env: Env, monkeypatch: pytest.MonkeyPatch, discarded: bool
) -> None:
    """A plan's dry run, then its deploy on the same connection (a worker keeps its
    connections from plan to apply): the deploy is two SSH commands, the commit-confirm
    mark's read and the commit; the commit reads the running config once (to refuse if
    it moved since the dry run) and, its diff of additions kept from the dry run, builds
    no input for frr-reload (a `show running-config` more). It was four reads of the
    whole config from plan to commit, each ~30 ms of the router's CPU and a round trip,
    all on the way to a new Connector's BGP. After `discard_unconfirmed` (a worker's
    way: `discarded`), the mark is not read again: the commit alone."""
    from onramp.tasks.config import deploy_config, diff_config

    nr = init_nornir(env.svc.settings).filter(filter_func=lambda h: h.name == "pe1-fra")
    dev = nr.inventory.hosts["pe1-fra"].get_connection("napalm", nr.config)
    before = dev.get_config(retrieve="running")["running"]
    try:
        candidates = {"pe1-fra": before + ADDED}
        planned = nr.run(task=diff_config, candidates=candidates)["pe1-fra"][0].result
        load = f"{dev._dir}/candidate.conf.load"
        dev._run(f"rm -f {load}")
        commands = sent(dev, monkeypatch)
        result = nr.run(task=deploy_config, candidates=candidates, revert_in=60,
                        expected_sha256={"pe1-fra": planned["running_sha256"]},
                        diffs={"pe1-fra": planned["diff"]}, discarded=discarded)["pe1-fra"]  # fmt: skip
        assert not result.failed, result[0].exception
        assert result[0].result["state"] == "pending"
        assert len(commands) == (1 if discarded else 2), commands  # [the mark's read,] the commit
        monkeypatch.undo()
        done = reload_log(dev)
        assert "diff: kept from the dry run" in done and "apply: its additions (vtysh -f)" in done
        assert dev._run(f"test -e {load} && echo made || echo none").strip() == "none"
        dev.confirm_commit()
        assert canonical(dev.get_config(retrieve="running")["running"]) == canonical(before + ADDED)
    finally:
        if dev.has_pending_commit():
            dev.rollback()
        dev.load_replace_candidate(config=before)
        dev.commit_config()
        nr.close_connections()
    assert canonical(env.running("pe1-fra")) == canonical(before)


def test_a_deploy_after_a_dry_run_refuses_a_config_changed_since(env: Env) -> None:
    """The dry run's read stands for the deploy's only while the router keeps that
    config: changed by hand in between, the commit applies nothing (their change stays),
    arms no timer, and says the plan's config moved (ONR-PLAN-002)."""
    from onramp.tasks.config import deploy_config, diff_config

    nr = init_nornir(env.svc.settings).filter(filter_func=lambda h: h.name == "pe1-fra")
    dev = nr.inventory.hosts["pe1-fra"].get_connection("napalm", nr.config)
    before = dev.get_config(retrieve="running")["running"]
    theirs = "ip route 198.51.100.0/24 Null0"
    try:
        candidates = {"pe1-fra": before + ADDED}
        planned = nr.run(task=diff_config, candidates=candidates)["pe1-fra"][0].result
        configure(env, "pe1-fra", theirs)
        result = nr.run(task=deploy_config, candidates=candidates, revert_in=60,
                        expected_sha256={"pe1-fra": planned["running_sha256"]},
                        diffs={"pe1-fra": planned["diff"]})["pe1-fra"]  # fmt: skip
        assert result.failed and isinstance(result[0].exception, OnrampError)
        assert result[0].exception.code == "ONR-PLAN-002"
        assert not dev.has_pending_commit()
        running = env.running("pe1-fra")
        assert theirs in running and "192.0.2.0/24" not in running
    finally:
        configure(env, "pe1-fra", f"no {theirs}")
        nr.close_connections()
    assert canonical(env.running("pe1-fra")) == canonical(before)


def test_a_deploy_told_discarded_still_leaves_anothers_waiting_commit_alone(env: Env) -> None:
    """`discarded` (the caller ended the router's unconfirmed commits just before) skips
    the mark's read, not the refusal: a commit of another client's made meanwhile, still
    waiting for confirmation, stops this one with ONR-DEPLOY-006, nothing applied, and
    the other commit stays as it was, still waiting. Before, the commit's own refusal
    was taken for a failed commit and the router "restored": the other commit rolled back."""
    from onramp.tasks.config import deploy_config, diff_config

    nr = init_nornir(env.svc.settings).filter(filter_func=lambda h: h.name == "pe1-fra")
    dev = nr.inventory.hosts["pe1-fra"].get_connection("napalm", nr.config)
    other = env.driver("pe1-fra")
    before = dev.get_config(retrieve="running")["running"]
    theirs = "ip route 198.51.100.0/24 Null0\n"
    try:
        candidates = {"pe1-fra": before + ADDED}
        planned = nr.run(task=diff_config, candidates=candidates)["pe1-fra"][0].result
        other.load_replace_candidate(config=before + theirs)
        other.commit_config(revert_in=60)
        result = nr.run(task=deploy_config, candidates=candidates, revert_in=60,
                        expected_sha256={"pe1-fra": planned["running_sha256"]},
                        diffs={"pe1-fra": planned["diff"]}, discarded=True)["pe1-fra"]  # fmt: skip
        assert result.failed and isinstance(result[0].exception, OnrampError)
        assert result[0].exception.code == "ONR-DEPLOY-006", result[0].exception
        assert other.has_pending_commit()
        running = env.running("pe1-fra")
        assert theirs.strip() in running and "192.0.2.0/24" not in running
    finally:
        if other.has_pending_commit():
            other.rollback()
        other.close()
        nr.close_connections()
    assert canonical(env.running("pe1-fra")) == canonical(before)


def test_driver_commit_with_a_deletion_goes_through_frr_reload(env: Env) -> None:
    """Any line to delete: frr-reload --reload (its second pass puts back what a `no`
    took with it). Here a route goes and a prefix-list entry is replaced at its sequence
    number (frr-reload lists `no ...seq 5 permit <old>` among the adds: applied after
    the new one, it drops both); the router ends with the candidate, exactly."""
    with driver_on(env, "pe1-fra") as (dev, before):
        replaced = before + "ip prefix-list T23 seq 5 permit 198.51.100.0/24\n"
        dev.load_merge_candidate(config=ADDED)
        dev.commit_config()
        dev.get_config(retrieve="running")
        dev.load_replace_candidate(config=replaced)
        dev.commit_config(revert_in=60)
        assert "apply: frr-reload --reload" in reload_log(dev)
        dev.confirm_commit()
        after = dev.get_config(retrieve="running")["running"]
        assert canonical(after) == canonical(replaced)


def test_driver_commit_refuses_a_config_changed_since_it_was_read(env: Env) -> None:
    """The plan/commit race: someone changes the router between our read and our commit.
    The commit applies nothing (their change stays), arms no timer, rolls nothing back."""
    from napalm.base.exceptions import CommitError

    dev = env.driver("pe1-fra")
    before = dev.get_config(retrieve="running")["running"]
    theirs = "ip route 198.51.100.0/24 Null0"
    configure(env, "pe1-fra", theirs)
    try:
        dev.load_replace_candidate(config=before + ADDED)
        with pytest.raises(CommitError, match="changed since it was read"):
            dev.commit_config(revert_in=60)
        assert not dev.has_pending_commit()
        running = env.running("pe1-fra")
        assert theirs in running and "192.0.2.0/24" not in running
    finally:
        if dev.has_pending_commit():
            dev.rollback()
        configure(env, "pe1-fra", f"no {theirs}")
        dev.close()
    assert canonical(env.running("pe1-fra")) == canonical(before)


def test_cli_plan_apply_json_and_errors(env: Env) -> None:
    """What an engineer runs: `onramp plan connector ID --json`, `onramp apply PLAN --json`;
    a wrong plan id answers the error's code on stdout and exits 2."""
    c = new_connector(env)
    env.cloud_side(c)
    cli = [sys.executable, "-m", "onramp.cli", "--config", str(env.config)]

    def run(*args: str) -> tuple[int, Any]:
        proc = subprocess.run([*cli, *args, "--json"], capture_output=True, text=True)
        return proc.returncode, json.loads(proc.stdout)

    rc, plan = run("plan", "connector", c["id"][:8])
    assert rc == 0 and plan["state"] == "planned" and plan["target_id"] == c["id"]
    assert env.md5_key(c["id"]) not in json.dumps(plan)
    rc, done = run("apply", plan["id"][:8], "--revert-in", "60", "--check-timeout", "30")
    assert rc == 0 and done["state"] == "applied"
    assert done["result"]["devices"]["pe1-par"]["state"] == "committed"
    rc, err = run("apply", plan["id"], "--revert-in", "60", "--check-timeout", "30")
    assert rc == 2 and err["error"]["code"] == "ONR-PLAN-003"
    rc, err = run("plan", "show", "ffffffff")
    assert rc == 2 and err["error"]["code"] == "ONR-PLAN-001"
    rc, err = run("apply", plan["id"], "--revert-in", "20", "--check-timeout", "30")
    assert rc == 2 and err["error"]["code"] == "ONR-PLAN-005"
    take_off(env, c)


# a route-map a change can edit (committed first: a bare PE has none)
ROUTE_MAP = """ip prefix-list T23-lan seq 10 permit 192.0.2.0/24
route-map T23-out permit 10
 match ip address prefix-list T23-lan
 set metric 50
exit
"""


def test_a_dry_runs_diff_is_frr_reloads_own(env: Env) -> None:
    """A dry run has one vtysh mark both of frr-reload's inputs (napalm_frr._premarked);
    its diff must stay the one frr-reload gives when it marks them and reads the router
    itself: for an added VRF, a removed neighbor, a changed route-map, all three at once;
    and a line vtysh rejects fails the dry run with vtysh's word, as before."""
    from napalm.base.exceptions import CommandErrorException

    from napalm_frr.frr import _reload_diff

    with driver_on(env, "pe1-fra") as (dev, _):
        dev.load_merge_candidate(config=ROUTE_MAP)
        dev.commit_config()
        base = dev.get_config(retrieve="running")["running"]
        lines = base.splitlines()
        peer = [x.split()[1] for x in lines if x.startswith(" neighbor ") and "peer-group RR" in x]
        gone = peer[-1]
        vrf = "vrf t23\nexit-vrf\nrouter bgp 65000 vrf t23\n bgp router-id 10.9.9.9\nexit\n"
        without = "\n".join(x for x in lines if not x.startswith(f" neighbor {gone} ")) + "\n"
        metric = (" set metric 50", " set metric 60")
        changes = {
            "added VRF": (base + vrf, "+ router bgp 65000 vrf t23"),
            # frr-reload removes a peer-group member as `no neighbor X peer-group RR`
            "removed neighbor": (without, f"-  no neighbor {gone} peer-group RR"),
            "changed route-map": (base.replace(*metric), "+  set metric 60"),
            "all three": (without.replace(*metric) + vrf, "+ router bgp 65000 vrf t23"),
        }
        for name, (candidate, shows) in changes.items():
            dev.load_replace_candidate(config=candidate)
            ours = dev.compare_config()
            # frr-reload alone: it marks both itself and reads the running config itself
            own = dev._run(f"frr-reload.py --test {dev._dir}/candidate.conf.load 2>/dev/null")
            assert ours == _reload_diff(own), name
            assert shows in ours, (name, ours)
        dev.load_replace_candidate(config=base + "router bgp 65000\n no-such-command 1\n")
        with pytest.raises(CommandErrorException, match=r"Unknown command.*no-such-command") as err:
            dev.compare_config()
        assert "Lines To Delete" not in str(err.value)  # a diff made against nothing: not one
