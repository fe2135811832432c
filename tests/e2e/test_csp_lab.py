"""The CSP adapters on a real lab: an AWS hosted VIF and an Azure private peering (both
links) requested through the adapters and the real SDKs; the simulators configure the
cloud-side peers in the lab with exactly what they were sent, and our side's deploy then
brings BGP up, or, with a wrong parameter sent, does not.

One lab for this module (it changes router configs); every test leaves it as found.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest

from onramp.core.errors import OnrampError
from onramp.core.store import ConnectorRow
from onramp.csp.adapter import CspState, wait
from onramp.csp.aws.adapter import AwsAdapter, client
from onramp.csp.aws.simulator import PARTNER_KEY, DirectConnect
from onramp.csp.aws.simulator import serve as serve_aws
from onramp.csp.azure.adapter import AzureAdapter, network
from onramp.csp.azure.simulator import PARTNER_SUBSCRIPTION, ExpressRoute
from onramp.csp.azure.simulator import serve as serve_azure
from onramp.csp.registry import connections, peering_request
from onramp.csp.simulator import Behaviour
from onramp.flow.apply import apply_plan
from onramp.flow.plan import make_plan
from onramp.flow.service import Service
from onramp.lab.attach import LabAttachment
from onramp.lab.run import Lab

from .conftest import decommissioned, module_lab

OCTET = 47
SLOW = Behaviour(accept_after_s=0.3, provisioning_s=0.3)  # the customer takes a moment


@dataclass
class Env:
    lab: Lab
    svc: Service
    attach: LabAttachment

    def md5_key(self, connector_id: str) -> str:
        with self.svc.store.session() as s:
            row = s.get(ConnectorRow, connector_id)
            assert row is not None and row.md5_key is not None
            return self.svc.vault.decrypt(row.md5_key)

    def edge_running(self, connection: str) -> str:
        return self.lab.vtysh(self.attach.edge(connection), "show running-config")

    def bgp_state(self, router: str, vrf: str, peer: str) -> str:
        out = self.lab.vtysh_json(router, f"show bgp vrf {vrf} neighbors {peer} json")
        return str(out.get(peer, {}).get("bgpState", "absent"))

    def deploy(self, connector: dict[str, Any], check_timeout: float = 30) -> dict[str, Any]:
        plan = make_plan(self.svc, "connector", connector["id"])
        return apply_plan(self.svc, plan["id"], revert_in=60, check_timeout=check_timeout)

    def take_off(self, connector: dict[str, Any]) -> None:
        if self.svc.connector(connector["id"])["state"] == "active":
            plan = make_plan(self.svc, "connector", connector["id"], "remove")
            apply_plan(self.svc, plan["id"], revert_in=60, check_timeout=5)
        decommissioned(self.svc, "connector", connector["id"])


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with module_lab(tmp_path_factory.mktemp("csp-lab"), "tcs", OCTET) as (lab, svc, _):
        yield Env(lab, svc, LabAttachment(lab, svc.backbone))


def aws_connector(env: Env) -> dict[str, Any]:
    return env.svc.create_connector(env.svc.connector_request({
        "tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
        "bandwidth_mbps": 100, "aws_account": "123456789012", "prefixes": ["10.100.0.0/24"],
    }))  # fmt: skip


@pytest.fixture
def aws(env: Env) -> Iterator[tuple[AwsAdapter, DirectConnect]]:
    with serve_aws(DirectConnect(hook=env.attach, behaviour=SLOW)) as (url, state):
        dx = client(url, region_name="eu-west-3", aws_access_key_id=PARTNER_KEY,
                    aws_secret_access_key="-")  # fmt: skip
        yield AwsAdapter(dx, connections(env.svc.backbone, "aws")), state


def test_aws_hosted_vif_configures_the_cloud_peer_and_bgp_comes_up(
    env: Env, aws: tuple[AwsAdapter, DirectConnect]
) -> None:
    adapter, _ = aws
    c = aws_connector(env)
    (a,) = c["attachments"]
    ours, theirs = a["local_address"].split("/")[0], a["peer_address"].split("/")[0]
    key = env.md5_key(c["id"])
    vif = adapter.request(peering_request(c, key))
    assert vif.state == CspState.AWAITING_CUSTOMER
    assert f"neighbor {ours}" not in env.edge_running("dxcon-onramp01")  # not yet accepted
    assert wait(adapter, vif.resource_id, timeout_s=20, poll_s=0.1).state == CspState.READY
    assert env.attach.failed == []
    edge = env.edge_running("dxcon-onramp01")
    assert f"neighbor {ours} remote-as {c['local_asn']}" in edge
    assert f"neighbor {ours} password {key}" in edge
    assert f"ip address {a['peer_address']}" in edge and f".{a['vlan']}" in edge
    done = env.deploy(c)
    assert done["state"] == "applied"
    assert env.bgp_state("pe1-par", c["vrf"], theirs) == "Established"
    # decommission in order: our side, then the VIF, which takes the cloud peer down
    env.take_off(c)
    assert adapter.delete(vif.resource_id).state == CspState.DELETED
    assert f"neighbor {ours}" not in env.edge_running("dxcon-onramp01")
    assert [e for e, _ in env.attach.applied[-2:]] == ["up", "down"]


def test_a_wrong_parameter_sent_to_aws_shows_as_bgp_not_coming_up(
    env: Env, aws: tuple[AwsAdapter, DirectConnect]
) -> None:
    """AWS was told another ASN than our router uses: the VIF is available, the cloud
    peer is configured as told, and the deploy's check sees BGP stay down and rolls back."""
    adapter, _ = aws
    c = aws_connector(env)
    wrong = replace(peering_request(c, env.md5_key(c["id"])), local_asn=c["local_asn"] + 1)
    vif = adapter.request(wrong)
    assert wait(adapter, vif.resource_id, timeout_s=20, poll_s=0.1).state == CspState.READY
    with pytest.raises(OnrampError) as failed:
        env.deploy(c, check_timeout=8)
    assert failed.value.code == "ONR-DEPLOY-003" and "not Established" in failed.value.reason
    adapter.delete(vif.resource_id)
    env.take_off(c)


