"""IBM Cloud Direct Link Connect: constraints as data (constraints.yaml), the adapter, `build`."""

from __future__ import annotations

from onramp.csp.adapter import Adapter, BuildContext
from onramp.csp.ibm.adapter import IbmAdapter, client


def build(context: BuildContext) -> Adapter:
    """Provider-managed gateways through DirectLinkProviderV2, at IBM or at `endpoint_url`
    (a simulator: its IAM endpoint and the partner's API key)."""
    return IbmAdapter(client(context.settings.endpoint_url), context.connections)
