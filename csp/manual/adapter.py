"""Providers that take tickets (IBM Direct Link and Alibaba Express Connect until their
adapters exist): the same adapter interface as the API providers, with an engineer in the
provider's place.

`request` opens a ticket (a row holding the exact data the provider needs, rendered as
text) and the attachment waits in AWAITING_TICKET; an engineer sends it, and records the
provider's answer with `onramp ticket answer` (`answer` here), which the next `status`
reads. `delete` asks for the removal the same way. Idempotent by the request's key: a
second `request` returns the first ticket; an answer can be recorded once.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session as Db

from onramp.core.errors import OnrampError
from onramp.core.model import TicketAnswerText
from onramp.core.secrets import Vault
from onramp.core.shapes import TicketAnswerRecord, TicketView
from onramp.core.store import Store, TicketRow, by_prefix, now
from onramp.csp.adapter import CspResource, CspState, PeeringRequest, ResourceDetails
from onramp.csp.tickets import view

if TYPE_CHECKING:
    from jinja2 import Environment

STATES = {
    "open": CspState.AWAITING_TICKET,
    "ready": CspState.READY,
    "rejected": CspState.REJECTED,
    "removal_open": CspState.DELETING,
    "deleted": CspState.DELETED,
}


@cache
def _templates() -> Environment:
    """The ticket's template, loaded when a ticket is written (`onramp ticket list` never)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    return Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # plain text for an e-mail or a provider's portal, not HTML
    )


class ManualAdapter:
    def __init__(
        self,
        provider: str,
        store: Store,
        vault: Vault,
        connections: dict[str, str] | None = None,
    ) -> None:
        self.provider = provider
        self.store = store
        self.vault = vault
        self.connections = connections or {}  # "<router>:<port>" -> the provider's port name

    def request(self, req: PeeringRequest) -> CspResource:
        def open_ticket(db: Db) -> TicketRow:
            found = db.scalars(
                select(TicketRow).where(TicketRow.idempotency_key == req.idempotency_key)
            ).first()
            if found is not None:
                return found
            data = _request_data(req, self.connections)
            ticket = TicketRow(
                id=str(uuid.uuid4()),
                provider=self.provider,
                idempotency_key=req.idempotency_key,
                state="open",
                request=data,
                md5_key=self.vault.encrypt(req.md5_key) if req.md5_key else None,
                text="",
            )
            ticket.text = render(ticket)
            db.add(ticket)
            return ticket

        return _resource(self.store.transact(open_ticket))

    def status(self, resource_id: str) -> CspResource:
        with self.store.session() as db:
            return _resource(_ticket(db, resource_id))

    def delete(self, resource_id: str) -> CspResource:
        """Withdraw an open ticket; ask the provider to remove what a ready one made."""

        def remove(db: Db) -> TicketRow:
            ticket = _ticket(db, resource_id)
            if ticket.state in ("open", "rejected"):
                ticket.state = "deleted"  # nothing was made at the provider
            elif ticket.state == "ready":
                ticket.state = "removal_open"
                ticket.text = render(ticket, removal=True)
            return ticket

        return _resource(self.store.transact(remove))


def answer(
    store: Store, ident: str, accepted: bool, provider_ref: str, note: str, by: str
) -> TicketView:
    """Record the provider's answer to an open ticket (a request or a removal): once."""
    try:  # the answer is shown in lines of text: a newline in it would forge one
        TicketAnswerText(provider_ref=provider_ref, note=note)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = str(first["loc"][0])
        raise OnrampError("ONR-REQ-008", f"{where}: {first['msg']}", field=where) from None

    def record(db: Db) -> TicketView:
        ticket = _ticket(db, ident)
        if ticket.state not in ("open", "removal_open"):
            raise OnrampError(
                "ONR-CSP-007",
                f"ticket {ticket.id[:8]} is {ticket.state}, not waiting for an answer",
            )
        if ticket.state == "open":
            ticket.state = "ready" if accepted else "rejected"
        elif accepted:
            ticket.state = "deleted"
        # a refused removal leaves the attachment in place: the ticket stays open
        previous = ticket.answer.get("history", []) if ticket.answer else []
        entry: TicketAnswerRecord = {"accepted": accepted, "provider_ref": provider_ref,
                                     "note": note, "by": by, "at": now().isoformat()}  # fmt: skip
        ticket.answer = {**entry, "history": [*previous, {**entry}]}
        return view(ticket)

    return store.transact(record)


def ticket(store: Store, ident: str) -> TicketView:
    with store.session() as db:
        return view(_ticket(db, ident))


def reveal_key(store: Store, vault: Vault, ident: str) -> str | None:
    """The BGP key the provider must be given, for the engineer who sends the ticket."""
    with store.session() as db:
        row = _ticket(db, ident)
        return vault.decrypt(row.md5_key) if row.md5_key else None


def render(ticket: TicketRow, removal: bool = False) -> str:
    template = _templates().get_template("ticket.j2")
    return template.render(
        provider=ticket.provider,
        ticket=ticket.id[:8],
        req=ticket.request | {"md5_key": ticket.md5_key is not None},
        removal=removal,
        provider_ref=ticket.answer["provider_ref"] if ticket.answer else None,
    )


def _request_data(req: PeeringRequest, connections: dict[str, str]) -> dict[str, Any]:
    data = asdict(req)
    data.pop("md5_key")
    for session in data["sessions"]:
        session["connection"] = connections.get(session["port"])
    return data


def _ticket(db: Db, ident: str) -> TicketRow:
    ticket: TicketRow = by_prefix(db, TicketRow, ident, "ticket", "ONR-CSP-007")
    return ticket


def _resource(ticket: TicketRow) -> CspResource:
    details: ResourceDetails = {"ticket": ticket.id}
    if ticket.answer:
        details["provider_ref"] = ticket.answer.get("provider_ref")
    return CspResource(
        provider=ticket.provider,
        resource_id=ticket.id,
        state=STATES[ticket.state],
        provider_state=f"ticket {ticket.state}",
        details=details,
    )
