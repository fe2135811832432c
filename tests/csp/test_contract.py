"""The adapter contract, written once and run against every provider's adapter and
simulator (cases.py), as napalm's `BaseTestGetters` serves every driver: a request and its
retry make one resource; the customer accepts later, rejects, or never answers; the lab
sees the cloud side come up and go down; throttling, 5xx and lost answers are retried
without a second resource; refusals map to onramp codes; delete is idempotent; a new
adapter (a restarted worker's) finds what an earlier one made and reads it the same."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from onramp.core.errors import OnrampError
from onramp.csp.adapter import Adapter, CspResource, CspState, wait
from onramp.csp.simulator import Customer
from tests.csp.cases import CASES, Case, Simulated, having
from tests.csp.conftest import RecordingHook

ALL = having()
WAITING = (CspState.AWAITING_CUSTOMER, CspState.PROVISIONING)
DOWN_AFTER_S = 60.0  # a resource goes down this long after ready, unless time_passes


@pytest.fixture
def case(
    request: pytest.FixtureRequest, hook: RecordingHook, tmp_path: Path, no_backoff: None
) -> Iterator[Case]:
    """The provider named by the scenario's parameter, its simulator running."""
    with CASES[request.param].start(hook, tmp_path) as played:
        yield played


def removed(adapter: Adapter, resource_id: str) -> CspResource:
    """Delete as the orchestration does: again until deleted (a slow provider's operation
    is still running at the first answer)."""
    deadline = time.monotonic() + 5
    while (gone := adapter.delete(resource_id)).state != CspState.DELETED:
        assert time.monotonic() < deadline, gone
        time.sleep(0.05)
    return gone


@pytest.mark.parametrize("case", ALL, indirect=True)
def test_request_then_retry_makes_one_resource(case: Case) -> None:
    adapter = case.adapter()
    first = adapter.request(case.req)
    assert (first.state, first.provider_state) == case.first
    assert first.details.items() >= case.details.items()
    writes = case.writes()
    again = adapter.request(case.req)
    assert (again.resource_id, again.state) == (first.resource_id, first.state)
    assert case.made() == [first.resource_id] and case.writes() == writes  # nothing new


@pytest.mark.parametrize("case", ALL, indirect=True)
def test_ready_later_is_picked_up_by_status(case: Case) -> None:
    case.customer(Customer.ACCEPT, after_s=0.3, provisioning_s=0.2)
    adapter = case.adapter()
    made = adapter.request(case.req)
    assert (made.state, made.provider_state) == case.slow
    case.meanwhile(made)
    seen: list[str] = []
    done = wait(adapter, made.resource_id, timeout_s=10, poll_s=0.05,
                progress=lambda r: seen.append(r.provider_state))  # fmt: skip
    assert (done.state, done.provider_state) == (CspState.READY, case.ready)
    assert done.details.items() >= case.ready_details.items()
    assert set(case.transient) <= set(seen)


@pytest.mark.parametrize("case", having("customer"), indirect=True)
def test_customer_rejects(case: Case) -> None:
    case.customer(Customer.REJECT, after_s=0.1)
    adapter = case.adapter()
    made = adapter.request(case.req)
    case.meanwhile(made)
    with pytest.raises(OnrampError) as rejected:
        wait(adapter, made.resource_id, timeout_s=10, poll_s=0.05)
    assert rejected.value.code == "ONR-CSP-005" and case.rejected in rejected.value.reason
    assert adapter.status(made.resource_id).state == CspState.REJECTED
    assert case.made() == [made.resource_id]  # still there, for the rollback to delete
    assert adapter.delete(made.resource_id).state == CspState.DELETED
    assert case.made() == []


@pytest.mark.parametrize("case", having("customer"), indirect=True)
def test_customer_never_answers(case: Case) -> None:
    adapter = case.adapter()
    made = adapter.request(case.req)
    with pytest.raises(OnrampError) as waited:
        wait(adapter, made.resource_id, timeout_s=0.3, poll_s=0.05)
    state, word = case.first
    assert waited.value.code == "ONR-CSP-004" and f"still {word}" in waited.value.reason
    assert adapter.status(made.resource_id).state == state


