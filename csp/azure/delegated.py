"""What onramp does in a customer's Azure subscription under its delegation: the
ExpressRoute circuit, ordered with our provider name at the on-ramp's peering location, so
its service key (and, read on our side, its S-tag) need not come from the customer; and the
circuit deleted again once our side is deprovisioned.

The circuit is named after the order's idempotency key: a retry finds it (ARM's PUT is
idempotent) instead of making a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network import models as m

from onramp.core.errors import OnrampError
from onramp.csp.azure.adapter import StaticToken, _call, network
from onramp.csp.azure.simulator import PROVIDER_NAME

CIRCUIT_PREFIX = "onramp-"  # the circuits onramp made (and may delete) are named so


@dataclass(frozen=True)
class Circuit:
    id: str
    service_key: str
    s_tag: int


def customer_client(
    credentials: dict[str, Any], endpoint_url: str | None
) -> NetworkManagementClient:
    """The customer's subscription, as its service principal (at a simulator: the token
    naming that principal)."""
    if endpoint_url is not None:
        token = StaticToken(f"sim-{credentials['client_id']}")
        return network(credentials["account"], endpoint_url, token, polling_interval_s=0.2)
    from azure.identity import ClientSecretCredential  # only for the real API

    secret = ClientSecretCredential(credentials["tenant_id"], credentials["client_id"],
                                    credentials["client_secret"])  # fmt: skip
    return network(credentials["account"], None, secret)


def create_circuit(
    theirs: NetworkManagementClient,
    ours: NetworkManagementClient,
    resource_group: str,
    name: str,
    region: str,
    peering_location: str,
    bandwidth_mbps: int,
) -> Circuit:
    """The circuit in the customer's subscription (`theirs`), and its S-tag as our
    cross-connection (`ours`) shows it."""
    body = m.ExpressRouteCircuit(
        location=region,
        sku=m.ExpressRouteCircuitSku(name="Standard_MeteredData", tier="Standard",
                                     family="MeteredData"),
        properties=m.ExpressRouteCircuitPropertiesFormat(
            service_provider_properties=m.ExpressRouteCircuitServiceProviderProperties(
                service_provider_name=PROVIDER_NAME, peering_location=peering_location,
                bandwidth_in_mbps=bandwidth_mbps)),
    )  # fmt: skip
    made = _call("create the customer's circuit", lambda: theirs.express_route_circuits
                 .begin_create_or_update(resource_group, name, body).result())  # fmt: skip
    key = str(made.service_key)
    found = [x for x in _call("list cross-connections",
                              lambda: list(ours.express_route_cross_connections.list()))
             if x.name == key]  # fmt: skip
    if not found:
        raise OnrampError("ONR-CSP-006", f"no cross-connection for circuit {name} ({key})")
    return Circuit(str(made.id), key, int(found[0].s_tag))


def delete_circuit(theirs: NetworkManagementClient, circuit_id: str) -> None:
    """Delete a circuit we made (after our side is deprovisioned); gone already is done."""
    parts = circuit_id.split("/")
    rg, name = parts[parts.index("resourceGroups") + 1], parts[-1]
    _call("delete the customer's circuit",
          lambda: theirs.express_route_circuits.begin_delete(rg, name).result())  # fmt: skip
