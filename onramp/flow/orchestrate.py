"""The provisioning state machine: one step at a time, resumable by any worker.

    requested -> validated -> allocated -> csp_requested -> awaiting_customer
    (or awaiting_ticket) -> configuring -> verifying -> active;
    any failure -> rolling_back -> failed (with the reason);
    any held state (allocated on) -> decommissioning -> deleted: routers, provider, release.
    (onramp.core.model.TRANSITIONS: every change allowed; store.move refuses any other.)

`advance(kind, id)` takes a lease on the row (so two workers never run one Connector at
once), renews it from a heartbeat thread while the step runs (a dead worker's runs out in
`lease_s`), runs the step for the state it finds, and commits the transition with the
step's outcome, only while it still holds the lease (fencing: a worker paused past its
lease, whose work another took over, commits nothing). A transient failure is tried again
after an exponential backoff with jitter, `retry_max` times, then rolled back.
Every step is idempotent: the CSP call is keyed by
the Connector and step (a retry finds what the first call made), `configuring` makes a
plan, `verifying` applies it with commit-confirm and the pyATS gate (a worker dying
mid-commit leaves an unconfirmed commit the router reverts by itself; the next worker
discards it and plans again). The database is the truth: a queue message only says
"advance X".
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from nornir.core import Nornir
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session as Db

from onramp.core.errors import Code, OnrampError
from onramp.core.model import SETTLED, ChangeRecord, State
from onramp.core.settings import WorkerSettings
from onramp.core.shapes import (
    BgpSession,
    ConnectorView,
    TransitionView,
)
from onramp.core.store import (
    PlanRow,
    RouterLockRow,
    TransitionRow,
    move,
    now,
)
from onramp.csp import registry
from onramp.csp.adapter import Adapter, CspState
from onramp.csp.registry import peering_request
from onramp.flow import change
from onramp.flow.allocate import decommission
from onramp.flow.apply import apply_plan, recheck_plan
from onramp.flow.kinds import spec_of
from onramp.flow.plan import make_plan, nornir_for, target_of
from onramp.flow.service import Service
from onramp.network.platforms import undeployable
from onramp.tasks.config import discard_unconfirmed
from onramp.tasks.failure import failure
from onramp.validation.collect import snapshot

log = logging.getLogger(__name__)
S = State
WAITING = frozenset({S.CSP_REQUESTED, S.AWAITING_CUSTOMER, S.AWAITING_TICKET})
# errors worth another try later: the provider or a router was unreachable
TRANSIENT = frozenset(
    {"ONR-CSP-002", "ONR-DEPLOY-001", "ONR-DEPLOY-006", "ONR-ALLOC-004", "ONR-STORE-001"}
)
BUSY = "ONR-DEPLOY-006"  # a router held by another change: wait, it is no failure
CSP_STATE = {
    CspState.AWAITING_CUSTOMER: S.AWAITING_CUSTOMER,
    CspState.AWAITING_TICKET: S.AWAITING_TICKET,
    CspState.PROVISIONING: S.CSP_REQUESTED,
    CspState.READY: S.CONFIGURING,
    # provisioned, its BGP down: it waits for our side (AWS shows a new VIF `down`, IBM a
    # new gateway's BGP `idle`, until the session is up). Seen only while we wait for the
    # provider (`_csp_wait`): the gate then judges the session. DOWN (the resource itself
    # down) keeps it waiting
    CspState.BGP_DOWN: S.CONFIGURING,
}


def worker_name() -> str:
    return f"worker:{socket.gethostname()}:{os.getpid()}"


# the lease was taken over while the step ran: its commit was refused (fencing)
LOST: Code = "ONR-STATE-002"


@dataclass
class Timings:
    lease_s: float = 15  # renewed every third of it while a step runs (the heartbeat)
    awaiting_s: float = 7 * 24 * 3600  # the customer's (or the ticket's) time to answer
    revert_in_s: int = 120  # the routers' confirm timer
    check_timeout_s: float = 60  # how long the gate waits for BGP
    retry_max: int = 8  # tries of a step failing with a transient error, then roll back
    retry_base_s: float = 2.0
    retry_cap_s: float = 300.0

    @classmethod
    def of(cls, w: WorkerSettings) -> Timings:
        return cls(w.lease_s, w.awaiting_s, w.revert_in_s, w.check_timeout_s, w.retry_max,
                   w.retry_base_s, w.retry_cap_s)  # fmt: skip

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds before try `attempt` + 1: base * 2^(attempt-1), capped, of which the
        upper half at random ("equal jitter": workers that failed together spread out, and a
        delay is never shorter than half the previous one's ceiling, so they still grow)."""
        ceiling = min(self.retry_cap_s, self.retry_base_s * 2.0 ** (attempt - 1))
        return float(ceiling / 2 + rand() * ceiling / 2)


