"""Provision a Connector, create a Link, decommission either: dry-run by default.

A dry run writes nothing at the providers or on the routers and shows what would happen
(the allocation, the request a provider would get with the key masked, the routers'
diffs for a removal). With `apply=True` the runbook runs the state machine's steps in this
process (onramp.flow.orchestrate, the same steps a worker runs), reporting each state as it is
reached, and returns the result with its history.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from onramp.core.model import RELEASED_STATES
from onramp.csp.adapter import Adapter
from onramp.csp.registry import peering_request
from onramp.flow.allocate import plan_decommission
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.plan import make_plan
from onramp.flow.service import Service

Progress = Callable[[str], None]


def orchestrator(svc: Service, adapters: dict[str, Adapter] | None = None) -> Orchestrator:
    """The engineer's own hands: actor runbook:<user>; adapters from config.yaml's csp:."""
    return Orchestrator.from_settings(svc, f"runbook:{getpass.getuser()}", adapters)


def provision_connector(
    svc: Service, order: dict[str, Any], apply: bool, orch: Orchestrator, progress: Progress
) -> dict[str, Any]:
    req = svc.connector_request(order)
    if not apply:
        plan = svc.plan_connector(req)
        asked = asdict(peering_request(plan, "<masked>" if plan["md5_key"] else None))
        return {"dry_run": True, "connector": plan, "provider_request": asked}
    c = svc.create_connector(req)
    progress(f"connector {c['id'][:8]} allocated")
    return drive(orch, "connector", c["id"], progress)


def create_link(
    svc: Service, order: dict[str, Any], apply: bool, orch: Orchestrator, progress: Progress
) -> dict[str, Any]:
    req = svc.link_request(order)
    if not apply:
        return {"dry_run": True, "link": svc.plan_link(req)}
    link = svc.create_link(req)
    progress(f"link {link['id'][:8]} allocated")
    return drive(orch, "link", link["id"], progress)


def decommission(
    svc: Service, kind: str, ident: str, apply: bool, orch: Orchestrator, progress: Progress
) -> dict[str, Any]:
    """The dry run: what would be removed (the routers' removal diffs, the provider's
    resource), refused as the real one would be (a Connector in live Links); nothing changes
    but a stored plan. Applied: marked decommissioning (the one way, allocate.decommission)
    and driven here to deleted: routers, then provider, then the allocation released."""
    view = svc.view(kind, ident)
    full = view["id"]
    if not apply:
        plan_decommission(svc.store, kind, full)  # refuses as the real one would
        done = {"dry_run": True, "kind": kind, "id": full, "state": view["state"]}
        if view["state"] in RELEASED_STATES:
            return {**done, "router_diffs": {}, "provider_resource": None}
        plan = make_plan(svc, kind, full, "remove")
        diffs = {r: d["diff"] for r, d in plan["devices"].items()}
        return {**done, "router_diffs": diffs, "provider_resource": view.get("csp_resource")}
    orch.decommission(kind, full)
    return drive(orch, kind, full, progress)


def drive(orch: Orchestrator, kind: str, ident: str, progress: Progress) -> dict[str, Any]:
    """Run the state machine's steps for one Connector or Link until it settles."""
    state = orch.drive(
        kind, ident, poll_s=0.5, progress=lambda s: progress(f"{kind} {ident[:8]} {s}")
    )
    view = orch.svc.view(kind, ident)
    return {"dry_run": False, "state": state, kind: view, "history": orch.history(kind, ident)}
