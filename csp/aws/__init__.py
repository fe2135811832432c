"""AWS Direct Connect: constraints as data (constraints.yaml), the adapters, `build`."""

from __future__ import annotations

from typing import Any

from onramp.csp.adapter import Adapter, BuildContext
from onramp.csp.aws.adapter import AwsAdapter, AwsHostedConnectionAdapter, client
from onramp.csp.aws.simulator import PARTNER_KEY

# what a kind's `adapter:` in constraints.yaml may name
ADAPTERS: dict[str, type[AwsAdapter]] = {
    "hosted-vif": AwsAdapter,
    "hosted-connection": AwsHostedConnectionAdapter,
}


def build(context: BuildContext) -> Adapter:
    """Direct Connect through boto3, at AWS or at `endpoint_url` (a simulator: `onramp sim
    aws`, which knows our partner key). Credentials: boto3's usual environment."""
    url = context.settings.endpoint_url
    creds: dict[str, Any] = (
        {"aws_access_key_id": PARTNER_KEY, "aws_secret_access_key": "-"} if url else {}
    )
    dx = client(url, region_name=context.settings.region or "eu-west-3", **creds)
    return ADAPTERS[context.variant or "hosted-vif"](dx, context.connections)
