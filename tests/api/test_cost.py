"""What a request costs the store, counted in SQL statements (issue 23: each one is a round
trip and SQLAlchemy's work, most of a create's time): a create and a page stay within
their budget on SQLite and PostgreSQL, whatever the number of Connectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from .conftest import Api

ORDER = {"onramp": "ent-lon", "kind": "enterprise", "bandwidth_mbps": 10, "customer_asn": 65201,
         "prefixes": ["192.168.10.0/24"]}  # fmt: skip
# auth and rate limit: the address's bucket with the key (1), a token drawn (1); the create: the
# tenant with its webhooks and the on-ramp's routers and ports (1), the bandwidth (1), VLAN,
# subnet and VRF number in one statement (1), the transitions, the Connector and its
# attachment (3) (PostgreSQL: the key and token 1, the bandwidth with the values 1, the rows
# 1: four); a page: its Connectors joined with their attachments, after the row it
# follows (1)
CREATE, PAGE = 2 + 6, 2 + 1


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


def test_a_create_and_a_page_stay_within_their_statements(stored_api: Api) -> None:
    api = stored_api
    for _ in range(3):  # the port's usage row, the key's bucket exist after the first
        api.call("POST", "/v1/connectors", json=ORDER).raise_for_status()
    made = statements(api, "POST", "/v1/connectors", json=ORDER)
    assert len(made) <= CREATE, "\n".join(made)
    after = api.call("GET", "/v1/connectors", params={"limit": 2}).json()["next"]
    for params in ({"limit": 2}, {"limit": 2, "after": after}):
        page = statements(api, "GET", "/v1/connectors", params=params)
        assert len(page) <= PAGE, "\n".join(page)


@pytest.mark.postgres
def test_a_create_writes_its_rows_in_one_statement_on_postgresql(stored_api: Api) -> None:
    """The Connector, its attachments and its three transitions: one INSERT with the others
    as its CTEs on PostgreSQL (three statements, three round trips, before; issue 23)."""
    api = stored_api
    if api.svc.store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no INSERT in a WITH")
    for _ in range(3):
        api.call("POST", "/v1/connectors", json=ORDER).raise_for_status()
    made = statements(api, "POST", "/v1/connectors", json=ORDER)
    assert len(made) <= CREATE - 2, "\n".join(made)
    assert [c["state"] for c in api.svc.connectors()] == ["allocated"] * 4
    history = api.svc.history("connector", api.svc.connectors()[-1]["id"])
    assert [h["to"] for h in history] == ["requested", "validated", "allocated"]


def test_every_page_runs_the_same_statements(stored_api: Api) -> None:
    """Values are bound, never written into a page's SQL, so PostgreSQL's driver prepares
    each statement once (psycopg: after 5 runs of one text), whatever the page's place or
    size. A list of the page's ids made a new text for each size, and one past 50 ids that
    psycopg converts again on every page (issue 23)."""
    api = stored_api
    for _ in range(5):
        api.call("POST", "/v1/connectors", json=ORDER).raise_for_status()
    ids = [c["id"] for c in api.call("GET", "/v1/connectors").json()["items"]]
    # full pages and the last one (one Connector), at the start and further on
    texts = {tuple(statements(api, "GET", "/v1/connectors", params={"limit": 2, "after": after}))
             for after in (ids[0], ids[1], ids[3])}  # fmt: skip
    assert len(texts) == 1, texts


@pytest.mark.postgres
def test_a_page_goes_to_the_server_for_its_statements_alone(
    stored_api: Api, tmp_path: Path
) -> None:
    """Every round trip to PostgreSQL is a wait and the server's work: a page makes one per
    statement, no more. A ping on each pooled connection's checkout (pool_pre_ping) made
    two more a page, one for the key's check and one for the page (issue 23). Counted on
    the wire (libpq's trace of what the client sends), not by SQLAlchemy's events."""
    api = stored_api
    if api.svc.store.engine.dialect.name != "postgresql":
        pytest.skip("round trips to a server")
    api.call("POST", "/v1/connectors", json=ORDER).raise_for_status()
    api.call("GET", "/v1/connectors").raise_for_status()  # the key's bucket exists after
    trace = tmp_path / "libpq.trace"
    with trace.open("w") as out:

        def traced(dbapi_conn: Any, _: Any) -> None:
            dbapi_conn.pgconn.trace(out.fileno())

        api.svc.store.engine.dispose()  # connections made from here on are traced
        event.listen(api.svc.store.engine, "connect", traced)
        try:
            for _ in range(2):  # new connections, then pooled ones
                page = statements(api, "GET", "/v1/connectors", params={"limit": 2})
        finally:
            event.remove(api.svc.store.engine, "connect", traced)
            api.svc.store.engine.dispose()  # no traced connection outlives the file
    sent = [line.split("\t")[3] for line in trace.read_text().splitlines()
            if line.split("\t")[1:2] == ["F"]]  # fmt: skip
    # a statement is a Sync (parse, bind, execute) or a simple Query: one round trip each
    trips = sum(kind in ("Sync", "Query") for kind in sent)
    assert trips == 2 * len(page), "\n".join(sent)


@pytest.mark.postgres
def test_the_key_check_and_its_token_are_one_statement_on_postgresql(stored_api: Api) -> None:
    """The key, the address's bucket and the key's token drawn: one statement on PostgreSQL
    (the draw an UPDATE in its WITH), a round trip and a statement less on every request
    than a read then a draw (issue 23). A page then runs two statements."""
    api = stored_api
    if api.svc.store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no UPDATE in a WITH")
    for _ in range(3):
        api.call("POST", "/v1/connectors", json=ORDER).raise_for_status()
    page = statements(api, "GET", "/v1/connectors", params={"limit": 2})
    assert len(page) == PAGE - 1, "\n".join(page)
    assert "UPDATE rate_buckets" in page[0] and "api_keys" in page[0]


@pytest.mark.postgres
def test_a_create_reserves_its_port_with_its_values_on_postgresql(stored_api: Api) -> None:
    """The port's bandwidth reserved and the VLAN, subnet and VRF number taken: one
    statement on PostgreSQL (the reservation an INSERT in its WITH, the values taken only
    if it reserved), a round trip less a create (issue 23). A create then runs four: the
    key, the tenant and usage, the port and values, the rows; and commits."""
    api = stored_api
    if api.svc.store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no INSERT in a WITH")
    for _ in range(3):
        api.call("POST", "/v1/connectors", json=ORDER).raise_for_status()
    made = statements(api, "POST", "/v1/connectors", json=ORDER)
    assert len(made) == CREATE - 4, "\n".join(made)
    reserving = [m for m in made if "INSERT INTO port_usage" in m]
    assert len(reserving) == 1 and "INSERT INTO allocations" in reserving[0], "\n".join(made)
    legs = [c["attachments"][0] for c in api.svc.connectors()]
    assert len({(a["router"], a["port"], a["vlan"]) for a in legs}) == 4
    assert len({(a["router"], a["subnet"]) for a in legs}) == 4
    with api.svc.store.rows() as conn:
        used = conn.execute(text("SELECT sum(used_mbps), sum(attachments) FROM port_usage")).one()
    assert tuple(used) == (4 * ORDER["bandwidth_mbps"], 4)


def test_a_page_opens_no_orm_session(stored_api: Api) -> None:
    """The key's check and a page are Core statements on a pooled connection: an ORM session
    made and closed for the check cost about 40 µs of CPU a request, as much as its
    statement's own work on SQLite (issue 23)."""
    from sqlalchemy.orm import Session

    api = stored_api
    api.call("GET", "/v1/connectors").raise_for_status()  # the key's bucket exists after
    opened: list[Any] = []

    def count(session: Any, transaction: Any) -> None:
        opened.append(session)

    event.listen(Session, "after_transaction_create", count)
    try:
        api.call("GET", "/v1/connectors", params={"limit": 2}).raise_for_status()
    finally:
        event.remove(Session, "after_transaction_create", count)
    assert opened == []


@pytest.mark.postgres
def test_a_creates_insert_binds_few_enough_values_for_the_drivers_cache(stored_api: Api) -> None:
    """psycopg converts a statement's text once and keeps it, unless it binds more than 50
    values: then again on every run (~80 us of a create's CPU). The create's one INSERT
    bound 55 (its three transitions repeat their kind, target, actor and reason): values
    that repeat the first row's are bound once (issue 23)."""
    api = stored_api
    if api.svc.store.engine.dialect.name != "postgresql":
        pytest.skip("psycopg's cache")
    from psycopg import _queries

    api.call("POST", "/v1/connectors", json=ORDER).raise_for_status()
    bound: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        bound.append((statement, parameters))

    event.listen(api.svc.store.engine, "before_cursor_execute", record)
    try:
        api.call("POST", "/v1/connectors", json=ORDER).raise_for_status()
    finally:
        event.remove(api.svc.store.engine, "before_cursor_execute", record)
    (written,) = [(s, p) for s, p in bound if s.lstrip().startswith("WITH w0")]
    assert len(written[1]) <= _queries.MAX_CACHED_STATEMENT_PARAMS, written[0]
    assert len(written[0]) <= _queries.MAX_CACHED_STATEMENT_LENGTH
    history = api.svc.history("connector", api.svc.connectors()[-1]["id"])
    assert [(h["from"], h["to"], h["actor"]) for h in history] == [
        (None, "requested", "onramp"), ("requested", "validated", "onramp"),
        ("validated", "allocated", "onramp")]  # fmt: skip
