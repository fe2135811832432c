"""The service core's reads through SQLAlchemy Core (onramp.flow.reads, onramp.csp.tickets:
what the read-only CLI commands and the API's lists run without the ORM) answer exactly
what the ORM's rows of the same store give through the same views: the same JSON, byte for
byte, in the same order, for every kind of Connector, one with no attachment left, a Link,
a lease, a lock and tickets."""

from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from onramp.core import engine
from onramp.core.model import SETTLED, ChangeRecord, LinkRequest, Onramp, State
from onramp.core.secrets import Vault
from onramp.core.settings import ROOT, load_settings, local_config
from onramp.core.store import (
    ROWS,
    ConnectorRow,
    LinkRow,
    PortUsageRow,
    RouterLockRow,
    Store,
    TenantRow,
    TicketRow,
    now,
)
from onramp.csp.tickets import tickets, view
from onramp.flow import allocate
from onramp.flow.reads import Reader
from onramp.flow.service import Service
from onramp.flow.views import connector_view, link_view
from onramp.network.inventory import Backbone, InventoryError

from .test_allocation import REQUESTS, gone, req


def same(got: Any, want: Any) -> None:
    """As the CLI prints them (`dump`): equal and in the same key order."""
    assert json.dumps(got, indent=2, default=str) == json.dumps(want, indent=2, default=str)


def test_the_core_reads_answer_what_the_orm_rows_give(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    made = [allocate.create_connector(store, backbone, req(name), vault) for name in REQUESTS]
    made.append(allocate.create_connector(store, backbone, req("aws", tenant="globex"), vault))
    order = LinkRequest(tenant="acme", a=made[0]["id"], b=made[1]["id"], bandwidth_mbps=50)
    allocate.create_link(store, backbone, order)
    gone(store, "connector", made[2]["id"])  # deleted
    at = now()
    with store.session() as s:
        row = s.get(ConnectorRow, made[0]["id"])
        assert row is not None
        row.lease_owner, row.lease_until, row.heartbeat_at = (
            "worker:h:1",
            at + timedelta(seconds=90),
            at,
        )
        row.attempts, row.retry_at, row.reason = 2, at + timedelta(seconds=30), "retrying"
        row.change = ChangeRecord(from_mbps=1000, to_mbps=500, at=at, by="api",
                                  outcome="rolled_back", reason="x").model_dump(mode="json")  # fmt: skip
        held = s.get(ConnectorRow, made[3]["id"])
        assert held is not None
        held.attachments.clear()  # one with no attachment: its page row's are NULL
        s.add(RouterLockRow(router="pe1-par", owner=f"connector:{row.id}", until=at))
        s.add_all([TicketRow(id=str(uuid.uuid4()), provider="ibm", state=state, text="t",
                             idempotency_key=f"{made[n]['id']}:csp", md5_key=b"sealed",
                             request={"customer_account": "x"},
                             answer=None if state == "open" else {"ref": "r"})
                   for n, state in enumerate(("open", "ready", "removal_open"))])  # fmt: skip
    reader = Reader(load_settings(), store, backbone, vault)
    status = reader.worker_status()
    with store.session() as s:
        rows = s.scalars(select(ConnectorRow).order_by(ConnectorRow.created_at, ConnectorRow.id))
        connectors = [connector_view(r, backbone) for r in rows]
        assert any(not c["attachments"] for c in connectors)
        assert any(len(c["attachments"]) == 2 for c in connectors)
        same(reader.connectors(), connectors)
        same(reader.connectors("globex"), [c for c in connectors if c["tenant"] == "globex"])
        same(reader.connectors(state="deleted"), [c for c in connectors if c["state"] == "deleted"])
        same(reader.connectors(limit=2, after=connectors[1]["id"]), connectors[2:4])
        links = s.scalars(select(LinkRow).order_by(LinkRow.created_at, LinkRow.id))
        same(reader.links(), [link_view(r, backbone) for r in links])
        tenants = s.scalars(select(TenantRow).order_by(TenantRow.id))
        same(reader.tenants(), [{"id": t.id, "name": t.name} for t in tenants])
        usage = {(u.router, u.port): u.used_mbps for u in s.scalars(select(PortUsageRow))}
        onramps = reader.catalogue()
        assert [o["used_mbps"] for o in onramps] == [
            sum(usage.get((r.name, p), 0) for r, p in backbone.ports_of(o))
            for o in backbone.catalogue.onramps
        ]
        # the view is model.Onramp's JSON (what the API answers): fields, order and types
        same(onramps, [Onramp.model_validate(o, strict=True).model_dump() for o in onramps])
        for open_only in (True, False):
            q = select(TicketRow).order_by(TicketRow.created_at)
            if open_only:
                q = q.where(TicketRow.state.in_(("open", "removal_open")))
            same(tickets(store, open_only), [view(t) for t in s.scalars(q)])
        same(tickets(store, False, tenant="globex"), [])
        when = datetime.fromisoformat(status["at"])

        def left(until: datetime | None) -> float | None:
            return None if until is None else round((until - when).total_seconds(), 1)

        unfinished = [x.value for x in State if x not in SETTLED]
        work = [{"kind": kind.value, "id": r.id, "state": r.state, "owner": r.lease_owner,
                 "lease_left_s": left(r.lease_until),
                 "heartbeat_at": r.heartbeat_at.isoformat() if r.heartbeat_at else None,
                 "attempts": r.attempts,
                 "retry_in_s": left(r.retry_at) if r.retry_at and r.retry_at > when else None,
                 "reason": r.reason}
                for kind, table in ROWS.items()
                for r in s.scalars(select(table).where(table.state.in_(unfinished))
                                   .order_by(table.created_at))]  # fmt: skip
        assert any(w["owner"] for w in work)
        locks = [{"router": r.router, "owner": r.owner, "left_s": left(r.until) or 0.0}
                 for r in s.scalars(select(RouterLockRow).order_by(RouterLockRow.router))]  # fmt: skip
        same(status, {"at": status["at"], "work": work, "router_locks": locks})


def test_a_read_opens_beside_a_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening a store checks its schema revision without SQLite's write lock: a command
    that only reads neither waits for a worker's write nor, past the busy timeout, takes a
    store being written for a new one (its revision read as None: Alembic then ran)."""
    url = f"sqlite:///{tmp_path / 'onramp.db'}"
    Store(url).migrate()
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_S", 0)  # a lock waited for fails at once
    writer = sqlite3.connect(tmp_path / "onramp.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a worker's transaction, under way
        assert Store(url).revision() == engine.head_revision()
    finally:
        writer.close()


def test_the_inventory_is_read_when_a_read_needs_it(tmp_path: Path) -> None:
    """A Reader reads the inventory on its first use (a tenant list needs none of it); the
    Service, which the API, the workers and the writing commands open, still checks it at
    open, so they fail at start on a broken inventory as before."""
    broken = tmp_path / "inventory"
    shutil.copytree(ROOT / "inventory", broken)
    (broken / "hosts.yaml").write_text("pe1: [not, a, host]\n")
    settings = load_settings(local_config(tmp_path, inventory=broken))
    reader = Reader.open(settings)
    assert reader.tenants() == []
    with pytest.raises(InventoryError):
        reader.catalogue()
    with pytest.raises(InventoryError):
        Service.open(settings)
