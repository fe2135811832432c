"""An Azure order under delegation makes the circuit in the customer's subscription before
allocating; when the allocation then refuses the order, that circuit is deleted again (the
Azure simulator, the real SDK): a refused order leaves the customer nothing to pay for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from onramp.core.errors import OnrampError
from onramp.core.model import AzureDelegation
from onramp.core.settings import load_settings, local_config
from onramp.csp.azure import simulator as az
from onramp.flow.service import Service
from tests.conftest import copy_default_inventory

SUB = "0b0c0d0e-0000-4000-8000-00000000c057"
PRINCIPAL = "0b0c0d0e-0000-4000-8000-0000000000c1"
ORDER = {"tenant": "acme", "onramp": "azure-er-lon", "kind": "azure-expressroute",
         "bandwidth_mbps": 1000, "prefixes": ["10.2.0.0/16"]}  # fmt: skip


@pytest.fixture
def delegated(tmp_path: Path) -> Iterator[tuple[Service, az.ExpressRoute]]:
    """A Service whose acme delegated its Azure subscription, Azure being the simulator."""
    with az.serve(az.ExpressRoute()) as (url, sim):
        sim.customer(SUB, PRINCIPAL)
        inventory = copy_default_inventory(tmp_path / "inventory").write()
        config = local_config(tmp_path, inventory,
                              csp={"azure": {"endpoint_url": url, "account": sim.subscription}})  # fmt: skip
        svc = Service.open(load_settings(config))
        svc.add_tenant("acme", "Acme")
        svc.delegate("acme", AzureDelegation(account=SUB, tenant_id=PRINCIPAL,  # type: ignore[arg-type]
                     client_id=PRINCIPAL, client_secret="-", resource_group="rg-acme"), "test")  # type: ignore[arg-type]  # fmt: skip
        yield svc, sim


def test_a_refused_order_deletes_the_circuit_it_made(
    delegated: tuple[Service, az.ExpressRoute],
) -> None:
    svc, sim = delegated
    with pytest.raises(OnrampError) as refused:  # a prefix in onramp's own segment space
        svc.create_connector(svc.connector_request(ORDER | {"prefixes": ["100.96.0.0/24"]}))
    assert refused.value.code.startswith("ONR-")
    assert "PUT circuit" in sim.calls  # it was made for the order ...
    assert sim.circuits == {} and sim.cross_connections == {}  # ... and deleted again


def test_a_circuit_another_connector_holds_is_kept(
    delegated: tuple[Service, az.ExpressRoute],
) -> None:
    """The same order key again with another body is refused (ONR-API-009): the circuit is
    the first order's, which holds it, and stays."""
    svc, sim = delegated
    first = svc.create_connector(svc.connector_request(ORDER | {"idempotency_key": "k1"}))
    with pytest.raises(OnrampError, match="Idempotency-Key"):
        svc.create_connector(svc.connector_request(ORDER | {"idempotency_key": "k1",
                                                            "bandwidth_mbps": 2000}))  # fmt: skip
    (circuit,) = sim.circuits.values()
    assert circuit["properties"]["serviceKey"] == first["request"]["azure_service_key"]
