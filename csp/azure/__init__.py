"""Azure ExpressRoute: constraints as data (constraints.yaml), the adapter, `build`."""

from __future__ import annotations

from typing import Any

from onramp.core.errors import OnrampError
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
    made = create_circuit(customer_client(credentials, url), ours,
                          credentials["resource_group"], _circuit(order), where.csp_region or "",
                          where.csp_location or "", int(order["bandwidth_mbps"]))  # fmt: skip
    return {"azure_service_key": made.service_key, "s_tag": made.s_tag}


def delegated_undo(
    context: BuildContext, credentials: dict[str, Any], order: dict[str, Any]
) -> None:
    """The circuit `delegated_order` made for an order that was then refused: deleted as the
    customer (it carries nothing of ours yet); gone already is done."""
    from onramp.csp.azure.delegated import circuit_id, customer_client, delete_circuit

    theirs = customer_client(credentials, context.settings.endpoint_url)
    delete_circuit(theirs, circuit_id(credentials, _circuit(order)))


def _circuit(order: dict[str, Any]) -> str:
    """The name of the circuit onramp makes for an order: found again by a retry of it."""
    from onramp.csp.azure.delegated import CIRCUIT_PREFIX

    key = order.get("idempotency_key") or order["onramp"]
    return f"{CIRCUIT_PREFIX}{order['tenant']}-{key}"[:80]


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


def change_bandwidth(
    context: BuildContext, credentials: dict[str, Any] | None, resource_id: str, mbps: int
) -> str:
    """A live circuit at `mbps` before our routers change: raised as the customer under its
    delegation (Azure raises a circuit in place, never lowers it: the flow refused that
    before); without one, the customer raises it and onramp checks it did (ONR-CHG-002)."""
    from onramp.csp.azure.delegated import customer_client, raise_circuit

    url = context.settings.endpoint_url
    ours = AzureAdapter(network(context.settings.account, url), context.connections)
    xc = ours._read(resource_id)
    if xc is None:
        raise OnrampError("ONR-CSP-003", f"Azure has no cross-connection {resource_id}")
    now = int(xc.bandwidth_in_mbps or 0)
    if now >= mbps:
        return f"circuit at {now} Mb/s already"
    circuit = xc.express_route_circuit.id if xc.express_route_circuit else ""
    mine = f"/subscriptions/{credentials['account']}/" if credentials else None
    if credentials is None or mine is None or not circuit.lower().startswith(mine.lower()):
        raise OnrampError("ONR-CHG-002", f"the customer's circuit is at {now} Mb/s, below {mbps}",
                          "the customer raises its ExpressRoute circuit to the new bandwidth "
                          "first (or delegates its subscription to onramp), then asks again")  # fmt: skip
    raise_circuit(customer_client(credentials, url), circuit, mbps)
    return f"circuit {circuit.rsplit('/', 1)[-1]} raised from {now} to {mbps} Mb/s"
