"""Drain a PE: move every Connector on it to another port of its on-ramp, make before break.

For each active Connector with a leg on the router, in order:

1. a replacement Connector from the same order (idempotency key `drain:<old id>`), which
   allocation places off the drained router; it goes through the whole state machine
   (provider, configuration, the pyATS gate) to active;
2. each of the old Connector's Links made again with the replacement (`drain:<old link>`),
   to active: the remote VRFs now have both paths;
3. the old Connector quiesced: its sessions stay up but it announces nothing, to its
   cloud or to its Links, until its PEs send none of its routes: traffic has moved;
4. the old Links decommissioned, then the old Connector (routers, provider, allocation).

The old path carries the traffic until the new one is verified and traffic has left it,
so nothing is dropped on the way; a step that fails stops that Connector's move with the old one still in place.
Every step is idempotent: run the drain again after a crash and it goes on where it was.
The router is marked drained in the store first (no new Connector lands there) and stays
so until `--undrain`. A dry run (the default) changes nothing and shows, per Connector,
where it would go or why it cannot move (no other port of its on-ramp in service, ...),
chosen as the move will choose: with topology.source on, by the network's state
(onramp.flow.edges: a PE overloaded, isolated or unhealthy is no destination), explained.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from onramp.core.errors import OnrampError
from onramp.core.model import State
from onramp.core.shapes import ConnectorView, DrainMove, DrainReport
from onramp.core.store import AttachmentRow, ConnectorRow, LinkRow, RouterStateRow
from onramp.flow.allocate import EdgeContext, plan_connector_off
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service
from onramp.flow.views import connector_view
from onramp.runbooks.lifecycle import drive

Progress = Callable[[str], None]
MOVABLE = State.ACTIVE.value


def drain_pe(
    svc: Service,
    router: str,
    apply: bool,
    orch: Orchestrator,
    progress: Progress,
    reason: str = "drained",
) -> DrainReport:
    _check_pe(svc, router)
    on = _on(svc, router)
    edge = svc.edge_context() if on else None  # read once: every move judged on one state
    moves = [_plan(svc, router, c, edge) for c in on]
    if not apply:
        return {"dry_run": True, "router": router, "moves": moves}
    _set_state(svc, router, "drained", reason)
    progress(f"{router} drained: no new Connector lands there")
    for move in moves:
        if move["blocked"] is None:  # an inactive one is blocked by _plan
            _move(svc, orch, move, progress)
    return {"dry_run": False, "router": router, "moves": moves,
            "left": [c["id"] for c in _on(svc, router)]}  # fmt: skip


def undrain_pe(svc: Service, router: str, apply: bool) -> DrainReport:
    _check_pe(svc, router)
    if apply:
        _set_state(svc, router, "in-service", "undrained")
    return {"dry_run": not apply, "router": router, "state": "in-service"}


def _check_pe(svc: Service, router: str) -> None:
    r = svc.backbone.routers.get(router)
    if r is None or r.role != "pe":
        raise OnrampError("ONR-REQ-011", f"{router} is not a PE of the inventory",
                          "name a PE from 'onramp inventory show'", field="router")  # fmt: skip


def _on(svc: Service, router: str) -> list[ConnectorView]:
    """The live Connectors with a leg on the router, oldest first."""
    with svc.store.session() as s:
        rows = s.scalars(
            select(ConnectorRow)
            .where(ConnectorRow.id.in_(
                select(AttachmentRow.connector_id).where(AttachmentRow.router == router)))
            .where(ConnectorRow.state.not_in([State.DELETED.value, State.FAILED.value]))
            .order_by(ConnectorRow.number)
        ).all()  # fmt: skip
        return [connector_view(r, svc.backbone) for r in rows]


def _links(svc: Service, connector: str) -> list[dict[str, Any]]:
    with svc.store.session() as s:
        rows = s.scalars(
            select(LinkRow)
            .where((LinkRow.a_id == connector) | (LinkRow.b_id == connector))
            .where(LinkRow.state == State.ACTIVE.value)
            .order_by(LinkRow.number)
        ).all()
        return [{"id": lk.id, "other": lk.b_id if lk.a_id == connector else lk.a_id,
                 "bandwidth_mbps": lk.bandwidth_mbps, "sla_class": lk.sla_class} for lk in rows]  # fmt: skip


def _order(c: ConnectorView) -> dict[str, Any]:
    """The old Connector's order again, as the replacement's (same customer facts)."""
    return {**c["request"], "idempotency_key": f"drain:{c['id']}"}


def _plan(svc: Service, router: str, c: ConnectorView, edge: EdgeContext | None) -> DrainMove:
    move: DrainMove = {
        "connector": c["id"],
        "onramp": c["onramp"],
        "state": c["state"],
        "from": _legs(c),
        "links": [lk["id"] for lk in _links(svc, c["id"])],
        "to": None,
        "blocked": None,
    }
    if c["state"] != MOVABLE:
        move["blocked"] = f"state {c['state']}: only active Connectors move"
        return move
    try:
        new = plan_connector_off(svc.store, svc.backbone, svc.connector_request(_order(c)),
                                 svc.vault, router, edge)  # fmt: skip
    except OnrampError as exc:
        move["blocked"] = f"{exc.code}: {exc.reason}"
        return move
    move["to"] = _legs(new)
    if "explain" in new:
        move["explain"] = new["explain"]
    if any(a["router"] == router for a in new["attachments"]):
        # a replacement already made by an earlier run but placed here: cannot be
        move["blocked"] = "its replacement is on the same router"
    return move


def _legs(c: ConnectorView) -> list[str]:
    return [f"{a['router']} {a['interface']}" for a in c["attachments"]]


def _move(svc: Service, orch: Orchestrator, move: DrainMove, progress: Progress) -> None:
    old = svc.connector(move["connector"])
    new = svc.create_connector(svc.connector_request(_order(old)))
    move["replacement"] = new["id"]
    make: list[tuple[str, str]] = [("connector", new["id"])]  # each to active, in this order
    brk: list[tuple[str, str]] = []  # then each to deleted
    for lk in _links(svc, old["id"]):
        made = svc.create_link(svc.link_request({
            "tenant": old["tenant"], "a": new["id"], "b": lk["other"],
            "bandwidth_mbps": lk["bandwidth_mbps"], "sla_class": lk["sla_class"],
            "idempotency_key": f"drain:{lk['id']}"}))  # fmt: skip
        make.append(("link", made["id"]))
        brk.append(("link", lk["id"]))
    brk.append(("connector", old["id"]))
    for goal, steps in (("active", make), ("deleted", brk)):
        if goal == "deleted":  # the new paths are verified: let traffic leave the old one
            orch.quiesce(old["id"])
            progress(f"connector {old['id'][:8]} quiesced: it announces nothing")
        for kind, ident in steps:
            if goal == "deleted" and orch.state(kind, ident) != "deleted":
                orch.decommission(kind, ident)
            done = drive(orch, kind, ident, progress)
            if done["state"] != goal:
                reason = done["history"][-1]["reason"]
                move["result"] = f"stopped: {kind} {ident[:8]} ended {done['state']}: {reason}"
                progress(move["result"])
                return
    move["result"] = "moved"
    progress(f"connector {old['id'][:8]} moved to {new['id'][:8]} ({', '.join(_legs(new))})")


def _set_state(svc: Service, router: str, state: str, reason: str) -> None:
    svc.store.transact(lambda s: s.merge(RouterStateRow(router=router, state=state, reason=reason)))
