"""Alibaba Cloud Express Connect: constraints as data (constraints.yaml), the adapter, `build`."""

from __future__ import annotations

from onramp.csp.adapter import Adapter, BuildContext
from onramp.csp.alibaba.adapter import AlibabaAdapter, client

DEFAULT_REGION = "eu-west-1"  # config.yaml's csp.alibaba.region unless set


def build(context: BuildContext) -> Adapter:
    """Hosted connections through alibabacloud-vpc20160428 in the region config.yaml names,
    at Alibaba or at `endpoint_url` (a simulator: the partner's simulated AccessKey)."""
    region = context.settings.region or DEFAULT_REGION
    return AlibabaAdapter(
        client(context.settings.endpoint_url, region), region, context.connections
    )
