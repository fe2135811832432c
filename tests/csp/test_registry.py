"""From inventory, a Connector and config.yaml to adapters: the provider's port names come
from the inventory, a Connector's allocation becomes the request, one adapter per provider
(the simulators' URLs from config.yaml's `csp:`), built by the package the provider's
constraints.yaml names: found by name, checked when the file is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from onramp.core.errors import OnrampError
from onramp.core.model import ConnectorRequest
from onramp.core.secrets import Vault
from onramp.core.settings import CspSettings, load_settings
from onramp.core.store import Store
from onramp.csp import constraints, registry
from onramp.csp.adapter import CspState, PeeringRequest, Session
from onramp.csp.alibaba.adapter import AlibabaAdapter
from onramp.csp.aws.adapter import AwsAdapter, AwsHostedConnectionAdapter
from onramp.csp.azure.adapter import AzureAdapter
from onramp.csp.constraints import CSP_DIR
from onramp.csp.gcp.adapter import GcpAdapter
from onramp.csp.ibm.adapter import IbmAdapter
from onramp.csp.manual.adapter import ManualAdapter
from onramp.csp.registry import adapter, connections, peering_request
from onramp.csp.tickets import tickets
from onramp.flow import allocate
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service
from onramp.network.inventory.schema import Onramp
from tests.csp.conftest import BB


def test_provider_port_names_come_from_the_inventory() -> None:
    assert connections(BB, "aws") == {"pe1-par:eth3": "dxcon-onramp01"}
    assert connections(BB, "azure") == {
        "pe1-lon:eth3": "onramp-lon-er-pri", "pe2-lon:eth3": "onramp-lon-er-sec"}  # fmt: skip
    assert connections(BB, "gcp") == {"pe1-fra:eth3": "onramp-fra-ic1"}
    assert connections(BB, "ibm") == {"pe1-fra:eth5": "3a6d2c4e-8b1f-4d7a-9c0e-5f2b7a1d9e01"}
    assert connections(BB, "alibaba") == {"pe2-lon:eth5": "pc-gw8onramplon0001"}
    assert connections(BB, "enterprise") == {}


@pytest.fixture
def store(svc: Service) -> Store:
    """The conftest's: a new SQLite store with tenant `acme`."""
    return svc.store


def test_a_connector_becomes_its_peering_request(store: Store, tmp_path: Path) -> None:
    vault = Vault(tmp_path / "k")
    req = ConnectorRequest.model_validate({
        "tenant": "acme", "onramp": "azure-er-lon", "kind": "azure-expressroute",
        "bandwidth_mbps": 1000, "azure_service_key": "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
        "s_tag": 444, "vlan": 12,
    })  # fmt: skip
    c = allocate.create_connector(store, BB, req, vault)
    asked = peering_request(c, "Secret123456")
    assert asked.idempotency_key == f"{c['id']}:csp"
    assert asked.customer_account == "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
    primary, secondary = c["attachments"]
    assert asked.sessions == (
        Session("pe1-lon:eth3", 444, 12, primary["local_address"], primary["peer_address"]),
        Session("pe2-lon:eth3", 444, 12, secondary["local_address"], secondary["peer_address"]),
    )
    assert (asked.local_asn, asked.peer_asn, asked.md5_key, asked.bandwidth_mbps) == (
        c["local_asn"], 12076, "Secret123456", 1000)  # fmt: skip


SIM = CspSettings(endpoint_url="http://127.0.0.1:9", region="eu-west-3", account="onramp-partner")
CATALOGUE = get_args(Onramp.model_fields["provider"].annotation)  # every provider an on-ramp names


def aws_described(**adapter: str) -> dict[str, Any]:
    """AWS's constraints.yaml as read, with another `adapter:` section."""
    data: dict[str, Any] = yaml.safe_load((CSP_DIR / "aws" / "constraints.yaml").read_text())
    data["adapter"] = adapter
    data["kinds"] = {k: {"requires": v["requires"]} for k, v in data["kinds"].items()}
    return data


