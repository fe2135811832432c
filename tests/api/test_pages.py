"""A page of Connectors is read as plain rows, joined with their attachments in one
statement (issue 23: for speed); it must answer, byte for byte, what each Connector's own
read answers, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from starlette.responses import JSONResponse

from onramp.core.store import ConnectorRow

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