@dataclass
class Orchestrator:
    svc: Service
    adapters: dict[str, Adapter]  # registry.adapter_key -> its adapter (registry.adapters)
    actor: str = field(default_factory=worker_name)
    timings: Timings = field(default_factory=Timings)
    # an applied plan's compliance re-check: None, at once (the caller waits); else handed
    # the plan's id (the workers queue it, so a customer's order does not wait for it)
    audit: Callable[[str], None] | None = None
    # each thread's Nornir: its SSH connections kept from one step to the next (`_nornir`)
    _local: threading.local = field(default_factory=threading.local, repr=False, compare=False)

    @classmethod
    def from_settings(
        cls, svc: Service, actor: str | None = None, adapters: dict[str, Adapter] | None = None
    ) -> Orchestrator:
        """Adapters from config.yaml's `csp:` (unless given), timings from its `worker:`."""
        if adapters is None:
            adapters = registry.adapters(svc.settings.csp, svc.backbone, svc.store, svc.vault)
        return cls(svc, adapters, actor or worker_name(), Timings.of(svc.settings.worker))

    # ------------------------------------------------------------ entry points
    def advance(self, kind: str, ident: str) -> str | None:
        """One step of one Connector or Link. Returns its state after the step, or None
        when another worker holds it or its retry is not due yet (`due_in`)."""
        if not self._lease(kind, ident):
            return None
        try:
            with self._heartbeat(kind, ident):
                return self._step(kind, ident)
        finally:
            self._unlease(kind, ident)

    def in_state_for(self, kind: str, ident: str) -> float:
        """Seconds since its last state change."""
        last = self._last(kind, ident)
        return 0.0 if last is None else max(0.0, (now() - last.at).total_seconds())

    def due_in(self, kind: str, ident: str) -> float:
        """Seconds until a failed step may be tried again (0: now)."""
        with self.svc.store.session() as s:
            at: datetime | None = _row(s, kind, ident).retry_at
        return 0.0 if at is None else max(0.0, (at - now()).total_seconds())

    def drive(
        self,
        kind: str,
        ident: str,
        poll_s: float = 1.0,
        timeout_s: float = 600,
        progress: Callable[[str], None] | None = None,
    ) -> str:
        """Advance until settled (active, failed, deleted), polling while it waits."""
        step = lambda: self.advance(kind, ident) or self.state(kind, ident)  # noqa: E731
        return self._until_settled(kind, ident, step, poll_s, timeout_s, progress, advancing=True)

    def watch(
        self,
        kind: str,
        ident: str,
        poll_s: float = 0.5,
        timeout_s: float = 600,
        progress: Callable[[str], None] | None = None,
    ) -> str:
        """Wait, without advancing anything, until the workers have settled it."""
        read = lambda: self.state(kind, ident)  # noqa: E731
        return self._until_settled(kind, ident, read, poll_s, timeout_s, progress, advancing=False)

    def _until_settled(
        self,
        kind: str,
        ident: str,
        next_state: Callable[[], str],
        poll_s: float,
        timeout_s: float,
        progress: Callable[[str], None] | None,
        advancing: bool,
    ) -> str:
        deadline = time.monotonic() + timeout_s
        last = ""
        while True:
            state = next_state()
            if progress is not None and state != last:
                progress(state)
            if S(state) in SETTLED:
                return state
            if time.monotonic() > deadline:
                raise OnrampError(
                    "ONR-CSP-004", f"{kind} {ident} still {state} after {timeout_s:g} s"
                )
            # advancing, a step that moved on goes straight to the next one
            if not advancing or state == last or S(state) in WAITING:
                time.sleep(poll_s)
            last = state

    def decommission(self, kind: str, ident: str) -> str:
        """Mark for decommissioning (allocate.decommission, the one way to remove); the
        `_decommission` step that follows does the work, handed to the workers at once."""
        state = decommission(self.svc.store, kind, ident, self.actor)
        self.svc.publish(kind, ident)  # committed: the workers take it from here
        return state

    def quiesce(self, ident: str, timeout_s: float = 30) -> None:
        """A Connector keeps its sessions but announces nothing either way; returns once its
        PEs send none of its routes, so traffic has left it for other paths: a drain's step
        between make and break. Undone by any later plan of its routers."""

        self._lock_routers("connector", ident)
        try:
            with self._heartbeat("connector", ident, row=False):  # the locks, while it waits
                self._quiesce(ident, timeout_s)
        finally:
            self._unlock_routers("connector", ident)

    def _quiesce(self, ident: str, timeout_s: float) -> None:
        nr = self._discard_unconfirmed("connector", ident)
        plan = make_plan(self.svc, "connector", ident, "quiesce", nornir=nr)
        if any(d["diff"].strip() for d in plan["devices"].values()):
            self._apply(plan["id"], nr, S(self.state("connector", ident)))
        vrf = self.svc.connector(ident)["vrf"]
        deadline = time.monotonic() + timeout_s
        while (sent := _sent(snapshot(nr), vrf)) and time.monotonic() < deadline:
            time.sleep(0.2)
        if sent:
            raise OnrampError("ONR-DEPLOY-003", f"vrf {vrf} still sends {sent} routes")

    def state(self, kind: str, ident: str) -> str:
        with self.svc.store.session() as s:
            return str(_row(s, kind, ident).state)

    def history(self, kind: str, ident: str) -> list[TransitionView]:
        return self.svc.history(kind, ident)

    # ------------------------------------------------------------ the steps
    def _step(self, kind: str, ident: str) -> str:
        state = S(self.state(kind, ident))
        # a Connector asks its provider first; a Link goes straight to its routers
        allocated = self._csp_request if spec_of(kind).calls_provider else self._to_configuring
        steps: dict[State, Callable[[str, str], None]] = {
            S.ALLOCATED: allocated,
            S.CSP_REQUESTED: self._csp_wait,
            S.AWAITING_CUSTOMER: self._csp_wait,
            S.AWAITING_TICKET: self._csp_wait,
            S.CONFIGURING: self._configure,
            S.VERIFYING: self._verify,
            S.ROLLING_BACK: self._roll_back,
            S.DECOMMISSIONING: self._decommission,
            S.MODIFYING: self._modify,
        }
        step = steps.get(state)
        if step is None:
            return state.value  # settled, or not the machine's to move
        try:
            step(kind, ident)
        except OnrampError as exc:
            self._forget_connections()  # a router may have failed mid-session: fresh ones
            if exc.code == LOST:  # another worker has it now: leave everything to it
                log.warning("%s %s: %s", kind, ident, exc.reason)
                return self.state(kind, ident)
            now_in = S(self.state(kind, ident))
            if exc.code == "ONR-STATE-001" and now_in != state:
                # taken away (decommissioned) while this step ran: the table refused the
                # step's move; the next step is the new state's (it holds the same locks)
                return now_in.value
            why = f"{exc.code}: {exc.reason}"
            log.warning("%s %s in %s: %s", kind, ident, state.value, why)
            if state == S.MODIFYING:
                return self._change_failed(kind, ident, exc.code, why)
            cleaning = state in (S.ROLLING_BACK, S.DECOMMISSIONING)
            if exc.code == BUSY:
                self._wait_for_router(kind, ident, why)
                return self.state(kind, ident)
            if exc.code in TRANSIENT or cleaning:
                # undoing never gives up (what it holds would leak): it keeps retrying, at
                # the cap; building gives up after retry_max tries and rolls back
                attempts = self._failed(kind, ident, why, give_up=not cleaning)
                if attempts is not None or cleaning:
                    return self.state(kind, ident)
                why = f"{why} (gave up after {self.timings.retry_max} tries)"
            self._go(kind, ident, S.ROLLING_BACK, why, keep=True)
        return self.state(kind, ident)

    def _wait_for_router(self, kind: str, ident: str, why: str) -> None:
        """Another change holds a router this one needs: a queue, not a failed try (50
        orders on one PE gave up after retry_max tries of waiting, the router healthy
        all along). Asked again after a short, jittered wait, never given up; the other
        change's router lock is a lease, so a dead holder's runs out."""
        me = self._me()

        def run(s: Db) -> None:
            row = _row(s, kind, ident, lock=True)
            if row.lease_owner != me:
                raise OnrampError(LOST, f"{kind} {ident}: {me} no longer holds it")
            delay = self.timings.backoff(1)  # the first try's wait, every time
            row.retry_at = now() + timedelta(seconds=delay)
            row.reason = f"waiting {delay:.1f} s for the router: {why}"[:1000]

        try:
            self.svc.store.transact(run)
        except OnrampError as exc:
            if exc.code != LOST:
                raise
            log.warning("%s %s: %s", kind, ident, exc.reason)

    def _failed(self, kind: str, ident: str, why: str, give_up: bool) -> int | None:
        """Count a failed try durably and set when the next may run (backoff); returns the
        tries so far, or None when that was the last one allowed (`give_up`)."""
        me = self._me()

        def run(s: Db) -> int | None:
            row = _row(s, kind, ident, lock=True)
            if row.lease_owner != me:
                raise OnrampError(LOST, f"{kind} {ident}: {me} no longer holds it")
            row.attempts += 1
            if give_up and row.attempts >= self.timings.retry_max:
                return None
            delay = self.timings.backoff(row.attempts)
            row.retry_at = now() + timedelta(seconds=delay)
            row.reason = f"retrying in {delay:.1f} s (try {row.attempts}): {why}"[:1000]
            return int(row.attempts)

        try:
            return self.svc.store.transact(run)
        except OnrampError as exc:
            if exc.code != LOST:
                raise
            log.warning("%s %s: %s", kind, ident, exc.reason)
            return 0

    def _csp_request(self, kind: str, ident: str) -> None:
        c = self.svc.connector(ident)
        adapter = self._adapter(c)
        if adapter is None:  # an enterprise cross-connect: nothing to ask a provider
            self._go(kind, ident, S.CONFIGURING, "no provider to call")
            return
        made = adapter.request(peering_request(c, self._key(ident)))
        # kept before the move: a decommission marked meanwhile refuses the move, and its
        # step must still find what to delete at the provider
        self._keep(kind, ident, csp_resource=made.resource_id)
        self._go(kind, ident, S.CSP_REQUESTED, f"{made.provider} {made.resource_id}")
        self._follow(kind, ident, made.state, made.provider_state)

    def _csp_wait(self, kind: str, ident: str) -> None:
        c = self.svc.connector(ident)
        adapter = self._adapter(c)
        assert adapter is not None, "only a provider's Connector waits for one"
        with self.svc.store.session() as s:
            row = _row(s, kind, ident)
            resource, state = row.csp_resource, S(row.state)
        if resource is None:  # made before a crash recorded its id: ask again (idempotent)
            self._csp_request(kind, ident)
            return
        current = adapter.status(resource)
        if current.state is CspState.PROVISIONING:
            # the provider's side is ours to finish (Azure's peering after its cross-connection,
            # a delegated VIF): this worker's adapter may not be the one that began it, and
            # carries on from the provider's state (request is idempotent: same resource)
            current = adapter.request(peering_request(c, self._key(ident)))
        if current.state in (CspState.REJECTED, CspState.DELETED, CspState.DELETING):
            raise OnrampError("ONR-CSP-005", f"{adapter.provider} {resource} is "
                              f"{current.provider_state}")  # fmt: skip
        if state in (S.AWAITING_CUSTOMER, S.AWAITING_TICKET) and self._waited(kind, ident):
            raise OnrampError("ONR-CSP-004", f"{adapter.provider} {resource} still "
                              f"{current.provider_state} after {self.timings.awaiting_s:g} s")  # fmt: skip
        self._follow(kind, ident, current.state, current.provider_state)

    def _follow(self, kind: str, ident: str, csp: CspState, word: str) -> None:
        to = CSP_STATE.get(csp)
        if to is not None and to.value != self.state(kind, ident):
            why = f"provider: {word}"
            if csp is CspState.BGP_DOWN:  # the provider's side up, waiting: not a fault
                why += " (its side is up; its BGP session waits for ours)"
            self._go(kind, ident, to, why)

    def _to_configuring(self, kind: str, ident: str) -> None:
        self._go(kind, ident, S.CONFIGURING, "ends are active")

    def _configure(self, kind: str, ident: str) -> None:
        """Plan under the routers' lock, which stays held until `_verify` has applied it:
        no other change can move those routers in between."""

        self._lock_routers(kind, ident)
        plan = make_plan(self.svc, kind, ident, nornir=self._nornir())
        self._go(kind, ident, S.VERIFYING, f"plan {plan['id']}")

    def _verify(self, kind: str, ident: str) -> None:
        plan_id = self._planned(kind, ident)
        if plan_id is None:  # the plan was applied or refused before a crash: plan again
            self._go(kind, ident, S.CONFIGURING, "no plan left to apply")
            return
        self._lock_routers(kind, ident)
        try:
            nr = self._discard_unconfirmed(kind, ident)
            self._apply(plan_id, nr)
        except OnrampError as exc:
            if exc.code == "ONR-PLAN-002":  # the routers moved since the plan: plan again
                self._go(kind, ident, S.CONFIGURING, f"{exc.code}: {exc.reason}")
                return
            raise
        finally:
            self._unlock_routers(kind, ident)

    def _modify(self, kind: str, ident: str) -> None:
        """A change in place (onramp.flow.change) carried out: the provider's side first
        where a rate changes there too, then the routers: plan (the rate's line, the
        prefix-list lines, on the far PEs of its Links too), commit-confirm, the gate (the
        new rate read back, the new prefixes' routes in, no session dropped), confirm ->
        active. Going back (the change failed: the store holds the old values again), the
        same with the old values.
        Resumable: a dead worker's unconfirmed commit is discarded and the plan made again."""
        with self.svc.store.session() as s:
            row = _row(s, kind, ident)
            record = ChangeRecord.model_validate(row.change)
        back = record.outcome == "rolled_back"
        if (not back and record.provider is None and record.to_mbps is not None
                and spec_of(kind).calls_provider):  # fmt: skip
            done = self._provider_change(ident, record.to_mbps)
            if done is not None:  # kept: a retry does not ask the provider again
                self._keep(kind, ident, change=record.model_copy(update={"provider": done})
                           .model_dump(mode="json"))  # fmt: skip
        self._lock_routers(kind, ident)
        try:
            nr = self._discard_unconfirmed(kind, ident)
            plan = make_plan(self.svc, kind, ident, "change", nornir=nr)
            if any(d["diff"].strip() for d in plan["devices"].values()):
                self._apply(plan["id"], nr, S.ACTIVE)
            else:  # the routers are so already (rolled back by the gate, or done)
                self._go(
                    kind, ident, S.ACTIVE, f"routers as stored ({self._mbps(kind, ident)} Mb/s)"
                )
        finally:
            self._unlock_routers(kind, ident)
        if not back:
            with self.svc.store.session() as s:
                now_rec = _row(s, kind, ident).change
            self._keep(kind, ident, change={**now_rec, "outcome": "done"}, reason=None)

    def _provider_change(self, ident: str, mbps: int) -> str | None:
        """The provider's side of a Connector's change, where its kind says it has one
        (constraints `change.provider_side`): what it did, in words; None: nothing to do."""
        c = self.svc.connector(ident)
        provider = self.svc.backbone.catalogue.onramps[c["onramp"]].provider
        settings = self.svc.settings.csp.get(provider)
        if c["csp_resource"] is None or settings is None:
            return None
        return registry.change_bandwidth(provider, settings, self.svc.backbone, self.svc.store,
                                         self.svc.vault, c, c["csp_resource"], mbps)  # fmt: skip

    def _change_failed(self, kind: str, ident: str, code: str, why: str) -> str:
        """A change's step failed: a transient failure is tried again (going back, for ever:
        the routers must come back to the old rate); otherwise, or after retry_max tries,
        the store takes the old rate back and the next step puts the routers back."""
        with self.svc.store.session() as s:
            back = ChangeRecord.model_validate(_row(s, kind, ident).change).outcome is not None
        if code in TRANSIENT or back:
            if self._failed(kind, ident, why, give_up=not back) is not None or back:
                return self.state(kind, ident)
            why = f"{why} (gave up after {self.timings.retry_max} tries)"
        me = self._me()

        def run(s: Db) -> None:
            row = _row(s, kind, ident, lock=True)
            if row.lease_owner != me:
                raise OnrampError(LOST, f"{kind} {ident}: {me} no longer holds it")
            change.undo_in(s, self.svc.backbone, kind, row, why)

        self.svc.store.transact(run)
        return self.state(kind, ident)

    def _mbps(self, kind: str, ident: str) -> int:
        with self.svc.store.session() as s:
            return int(_row(s, kind, ident).bandwidth_mbps)

    def _roll_back(self, kind: str, ident: str) -> None:
        """Saga compensation, each part idempotent: the service off the routers, the
        provider's side deleted, the allocation released; then failed, with the reason."""
        self._off_routers(kind, ident)
        self._delete_at_provider(kind, ident)
        # why it is rolling back (row.reason may since hold a retry note)
        why = self._last(kind, ident, S.ROLLING_BACK)
        reason = why.reason if why is not None else "rolled back"
        self._finish(kind, ident, S.FAILED, reason)

    def _decommission(self, kind: str, ident: str) -> None:
        """In the provider's order: our routers, the provider, the allocation."""
        self._off_routers(kind, ident)
        self._delete_at_provider(kind, ident)
        self._finish(kind, ident, S.DELETED, "decommissioned")

    # ------------------------------------------------------------ parts
    def _apply(self, plan_id: str, nr: Any, success_state: State | None = None) -> None:
        """Apply on `nr`, the Nornir `_discard_unconfirmed` returned: every caller ended
        the routers' unconfirmed commits just before, under their lock."""
        apply_plan(self.svc, plan_id, self.timings.revert_in_s, self.timings.check_timeout_s,
                   nornir=nr, actor=self.actor, success_state=success_state,
                   recheck=self.audit is None, holder=self._me(), discarded=True)  # fmt: skip
        if self.audit is not None:
            self.audit(plan_id)

    def recheck(self, plan_id: str) -> bool:
        """An applied plan's compliance re-check (`audit`), on this thread's Nornir: its
        SSH sessions, not new ones per try. False while a router is busy: ask again."""
        return recheck_plan(self.svc, plan_id, nornir=self._nornir())

    def _off_routers(self, kind: str, ident: str) -> None:
        touched = {r: self.svc.backbone.routers[r].platform for r in self._touched(kind, ident)}
        if touched and len(undeployable(touched)) == len(touched):
            return  # deploys there are refused (ONR-PLAT-001): nothing of ours to take off
        if self._last(kind, ident, S.CONFIGURING) is None and not self._applied(kind, ident):
            return  # never planned onto a router (a provider's refusal): nothing to take off
        self._lock_routers(kind, ident)
        try:
            nr = self._discard_unconfirmed(kind, ident)
            plan = make_plan(self.svc, kind, ident, "remove", nornir=nr)
            if any(d["diff"].strip() for d in plan["devices"].values()):
                self._apply(plan["id"], nr, S(self.state(kind, ident)))
        finally:
            self._unlock_routers(kind, ident)

    def _delete_at_provider(self, kind: str, ident: str) -> None:
        if not spec_of(kind).calls_provider:
            return
        with self.svc.store.session() as s:
            resource = _row(s, kind, ident).csp_resource
        if resource is None:  # never reached the provider: nothing to delete there
            return
        c = self.svc.connector(ident)
        adapter = self._adapter(c)
        if adapter is not None:
            gone = adapter.delete(resource)
            if gone.state != CspState.DELETED:
                raise OnrampError("ONR-CSP-002", f"{gone.provider} {resource} still "
                                  f"{gone.provider_state}")  # fmt: skip
            provider = self.svc.backbone.catalogue.onramps[c["onramp"]].provider
            settings = self.svc.settings.csp.get(provider)
            if settings is not None:  # what we made in the customer's account for the order
                registry.delegated_cleanup(provider, settings, self.svc.backbone,
                                           self.svc.store, self.svc.vault, c, resource)  # fmt: skip

    def _finish(self, kind: str, ident: str, to: State, reason: str) -> None:
        self._unlock_routers(kind, ident)
        self._note(kind, ident, reason)
        spec_of(kind).release(self.svc.store, ident, to, self.actor, reason, self._me())

    def _unlease(self, kind: str, ident: str) -> None:
        table = spec_of(kind).row

        def run(s: Db) -> None:
            s.execute(
                update(table)
                .where(table.id == ident, table.lease_owner == self._me())
                .values(lease_owner=None, lease_until=None)
            )

        self.svc.store.transact(run)

    def _lease(self, kind: str, ident: str) -> bool:
        table = spec_of(kind).row
        at = now()
        until = at + timedelta(seconds=self.timings.lease_s)

        def take(s: Db) -> bool:
            _row(s, kind, ident)  # a clear error for an unknown id
            got = s.execute(
                update(table)
                .where(
                    table.id == ident,
                    or_(
                        table.lease_until.is_(None),
                        table.lease_until < at,
                        table.lease_owner == self._me(),
                    ),
                    or_(table.retry_at.is_(None), table.retry_at <= at),  # backing off
                )
                .values(lease_owner=self._me(), lease_until=until, heartbeat_at=at)
            )
            return bool(got.rowcount)  # type: ignore[attr-defined]

        return self.svc.store.transact(take)

    @contextmanager
    def _heartbeat(self, kind: str, ident: str, row: bool = True) -> Iterator[None]:
        """Renew the lease (`row`), and the router locks of this change, every third of
        `lease_s` while the step runs: a verify waiting a minute for BGP keeps them, a dead
        worker's run out. A renewal that finds the lease taken stops (the step's commit is
        refused)."""
        me, stop = self._me(), threading.Event()

        def beat() -> None:
            while not stop.wait(self.timings.lease_s / 3):
                try:
                    if not self._renew(kind, ident, me if row else None):
                        log.warning("%s %s: lease lost by %s", kind, ident, me)
                        return
                except OnrampError as exc:  # the store unreachable a moment: next beat
                    log.warning("%s %s: heartbeat failed: %s", kind, ident, exc.reason)

        thread = threading.Thread(target=beat, name=f"onramp-heartbeat-{ident[:8]}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _renew(self, kind: str, ident: str, me: str | None) -> bool:
        """Push the lease held by `me` (None: no lease, the router locks only) and the
        change's router locks; False when the lease is another's now."""
        table, owner = spec_of(kind).row, f"{kind}:{ident}"
        at = now()
        until = at + timedelta(seconds=self.timings.lease_s)

        def run(s: Db) -> bool:
            if me is not None:
                got = s.execute(
                    update(table)
                    .where(table.id == ident, table.lease_owner == me)
                    .values(lease_until=until, heartbeat_at=at)
                )
                if not got.rowcount:  # type: ignore[attr-defined]
                    return False
            s.execute(update(RouterLockRow).where(RouterLockRow.owner == owner).values(until=until))
            return True

        return self.svc.store.transact(run)

    def _me(self) -> str:
        """The lease holder: this worker and thread (a process runs several)."""
        return f"{self.actor}/{threading.get_ident()}"[:80]

    def _touched(self, kind: str, ident: str) -> list[str]:

        with self.svc.store.session() as s:
            _, _, routers = target_of(s, self.svc, kind, ident)
        return sorted(routers)

    def _lock_routers(self, kind: str, ident: str) -> None:
        """Hold every router this change touches, or none (ONR-DEPLOY-006: try later)."""
        owner, until = f"{kind}:{ident}", now() + timedelta(seconds=self.timings.lease_s)
        routers = self._touched(kind, ident)

        def take(s: Db) -> None:
            for router in routers:
                # FOR UPDATE: two workers seeing the same expired lock must not both take it
                held = s.get(RouterLockRow, router, with_for_update=True)
                if held is None:
                    s.add(RouterLockRow(router=router, owner=owner, until=until))
                elif held.owner == owner or held.until < now():
                    held.owner, held.until = owner, until
                else:
                    raise OnrampError("ONR-DEPLOY-006", f"{router} is busy with {held.owner}")

        self.svc.store.transact(take)

    def _unlock_routers(self, kind: str, ident: str) -> None:
        owner = f"{kind}:{ident}"
        self.svc.store.transact(
            lambda s: s.execute(delete(RouterLockRow).where(RouterLockRow.owner == owner))
        )

    def _go(self, kind: str, ident: str, to: State, reason: str, keep: bool = False) -> None:
        def run(s: Db) -> None:
            row = _row(s, kind, ident, lock=True)
            if keep:
                row.reason = reason[:1000]
            move(s, row, to.value, self.actor, reason, self._me())  # only while we hold it

        self.svc.store.transact(run)

    def _keep(self, kind: str, ident: str, **values: Any) -> None:
        def run(s: Db) -> None:
            row = _row(s, kind, ident, lock=True)
            for name, value in values.items():
                setattr(row, name, value)

        self.svc.store.transact(run)

    def _note(self, kind: str, ident: str, reason: str) -> None:
        def run(s: Db) -> None:
            _row(s, kind, ident).reason = reason[:1000]

        self.svc.store.transact(run)

    def _last(self, kind: str, ident: str, to: State | None = None) -> TransitionRow | None:
        """The latest transition (into `to`, if given)."""
        query = select(TransitionRow).where(
            TransitionRow.kind == kind, TransitionRow.target_id == ident
        )
        if to is not None:
            query = query.where(TransitionRow.to_state == to.value)
        with self.svc.store.session() as s:
            found: TransitionRow | None = s.scalar(query.order_by(TransitionRow.id.desc()).limit(1))
            return found

    def _applied(self, kind: str, ident: str) -> bool:
        """Whether any plan of it was ever applied (an engineer's `onramp apply` too)."""
        with self.svc.store.session() as s:
            return (
                s.scalar(
                    select(PlanRow.id)
                    .where(
                        PlanRow.target_id == ident,
                        PlanRow.target_kind == kind,
                        PlanRow.state == "applied",
                    )
                    .limit(1)
                )
                is not None
            )

    def _waited(self, kind: str, ident: str) -> bool:
        last = self._last(kind, ident)
        return last is not None and ((now() - last.at).total_seconds() > self.timings.awaiting_s)

    def _planned(self, kind: str, ident: str) -> str | None:
        with self.svc.store.session() as s:
            found: str | None = s.scalar(
                select(PlanRow.id)
                .where(
                    PlanRow.target_id == ident,
                    PlanRow.target_kind == kind,
                    PlanRow.action == "deploy",
                    PlanRow.state == "planned",
                )
                .order_by(PlanRow.created_at.desc())
                .limit(1)
            )
            return found

    def _discard_unconfirmed(self, kind: str, ident: str) -> Nornir:
        """A commit a dead worker left unconfirmed on a touched router: roll it back now
        rather than wait for the router's timer (nobody else commits unconfirmed here).
        Returns the Nornir on those routers, connected, for the plan and apply that follow."""

        routers = self._touched(kind, ident)
        nr = self._nornir().filter(filter_func=lambda h: h.name in routers)
        result = nr.run(task=discard_unconfirmed)
        failed = {
            h: failure(r[0].exception, "ONR-DEPLOY-001") for h, r in result.items() if r.failed
        }
        if failed:
            raise OnrampError(next(iter(failed.values()))[0], "cannot check for unconfirmed "
                              "commits: " + "; ".join(f"{h}: {w}" for h, (_, w) in failed.items()))  # fmt: skip
        return nr

    def _nornir(self) -> Nornir:
        """This thread's Nornir, connected routers included: the plan's SSH sessions serve
        the apply that follows, and the next order's steps (an SSH handshake per router
        per step saved). A session that died (a router restarted) is opened again on use;
        a failed step drops them all (`_forget_connections`)."""
        nr: Nornir | None = getattr(self._local, "nr", None)
        if nr is None:
            nr = self._local.nr = nornir_for(self.svc)
        for host in nr.inventory.hosts.values():
            conn = host.connections.get("napalm")
            if conn is not None and not conn.connection.is_alive().get("is_alive"):
                self._close(host)
        return nr

    def _forget_connections(self) -> None:
        nr: Nornir | None = getattr(self._local, "nr", None)
        self._local.nr = None
        for host in nr.inventory.hosts.values() if nr is not None else []:
            self._close(host)

    @staticmethod
    def _close(host: Any) -> None:
        try:
            host.close_connection("napalm")
        except Exception:  # closing a dead session may fail too: it is gone either way
            host.connections.pop("napalm", None)

    def _adapter(self, c: ConnectorView) -> Adapter | None:
        provider = self.svc.backbone.catalogue.onramps[c["onramp"]].provider
        if not registry.calls_provider(provider):  # its constraints.yaml: `calls: none`
            return None
        key = registry.adapter_key(provider, c["kind"])  # the kind's adapter (hosted connection)
        try:
            return self.adapters[key]
        except KeyError:
            raise OnrampError("ONR-CSP-001", f"no adapter configured for {key}") from None

    def _key(self, ident: str) -> str | None:
        with self.svc.store.session() as s:
            row = _row(s, "connector", ident)
            return self.svc.vault.decrypt(row.md5_key) if row.md5_key else None


def _row(s: Db, kind: str, ident: str, lock: bool = False) -> Any:
    """The row; `lock`: FOR UPDATE (PostgreSQL), so a lease checked before a change cannot
    be taken over before the change commits (SQLite's BEGIN IMMEDIATE serializes anyway)."""
    row = s.get(spec_of(kind).row, ident, with_for_update=lock)
    if row is None:
        raise OnrampError("ONR-REQ-011", f"{kind} {ident} not found", field="id")
    return row


def _sent(sessions: dict[str, list[BgpSession]], vrf: str) -> int:
    """Routes a VRF's sessions send, over all its routers."""
    return sum(n for ss in sessions.values() for s in ss if s["vrf"] == vrf
               for n in s["prefixes_sent"].values())  # fmt: skip
