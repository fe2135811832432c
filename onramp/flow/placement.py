"""Why a Connector is where it is: the edge choice recorded when it was created (every
candidate, its score or why it was excluded) and shown per key (`GET
/v1/connectors/{id}/placement`, the Portal's tooltip on the Connector's PE).

The record is a row of `events` (kind "edge"), written in the allocating transaction:
the choice as it was made, not a ranking redone later on a network that has changed.
A tenant's key sees every candidate port of its on-ramp (the catalogue lists them) and a
reason in a customer's words; the scores, their terms (load counts other tenants'
Connectors) and the engineers' reason (which daemon is down, the overload bit) are for
admin keys.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onramp.core.shapes import ConnectorView, EdgeChoice, Placement, PlacementCandidate
from onramp.core.store import EventRow, Store, now

KIND = "edge"  # events.kind (8 characters at most)
# the engineers' exclusion -> what a customer is told (the first word of the reason)
CUSTOMER_REASON = {
    "unreachable": "not available now (maintenance or a fault)",
    "unhealthy": "not available now (maintenance or a fault)",
    "overloaded": "not available now (maintenance or a fault)",
    "isolated": "not available now (maintenance or a fault)",
    "port": "not enough capacity left for this bandwidth",
    "same": "the primary leg's router: a redundant pair needs two",
}


def record(s: Session, connector_id: str, topology_read_at: str, choices: list[EdgeChoice]) -> None:
    """Keep the choice just made with the Connector (same transaction: both or neither)."""
    at = now()
    s.add(EventRow(kind=KIND, target_id=connector_id, what="edge choice", started_at=at,
                   ended_at=at, detail={"topology_read_at": topology_read_at,
                                        "candidates": [dict(c) for c in choices]}))  # fmt: skip


def customer_reason(choice: EdgeChoice) -> str:
    if choice["chosen"]:
        return "chosen: the best score among the available ports"
    if choice["excluded"] is None:
        return "available, ranked lower"
    return CUSTOMER_REASON.get(choice["excluded"].split()[0].rstrip(":"), "not available now")


def view(store: Store, connector: ConnectorView, admin: bool) -> Placement:
    """The recorded choice of `connector` as `admin` or its tenant may see it. None was
    recorded (topology.source off, or made before): its legs, chosen by the inventory."""
    with store.session() as s:
        row = s.scalars(
            select(EventRow)
            .where(EventRow.kind == KIND, EventRow.target_id == connector["id"])
            .order_by(EventRow.id.desc())
        ).first()
        detail: dict[str, Any] | None = None if row is None else dict(row.detail)
        decided = None if row is None else row.started_at.isoformat()
    if detail is None:
        legs: list[PlacementCandidate] = [
            {"role": a["role"], "router": a["router"], "port": a["port"], "chosen": True,
             "reason": "chosen by the catalogue's order: the network's state was not read"}
            for a in connector["attachments"]
        ]  # fmt: skip
        return {"connector": connector["id"], "decided_at": connector["created_at"],
                "basis": "inventory", "candidates": legs}  # fmt: skip
    shown: list[PlacementCandidate] = []
    for c in detail["candidates"]:
        one: PlacementCandidate = {"role": c["role"], "router": c["router"], "port": c["port"],
                                   "chosen": c["chosen"], "reason": customer_reason(c)}  # fmt: skip
        if admin:
            one["score"], one["terms"], one["excluded"] = c["score"], c["terms"], c["excluded"]
        shown.append(one)
    out: Placement = {"connector": connector["id"], "decided_at": decided, "basis": "network",
                      "candidates": shown}  # fmt: skip
    if admin:
        out["topology_read_at"] = detail["topology_read_at"]
    return out
