"""A page of Connectors is read as plain rows, joined with their attachments in one
statement (issue 23: for speed); it must answer, byte for byte, what each Connector's own
read answers, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text
from starlette.responses import JSONResponse

from onramp.core.store import AttachmentRow, ConnectorRow

from .conftest import AWS, Api

ENT = {"onramp": "ent-lon", "kind": "enterprise", "bandwidth_mbps": 10, "customer_asn": 65201,
       "prefixes": ["192.168.10.0/24"]}  # fmt: skip
AZURE = {"onramp": "azure-er-lon", "kind": "azure-expressroute",
         "bandwidth_mbps": 200, "azure_service_key": "6f1c2a4e-0c7b-4e55-9a0f-3d2b1c0e9a11"}  # fmt: skip


def held_nothing(api: Api) -> str:
    """A failed Connector that holds no attachment (a copy of a row, without its legs):
    the store allows it, so a page shows it too."""

    def copy(s: Any) -> str:
        row = s.scalars(select(ConnectorRow).limit(1)).one()
        cols = {c.key: getattr(row, c.key) for c in ConnectorRow.__table__.columns
                if c.key not in ("created_at", "updated_at")}  # now: the last made  # fmt: skip
        ident = str(uuid.uuid4())
        s.add(ConnectorRow(**{**cols, "id": ident, "number": 99_999, "idempotency_key": None,
                              "state": "failed", "reason": "no port"}))  # fmt: skip
        return ident

    return str(api.svc.store.transact(copy))


def test_a_page_is_its_connectors_as_each_is_shown(stored_api: Api) -> None:
    api = stored_api
    for order in (AZURE, AWS, ENT, AZURE):  # two legs, one, one, two
        api.call("POST", "/v1/connectors", json=order).raise_for_status()
    bare = held_nothing(api)
    with api.svc.store.session() as s:  # oldest first, as pages are, read by the ORM
        ids = list(s.scalars(select(ConnectorRow.id).order_by(ConnectorRow.created_at,
                                                             ConnectorRow.id)))  # fmt: skip
    assert len(ids) == 5
    for params, listed, more in (
        ({"limit": 500}, ids, False),
        ({"limit": 2}, ids[:2], True),
        ({"limit": 2, "after": ids[1]}, ids[2:4], True),
        ({"limit": 2, "after": ids[3]}, ids[4:], False),
        ({"state": "failed"}, [bare], False),
        ({"limit": 3, "after": str(uuid.uuid4())}, ids[:3], True),  # unknown: from the start
    ):
        page = api.call("GET", "/v1/connectors", params=params)
        items = [api.svc.connector(i) for i in listed]
        # the API's own rendering (as_json) of what each Connector's read answers
        wanted = JSONResponse({"items": items, "next": listed[-1] if more else None}).body
        assert page.content == wanted, params
        assert page.headers["content-type"] == "application/json"
    assert [len(c["attachments"]) for c in api.svc.connectors()] == [2, 1, 1, 2, 0]


@pytest.mark.postgres
def test_a_page_looks_up_its_connectors_attachments_whatever_the_statistics(
    stored_api: Api,
) -> None:
    """PostgreSQL plans a page (a statement's first runs on each connection are planned
    with their values) from the tables' statistics: with them, it hashed every attachment
    of the store to join a page of 50 (a scan of the table, 1.1 ms at 10,000 and growing,
    issue 23) where a lookup per Connector takes 0.1 ms."""
    api = stored_api
    if api.svc.store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's planner")
    api.call("POST", "/v1/connectors", json=ENT).raise_for_status()
    copies(api, 3000)
    with api.svc.store.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    ran: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        ran.append((statement, parameters))

    event.listen(api.svc.store.engine, "before_cursor_execute", seen)
    try:
        api.call("GET", "/v1/connectors", params={"limit": 50}).raise_for_status()
    finally:
        event.remove(api.svc.store.engine, "before_cursor_execute", seen)
    statement, parameters = ran[-1]  # the page's, after the key's
    assert "attachments" in statement
    with api.svc.store.engine.connect() as conn:
        plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
    assert "Seq Scan on attachments" not in plan, plan


def copies(api: Api, n: int) -> None:
    """n - 1 more Connectors of the one there, each with its attachment (their rows copied,
    in two statements: allocating this many would take minutes)."""
    with api.svc.store.session() as s:
        row = s.scalars(select(ConnectorRow)).one()
        cols = {c.key: getattr(row, c.key) for c in ConnectorRow.__table__.columns}
        leg = row.attachments[0]
        legs = {
            c.key: getattr(leg, c.key) for c in AttachmentRow.__table__.columns if c.key != "id"
        }
        ids = [str(uuid.uuid4()) for _ in range(1, n)]
        at = cols["created_at"]
        s.execute(insert(ConnectorRow.__table__), [
            {**cols, "id": i, "number": 100_000 + k, "idempotency_key": None,
             "created_at": at + timedelta(milliseconds=k)} for k, i in enumerate(ids, 1)])  # fmt: skip
        s.execute(insert(AttachmentRow.__table__), [{**legs, "connector_id": i} for i in ids])
