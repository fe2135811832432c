"""A deploy's compliance re-check (the workers' queued `recheck`) while a router it would
judge is busy with another change: it reads the store, not the routers, and asks again."""

from __future__ import annotations

import uuid
from pathlib import Path

from nornir.core import Nornir
from sqlalchemy import func, select

from onramp.core.settings import load_settings, local_config
from onramp.core.store import ComplianceReportRow, ConnectorRow, PlanRow, move
from onramp.flow.apply import recheck_plan, show_plan
from onramp.flow.plan import nornir_for
from onramp.flow.service import Service

AWS = {"tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
       "bandwidth_mbps": 100, "aws_account": "123456789012",
       "prefixes": ["10.100.0.0/24"]}  # fmt: skip


def test_a_busy_router_is_asked_again_without_reading_any_router(tmp_path: Path) -> None:
    svc = Service.open(load_settings(local_config(tmp_path)))
    svc.add_tenant("acme", "Acme")
    other = svc.create_connector(svc.connector_request(AWS))  # being configured on pe1-par
    (router,) = {a["router"] for a in other["attachments"]}

    def configuring(s: object) -> None:
        move(s, s.get(ConnectorRow, other["id"]), "configuring", "test")  # type: ignore[attr-defined]

    svc.store.transact(configuring)
    plan = PlanRow(id=str(uuid.uuid4()), target_kind="router", target_id=router,
                   action="deploy", state="applied", target={"router": router},
                   devices={router: {"platform": "frr", "diff": "", "running_sha256": ""}},
                   candidates=svc.vault.encrypt("{}"), result={"devices": {}})  # fmt: skip
    svc.store.transact(lambda s: s.add(plan))
    nr: Nornir = nornir_for(svc)  # no router answers here: none may be read

    assert recheck_plan(svc, plan.id, nornir=nr) is False
    assert show_plan(svc, plan.id)["result"]["compliance"] == {
        router: f"busy: connector {other['id'][:8]} configuring"
    }
    with svc.store.session() as s:  # no compliance run: nothing backed up, nothing reported
        assert s.scalar(select(func.count()).select_from(ComplianceReportRow)) == 0
    assert not nr.inventory.hosts[router].connections
