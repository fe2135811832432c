"""Ticket-based providers (IBM, Alibaba until their adapters exist): constraints as data,
the ticket adapter, `build`."""

from __future__ import annotations

from onramp.csp.adapter import Adapter, BuildContext
from onramp.csp.manual.adapter import ManualAdapter


def build(context: BuildContext) -> Adapter:
    """Tickets kept in the store, for the provider the context names (ibm, alibaba, ...)."""
    return ManualAdapter(context.provider, context.store, context.vault, context.connections)
