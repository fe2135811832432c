"""Apply a stored plan: exactly its candidates, with commit-confirm on every router; the
pyATS gate judges them; pass: confirm, fail: roll back and check each router is as before.
Refused when a router moved since the plan. Here a service becomes `active` (or, removed,
`allocated` again).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from ipaddress import IPv4Interface
from typing import Any

from nornir.core import Nornir
from sqlalchemy import select

from onramp.core.errors import OnrampError
from onramp.core.model import ChangeRecord, Connector, State, allowed
from onramp.core.shapes import DeviceOutcome, Expectations, Expected, PlanView, Present
from onramp.core.store import AttachmentRow, ConnectorRow, PlanRow, move, now
from onramp.csp import constraints
from onramp.flow import compliance, render
from onramp.flow.change import far_ends, filters_change
from onramp.flow.kinds import spec_of
from onramp.flow.plan import (
    change_of,
    deployable,
    nornir_for,
    outcome_of,
    raise_failed,
    show_plan,
    target_of,
    view_of,
)
from onramp.flow.service import Service, _find
from onramp.flow.views import connector_view, vrf_name
from onramp.network.platforms import PLATFORMS
from onramp.tasks.config import confirm, deploy_config, refresh_filters, rollback
from onramp.validation import bgp_gate
from onramp.validation.bgp_gate import Evidence
from onramp.validation.collect import poller, snapshot

DEFAULT_REVERT_S = 120  # the router reverts by itself if nobody confirms within this
DEFAULT_CHECK_S = 60  # how long the post-commit check waits for BGP to come up


def apply_plan(
    svc: Service,
    ident: str,
    revert_in: int = DEFAULT_REVERT_S,
    check_timeout: float = DEFAULT_CHECK_S,
    nornir: Nornir | None = None,
    actor: str = "onramp",
    success_state: State | None = None,
    recheck: bool = True,
    progress: Callable[[str], None] = lambda _: None,
    holder: str | None = None,
    discarded: bool = False,
) -> PlanView:
    """Apply exactly the stored candidates on all the plan's routers in parallel.

    Every router: refuse if its running config moved since the plan; commit with a
    confirm timer. Then the pyATS gate (validation/bgp_gate) judges all of them at once:
    the new sessions Established with their prefixes, a Link's routes present, no other
    session disturbed. Pass: confirm everywhere; fail: roll every router back and check
    it is as before. The service's state follows (only while `holder`, a worker's lease,
    still holds it: store.move). `discarded`: the caller ended every unconfirmed commit on
    these routers just now (tasks/config.py: deploy_config).
    """
    if revert_in < check_timeout + 10:  # the hint: "at least the check timeout + 10 s"
        raise OnrampError(
            "ONR-PLAN-005",
            f"revert_in {revert_in}s leaves no room after a {check_timeout:.0f}s check",
            field="revert_in",
        )
    with svc.store.session() as s:
        p = _find(s, PlanRow, ident, "plan", "ONR-PLAN-001")
        if p.state != "planned":
            raise OnrampError("ONR-PLAN-003", f"plan {p.id} is {p.state}")
        plan = view_of(p)
        candidates: dict[str, str] = json.loads(svc.vault.decrypt(p.candidates))
        deployable(svc, candidates, f"plan {p.id[:8]}")  # a plan made before the check
        row, _, _ = target_of(s, svc, p.target_kind, p.target_id)  # raises unless allocated
        to = success_state or _applied_state(p.action)
        if row is not None and row.state != to.value and not allowed(row.state, to.value):
            # refused before any router changes: the state could not follow the routers
            raise OnrampError("ONR-STATE-001", f"{p.target_kind} {row.id} is {row.state}: "
                              f"plan {p.id[:8]} ({p.action}) would make it {to.value}")  # fmt: skip
        per_router = render.services(
            s, svc.backbone, svc.vault, candidates, change_of(p.target_kind, p.target_id, p.action)
        )
        refresh = _filters_of(s, svc, plan)
    secrets = [k for r in per_router.values() for k in r.secrets]
    expected = {h: d["running_sha256"] for h, d in plan["devices"].items()}
    nr = (nornir or nornir_for(svc)).filter(filter_func=lambda h: h.name in candidates)
    evidence = Evidence(before=snapshot(nr), **_expectations(svc, plan))
    result = nr.run(
        task=deploy_config,
        candidates=candidates,
        expected_sha256=expected,
        diffs={h: d["diff"] for h, d in plan["devices"].items()},
        revert_in=revert_in,
        secrets=secrets,
        discarded=discarded,
    )
    outcome: dict[str, DeviceOutcome] = {h: outcome_of(r[0], secrets) for h, r in result.items()}
    committed = [h for h, o in outcome.items() if o["state"] == "pending"]
    failed = {h: o for h, o in outcome.items() if o["state"] == "failed"}
    for h, o in sorted(outcome.items()):
        progress(f"{h}: " + {"pending": f"committed (reverts by itself in {revert_in}s)",
                             "unchanged": "no change"}.get(o["state"], f"failed: {o.get('reason')}")
                 + (f"; {o['note']}" if o.get("note") else ""))  # fmt: skip
    if not failed and committed and refresh:
        raise_failed(nr.filter(filter_func=lambda h: h.name in committed)
                     .run(task=refresh_filters, vrfs=refresh), secrets, "ONR-DEPLOY-001")  # fmt: skip
    # A service deployed while nothing changed (another plan carried its config: a plan
    # renders every Connector its routers carry) is judged too before it is called active;
    # nothing to confirm then, nor to roll back.
    judged = committed or (sorted(outcome) if _deploys_service(plan) else [])
    if not failed and judged:
        # the gate judges every touched router at once; only a pass confirms
        progress(f"gate: waiting up to {check_timeout:.0f}s for BGP on {', '.join(judged)}")
        verdict = bgp_gate.run(evidence, collector=poller(nr, check_timeout))
        if verdict.passed:
            progress("gate passed")
            if committed:
                on = nr.filter(filter_func=lambda h: h.name in committed)
                raise_failed(on.run(task=confirm), secrets, "ONR-DEPLOY-001")
                for h in committed:
                    outcome[h]["state"] = "committed"
                progress(f"confirmed on {', '.join(committed)}")
        else:
            progress(f"gate {verdict.result}")
            why = "; ".join(verdict.findings) or "see the gate's log (a section errored)"
            reason = f"pyATS gate {verdict.result}: {why}"
            for h in judged:
                outcome[h] |= {"state": "failed", "code": "ONR-DEPLOY-003", "reason": reason}
            failed = {h: outcome[h] for h in judged}
    refused = failed and all(o["code"] == "ONR-PLAN-002" for o in failed.values())
    state = "refused" if refused else "failed" if failed else "applied"
    if failed:
        # the routers that did commit go back too: a service is all or nothing
        _undo(nr, committed, outcome, expected)
        if refresh:  # the old filters applied again, as the new ones were
            nr.filter(filter_func=lambda h: h.name in committed).run(
                task=refresh_filters, vrfs=refresh)  # fmt: skip
        for h in committed:
            progress(f"{h}: {outcome[h]['state'].replace('_', ' ')}")

    def record(s: Any) -> None:
        row = s.get(PlanRow, plan["id"])
        row.state, row.result, row.applied_at = state, {"devices": outcome}, now()
        if state == "applied" and row.target_kind != "router":
            target = s.get(
                spec_of(row.target_kind).row, row.target_id, with_for_update=holder is not None
            )  # the lease checked: held
            to = success_state or _applied_state(row.action)
            if target.state != to.value:
                move(s, target, to.value, actor, f"plan {row.id[:8]} applied", holder)

    svc.store.transact(record)
    if state == "applied" and recheck:  # else the caller has it done (`recheck_plan`)
        _check_compliance(svc, nr, plan)
    done = show_plan(svc, plan["id"])
    if failed:
        first = next(iter(failed.values()))
        raise OnrampError(
            first["code"],
            f"plan {plan['id'][:8]} {state}: "
            + "; ".join(f"{h}: {o['reason']}" for h, o in failed.items()),
        )
    return done


def _deploys_service(plan: PlanView) -> bool:
    """A plan that makes a Connector or Link active: its sessions are judged even when it
    changes no router (a router's remediation changing nothing has nothing to judge)."""
    return plan["action"] == "deploy" and plan["target_kind"] != "router"


def _applied_state(action: str) -> State:
    """What an applied plan makes its Connector or Link (unless the caller says)."""
    return State.ALLOCATED if action == "remove" else State.ACTIVE


def recheck_plan(svc: Service, ident: str, nornir: Nornir | None = None) -> bool:
    """Compliance again on an applied plan's routers (the workers' queued re-check).
    False when one of them is busy with another change: ask again later. Busy is read
    from the store before any router is: a router mid-change would be judged busy anyway,
    and reading every router again each time took CPU and SSH sessions from that change."""
    plan = show_plan(svc, ident)
    change = change_of(plan["target_kind"], plan["target_id"], plan["action"])
    busy = compliance.changing(svc, sorted(plan["devices"]), compliance.touched(change))
    if busy:
        _keep_compliance(svc, plan, {r: f"busy: {why}" for r, why in busy.items()})
        return False
    nr = (nornir or nornir_for(svc)).filter(filter_func=lambda h: h.name in plan["devices"])
    return _check_compliance(svc, nr, plan)


def _check_compliance(svc: Service, nr: Nornir, plan: PlanView) -> bool:
    """Compliance again on the routers a deploy changed; the plan keeps each one's score,
    or what keeps it from being judged (another change in flight, an error). A failing
    check is recorded; it does not undo a confirmed commit. False if a router was busy."""
    try:
        change = change_of(plan["target_kind"], plan["target_id"], plan["action"])
        report = compliance.run(svc, nr, sorted(nr.inventory.hosts), change)
        scores: dict[str, float | str | None] = {
            r: d.get("score", f"busy: {d['busy']}" if "busy" in d else d.get("error"))
            for r, d in report["routers"].items()
        }
    except Exception as exc:  # the commit stands; say why the check could not run
        scores = {"error": f"{type(exc).__name__}: {exc}"[:300]}
    _keep_compliance(svc, plan, scores)
    return not any(isinstance(v, str) and v.startswith("busy") for v in scores.values())


def _keep_compliance(svc: Service, plan: PlanView, scores: dict[str, float | str | None]) -> None:
    def keep(s: Any) -> None:
        row = s.get(PlanRow, plan["id"])
        row.result = {**row.result, "compliance": scores}

    svc.store.transact(keep)


def _expectations(svc: Service, plan: PlanView) -> Expectations:
    """What the gate must see after this plan: a Connector deployed, its sessions up with
    its prefixes; a Link deployed, each end's prefixes in the other end's VRF with a valid
    best path; removed, its sessions gone; quiesced, nothing new (and, always, every other
    session as it was)."""
    sessions: Expected = {}
    present: Present = {}
    rates: dict[str, dict[str, int]] = {}
    filters: dict[str, dict[str, dict[str, list[str]]]] = {}
    covered: Present = {}
    segments: dict[str, dict[str, list[str]]] = {}
    own_sessions = True  # a router's remediation: the sessions of the Connectors it carries
    with svc.store.session() as s:
        if plan["target_kind"] == "router":  # every Connector it carries: up, as intended
            carried = select(AttachmentRow.connector_id).where(
                AttachmentRow.router == plan["target_id"]
            )
            ends: list[ConnectorRow | None] = list(s.scalars(select(ConnectorRow).where(
                ConnectorRow.id.in_(carried),
                ConnectorRow.state.in_([x.value for x in render.CONFIGURED]))))  # fmt: skip
        else:
            spec = spec_of(plan["target_kind"])
            row = _find(s, spec.row, plan["target_id"], plan["target_kind"])
            ends, own_sessions = spec.ends(s, row), spec.has_sessions
            segments = spec.segments(s, svc.backbone, row)
            if plan["action"] == "change":
                rates, filters, covered = _changed(svc, s, plan["target_kind"], row)
        views = [Connector.model_validate(connector_view(e, svc.backbone)) for e in ends if e]
    if plan["action"] == "quiesce":
        return {"expected": {}}  # every session, its own included, stays as it was
    if plan["action"] == "change":
        # every session, its own included, stays up and never drops; each shaped device of
        # it is read back at the new rate; each of its sessions accepts only its new
        # prefixes, and those let in reach its VRF and its Links' far VRFs
        return {"expected": {}, "rates": rates, "filters": filters, "covered": covered}
    if not own_sessions and plan["action"] != "deploy":
        # a Link taken away takes its segment sessions (if any); the clouds' stay up
        gone: Expected = {
            r: {v: {p: {} for p in ps} for v, ps in vrfs.items()} for r, vrfs in segments.items()
        }
        return {"expected": {}, "removing": gone}
    for c in views:
        limit = constraints.for_provider(svc.backbone.catalogue.onramps[c.onramp].provider)
        for a in c.attachments:
            if plan["target_kind"] == "router" and a.router != plan["target_id"]:
                continue  # a remediation judges the router it changes
            allowed = [str(p) for p in c.request.get("prefixes", [])]
            sessions.setdefault(a.router, {}).setdefault(c.vrf, {})[str(a.peer_address.ip)] = {
                # none declared: the router's filter accepts no route, so none is awaited
                "min_prefixes": 1 if allowed else 0,
                "max_prefixes": limit.max_prefixes,
                "allowed": allowed,
            }
    if not own_sessions and plan["action"] == "deploy":
        for c, other in ((views[0], views[1]), (views[1], views[0])):
            for a in c.attachments:
                present.setdefault(a.router, {})[c.vrf] = [
                    str(p) for p in other.request.get("prefixes", [])
                ]
        return {"expected": {}, "present": present}
    if plan["action"] == "deploy":
        return {"expected": sessions}
    return {"expected": {}, "removing": sessions}


def _changed(svc: Service, s: Any, kind: str, row: Any) -> tuple[
    dict[str, dict[str, int]], dict[str, dict[str, dict[str, list[str]]]], Present
]:  # fmt: skip
    """What a change in place must show (its record says what moved): the rates, read back;
    each session's filter; the prefixes let in, covered in its VRF and the far VRFs (going
    forward only: back, what the old list let in need not be announced any more)."""
    record = ChangeRecord.model_validate(row.change) if row.change else None
    rates = _rates(svc, s, kind, row) if record is None or record.to_mbps is not None else {}
    filters: dict[str, dict[str, dict[str, list[str]]]] = {}
    covered: Present = {}
    if kind != "connector" or record is None or record.to_prefixes is None:
        return rates, filters, covered
    allowed = [str(p) for p in row.request.get("prefixes", [])]
    vrf = vrf_name(row)
    for a in row.attachments:
        peer = str(IPv4Interface(a.peer_address).ip)
        filters.setdefault(a.router, {}).setdefault(vrf, {})[peer] = allowed
    added = record.added if record.outcome is None else []
    if added:
        for a in row.attachments:
            covered.setdefault(a.router, {})[vrf] = added
        for far in far_ends(s, row):
            for a in far.attachments:
                covered.setdefault(a.router, {})[vrf_name(far)] = added
    return rates, filters, covered


def _filters_of(s: Any, svc: Service, plan: PlanView) -> dict[str, list[str]]:
    """router -> the VRFs whose prefix filters a prefix change moves: its own VRF on its PEs,
    its Links' far VRFs on theirs (what they send their clouds, and take on the segments)."""
    if plan["action"] != "change" or plan["target_kind"] != "connector":
        return {}
    row = _find(s, ConnectorRow, plan["target_id"], "connector")
    if not filters_change(row):
        return {}
    out: dict[str, list[str]] = {}
    for end in [row, *far_ends(s, row)]:
        for a in end.attachments:
            out.setdefault(a.router, []).append(vrf_name(end))
    return out


def _rates(svc: Service, s: Any, kind: str, row: Any) -> dict[str, dict[str, int]]:
    """router -> "<vrf> <device>" -> Mb/s: the devices that carry its guaranteed rate (a
    Connector's attachments; a Link's segment in each end's VRF, where there is one)."""
    out: dict[str, dict[str, int]] = {}
    if kind == "connector":
        for a in row.attachments:
            name = PLATFORMS[svc.backbone.routers[a.router].platform].subinterface_name(
                a.port, a.vlan, a.inner_vlan
            )
            out.setdefault(a.router, {})[f"{vrf_name(row)} {name}"] = row.bandwidth_mbps
        return out
    for vrf, routers in render.segment_vrfs(s, svc.backbone, row).items():
        for router in routers:
            out.setdefault(router, {})[f"{vrf} vpn{row.number}"] = row.bandwidth_mbps
    return out


def _undo(
    nr: Nornir, hosts: list[str], outcome: dict[str, DeviceOutcome], before: dict[str, str]
) -> None:
    """Roll the committed routers back and check each is exactly as before (its hash)."""
    if not hosts:
        return
    res = nr.filter(filter_func=lambda h: h.name in hosts).run(task=rollback)
    for host, r in res.items():
        back = not r.failed and r[0].result["sha256"] == before[host]
        outcome[host]["state"] = "rolled_back" if back else "rollback_failed"
        if not back:
            outcome[host] |= {"code": "ONR-DEPLOY-004", "reason": "rollback did not restore it"}
