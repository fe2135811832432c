"""The ExpressRoute simulator through the unmodified azure-mgmt-network client: the
cross-connection named by the customer's service key, its provisioning states as
long-running operations, AzurePrivatePeering's rules, the provider's delete order, and
every answer checked field by field against the SDK's own models (the SDK's models keep
unknown keys without a word, so a misspelt field would otherwise pass unnoticed)."""

from __future__ import annotations

import enum
import sys
import typing
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ResourceNotFoundError,
)
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network import models as azure_models

from onramp.csp.azure.adapter import network
from onramp.csp.azure.simulator import PARTNER_SUBSCRIPTION, Answer, ExpressRoute, serve
from onramp.csp.simulator import Behaviour
from tests.csp.conftest import RecordingHook

RG = "CrossConnection-uksouth"
PEERING = {
    "peeringType": "AzurePrivatePeering",
    "peerASN": 65000,
    "primaryPeerAddressPrefix": "169.254.192.0/30",
    "secondaryPeerAddressPrefix": "169.254.192.4/30",
    "vlanId": 10,
    "sharedKey": "Abcdefgh2345",
}


@pytest.fixture
def azure(hook: RecordingHook) -> Iterator[tuple[NetworkManagementClient, ExpressRoute, str]]:
    """(client, state, service key of a circuit on S-tag 300)."""
    with serve(ExpressRoute(hook=hook)) as (url, state):
        key = state.create_circuit(s_tag=300)
        yield network(PARTNER_SUBSCRIPTION, url, backoff_s=0, polling_interval_s=0.05), state, key


def provision(client: NetworkManagementClient, key: str, to: str = "Provisioned") -> Any:
    xc = client.express_route_cross_connections.get(RG, key)
    xc.service_provider_provisioning_state = to
    return client.express_route_cross_connections.begin_create_or_update(RG, key, xc).result()


def peer(client: NetworkManagementClient, key: str, **changes: Any) -> Any:
    body = azure_models.ExpressRouteCrossConnectionPeering({"properties": PEERING | changes})
    ops = client.express_route_cross_connection_peerings
    return ops.begin_create_or_update(RG, key, "AzurePrivatePeering", body).result()


def test_cross_connection_by_service_key(
    azure: tuple[NetworkManagementClient, ExpressRoute, str],
) -> None:
    client, state, key = azure
    state.create_circuit()  # another customer's
    (found,) = client.express_route_cross_connections.list(filter=f"name eq '{key}'")
    assert (found.name, found.s_tag, found.service_provider_provisioning_state) == (
        key, 300, "NotProvisioned")  # fmt: skip
    assert (found.primary_azure_port, found.secondary_azure_port) == (
        "onramp-lon-er-pri", "onramp-lon-er-sec")  # fmt: skip
    assert len(list(client.express_route_cross_connections.list_by_resource_group(RG))) == 2
    assert list(client.express_route_cross_connections.list(filter="name eq 'nope'")) == []
    with pytest.raises(ResourceNotFoundError):
        client.express_route_cross_connections.get(RG, "00000000-0000-0000-0000-000000000000")


def test_provisioning_is_a_long_running_operation(
    azure: tuple[NetworkManagementClient, ExpressRoute, str],
) -> None:
    client, state, key = azure
    state.behaviour = Behaviour(provisioning_s=0.4)
    xc = client.express_route_cross_connections.get(RG, key)
    xc.service_provider_provisioning_state = "Provisioned"
    poller = client.express_route_cross_connections.begin_create_or_update(RG, key, xc)
    assert not poller.done()
    assert state.cross_connections[key]["properties"]["serviceProviderProvisioningState"] == (
        "Provisioning"
    )
    assert poller.result(timeout=5).service_provider_provisioning_state == "Provisioned"
    # asking again for what is already so is a no-op, not a second operation
    assert provision(client, key).service_provider_provisioning_state == "Provisioned"
    assert state.calls.count("PUT crossConnection") == 2 and len(state.operations) == 1


def test_peering_needs_a_provisioned_cross_connection(
    azure: tuple[NetworkManagementClient, ExpressRoute, str],
) -> None:
    client, _, key = azure
    with pytest.raises(HttpResponseError) as refused:
        peer(client, key)
    assert refused.value.error.code == "ServiceProviderNotProvisioned"


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"vlanId": 4095}, "InvalidVlanId"),
        ({"primaryPeerAddressPrefix": "169.254.192.0/29"}, "InvalidPrefix"),
        ({"secondaryPeerAddressPrefix": "169.254.192.0/30"}, "InvalidPrefix"),  # overlaps
        ({"peerASN": 65515}, "InvalidPeerAsn"),
        ({"peerASN": 12076}, "InvalidPeerAsn"),
        ({"sharedKey": "abc"}, "InvalidSharedKey"),
    ],
)
def test_private_peering_rules(
    azure: tuple[NetworkManagementClient, ExpressRoute, str], change: dict[str, Any], code: str
) -> None:
    client, state, key = azure
    provision(client, key)
    with pytest.raises(HttpResponseError) as refused:
        peer(client, key, **change)
    assert refused.value.status_code == 400 and refused.value.error.code == code
    assert state.cross_connections[key]["properties"]["peerings"] == []


