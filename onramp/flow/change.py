"""A change to a live Connector or Link (PATCH, `onramp connector|link update`): its
description (stored, no router changes), its bandwidth and a Connector's prefixes, in place.

Every rule is checked, and the port's capacity taken, in one transaction that locks the row
(and a Link's ends, or a Connector's Links) before anything is touched: the provider's
steps and what its API allows in place (csp/<p>/constraints.yaml, `kinds.<kind>.change`),
the ports' capacity, a Link at most as fast as its slower end, a Connector at least as fast
as its Links; prefixes as at order time (onramp.flow.request.check_prefixes). It then moves
`active -> modifying` with the change recorded; the workers' step (onramp.flow.orchestrate)
changes the provider's side if it must, plans and applies the diff (the rate's line, the
prefix-list lines) with commit-confirm and a gate reading the result back (the rate; the
routes the filters let in), and ends `active`: changed, or rolled back to the old values
with the reason recorded.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from onramp.core.errors import OnrampError
from onramp.core.model import (
    RELEASED_STATES,
    Change,
    ChangeRecord,
    State,
)
from onramp.core.shapes import ConnectorView, LinkView
from onramp.core.store import ConnectorRow, LinkRow, PortUsageRow, Store, by_prefix, move, now
from onramp.csp.constraints import for_provider
from onramp.flow.allocate import _dry
from onramp.flow.kinds import spec_of
from onramp.flow.request import check_prefixes
from onramp.network.inventory import Backbone

View = ConnectorView | LinkView


def etag(view: Mapping[str, Any]) -> str:
    """The strong ETag of a Connector's or Link's view (RFC 9110): any change to what a
    reader sees (state, bandwidth, description, reason) gives another."""
    body = json.dumps(view, sort_keys=True, default=str).encode()
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def change(
    store: Store,
    bb: Backbone,
    kind: str,
    ident: str,
    req: Change,
    actor: str,
    tenant: str | None = None,
    if_match: str | None = None,
    dry_run: bool = False,
) -> View:
    """Apply `req` to the Connector or Link `ident` (its id or a unique prefix; `tenant`:
    among that tenant's only), or refuse with a code before anything changes. `if_match`:
    refused (ONR-CHG-006) unless the stored view's ETag is one of it (`*`: any).
    `dry_run`: every check, the answer it would give, nothing written."""

    def run(s: Session) -> View:
        return change_in(s, bb, kind, ident, req, actor, tenant, if_match)

    return _dry(store, run) if dry_run else store.transact(run)


def change_in(
    s: Session,
    bb: Backbone,
    kind: str,
    ident: str,
    req: Change,
    actor: str,
    tenant: str | None = None,
    if_match: str | None = None,
) -> View:
    """`change` in the caller's transaction."""
    spec = spec_of(kind)
    found = by_prefix(s, spec.row, ident, kind, "ONR-REQ-011", tenant)
    row = cast("ConnectorRow | LinkRow", s.get(spec.row, found.id, with_for_update=True))
    s.refresh(row)  # as locked, not as first read
    if if_match is not None and not _matches(if_match, etag(spec.view(row, bb))):
        raise OnrampError(
            "ONR-CHG-006", f"{kind} {row.id} has ETag {etag(spec.view(row, bb))}, not {if_match}"
        )
    if State(row.state) in RELEASED_STATES:
        raise OnrampError("ONR-REQ-011", f"{kind} {row.id} is {row.state}", field="id")
    if req.description is not None and req.description != row.request.get("description", ""):
        row.request = {**row.request, "description": req.description}  # a new dict: stored
    new = req.bandwidth_mbps if req.bandwidth_mbps != row.bandwidth_mbps else None
    prefixes = _new_prefixes(bb, row, req)
    if new is not None or prefixes is not None:
        if row.state != State.ACTIVE:
            field = "bandwidth_mbps" if new is not None else "prefixes"
            raise OnrampError("ONR-CHG-005", f"{kind} {row.id} is {row.state}", field=field)
        record = ChangeRecord(at=now(), by=actor[:80])
        what = []
        if new is not None:
            old = row.bandwidth_mbps
            if isinstance(row, ConnectorRow):
                _connector_rules(s, bb, row, new)
                _reserve(s, bb, row, new - old)
            else:
                _link_rules(s, row, new)
            row.bandwidth_mbps = new
            record = record.model_copy(update={"from_mbps": old, "to_mbps": new})
            what.append(f"bandwidth {old} -> {new} Mb/s")
        if prefixes is not None:
            was = [str(p) for p in row.request.get("prefixes", [])]
            row.request = {**row.request, "prefixes": prefixes}
            record = record.model_copy(update={"from_prefixes": was, "to_prefixes": prefixes})
            what.append(f"prefixes {' '.join(was) or 'none'} -> {' '.join(prefixes) or 'none'}")
        row.change = record.model_dump(mode="json")
        move(s, row, State.MODIFYING.value, actor, "; ".join(what)[:1000])
    s.flush()
    return spec.view(row, bb)


def _new_prefixes(bb: Backbone, row: ConnectorRow | LinkRow, req: Change) -> list[str] | None:
    """The Connector's new prefix list as stored (text), checked as at order time; None when
    the request leaves them as they are (the same set, in any order)."""
    if req.prefixes is None:
        return None
    if not isinstance(row, ConnectorRow):
        raise OnrampError("ONR-REQ-008", "prefixes: a Link has none of its own (its "
                          "Connectors' prefixes cross it)", field="prefixes")  # fmt: skip
    if {str(p) for p in req.prefixes} == {str(p) for p in row.request.get("prefixes", [])}:
        return None
    c = for_provider(bb.catalogue.onramps[row.onramp].provider)
    if not req.prefixes and "prefixes" in c.kinds[row.kind].requires:
        raise OnrampError("ONR-REQ-003", f"{row.kind} needs prefixes", field="prefixes")
    check_prefixes(req.prefixes, c)
    return [str(p) for p in req.prefixes]


def far_ends(s: Session, row: ConnectorRow) -> list[ConnectorRow]:
    """The other ends of a Connector's Links that are not released."""
    links = s.scalars(select(LinkRow).where(
        or_(LinkRow.a_id == row.id, LinkRow.b_id == row.id),
        LinkRow.state.not_in([x.value for x in RELEASED_STATES]))).all()  # fmt: skip
    ends = [s.get(ConnectorRow, lk.b_id if lk.a_id == row.id else lk.a_id) for lk in links]
    return [end for end in ends if end is not None]


def far_routers(s: Session, row: ConnectorRow) -> set[str]:
    """The PEs of the other ends of a Connector's Links: their filters toward their clouds
    (and their segments) carry this Connector's prefixes, so a prefix change is theirs too."""
    return {a.router for end in far_ends(s, row) for a in end.attachments}


def filters_change(row: ConnectorRow | LinkRow) -> bool:
    """Whether a change under way (or going back) moves a Connector's prefixes."""
    return (
        row.state == State.MODIFYING.value
        and row.change is not None
        and ChangeRecord.model_validate(row.change).to_prefixes is not None
    )


def _matches(if_match: str, current: str) -> bool:
    tags = [t.strip() for t in if_match.split(",")]
    return "*" in tags or current in tags


def _connector_rules(s: Session, bb: Backbone, row: ConnectorRow, new: int) -> None:
    c = for_provider(bb.catalogue.onramps[row.onramp].provider)
    rule = c.kinds[row.kind].change
    if not rule.in_place:
        raise OnrampError("ONR-CHG-001", f"{row.kind}: {rule.why}", field="bandwidth_mbps")
    if new not in c.bandwidth_mbps:
        raise OnrampError("ONR-CHG-002", f"{new} Mb/s; {c.provider} offers {c.bandwidth_mbps}",
                          field="bandwidth_mbps")  # fmt: skip
    if new < row.bandwidth_mbps and not rule.lower:
        raise OnrampError("ONR-CHG-002", f"{row.bandwidth_mbps} -> {new} Mb/s: {rule.why}",
                          field="bandwidth_mbps")  # fmt: skip
    # its live Links, locked: none may be ordered faster, or changed, while this one lowers
    faster = s.scalars(
        select(LinkRow)
        .where(
            or_(LinkRow.a_id == row.id, LinkRow.b_id == row.id),
            LinkRow.state.not_in([x.value for x in RELEASED_STATES]),
            LinkRow.bandwidth_mbps > new,
        )
        .with_for_update()
    ).all()
    if faster:
        worst = max(faster, key=lambda lk: lk.bandwidth_mbps)
        raise OnrampError("ONR-CHG-003", f"Link {worst.id} carries {worst.bandwidth_mbps} Mb/s "
                          f"over this Connector: it cannot go down to {new}",
                          field="bandwidth_mbps")  # fmt: skip


def _link_rules(s: Session, row: LinkRow, new: int) -> None:
    # read under a share lock: an end cannot be lowered under this change meanwhile
    for end_id in (row.a_id, row.b_id):
        end = s.get(ConnectorRow, end_id, with_for_update={"read": True})
        if end is not None and new > end.bandwidth_mbps:
            raise OnrampError("ONR-CHG-003", f"{new} Mb/s exceeds Connector {end.id}'s "
                              f"{end.bandwidth_mbps} Mb/s", field="bandwidth_mbps")  # fmt: skip


def _reserve(s: Session, bb: Backbone, row: ConnectorRow, delta: int) -> None:
    """Each of its ports takes `delta` Mb/s more (or gives back), in this transaction: the
    update holds the port's row until commit, as an allocation's does; a port without room
    refuses the whole change (nothing is kept of the others')."""
    for a in row.attachments:
        speed = next(p.speed_mbps for p in bb.routers[a.router].onramp_ports if p.name == a.port)
        done = s.execute(
            update(PortUsageRow)
            .where(
                PortUsageRow.router == a.router,
                PortUsageRow.port == a.port,
                PortUsageRow.used_mbps + delta <= speed,
            )
            .values(used_mbps=PortUsageRow.used_mbps + delta)
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            used = s.scalar(select(PortUsageRow.used_mbps).where(
                PortUsageRow.router == a.router, PortUsageRow.port == a.port))  # fmt: skip
            raise OnrampError("ONR-CHG-004", f"{a.router} {a.port}: {used} of {speed} Mb/s used, "
                              f"{delta} more do not fit", field="bandwidth_mbps")  # fmt: skip


def undo_in(s: Session, bb: Backbone, kind: str, row: ConnectorRow | LinkRow, why: str) -> None:
    """A change that failed, in the store: the old bandwidth (the ports' capacity given back)
    and the old prefixes back, the failure recorded (`outcome` rolled_back, the row's
    reason). The routers are put back by the step that follows (plan + apply of the old
    values) and only then `active`."""
    record = ChangeRecord.model_validate(row.change)
    if record.outcome == "rolled_back":
        return  # done before a crash
    what = []
    if record.from_mbps is not None and record.to_mbps is not None:
        if isinstance(row, ConnectorRow):
            _reserve(s, bb, row, record.from_mbps - record.to_mbps)
        row.bandwidth_mbps = record.from_mbps
        what.append(f"bandwidth change to {record.to_mbps} Mb/s")
    if record.from_prefixes is not None:
        row.request = {**row.request, "prefixes": record.from_prefixes}
        what.append(f"prefixes {' '.join(record.to_prefixes or []) or 'none'}")
    reason = f"{' and '.join(what) or 'change'} rolled back: {why}"[:1000]
    row.change = record.model_copy(update={"outcome": "rolled_back", "reason": why[:900]}
                                   ).model_dump(mode="json")  # fmt: skip
    row.reason = reason
