"""Azure ExpressRoute: constraints as data (constraints.yaml), the adapter, `build`."""

from __future__ import annotations

from onramp.csp.adapter import Adapter, BuildContext
from onramp.csp.azure.adapter import AzureAdapter, network


def build(context: BuildContext) -> Adapter:
    """ExpressRoute through azure-mgmt-network in our subscription (`account`), at Azure
    (azure-identity's default credential) or at `endpoint_url` (a simulator: a static token)."""
    url = context.settings.endpoint_url
    credential = None
    if url is None:
        from azure.identity import DefaultAzureCredential  # heavy, and only for the real API

        credential = DefaultAzureCredential()
    return AzureAdapter(network(context.settings.account, url, credential), context.connections)
