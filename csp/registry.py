"""From the inventory, a Connector and config.yaml to the CSP adapters: which provider
port is which of ours, what a Connector asks of its provider, one adapter per provider.

The provider's name for each of our ports is inventory data (`csp_connection` on an
on-ramp port); an adapter gets the map for its provider and never guesses.
"""

from __future__ import annotations

from typing import Any

from onramp.core.errors import OnrampError
from onramp.core.secrets import Vault
from onramp.core.settings import CspSettings
from onramp.core.store import Store
from onramp.csp.adapter import Adapter, PeeringRequest, Session
from onramp.network.inventory import Backbone

ROLE_ORDER = {"primary": 0, "single": 0, "secondary": 1}
TICKETED = ("ibm", "alibaba")


def connections(bb: Backbone, provider: str) -> dict[str, str]:
    """ "<router>:<port>" -> the provider's name for that port, for one provider."""
    return {
        f"{r.name}:{p.name}": p.csp_connection
        for r in bb.routers.values()
        for p in r.onramp_ports
        if p.csp_connection and bb.catalogue.onramps[p.onramp].provider == provider
    }


def peering_request(
    connector: dict[str, Any], md5_key: str | None, step: str = "csp"
) -> PeeringRequest:
    """What a Connector (as `Service.connector` shows it) asks of its provider. The key is
    the Connector's id and the step, so a retry of the step finds what the first made."""
    asked = connector["request"]
    account = (
        asked.get("aws_account")
        or asked.get("azure_service_key")
        or asked.get("gcp_pairing_key")
        or connector["id"]  # a ticketed provider: our Connector id is the reference
    )
    legs = sorted(connector["attachments"], key=lambda a: ROLE_ORDER[a["role"]])
    return PeeringRequest(
        idempotency_key=f"{connector['id']}:{step}",
        customer_account=str(account),
        sessions=tuple(
            Session(
                f"{a['router']}:{a['port']}",
                a["vlan"],
                a["inner_vlan"],
                a["local_address"],
                a["peer_address"],
            )
            for a in legs
        ),
        local_asn=connector["local_asn"],
        md5_key=md5_key,
        mtu=connector["mtu"] or 1500,
        bandwidth_mbps=connector["bandwidth_mbps"],
        peer_asn=connector["peer_asn"],
    )


def adapters(
    csp: dict[str, CspSettings], bb: Backbone, store: Store, vault: Vault
) -> dict[str, Adapter]:
    """One adapter per provider config.yaml's `csp:` section names."""
    return {p: adapter(p, cfg, bb, store, vault) for p, cfg in csp.items()}


def adapter(
    provider: str, settings: CspSettings, bb: Backbone, store: Store, vault: Vault
) -> Adapter:
    """The adapter for a provider, talking to its API or to `settings.endpoint_url` (a
    simulator: `onramp sim <provider>`). Credentials come from each SDK's usual
    environment, never from config.yaml; against a simulator its dummy ones are used."""
    ports = connections(bb, provider)
    url = settings.endpoint_url
    if provider == "aws":
        from onramp.csp.aws import adapter as aws
        from onramp.csp.aws.simulator import PARTNER_KEY

        creds: dict[str, Any] = (
            {"aws_access_key_id": PARTNER_KEY, "aws_secret_access_key": "-"} if url else {}
        )
        dx = aws.client(url, region_name=settings.region or "eu-west-3", **creds)
        return aws.AwsAdapter(dx, ports)
    if provider == "azure":
        from onramp.csp.azure.adapter import AzureAdapter, network

        credential = None
        if url is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential()
        return AzureAdapter(network(settings.account, url, credential), ports)
    if provider == "gcp":
        from onramp.csp.gcp.adapter import GcpAdapter, client

        return GcpAdapter(client(url), settings.account, ports)
    if provider in TICKETED:
        from onramp.csp.manual.adapter import ManualAdapter

        return ManualAdapter(provider, store, vault, ports)
    raise OnrampError("ONR-CSP-001", f"no adapter for provider {provider}")
