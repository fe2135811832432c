"""Plan: the intended config of every router a service touches (onramp.flow.render),
diffed on the routers in parallel (tasks.config.diff_config, a dry run), stored with each
running config's hash and the allocation it came from. onramp.flow.apply applies exactly it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from nornir.core import Nornir
from nornir.core.task import AggregatedResult
from sqlalchemy import select

from onramp.core.errors import Code, OnrampError
from onramp.core.model import RELEASED_STATES, State
from onramp.core.secrets import mask
from onramp.core.shapes import DeviceDiff, DeviceOutcome, PlanTarget, PlanView, RouterTarget
from onramp.core.store import ConnectorRow, PlanRow
from onramp.flow import render
from onramp.flow.change import far_routers, filters_change
from onramp.flow.kinds import spec_of
from onramp.flow.service import Service, _find
from onramp.network.inventory.plugin import init_nornir
from onramp.network.platforms import refuse_undeployable
from onramp.tasks.config import diff_config
from onramp.tasks.failure import failed
from onramp.tasks.render import render_config


def nornir_for(svc: Service) -> Nornir:
    return init_nornir(svc.settings)


def change_of(kind: str, ident: str, action: str) -> render.Change:
    ids = frozenset({ident})
    if kind == "router":  # remediation: the router as the store says it should be
        return render.Change()
    if action == "quiesce":
        return render.Change(quiesce_connectors=ids)
    if action == "change":  # a live one at its stored (new) bandwidth: on the routers as it is
        return render.Change()
    spec = spec_of(kind)
    return spec.deploy(ids) if action == "deploy" else spec.remove(ids)


def target_of(s: Any, svc: Service, kind: str, ident: str) -> tuple[Any, PlanTarget, set[str]]:
    """The row, its view, and the routers it touches (a Link: both Connectors' PEs; a
    Connector whose prefixes change: also its Links' far PEs; a router's remediation: that
    router)."""
    if kind == "router":
        if ident not in svc.backbone.routers:
            raise OnrampError("ONR-PLAN-001", f"router {ident} is not in the inventory")
        return None, RouterTarget(router=ident), {ident}
    spec = spec_of(kind)
    row = _find(s, spec.row, ident, kind)
    view: PlanTarget = spec.view(row, svc.backbone)
    routers = spec.routers(s, row)
    if isinstance(row, ConnectorRow) and filters_change(row):
        routers |= far_routers(s, row)
    if State(row.state) in RELEASED_STATES:
        raise OnrampError("ONR-PLAN-004", f"{kind} {row.id} is {row.state}")
    return row, view, routers


def deployable(svc: Service, routers: Iterable[str], what: str) -> None:
    """ONR-PLAT-001 unless every router's platform takes a safe deploy (commit-confirm,
    then the gate): a plan is made to be applied."""
    refuse_undeployable({r: svc.backbone.routers[r].platform for r in routers}, what)


def make_plan(
    svc: Service, kind: str, ident: str, action: str = "deploy", nornir: Nornir | None = None
) -> PlanView:
    """Render, diff on the routers (dry run: nothing changes), store. Returns the plan."""
    with svc.store.session() as s:
        row, view, routers = target_of(s, svc, kind, ident)
        target_id = ident if row is None else row.id
        deployable(svc, routers, f"{kind} {target_id}")  # before connecting to any router
        change = change_of(kind, target_id, action)
        per_router = render.services(s, svc.backbone, svc.vault, routers, change)
    secrets = [k for r in per_router.values() for k in r.secrets]
    nr = (nornir or nornir_for(svc)).filter(filter_func=lambda h: h.name in routers)
    rendered = nr.run(task=render_config, backbone=svc.backbone, services=per_router)
    raise_failed(rendered, secrets, "ONR-TPL-001")
    candidates = {host: r[0].result for host, r in rendered.items()}
    result = nr.run(task=diff_config, candidates=candidates, secrets=secrets)
    raise_failed(result, secrets, "ONR-DEPLOY-001")
    devices: dict[str, DeviceDiff] = {
        host: {
            "platform": svc.backbone.routers[host].platform,
            "diff": r[0].result["diff"],
            "running_sha256": r[0].result["running_sha256"],
        }
        for host, r in result.items()
    }
    plan = PlanRow(
        id=str(uuid.uuid4()),
        target_kind=kind,
        target_id=target_id,
        action=action,
        state="planned",
        target=view,
        devices=devices,
        candidates=svc.vault.encrypt(json.dumps(candidates)),
    )
    svc.store.transact(lambda s: s.add(plan))
    return show_plan(svc, plan.id)


def show_plan(svc: Service, ident: str) -> PlanView:
    with svc.store.session() as s:
        p = _find(s, PlanRow, ident, "plan", "ONR-PLAN-001")
        return view_of(p)


def list_plans(svc: Service, limit: int = 50) -> list[PlanView]:
    with svc.store.session() as s:
        rows = s.scalars(select(PlanRow).order_by(PlanRow.created_at.desc()).limit(limit))
        return [view_of(p) for p in rows]


def view_of(p: PlanRow) -> PlanView:
    return {
        "id": p.id,
        "target_kind": p.target_kind,
        "target_id": p.target_id,
        "action": p.action,
        "state": p.state,
        "created_at": p.created_at.isoformat() if p.created_at else None,
        "applied_at": p.applied_at.isoformat() if p.applied_at else None,
        "target": p.target,
        "devices": p.devices,
        "result": p.result,
    }


def outcome_of(r: Any, secrets: list[str], default: Code = "ONR-DEPLOY-002") -> DeviceOutcome:
    """A host's result as stored and shown: its state, or the error's code and reason."""
    if not r.failed:
        done: DeviceOutcome = {"state": r.result["state"], "diff": r.result["diff"]}
        if r.result.get("note"):
            done["note"] = r.result["note"]
        return done
    code, reason = failed(r, default)
    return {"state": "failed", "code": code, "reason": mask(reason, secrets)}


def raise_failed(result: AggregatedResult, secrets: list[str], default: Code) -> None:
    failed = {h: outcome_of(r[0], secrets, default) for h, r in result.items() if r.failed}
    if failed:
        first = next(iter(failed.values()))
        raise OnrampError(
            first["code"], "; ".join(f"{h}: {o['reason']}" for h, o in failed.items())
        )
