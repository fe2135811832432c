"""The tickets kept for providers that take them (csp.manual), read as plain rows through
SQLAlchemy Core: `onramp ticket list` loads neither the ORM nor the ticket adapter (issue
23 item 6). The adapter writes them (onramp.csp.manual.adapter)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from sqlalchemy import select

from onramp.core import tables
from onramp.core.engine import Store

if TYPE_CHECKING:  # annotations only: the shapes cost ~5 ms of import
    from onramp.core.shapes import TicketView
    from onramp.core.store import TicketRow


def tickets(
    store: Store, open_only: bool = True, tenant: str | None = None, prefix: str = ""
) -> list[TicketView]:
    """Oldest first; `tenant`: only those for its Connectors (the key names the Connector);
    `prefix`: only those whose id starts so."""
    t, c = tables.tickets.c, tables.connectors.c
    query = (
        select(tables.tickets)
        .where(t.id.startswith(prefix, autoescape=True))  # `%`, `_`: themselves
        .order_by(t.created_at)
    )
    if open_only:
        query = query.where(t.state.in_(("open", "removal_open")))
    if tenant is not None:
        query = query.join(tables.connectors, t.idempotency_key.like(c.id + ":%")).where(
            c.tenant_id == tenant
        )
    with store.rows() as conn:
        return [view(cast("TicketRow", r)) for r in conn.execute(query)]


def view(ticket: TicketRow) -> TicketView:
    """A ticket as engineers and the API see it: its row or a plain row of its columns."""
    return {
        "id": ticket.id,
        "provider": ticket.provider,
        "idempotency_key": ticket.idempotency_key,
        "connector": ticket.idempotency_key.split(":", 1)[0],  # "<connector id>:<step>"
        "state": ticket.state,
        "request": ticket.request,
        "text": ticket.text,
        "answer": ticket.answer,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }
