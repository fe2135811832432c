"""The decommission runbook (and the drain that uses it) on a real store: it removes through
`allocate.decommission` like every other entry point, so a Connector in a live Link is
refused before anything moves, in a dry run as in an applied one. (Driving one to deleted
needs routers: tests/e2e/test_orchestrate.py.)"""

from __future__ import annotations

import pytest

from onramp.core.errors import OnrampError
from onramp.core.model import LinkRequest, State
from onramp.core.secrets import Vault
from onramp.core.settings import load_settings
from onramp.core.store import ConnectorRow, Store
from onramp.flow import allocate as al
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service
from onramp.network.inventory import Backbone
from onramp.runbooks import lifecycle

from .test_allocation import req
from .test_intended import set_state


@pytest.mark.parametrize("apply", [False, True], ids=["dry-run", "apply"])
def test_the_runbook_refuses_a_connector_in_a_live_link(
    store: Store, backbone: Backbone, vault: Vault, apply: bool
) -> None:
    svc = Service(load_settings(), store, backbone, vault)
    a = al.create_connector(store, backbone, req("aws"), vault)
    b = al.create_connector(store, backbone, req("azure"), vault)
    for c in (a, b):
        set_state(store, ConnectorRow, c["id"], State.ACTIVE)
    al.create_link(store, backbone, LinkRequest(tenant="acme", a=a["id"], b=b["id"],
                                                bandwidth_mbps=100))  # fmt: skip
    orch = Orchestrator(svc, {}, "runbook:test")
    with pytest.raises(OnrampError) as refused:
        lifecycle.decommission(svc, "connector", a["id"][:8], apply, orch, lambda _: None)
    assert (refused.value.code, refused.value.field) == ("ONR-REQ-015", "id")
    assert svc.connector(a["id"])["state"] == "active"  # nothing moved
    assert [h["to"] for h in orch.history("connector", a["id"])][-1] == "active"
