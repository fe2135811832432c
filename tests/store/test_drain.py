"""The drain runbook's dry run on a real store: per Connector on the PE, where it would
go or why it cannot move; nothing is written, the PE stays in service."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from onramp.core.errors import OnrampError
from onramp.core.model import State
from onramp.core.secrets import Vault
from onramp.core.settings import load_settings
from onramp.core.store import AllocationRow, ConnectorRow, RouterStateRow, Store
from onramp.flow import allocate as al
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service
from onramp.network.inventory import Backbone
from onramp.runbooks import drain

from .test_allocation import req
from .test_intended import set_state


def dry(store: Store, backbone: Backbone, vault: Vault, router: str) -> dict[str, Any]:
    svc = Service(load_settings(), store, backbone, vault)  # settings unused by a dry run
    return drain.drain_pe(svc, router, False, Orchestrator(svc, {}, "test"), lambda _: None)


def test_dry_run_says_where_each_connector_goes_or_why_not(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    site = al.create_connector(store, backbone, req("ent", onramp="ent-lon"), vault)
    azure = al.create_connector(store, backbone, req("azure"), vault)
    al.create_connector(store, backbone, req("ent", onramp="ent-lon"), vault)  # on pe2-lon
    waiting = al.create_connector(store, backbone, req("ent", onramp="ent-lon"), vault)
    assert [a["router"] for a in waiting["attachments"]] == ["pe1-lon"]  # the emptier again
    for c in (site, azure):
        set_state(store, ConnectorRow, c["id"], State.ACTIVE)
    assert [a["router"] for a in site["attachments"]] == ["pe1-lon"]
    with store.session() as s:
        held = s.scalar(select(func.count()).select_from(AllocationRow))
    moves = {m["connector"]: m for m in dry(store, backbone, vault, "pe1-lon")["moves"]}
    assert moves[site["id"]]["blocked"] is None
    assert moves[site["id"]]["to"][0].startswith("pe2-lon eth4.")
    # Azure's primary port is on this PE only: no other primary port to go to
    assert moves[azure["id"]]["blocked"].startswith("ONR-ALLOC-001")
    assert (
        "not active" in moves[waiting["id"]]["blocked"]
        or "only active" in moves[waiting["id"]]["blocked"]
    )
    with store.session() as s:  # nothing written: no replacement, no allocation, in service
        assert s.scalar(select(func.count()).select_from(AllocationRow)) == held
        assert s.scalar(select(func.count()).select_from(ConnectorRow)) == 4
        assert s.get(RouterStateRow, "pe1-lon") is None


@pytest.mark.parametrize("router", ["p1-par", "nowhere"])
def test_only_a_pe_can_be_drained(
    store: Store, backbone: Backbone, vault: Vault, router: str
) -> None:
    with pytest.raises(OnrampError) as refused:
        dry(store, backbone, vault, router)
    assert refused.value.code == "ONR-REQ-011" and refused.value.field == "router"