def test_peering_then_delete_in_the_providers_order(
    azure: tuple[NetworkManagementClient, ExpressRoute, str],
) -> None:
    client, _, key = azure
    provision(client, key)
    made = peer(client, key)
    assert (made.provisioning_state, made.state, made.azure_asn) == ("Succeeded", "Enabled", 12076)
    assert made.primary_azure_port == "onramp-lon-er-pri"
    with pytest.raises(HttpResponseError) as refused:
        provision(client, key, "NotProvisioned")
    assert refused.value.error.code == "CrossConnectionHasPeerings"
    ops = client.express_route_cross_connection_peerings
    ops.begin_delete(RG, key, "AzurePrivatePeering").result()
    assert list(ops.list(RG, key)) == []
    ops.begin_delete(RG, key, "AzurePrivatePeering").result()  # again: nothing to do
    assert provision(client, key, "NotProvisioned").service_provider_provisioning_state == (
        "NotProvisioned"
    )


def test_token_and_api_version_are_required(
    azure: tuple[NetworkManagementClient, ExpressRoute, str],
) -> None:
    client, _, key = azure
    url = client._config.base_url  # the simulator's address
    path = f"{url}/subscriptions/{PARTNER_SUBSCRIPTION}/resourceGroups/{RG}/providers/"
    path += f"Microsoft.Network/expressRouteCrossConnections/{key}"
    with pytest.raises(urllib.error.HTTPError) as no_token:
        urllib.request.urlopen(path + "?api-version=2026-03-01")
    assert no_token.value.code == 401
    asked = urllib.request.Request(path, headers={"Authorization": "Bearer x"})
    with pytest.raises(urllib.error.HTTPError) as no_version:
        urllib.request.urlopen(asked)
    assert b"MissingApiVersionParameter" in no_version.value.read()


MODELS = {"_models": azure_models}


def strays(cls: type, value: Any, where: str) -> list[str]:
    """Where `value` strays from the SDK model `cls`: unknown keys, wrong types."""
    if not isinstance(value, dict):
        return [f"{where}: not an object"]
    cls()  # the SDK builds a model's field table on first use
    fields = {f._rest_name: attr for attr, f in cls._attr_to_rest_field.items()}  # type: ignore[attr-defined]
    hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]), MODELS)
    out = [f"{where}.{key}: not in {cls.__name__}" for key in value if key not in fields]
    for key, attr in fields.items():
        if key in value:
            out += typed(hints[attr], value[key], f"{where}.{key}")
    return out


def typed(hint: Any, value: Any, where: str) -> list[str]:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if origin is typing.Union:  # Optional[X], or Union[str, SomeEnum] for an open enum
        enums = [a for a in args if isinstance(a, type) and issubclass(a, enum.Enum)]
        return typed(enums[0] if enums else args[0], value, where)
    if origin is list:
        return [p for i, v in enumerate(value) for p in typed(args[0], v, f"{where}[{i}]")]
    if origin is dict:
        return [p for k, v in value.items() for p in typed(args[1], v, f"{where}.{k}")]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return [] if value in {m.value for m in hint} else [f"{where}: {value!r} not in {hint}"]
    if isinstance(hint, type) and issubclass(hint, azure_models.Resource.__mro__[1]):
        return strays(hint, value, where)
    if hint in (str, int, bool) and not isinstance(value, hint):
        return [f"{where}: {value!r} is not {hint.__name__}"]
    return []


def test_every_answer_matches_the_sdks_models(
    azure: tuple[NetworkManagementClient, ExpressRoute, str],
) -> None:
    client, state, key = azure
    answers: list[tuple[str, Answer]] = []
    real = state.handle

    def recording(
        method: str, path: str, query: dict[str, str], body: dict[str, Any], token: str = ""
    ) -> Answer:
        answer = real(method, path, query, body, token)
        answers.append((path, answer))
        return answer

    state.handle = recording  # type: ignore[method-assign]
    list(client.express_route_cross_connections.list())
    provision(client, key)
    peer(client, key)
    list(client.express_route_cross_connection_peerings.list(RG, key))
    client.express_route_cross_connection_peerings.begin_delete(
        RG, key, "AzurePrivatePeering"
    ).result()
    m = azure_models
    problems: list[str] = []
    for path, answer in answers:
        if answer.body is None:
            continue
        if path.endswith("expressRouteCrossConnections"):
            kind: type = m.ExpressRouteCrossConnection
            problems += [p for i, x in enumerate(answer.body["value"])
                         for p in strays(kind, x, f"list[{i}]")]  # fmt: skip
        elif path.endswith("/peerings"):
            kind = m.ExpressRouteCrossConnectionPeering
            problems += [p for i, x in enumerate(answer.body["value"])
                         for p in strays(kind, x, f"peerings[{i}]")]  # fmt: skip
        elif "/operations/" in path:
            assert answer.body["status"] in ("InProgress", "Succeeded")
        elif "/peerings/" in path:
            problems += strays(m.ExpressRouteCrossConnectionPeering, answer.body, path)
        else:
            problems += strays(m.ExpressRouteCrossConnection, answer.body, path)
    assert len(answers) >= 8 and problems == []