@pytest.mark.parametrize("provider", CATALOGUE)
def test_every_provider_of_the_catalogue_is_built_by_the_package_its_data_names(
    provider: str, store: Store, tmp_path: Path
) -> None:
    rule = constraints.for_provider(provider).adapter
    assert registry.calls_provider(provider) == (rule.calls != "none")
    if rule.package is None:  # a cross-connect: nobody to call, so no adapter to configure
        with pytest.raises(OnrampError) as none:
            adapter(provider, SIM, BB, store, Vault(tmp_path / "k"))
        assert none.value.code == "ONR-CSP-001"
        return
    built = adapter(provider, SIM, BB, store, Vault(tmp_path / "k"))
    assert type(built).__module__ == f"onramp.csp.{rule.package}.adapter"
    assert built.provider == provider


def test_what_the_packages_build(store: Store, tmp_path: Path) -> None:
    vault = Vault(tmp_path / "k")
    built = {p: adapter(p, SIM, BB, store, vault) for p in ("aws", "azure", "gcp", "ibm")}
    # the provider's default adapter: its first kind's (the hosted VIF)
    assert type(built["aws"]) is AwsAdapter and built["aws"].interconnects == connections(
        BB, "aws")  # fmt: skip
    assert isinstance(built["azure"], AzureAdapter) and isinstance(built["gcp"], GcpAdapter)
    assert isinstance(built["ibm"], IbmAdapter)  # csp.ibm configured: its API
    # nothing listens on port 9: a clear error, not a hang
    with pytest.raises(OnrampError) as down:
        built["aws"].status("dxvif-x")
    assert down.value.code == "ONR-CSP-002"
    with pytest.raises(OnrampError) as unknown:
        adapter("oracle", SIM, BB, store, vault)
    assert unknown.value.code == "ONR-CSP-001"


def test_a_kind_names_its_adapter(store: Store, tmp_path: Path) -> None:
    data = aws_described(calls="api", package="aws")
    data["kinds"] = {k: v | {"adapter": "hosted-connection"} for k, v in data["kinds"].items()}
    built = registry.build("aws", constraints.parse(data, "aws"), SIM, BB, store,
                           Vault(tmp_path / "k"))  # fmt: skip
    assert isinstance(built, AwsHostedConnectionAdapter)


def test_each_kind_is_served_by_the_adapter_it_names(store: Store, tmp_path: Path) -> None:
    """Issue 20: an aws-hosted-connection order was served by the hosted-VIF adapter (the
    flow held one adapter per provider). Now every adapter a provider's kinds name is built,
    and `adapter_key` finds the kind's."""
    built = registry.adapters({"aws": SIM}, BB, store, Vault(tmp_path / "k"))
    vif = built[registry.adapter_key("aws", "aws-hosted-vif")]
    hosted = built[registry.adapter_key("aws", "aws-hosted-connection")]
    assert type(vif) is AwsAdapter and type(hosted) is AwsHostedConnectionAdapter
    assert registry.adapter_key("aws", "aws-hosted-vif") == "aws"  # the default keeps its name
    # and the ticket adapter for the providers config.yaml does not name (ibm, alibaba)
    assert sorted(built) == ["alibaba", "aws", "aws/hosted-connection", "ibm"]


def test_a_provider_configured_with_tickets_or_its_api(store: Store, tmp_path: Path) -> None:
    vault = Vault(tmp_path / "k")
    ticketed = constraints.parse(aws_described(calls="ticket", package="manual"), "aws")
    by_ticket = registry.build("aws", ticketed, SIM, BB, store, vault)
    req = PeeringRequest("cafe0001:csp", "123456789012",
                         (Session("pe1-par:eth3", 77, None, "169.254.9.1/30", "169.254.9.2/30"),),
                         65000, "Abcdef123456")  # fmt: skip
    opened = by_ticket.request(req)
    assert (opened.provider, opened.state) == ("aws", CspState.AWAITING_TICKET)
    (ticket,) = tickets(store)
    assert ticket["request"]["sessions"][0]["connection"] == "dxcon-onramp01"  # the inventory's
    by_api = registry.build("aws", constraints.for_provider("aws"), SIM, BB, store, vault)
    with pytest.raises(OnrampError) as down:  # the API's adapter calls the (absent) endpoint
        by_api.request(req)
    assert down.value.code == "ONR-CSP-002"


