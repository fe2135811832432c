"""From inventory, a Connector and config.yaml to adapters: the provider's port names come
from the inventory, a Connector's allocation becomes the request, one adapter per provider
(the simulators' URLs from config.yaml's `csp:`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from onramp.core.errors import OnrampError
from onramp.core.model import ConnectorRequest
from onramp.core.secrets import Vault
from onramp.core.settings import ROOT, CspSettings
from onramp.core.store import Store, TenantRow
from onramp.csp.adapter import Session
from onramp.csp.aws.adapter import AwsAdapter
from onramp.csp.azure.adapter import AzureAdapter
from onramp.csp.gcp.adapter import GcpAdapter
from onramp.csp.manual.adapter import ManualAdapter
from onramp.csp.registry import adapter, connections, peering_request
from onramp.flow import allocate
from onramp.network.inventory import load

BB = load(ROOT / "inventory")


def test_provider_port_names_come_from_the_inventory() -> None:
    assert connections(BB, "aws") == {"pe1-par:eth3": "dxcon-onramp01"}
    assert connections(BB, "azure") == {
        "pe1-lon:eth3": "onramp-lon-er-pri", "pe2-lon:eth3": "onramp-lon-er-sec"}  # fmt: skip
    assert connections(BB, "gcp") == {"pe1-fra:eth3": "onramp-fra-ic1"}
    assert connections(BB, "enterprise") == {}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    st = Store(f"sqlite:///{tmp_path / 'o.db'}")
    st.migrate()
    with st.session() as s:
        s.add(TenantRow(id="acme", name="Acme"))
    return st


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


def test_one_adapter_per_provider(store: Store, tmp_path: Path) -> None:
    vault = Vault(tmp_path / "k")
    sim = CspSettings(endpoint_url="http://127.0.0.1:9", region="eu-west-3",
                      account="onramp-partner")  # fmt: skip
    built = {p: adapter(p, sim, BB, store, vault) for p in ("aws", "azure", "gcp", "ibm")}
    assert isinstance(built["aws"], AwsAdapter) and built["aws"].interconnects == connections(
        BB, "aws")  # fmt: skip
    assert isinstance(built["azure"], AzureAdapter) and isinstance(built["gcp"], GcpAdapter)
    assert isinstance(built["ibm"], ManualAdapter) and built["ibm"].provider == "ibm"
    # nothing listens on port 9: a clear error, not a hang
    with pytest.raises(OnrampError) as down:
        built["aws"].status("dxvif-x")
    assert down.value.code == "ONR-CSP-002"
    with pytest.raises(OnrampError) as unknown:
        adapter("enterprise", sim, BB, store, vault)
    assert unknown.value.code == "ONR-CSP-001"
