"""A live Connector's prefixes changed in place on a real lab (name tpx, management
172.20.74.0/24): an AWS hosted VIF in Paris (the AWS simulator, the lab's cloud side), an
enterprise site in Frankfurt (its CE as the customer configures it) and a Link between
them, all driven by the state machine.

- the VPC's cloud starts announcing a new subnet (Lab.announce): filtered until the
  Connector's prefixes name it; `onramp connector update --prefix ...` (the CLI), then the
  workers: the plan is prefix-list lines only (Paris' filter in, Frankfurt's filters out
  to its site and on the Link's segment), the gate sees the route come in, confirmed. The
  site's host pings the VPC's host at its new address, and from it; no BGP session reset;
- the prefix taken out again: its routes withdrawn on both PEs, the ping fails;
- a prefix let in that the cloud does not announce fails the gate: rolled back, the old
  list on the routers and in the store, active, the failure recorded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from onramp.csp.aws.adapter import AwsAdapter, client
from onramp.csp.aws.simulator import PARTNER_KEY, DirectConnect, serve
from onramp.csp.registry import connections
from onramp.csp.simulator import Behaviour
from onramp.flow.orchestrate import Orchestrator, Timings
from onramp.flow.plan import list_plans
from onramp.flow.service import Service
from onramp.lab.attach import LabAttachment
from onramp.lab.run import Lab
from onramp.lab.topology import HOST_OFFSET, cloud_lans

from .conftest import AWS_ORDER as AWS
from .conftest import ce_side, module_lab, running

OCTET = 74
TIMINGS = dict(revert_in_s=60, check_timeout_s=8, lease_s=3)
ENT_FRA = {"tenant": "acme", "onramp": "ent-fra", "kind": "enterprise", "bandwidth_mbps": 100,
           "customer_asn": 65101}  # the lab's customer edge  # fmt: skip
NEW = "10.200.74.0/24"  # the VPC's new subnet
SILENT = "10.201.74.0/24"  # let in, never announced


@dataclass
class Env:
    lab: Lab
    svc: Service
    orch: Orchestrator
    config: Path
    aws: dict[str, Any]
    site: dict[str, Any]
    lan: str  # the VPC's LAN, its first prefix

    def drive(self, ident: str) -> str:
        return self.orch.drive("connector", ident, poll_s=0.1, timeout_s=180)

    def cli(self, *args: str) -> Any:
        done = subprocess.run([sys.executable, "-m", "onramp.cli", "--config", str(self.config),
                               *args, "--json"], capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)

    def routes(self, router: str, vrf: str) -> set[str]:
        table = self.lab.vtysh_json(router, f"show bgp vrf {vrf} ipv4 unicast json")
        return set(table.get("routes", {}))

    def uptimes(self) -> dict[tuple[str, str, str], tuple[int, int]]:
        """(router, vrf, peer) -> (uptime ms, connections dropped), both PEs."""
        out = {}
        for router in ("pe1-par", "pe1-fra"):
            summary = self.lab.vtysh_json(router, "show bgp vrf all summary json")
            for vrf, fams in summary.items():
                for peer, p in (fams.get("ipv4Unicast") or {}).get("peers", {}).items():
                    out[(router, vrf, peer)] = (int(p.get("peerUptimeMsec", 0)),
                                                int(p["connectionsDropped"]))  # fmt: skip
        return out


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("prefix")
    with module_lab(tmp, "tpx", OCTET) as (lab, svc, topo):
        hook = LabAttachment(lab, svc.backbone)
        with serve(DirectConnect(hook=hook, behaviour=Behaviour(accept_after_s=0.2))) as (url, _):
            dx = client(url, region_name="eu-west-3", aws_access_key_id=PARTNER_KEY,
                        aws_secret_access_key="-")  # fmt: skip
            adapters: dict[str, Any] = {"aws": AwsAdapter(dx, connections(svc.backbone, "aws"))}
            orch = Orchestrator(svc, adapters, actor="test", timings=Timings(**TIMINGS))  # type: ignore[arg-type]
            lans = cloud_lans(topo)
            aws = svc.create_connector(svc.connector_request(
                {**AWS, "prefixes": [str(lans["aws-dx-par"])]}))  # fmt: skip
            site = svc.create_connector(svc.connector_request(
                {**ENT_FRA, "prefixes": [str(lans["ent-fra"])]}))  # fmt: skip
            ce_side(lab, svc, site)
            for c in (aws, site):
                assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=180) == "active"
            link = svc.create_link(svc.link_request({"tenant": "acme", "a": aws["id"],
                                                     "b": site["id"], "bandwidth_mbps": 100}))  # fmt: skip
            assert orch.drive("link", link["id"], poll_s=0.1, timeout_s=180) == "active"
            yield Env(lab, svc, orch, tmp / "config.yaml", svc.connector(aws["id"]),
                      svc.connector(site["id"]), str(lans["aws-dx-par"]))  # fmt: skip


def site_host(env: Env) -> str:
    return str(cloud_lans(env.lab.topo)["ent-fra"][HOST_OFFSET])


def test_a_new_prefix_reaches_the_other_cloud_no_session_reset(env: Env) -> None:
    aws, site = env.aws, env.site
    vpc = env.lab.announce("aws-dx-par", NEW)  # the customer's new subnet, announced
    assert NEW not in env.routes("pe1-par", aws["vrf"])  # filtered: not (yet) theirs to send
    assert env.lab.ping("ent-fra-host", vpc, count=3).received == 0
    before = env.uptimes()
    configs = {r: running(env.lab, r) for r in ("pe1-par", "pe1-fra")}

    dry = env.cli("connector", "update", aws["id"][:8], "--prefix", env.lan, "--prefix", NEW,
                  "--dry-run")  # fmt: skip
    assert (dry["state"], dry["request"]["prefixes"]) == ("modifying", [env.lan, NEW])
    assert env.svc.connector(aws["id"])["request"]["prefixes"] == [env.lan]  # nothing written
    done = env.cli("connector", "update", aws["id"][:8], "--prefix", env.lan, "--prefix", NEW)
    assert done["state"] == "modifying"
    assert env.drive(aws["id"]) == "active"
    after = env.svc.connector(aws["id"])
    assert (after["request"]["prefixes"], after["change"]["outcome"]) == ([env.lan, NEW], "done")

    # the plan: prefix-list lines only, on its PE and the Link's far PE
    (plan,) = [p for p in list_plans(env.svc, 5) if p["target_id"] == aws["id"]][:1]
    assert plan["action"] == "change" and set(plan["devices"]) == {"pe1-par", "pe1-fra"}
    for router, d in plan["devices"].items():
        lines = [ln[1:].strip() for ln in d["diff"].splitlines() if ln[:1] in "+-"
                 and not ln.startswith(("+++", "---"))]  # fmt: skip
        assert lines and all(ln.startswith("ip prefix-list") for ln in lines), (router, d["diff"])
        assert any(NEW in ln for ln in lines), (router, d["diff"])
    assert {r: running(env.lab, r) for r in configs} != configs

    # the route in both VRFs; the site's host reaches the VPC's new subnet, and back from it
    assert NEW in env.routes("pe1-par", aws["vrf"])
    assert NEW in env.routes("pe1-fra", site["vrf"])
    assert env.lab.ping("ent-fra-host", vpc, count=5).received == 5
    assert env.lab.ping("aws-dx-par-host", site_host(env), count=5, source=vpc).received == 5
    now = env.uptimes()
    for key, (uptime, dropped) in before.items():
        assert now[key][1] == dropped, key  # no session went down
        assert now[key][0] > uptime, key  # its uptime went on, not reset


def test_a_prefix_taken_out_is_withdrawn(env: Env) -> None:
    aws, site = env.aws, env.site
    vpc = env.lab.announce("aws-dx-par", NEW) if NEW not in env.routes(
        "pe1-par", aws["vrf"]) else f"{NEW.rsplit('.', 1)[0]}.{HOST_OFFSET}"  # fmt: skip
    if env.svc.connector(aws["id"])["request"]["prefixes"] == [env.lan]:  # run alone
        env.svc.change("connector", aws["id"], {"prefixes": [env.lan, NEW]}, "test")
        assert env.drive(aws["id"]) == "active"
    env.svc.change("connector", aws["id"], {"prefixes": [env.lan]}, "test")
    assert env.drive(aws["id"]) == "active"
    assert env.svc.connector(aws["id"])["change"]["outcome"] == "done"
    assert NEW not in env.routes("pe1-par", aws["vrf"])
    assert NEW not in env.routes("pe1-fra", site["vrf"])
    assert env.lab.ping("ent-fra-host", vpc, count=3).received == 0
    assert env.lab.ping("ent-fra-host", str(cloud_lans(env.lab.topo)["aws-dx-par"][HOST_OFFSET]),
                        count=3).received == 3  # fmt: skip
    env.lab.announce("aws-dx-par", NEW, withdraw=True)


def test_a_prefix_let_in_but_never_announced_rolls_back(env: Env) -> None:
    aws = env.aws
    was = env.svc.connector(aws["id"])["request"]["prefixes"]
    configs = {r: running(env.lab, r) for r in ("pe1-par", "pe1-fra")}
    env.svc.change("connector", aws["id"], {"prefixes": [*was, SILENT]}, "test")
    assert env.drive(aws["id"]) == "active"
    after = env.svc.connector(aws["id"])
    assert after["request"]["prefixes"] == was
    assert after["change"]["outcome"] == "rolled_back"
    assert f"no route inside ['{SILENT}']" in after["change"]["reason"]
    assert "rolled back" in after["reason"]
    assert {r: running(env.lab, r) for r in configs} == configs
    assert "rolling_back" not in [h["to"] for h in env.orch.history("connector", aws["id"])]
