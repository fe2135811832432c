"""The one table of state changes (onramp.core.model.TRANSITIONS) and the one function that
makes them (onramp.core.store.move): every change the flow makes is in it, the lifecycle
has no dead end, and a change outside it is refused with nothing written (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from collections import deque

import pytest
from sqlalchemy import select

from onramp.core.errors import OnrampError
from onramp.core.model import RELEASED_STATES, TRANSITIONS, Kind, State
from onramp.core.secrets import Vault
from onramp.core.settings import load_settings
from onramp.core.store import KIND_OF, ROWS, ConnectorRow, PlanRow, Store, TransitionRow, move
from onramp.flow import allocate as al
from onramp.flow.apply import apply_plan
from onramp.flow.kinds import KINDS
from onramp.flow.orchestrate import CSP_STATE, WAITING
from onramp.flow.service import Service
from onramp.network.inventory import Backbone

from .test_allocation import req

S = State
STORED = [s for s in State if s not in (S.REQUESTED, S.VALIDATED)]  # seen after allocation
HELD = [s for s in STORED if s not in RELEASED_STATES]

# Every change the code makes, by who makes it.
FLOW: list[tuple[State | None, State]] = [
    # allocation, in one transaction
    (None, S.REQUESTED),
    (S.REQUESTED, S.VALIDATED),
    (S.VALIDATED, S.ALLOCATED),
    # the orchestrator: a Connector asks its provider; a Link, or nobody to ask, configures
    (S.ALLOCATED, S.CSP_REQUESTED),
    (S.ALLOCATED, S.CONFIGURING),
    # the provider's answers while it waits; a request whose id was lost, made again
    *[(w, to) for w in WAITING for to in CSP_STATE.values() if to != w],
    *[(w, S.CSP_REQUESTED) for w in WAITING],
    # a plan made; applied (the gate passed), or gone or moved since: plan again
    (S.CONFIGURING, S.VERIFYING),
    (S.VERIFYING, S.ACTIVE),
    (S.VERIFYING, S.CONFIGURING),
    # a step failed: roll back, then failed; taken away: decommissioning, then deleted
    *[(s, S.ROLLING_BACK) for s in (S.ALLOCATED, *WAITING, S.CONFIGURING, S.VERIFYING)],
    (S.ROLLING_BACK, S.FAILED),
    # (not while a bandwidth change runs: it ends active either way, then it may go)
    *[(s, S.DECOMMISSIONING) for s in HELD if s not in (S.DECOMMISSIONING, S.MODIFYING)],
    (S.DECOMMISSIONING, S.DELETED),
    # engineers: `onramp apply` of a deploy or a removal
    (S.ALLOCATED, S.ACTIVE),
    (S.ACTIVE, S.ALLOCATED),
]

FORBIDDEN = [
    (S.DELETED, S.ACTIVE),
    (S.FAILED, S.ACTIVE),
    (S.FAILED, S.DECOMMISSIONING),
    (S.ALLOCATED, S.FAILED),  # failing is the end of a roll-back
    (S.ACTIVE, S.ROLLING_BACK),  # an active one is decommissioned, not rolled back
    (S.ACTIVE, S.ACTIVE),
    (S.DECOMMISSIONING, S.ACTIVE),
    (S.ROLLING_BACK, S.ALLOCATED),
    # released to deleted only by the decommission step: routers or a provider may hold it
    *[(s, S.DELETED) for s in HELD if s != S.DECOMMISSIONING],
]


def test_deleted_is_reached_only_through_decommissioning() -> None:
    assert [was for was, to in TRANSITIONS.items() if S.DELETED in to] == [S.DECOMMISSIONING]
    assert [was for was, to in TRANSITIONS.items() if S.FAILED in to] == [S.ROLLING_BACK]


def _path(start: State, goal: State) -> list[State]:
    """The states after `start` on a shortest way to `goal` through the table."""
    came: dict[State, State | None] = {start: None}
    todo = deque([start])
    while todo:
        here = todo.popleft()
        for nxt in sorted(TRANSITIONS[here]):
            if nxt not in came:
                came[nxt] = here
                todo.append(nxt)
    assert goal in came, f"{goal} cannot be reached from {start}"
    way: list[State] = []
    at: State | None = goal
    while at is not None and at != start:
        way.append(at)
        at = came[at]
    return way[::-1]


def test_every_change_the_flow_makes_is_in_the_table() -> None:
    missing = [(a, b) for a, b in FLOW if b not in TRANSITIONS[a]]
    assert missing == []


def test_the_lifecycle_has_no_dead_end() -> None:
    assert set(TRANSITIONS) == {None, *State}
    assert all(not TRANSITIONS[s] for s in RELEASED_STATES)  # released is for good
    for s in State:  # each one is entered, and whatever happens there it can end released
        assert _reaches(None, s), f"{s} is never entered"
        assert s in RELEASED_STATES or any(_reaches(s, end) for end in RELEASED_STATES), s


def _reaches(start: State | None, goal: State) -> bool:
    seen, todo = {start}, [start]
    while todo:
        for nxt in TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return goal in seen


def test_every_kind_has_its_table_and_entry() -> None:
    assert set(ROWS) == set(KINDS) == set(Kind)
    assert all(KIND_OF[ROWS[k]] == k and KINDS[k].row is ROWS[k] for k in Kind)


def test_creation_goes_through_move(store: Store, backbone: Backbone, vault: Vault) -> None:
    c = al.create_connector(store, backbone, req("aws"), vault)
    with store.session() as s:
        rows = s.scalars(select(TransitionRow).where(TransitionRow.target_id == c["id"])
                         .order_by(TransitionRow.id)).all()  # fmt: skip
        assert [(t.kind, t.from_state, t.to_state) for t in rows] == [
            ("connector", None, "requested"),
            ("connector", "requested", "validated"),
            ("connector", "validated", "allocated"),
        ]


@pytest.mark.parametrize(("was", "to"), FORBIDDEN, ids=lambda s: str(s))
def test_a_change_outside_the_table_is_refused_and_writes_nothing(
    store: Store, backbone: Backbone, vault: Vault, was: State, to: State
) -> None:
    c = al.create_connector(store, backbone, req("ent"), vault)
    way = _path(S.ALLOCATED, was)
    for step in way:  # there, through the table
        store.transact(lambda s, st=step: move(s, s.get(ConnectorRow, c["id"]), st.value, "t"))
    with pytest.raises(OnrampError) as refused:
        store.transact(lambda s: move(s, s.get(ConnectorRow, c["id"]), to.value, "t"))
    assert refused.value.code == "ONR-STATE-001" and f"from {was} to {to}" in refused.value.reason
    with store.session() as s:
        assert s.get(ConnectorRow, c["id"]).state == was.value
        history = s.scalars(select(TransitionRow).where(TransitionRow.target_id == c["id"]))
        assert len(history.all()) == 3 + len(way)


def test_a_plan_that_would_move_it_against_the_table_is_refused_before_any_router(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    """A deploy plan applied while the machine takes the Connector away: refused before the
    routers are reached (there are none here), the plan still planned."""
    c = al.create_connector(store, backbone, req("ent"), vault)
    store.transact(lambda s: move(s, s.get(ConnectorRow, c["id"]), "decommissioning", "t"))
    plan = PlanRow(id=str(uuid.uuid4()), target_kind="connector", target_id=c["id"],
                   action="deploy", state="planned", target={}, devices={},
                   candidates=vault.encrypt(json.dumps({})))  # fmt: skip
    store.transact(lambda s: s.add(plan))
    svc = Service(load_settings(), store, backbone, vault)
    with pytest.raises(OnrampError) as refused:
        apply_plan(svc, plan.id)
    assert refused.value.code == "ONR-STATE-001"
    with store.session() as s:
        assert s.get(PlanRow, plan.id).state == "planned"
        assert s.get(ConnectorRow, c["id"]).state == "decommissioning"