def test_azure_private_peering_on_both_links(env: Env) -> None:
    hook = env.attach
    with serve_azure(ExpressRoute(hook=hook, behaviour=SLOW)) as (url, state):
        service_key = state.create_circuit(bandwidth_mbps=1000)
        s_tag = state.cross_connections[service_key]["properties"]["sTag"]
        # Microsoft chose the S-tag: the Connector asks for it
        c = env.svc.create_connector(env.svc.connector_request({
            "tenant": "acme", "onramp": "azure-er-lon", "kind": "azure-expressroute",
            "bandwidth_mbps": 1000, "azure_service_key": service_key, "s_tag": s_tag,
            "prefixes": ["10.100.1.0/24"],
        }))  # fmt: skip
        assert {a["vlan"] for a in c["attachments"]} == {s_tag}
        client = network(PARTNER_SUBSCRIPTION, url, polling_interval_s=0.1)
        adapter = AzureAdapter(client, connections(env.svc.backbone, "azure"))
        key = env.md5_key(c["id"])
        made = adapter.request(peering_request(c, key))
        assert wait(adapter, made.resource_id, timeout_s=20, poll_s=0.1).state == CspState.READY
        assert hook.failed == []
        for a, port in zip(c["attachments"], ("onramp-lon-er-pri", "onramp-lon-er-sec"),
                           strict=True):  # fmt: skip
            ours = a["local_address"].split("/")[0]
            edge = env.edge_running(port)
            assert f"neighbor {ours} remote-as {c['local_asn']}" in edge
            assert f"neighbor {ours} password {key}" in edge
            assert f".{s_tag}.{a['inner_vlan']}" in edge  # QinQ: S-tag outer, vlanId inner
        assert env.deploy(c)["state"] == "applied"
        for a in c["attachments"]:
            theirs = a["peer_address"].split("/")[0]
            assert env.bgp_state(a["router"], c["vrf"], theirs) == "Established"
        env.take_off(c)
        assert adapter.delete(made.resource_id).state == CspState.DELETED
        for a, port in zip(c["attachments"], ("onramp-lon-er-pri", "onramp-lon-er-sec"),
                           strict=True):  # fmt: skip
            assert f"neighbor {a['local_address'].split('/')[0]}" not in env.edge_running(port)
        assert [e for e, _ in hook.applied[-4:]] == ["up", "up", "down", "down"]