@pytest.mark.parametrize("case", having("lab"), indirect=True)
def test_the_lab_sees_the_cloud_side_up_until_delete(case: Simulated, hook: RecordingHook) -> None:
    case.customer(Customer.ACCEPT, after_s=0.1)
    adapter = case.adapter()
    made = adapter.request(case.req)
    assert hook.events == []  # nothing up before the customer's answer
    case.meanwhile(made)
    wait(adapter, made.resource_id, timeout_s=5, poll_s=0.05)
    assert hook.events == [("up", peer) for peer in case.peers]
    assert removed(adapter, made.resource_id).state == CspState.DELETED
    assert hook.events[len(case.peers) :] == [("down", peer) for peer in case.peers]


@pytest.mark.parametrize("case", having("bgp"), indirect=True)
def test_provisioned_with_its_bgp_down_reads_down_its_edge_up(
    case: Simulated, hook: RecordingHook
) -> None:
    """AWS shows a VIF whose BGP session is not up `down`, IBM a gateway's BGP `idle`: a
    new one waiting for our side too. The adapter reads DOWN in the provider's words; the
    provider's side is there (the lab's cloud edge configured), and the delete takes it
    away, though its session never came up."""
    case.customer(Customer.ACCEPT, bgp_down=True)
    adapter = case.adapter()
    made = adapter.request(case.req)
    case.meanwhile(made)
    deadline = time.monotonic() + 5
    while (now := adapter.status(made.resource_id)).state in WAITING:
        assert time.monotonic() < deadline, now
        time.sleep(0.05)
    assert (now.state, now.provider_state) == (CspState.BGP_DOWN, case.down)
    assert hook.events == [("up", peer) for peer in case.peers]
    assert removed(adapter, made.resource_id).state == CspState.DELETED
    assert hook.events[len(case.peers) :] == [("down", peer) for peer in case.peers]


@pytest.mark.parametrize("case", having("lab"), indirect=True)
def test_resource_goes_down_after_ready(case: Simulated, hook: RecordingHook) -> None:
    # down far in the simulator's future, brought forward by time_passes: a poll starved
    # of CPU must not miss the ready moment (a 0.1 s window failed a loaded full run)
    case.customer(Customer.ACCEPT, down_after_s=DOWN_AFTER_S)
    adapter = case.adapter()
    made = adapter.request(case.req)
    case.meanwhile(made)
    assert wait(adapter, made.resource_id, timeout_s=5, poll_s=0.05).state == CspState.READY
    case.time_passes(2 * DOWN_AFTER_S)
    down = adapter.status(made.resource_id)
    assert (down.state, down.provider_state) == (case.down_state, case.down)
    assert down.details.items() >= case.down_details.items()
    assert [event for event, _ in hook.events] == ["up"] * len(case.peers) + ["down"] * len(
        case.peers
    )


@pytest.mark.parametrize("fault", ["throttle_next", "fail_next", "lose_next_response"])
@pytest.mark.parametrize("case", having("faults"), indirect=True)
def test_throttling_5xx_and_lost_answers_are_retried_without_a_second_resource(
    case: Simulated, fault: str
) -> None:
    setattr(case.sim.faults, fault, case.lose if fault == "lose_next_response" else 2)
    made = case.adapter().request(case.req)
    assert (made.state, made.provider_state) == case.first
    assert case.made() == [made.resource_id]


@pytest.mark.parametrize("case", having("faults"), indirect=True)
def test_throttled_beyond_retries_is_a_clear_error(case: Simulated) -> None:
    case.sim.faults.throttle_next = 10_000
    with pytest.raises(OnrampError) as exc:
        case.adapter().request(case.req)
    assert exc.value.code == "ONR-CSP-002" and case.throttled in exc.value.reason
    assert case.made() == [] and case.writes() == []


@pytest.mark.parametrize("case", having("refuses"), indirect=True)
def test_a_refused_request_is_onr_csp_001_and_makes_nothing(case: Simulated) -> None:
    adapter = case.adapter()
    made = adapter.request(case.req)
    other, word = case.refused()
    with pytest.raises(OnrampError) as refused:
        adapter.request(other)
    assert refused.value.code == "ONR-CSP-001" and word in refused.value.reason
    assert case.made() == [made.resource_id]


