"""What a request costs the store, counted in SQL statements (issue 23: each one is a round
trip and SQLAlchemy's work, most of a create's time): a create and a page stay within
their budget on SQLite and PostgreSQL, whatever the number of Connectors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from ..conftest import new_postgres_db
from .conftest import Api, running_api

ORDER = {"onramp": "ent-lon", "kind": "enterprise", "bandwidth_mbps": 10, "customer_asn": 65201,
         "prefixes": ["192.168.10.0/24"]}  # fmt: skip
# auth and rate limit: the address's bucket with the key (1), a token drawn (1); the create: the
# tenant with its webhooks (1), the on-ramp's routers and ports (1), the bandwidth (1), VLAN,
# subnet and VRF number in one statement (1), the transitions, the Connector and its
# attachment (3); a page: its Connectors and their attachments (2), after the row it
# follows (1)
CREATE, PAGE = 2 + 7, 2 + 2


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    more: dict[str, Any] = {}
    if request.param == "postgresql":
        more["store_url"] = new_postgres_db(request.getfixturevalue("postgres"))
    with running_api(tmp_path, **more) as running:
        yield running


def statements(api: Api, method: str, path: str, **kw: Any) -> list[str]:
    """The SQL statements the API ran for one request (BEGIN and savepoints counted)."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(api.svc.store.engine, "before_cursor_execute", count)
    try:
        api.call(method, path, **kw).raise_for_status()
    finally:
        event.remove(api.svc.store.engine, "before_cursor_execute", count)
    return [s for s in seen if not s.startswith("BEGIN")]  # SQLite's own BEGIN IMMEDIATE


def test_a_create_and_a_page_stay_within_their_statements(api: Api) -> None:
    for _ in range(3):  # the port's usage row, the key's bucket exist after the first
        api.call("POST", "/v1/connectors", json=ORDER).raise_for_status()
    made = statements(api, "POST", "/v1/connectors", json=ORDER)
    assert len(made) <= CREATE, "\n".join(made)
    after = api.call("GET", "/v1/connectors", params={"limit": 2}).json()["next"]
    for params, most in (({"limit": 2}, PAGE), ({"limit": 2, "after": after}, PAGE + 1)):
        page = statements(api, "GET", "/v1/connectors", params=params)
        assert len(page) <= most, "\n".join(page)
