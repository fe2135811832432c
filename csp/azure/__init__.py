"""Azure ExpressRoute: constraints as data (constraints.yaml), the adapter, `build`."""

from __future__ import annotations

from typing import Any

from onramp.csp.adapter import Adapter, BuildContext
from onramp.csp.azure.adapter import AzureAdapter, network
from onramp.network.inventory.schema import Onramp


def build(context: BuildContext) -> Adapter:
    """ExpressRoute through azure-mgmt-network in our subscription (`account`), at Azure
    (azure-identity's default credential) or at `endpoint_url` (a simulator: a static token)."""
    url = context.settings.endpoint_url
    credential = None
    if url is None:
        from azure.identity import DefaultAzureCredential  # heavy, and only for the real API

        credential = DefaultAzureCredential()
    return AzureAdapter(network(context.settings.account, url, credential), context.connections)


def delegated_order(
    context: BuildContext, credentials: dict[str, Any], order: dict[str, Any], where: Onramp
) -> dict[str, Any]:
    """Under the customer's delegation, what the customer would have given with the order:
    the circuit made in its subscription (our provider name, the on-ramp's peering location,
    the order's bandwidth), its service key and S-tag."""
    from onramp.csp.azure.delegated import create_circuit, customer_client

    url = context.settings.endpoint_url
    ours = network(context.settings.account, url, polling_interval_s=0.2 if url else 5.0)
    from onramp.csp.azure.delegated import CIRCUIT_PREFIX

    name = f"{CIRCUIT_PREFIX}{order['tenant']}-{order.get('idempotency_key') or order['onramp']}"
    name = name[:80]
    made = create_circuit(customer_client(credentials, url), ours,
                          credentials["resource_group"], name, where.csp_region or "",
                          where.csp_location or "", int(order["bandwidth_mbps"]))  # fmt: skip
    return {"azure_service_key": made.service_key, "s_tag": made.s_tag}


def delegated_cleanup(context: BuildContext, credentials: dict[str, Any], resource_id: str) -> None:
    """After our side is deprovisioned: the circuit onramp made in the customer's
    subscription (its id on our cross-connection, in the delegated subscription, named by
    us) is deleted as the customer; one the customer made itself is left alone."""
    from onramp.csp.azure.delegated import CIRCUIT_PREFIX, customer_client, delete_circuit

    url = context.settings.endpoint_url
    ours = AzureAdapter(network(context.settings.account, url), context.connections)
    xc = ours._read(resource_id)
    circuit = xc.express_route_circuit.id if xc is not None and xc.express_route_circuit else ""
    mine = f"/subscriptions/{credentials['account']}/resourceGroups/"
    if (
        circuit
        and circuit.lower().startswith(mine.lower())
        and (circuit.rsplit("/", 1)[-1].startswith(CIRCUIT_PREFIX))
    ):
        delete_circuit(customer_client(credentials, url), circuit)
