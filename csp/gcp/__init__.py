"""Google Partner Interconnect: constraints as data (constraints.yaml), the adapter, `build`."""

from __future__ import annotations

from onramp.csp.adapter import Adapter, BuildContext
from onramp.csp.gcp.adapter import GcpAdapter, client


def build(context: BuildContext) -> Adapter:
    """Partner attachments through google-cloud-compute in our project (`account`), at
    Google or at `endpoint_url` (a simulator: anonymous credentials)."""
    settings = context.settings
    return GcpAdapter(client(settings.endpoint_url), settings.account, context.connections)