@pytest.mark.parametrize("case", having("refuses"), indirect=True)
def test_a_port_the_inventory_does_not_map_is_refused_before_any_call(case: Simulated) -> None:
    session = replace(case.req.sessions[0], port="pe9:eth9")
    elsewhere = replace(case.req, sessions=(session, *case.req.sessions[1:]))
    with pytest.raises(OnrampError) as unknown:
        case.adapter().request(elsewhere)
    assert unknown.value.code == "ONR-CSP-001" and "csp_connection" in unknown.value.reason
    assert case.made() == [] and case.writes() == []


@pytest.mark.parametrize("case", having("accounts"), indirect=True)
def test_an_account_the_provider_does_not_know_is_onr_csp_006(case: Simulated) -> None:
    for account in case.unknown_accounts:
        with pytest.raises(OnrampError) as unknown:
            case.adapter().request(replace(case.req, customer_account=account))
        assert unknown.value.code == "ONR-CSP-006"
    assert case.made() == [] and case.writes() == []


@pytest.mark.parametrize("case", ALL, indirect=True)
def test_an_unknown_resource_is_a_clear_answer(case: Case) -> None:
    adapter = case.adapter()
    if case.not_found is None:
        assert adapter.status(case.unknown_id).state == CspState.DELETED
        return
    with pytest.raises(OnrampError) as missing:
        adapter.status(case.unknown_id)
    assert missing.value.code == case.not_found


@pytest.mark.parametrize("case", ALL, indirect=True)
def test_delete_twice_is_done_once(case: Case) -> None:
    adapter = case.adapter()
    made = adapter.request(case.req)
    assert adapter.delete(made.resource_id).state == CspState.DELETED
    writes = case.writes()
    assert adapter.delete(made.resource_id).state == CspState.DELETED
    assert case.made() == [] and case.writes() == writes


# the moments a worker may restart at: each makes `case.req` and takes it there
def waiting(case: Case, adapter: Adapter) -> CspResource:
    case.customer(Customer.ACCEPT, after_s=5)  # later than this test lasts
    return adapter.request(case.req)


def ready(case: Case, adapter: Adapter) -> CspResource:
    case.customer(Customer.ACCEPT)
    made = adapter.request(case.req)
    case.meanwhile(made)
    return wait(adapter, made.resource_id, timeout_s=5, poll_s=0.05)


def rejected(case: Case, adapter: Adapter) -> CspResource:
    case.customer(Customer.REJECT)
    made = adapter.request(case.req)
    case.meanwhile(made)
    with pytest.raises(OnrampError):
        wait(adapter, made.resource_id, timeout_s=5, poll_s=0.05)
    return adapter.status(made.resource_id)


def gone_down(case: Simulated, adapter: Adapter) -> CspResource:
    case.customer(Customer.ACCEPT, down_after_s=DOWN_AFTER_S)
    made = adapter.request(case.req)
    case.meanwhile(made)
    wait(adapter, made.resource_id, timeout_s=5, poll_s=0.05)
    case.time_passes(2 * DOWN_AFTER_S)
    return adapter.status(made.resource_id)


MOMENTS: dict[str, tuple[Callable[[Any, Adapter], CspResource], list[str]]] = {
    "waiting": (waiting, ALL),
    "ready": (ready, ALL),
    "rejected": (rejected, having("customer")),
    "down": (gone_down, having("lab")),
}


@pytest.mark.parametrize(
    ("case", "moment"),
    [(name, moment) for moment, (_, names) in MOMENTS.items() for name in names],
    indirect=["case"],
)
def test_status_after_restart_is_the_same(case: Case, moment: str) -> None:
    """A restarted worker's adapter finds the resource by its id, and by the request's
    idempotency key, and reads it as the one before did, without a change."""
    before = MOMENTS[moment][0](case, case.adapter())
    writes = case.writes()
    restarted = case.adapter()
    after = restarted.status(before.resource_id)
    assert (after.state, after.provider_state) == (before.state, before.provider_state)
    again = restarted.request(case.req)
    assert (again.resource_id, again.state) == (before.resource_id, before.state)
    assert case.made() == [before.resource_id] and case.writes() == writes
