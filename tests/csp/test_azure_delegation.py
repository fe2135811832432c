"""Azure under a customer's delegation: onramp makes the ExpressRoute circuit in the
customer's subscription (the unmodified SDK against the simulator), reads its service key
and S-tag; only that subscription's principal may, and it never touches our side."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from azure.mgmt.network import models as azure_models

from onramp.core.errors import OnrampError
from onramp.csp.azure import simulator as az
from onramp.csp.azure.adapter import network
from onramp.csp.azure.delegated import create_circuit, customer_client, delete_circuit
from onramp.csp.azure.simulator import Answer, ExpressRoute
from tests.csp.test_azure_simulator import strays

SUB = "0b0c0d0e-0000-4000-8000-00000000c057"
CREDS = {"account": SUB, "client_id": "0b0c0d0e-0000-4000-8000-0000000000c1",
         "resource_group": "rg-acme"}  # fmt: skip


URL: list[str] = []  # the running simulator's


@pytest.fixture
def azure() -> Iterator[tuple[Any, Any, ExpressRoute]]:
    """(the customer's client, ours, the simulator)."""
    with az.serve(ExpressRoute()) as (url, sim):
        sim.customer(SUB, CREDS["client_id"])
        URL[:] = [url]
        yield (customer_client(CREDS, url),
               network(az.PARTNER_SUBSCRIPTION, url, polling_interval_s=0.05), sim)  # fmt: skip


def make(theirs: Any, ours: Any, name: str = "onramp-acme-c1") -> Any:
    return create_circuit(theirs, ours, "rg-acme", name, "uksouth", "London", 1000)


def test_the_circuit_is_made_once_in_the_customers_subscription(
    azure: tuple[Any, Any, ExpressRoute],
) -> None:
    theirs, ours, sim = azure
    made = make(theirs, ours)
    assert made.id.startswith(f"/subscriptions/{SUB}/resourceGroups/rg-acme/")
    xc = sim.cross_connections[made.service_key]
    assert (
        xc["properties"]["sTag"] == made.s_tag and xc["properties"]["peeringLocation"] == "London"
    )
    assert xc["properties"]["expressRouteCircuit"]["id"] == made.id
    assert make(theirs, ours) == made and len(sim.circuits) == 1  # a retry finds it
    delete_circuit(theirs, made.id)
    assert sim.circuits == {} and sim.cross_connections == {}


def test_each_party_does_only_its_own_part(azure: tuple[Any, Any, ExpressRoute]) -> None:
    theirs, ours, sim = azure
    as_partner_in_theirs = network(SUB, URL[0])  # our token, the customer's subscription
    with pytest.raises(OnrampError, match="AuthorizationFailed"):
        make(as_partner_in_theirs, ours)
    with pytest.raises(Exception, match="AuthorizationFailed"):
        list(theirs.express_route_cross_connections.list())  # ours: never the customer's
    assert sim.circuits == {}


def test_a_provisioned_circuit_is_not_deleted(azure: tuple[Any, Any, ExpressRoute]) -> None:
    theirs, ours, sim = azure
    made = make(theirs, ours)
    sim.cross_connections[made.service_key]["properties"]["serviceProviderProvisioningState"] = (
        "Provisioned"
    )
    with pytest.raises(OnrampError, match="CircuitProvisioned"):
        delete_circuit(theirs, made.id)


def test_the_circuit_answers_match_the_sdks_model(azure: tuple[Any, Any, ExpressRoute]) -> None:
    theirs, ours, sim = azure
    answers: list[Answer] = []
    real = sim.handle

    def recording(*args: Any) -> Answer:
        answer = real(*args)
        if "expressRouteCircuits" in args[1]:
            answers.append(answer)
        return answer

    sim.handle = recording  # type: ignore[method-assign]
    made = make(theirs, ours)
    theirs.express_route_circuits.get("rg-acme", made.id.rsplit("/", 1)[1])
    problems = [p for a in answers if a.body
                for p in strays(azure_models.ExpressRouteCircuit, a.body, "circuit")]  # fmt: skip
    assert len(answers) >= 2 and problems == []