@pytest.mark.parametrize(
    ("adapter_rule", "why"),
    [
        ({"calls": "api", "package": "nosuch"}, "no adapter package onramp.csp.nosuch"),
        ({"calls": "api", "package": "../aws"}, "should match pattern"),
        ({"calls": "none", "package": "aws"}, "exactly when a provider is called"),
        ({"calls": "api"}, "exactly when a provider is called"),
        ({"calls": "ticket", "package": "enterprise", "simulator": {"admin": "-"}},
         "no simulator in csp/enterprise/"),
    ],
)  # fmt: skip
def test_a_wrong_adapter_section_is_refused_at_load(adapter_rule: dict[str, Any], why: str) -> None:
    with pytest.raises(OnrampError) as wrong:
        constraints.parse(aws_described(**adapter_rule), "csp/aws/constraints.yaml")
    assert wrong.value.code == "ONR-CSP-008" and why in wrong.value.reason


def test_a_package_without_build_or_without_the_adapter_named_is_refused() -> None:
    with pytest.raises(OnrampError) as no_build:
        registry.builder("enterprise")
    assert no_build.value.code == "ONR-CSP-008"
    with pytest.raises(OnrampError) as no_variant:
        registry.builder("aws", "hosted-tunnel")
    assert no_variant.value.code == "ONR-CSP-008"
    assert callable(registry.builder("aws", "hosted-vif"))


def test_config_decides_api_or_tickets(store: Store, tmp_path: Path) -> None:
    """A provider with an API but no `csp:` section goes by tickets (`unconfigured:
    tickets`); one whose constraints say nothing of it is still refused (ONR-CSP-001)."""
    vault = Vault(tmp_path / "k")
    none = registry.adapters({}, BB, store, vault)
    assert isinstance(none["ibm"], ManualAdapter) and none["ibm"].provider == "ibm"
    assert isinstance(none["alibaba"], ManualAdapter) and none["alibaba"].provider == "alibaba"
    assert "aws" not in none  # AWS has no ticket path: refused by the flow
    configured = registry.adapters({"ibm": SIM, "alibaba": SIM}, BB, store, vault)
    assert isinstance(configured["ibm"], IbmAdapter)
    assert isinstance(configured["alibaba"], AlibabaAdapter)
    assert configured["ibm"].ports == connections(BB, "ibm")


def test_simulators_are_found_by_the_same_data() -> None:
    assert list(constraints.simulated()) == ["alibaba", "aws", "azure", "gcp", "ibm"]
    for provider in constraints.simulated():
        module = registry.simulator(provider)  # `onramp sim` serves what from_inventory makes
        assert callable(module.serve) and callable(module.from_inventory)
    with pytest.raises(OnrampError) as none:
        registry.simulator("enterprise")
    assert none.value.code == "ONR-CSP-008"


def test_the_flow_asks_the_data_whether_a_provider_is_called(store: Store, tmp_path: Path) -> None:
    vault = Vault(tmp_path / "k")
    orch = Orchestrator(Service(load_settings(), store, BB, vault), {}, "test")  # none configured
    ent = allocate.create_connector(store, BB, ConnectorRequest.model_validate({
        "tenant": "acme", "onramp": "ent-par", "kind": "enterprise", "bandwidth_mbps": 100,
        "customer_asn": 65201, "prefixes": ["192.168.10.0/24"]}), vault)  # fmt: skip
    aws = allocate.create_connector(store, BB, ConnectorRequest.model_validate({
        "tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
        "bandwidth_mbps": 1000, "aws_account": "123456789012"}), vault)  # fmt: skip
    # enterprise says `calls: none`: straight to the routers, no adapter wanted
    assert orch.advance("connector", ent["id"]) == "configuring"
    assert orch.history("connector", ent["id"])[-1]["reason"] == "no provider to call"
    # AWS calls its API: without an adapter configured, the Connector cannot go on
    assert orch.advance("connector", aws["id"]) == "rolling_back"
    assert "ONR-CSP-001" in orch.history("connector", aws["id"])[-1]["reason"]
