"""AWS Direct Connect: constraints as data (constraints.yaml), the adapters, `build`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from onramp.core.secrets import Vault
from onramp.core.store import Store
from onramp.csp import delegation
from onramp.csp.adapter import Adapter, BuildContext
from onramp.csp.aws.adapter import AwsAdapter, AwsHostedConnectionAdapter, Delegation, client
from onramp.csp.aws.simulator import PARTNER_KEY

# what a kind's `adapter:` in constraints.yaml may name
ADAPTERS: dict[str, type[AwsAdapter]] = {
    "hosted-vif": AwsAdapter,
    "hosted-connection": AwsHostedConnectionAdapter,
}


class Delegations(Mapping[str, Delegation]):
    """The customers' delegations (`onramp tenant delegate aws`), read from the store at
    each use (a revoked one is gone at once): customer account -> a client acting as it."""

    def __init__(self, store: Store, vault: Vault, url: str | None, region: str) -> None:
        self.store, self.vault, self.url, self.region = store, vault, url, region

    def __getitem__(self, account: str) -> Delegation:
        found = delegation.credentials(self.store, self.vault, "aws", account)
        if found is None:
            raise KeyError(account)
        dx = client(self.url, region_name=self.region, aws_access_key_id=found["access_key_id"],
                    aws_secret_access_key=found["secret_access_key"])  # fmt: skip
        return Delegation(dx, found.get("virtual_gateway_id"),
                          found.get("direct_connect_gateway_id"))  # fmt: skip

    def __iter__(self) -> Iterator[str]:
        return iter(())  # looked up by account only, never listed

    def __len__(self) -> int:
        return 0


def build(context: BuildContext) -> Adapter:
    """Direct Connect through boto3, at AWS or at `endpoint_url` (a simulator: `onramp sim
    aws`, which knows our partner key). Credentials: boto3's usual environment; a
    customer's, from its delegation."""
    url = context.settings.endpoint_url
    region = context.settings.region or "eu-west-3"
    creds: dict[str, Any] = (
        {"aws_access_key_id": PARTNER_KEY, "aws_secret_access_key": "-"} if url else {}
    )
    dx = client(url, region_name=region, **creds)
    delegations = Delegations(context.store, context.vault, url, region)
    return ADAPTERS[context.variant or "hosted-vif"](dx, context.connections, delegations)
