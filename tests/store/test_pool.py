"""The store's connections: reads without a transaction, and a pooled connection the server
dropped while it sat idle replaced before anything is sent on it."""

from __future__ import annotations

import os
import resource
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import select, text

from onramp.core.secrets import Vault
from onramp.core.settings import load_settings
from onramp.core.store import ConnectorRow, Store, TenantRow, move
from onramp.flow.service import Service
from onramp.network.inventory import Backbone

from ..conftest import new_postgres_db, pg_server


def test_a_read_takes_no_write_lock(store: Store) -> None:
    """A read goes on while a writer holds its transaction open (SQLite: BEGIN IMMEDIATE
    took the write lock for reads too, so a page queued behind every allocation)."""
    with store.session() as writing:
        writing.add(TenantRow(id="initech", name="Initech"))
        writing.flush()
        with store.read() as s:  # another connection of the pool
            assert set(s.scalars(select(TenantRow.id))) == {"acme", "globex"}


def test_a_history_is_read_while_a_writer_holds_its_transaction(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    """What every poll of a state reads goes on beside a writer (a worker's heartbeat, or
    one paused inside it: the old read waited the 30 s busy timeout, then "database is
    locked", a raw OperationalError)."""
    svc = Service(load_settings(), store, backbone, vault)
    c = svc.create_connector(svc.connector_request(
        {"tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
         "bandwidth_mbps": 100, "aws_account": "123456789012"}))  # fmt: skip
    with store.session() as writing:
        writing.add(TenantRow(id="initech", name="Initech"))
        writing.flush()
        steps = [h["to"] for h in svc.history("connector", c["id"])]
    assert steps == ["requested", "validated", "allocated"]


def test_a_connector_or_link_is_shown_while_a_writer_holds_its_transaction(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    """`connector show`, `GET /v1/connectors/{id}`, a Link's, and the key reveals read
    beside a writer (they took SQLite's write lock with BEGIN IMMEDIATE: behind a worker
    paused inside a heartbeat they waited the 30 s busy timeout, then failed)."""
    svc = Service(load_settings(), store, backbone, vault)
    order = {"tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
             "bandwidth_mbps": 100, "aws_account": "123456789012"}  # fmt: skip
    a, b = (svc.create_connector(svc.connector_request(order)) for _ in range(2))
    for c in (a, b):
        store.transact(lambda s, i=c["id"]: move(s, s.get(ConnectorRow, i), "active", "t", "t"))
    link = svc.create_link(svc.link_request({"tenant": "acme", "a": a["id"], "b": b["id"],
                                             "bandwidth_mbps": 10}))  # fmt: skip
    with store.session() as writing:
        writing.add(TenantRow(id="initech", name="Initech"))
        writing.flush()
        assert svc.connector(a["id"][:8], tenant="acme")["id"] == a["id"]
        assert svc.link(link["id"])["a"] == a["id"]
        assert svc.view("connector", b["id"])["id"] == b["id"]
        assert svc.reveals(a["id"]) == []


@pytest.mark.postgres
def test_a_connection_dropped_while_idle_is_replaced(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to drop a connection")
    with store.read() as s:
        pid = s.scalar(text("SELECT pg_backend_pid()"))
    # the server ends the pooled connection (a restart, a firewall's idle cut)
    other = Store(store.url)
    with other.engine.begin() as admin:
        # waits until that backend has ended (up to 10 s): the drop happened while idle
        assert admin.scalar(text("SELECT pg_terminate_backend(:p, 10000)"), {"p": pid})
    other.engine.dispose()
    for reading in (store.read, store.session):
        with reading() as s:
            assert s.scalar(text("SELECT pg_backend_pid()")) != pid
            assert set(s.scalars(select(TenantRow.id))) == {"acme", "globex"}


@pytest.mark.postgres
def test_every_pooled_connection_is_replaced_after_a_restart_or_their_end() -> None:
    """The server restarted, then every pooled connection ended by pg_terminate_backend:
    the next reads and transactions still succeed, on new connections (the pool checks a
    connection at checkout without a round trip: what the server sent before ending it)."""
    with pg_server() as pg:  # its own server: the session's stays up for the others
        st = Store(new_postgres_db(pg.url))
        st.migrate()
        with st.session() as s:
            s.add(TenantRow(id="acme", name="ACME"))

        def several() -> set[int]:
            """Four connections checked out at once, so the pool keeps four."""
            with ExitStack() as held:
                readers = [held.enter_context(st.read()) for _ in range(4)]
                return {int(r.scalar(text("SELECT pg_backend_pid()"))) for r in readers}

        before = several()
        pg.restart()
        assert set(st.transact(lambda s: list(s.scalars(select(TenantRow.id))))) == {"acme"}
        pids = several()
        assert not pids & before
        with Store(st.url).engine.begin() as admin:
            for pid in pids:
                assert admin.scalar(text("SELECT pg_terminate_backend(:p, 10000)"), {"p": pid})
        for _ in range(4):
            with st.read() as s:
                assert s.scalar(select(TenantRow.id)) == "acme"
            assert st.transact(lambda s: s.scalar(select(TenantRow.id))) == "acme"
        assert not several() & pids
        st.engine.dispose()


@pytest.mark.postgres
def test_a_connection_past_the_first_1024_descriptors_is_checked_out(store: Store) -> None:
    """A busy API process holds many sockets: a pooled connection's descriptor can be past
    1023, where select() refuses it (the check at checkout must not take that for a dead
    connection and refuse every one)."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no socket")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 1200:
        pytest.skip(f"{hard} descriptors at most")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    store.engine.dispose()  # the next connection's socket comes after every descriptor below
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with store.read() as s:
            assert s.scalar(select(TenantRow.id).where(TenantRow.id == "acme")) == "acme"
            fd = s.connection().connection.dbapi_connection.pgconn.socket  # type: ignore[union-attr]
        assert fd > 1023
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_read_leaves_the_sqlite_driver_without_its_own_transactions(tmp_path: Path) -> None:
    """Only the "begin" listener's BEGIN IMMEDIATE starts a transaction on SQLite: a read
    must hand its connection back that way (SQLAlchemy's AUTOCOMMIT, undone on return,
    left the driver opening its own deferred transactions and ran a PRAGMA each way)."""
    st = Store(f"sqlite:///{tmp_path / 'onramp.db'}")
    st.migrate()
    for _ in range(2):
        with st.read() as s:
            s.execute(select(TenantRow.id)).all()
        with st.engine.connect() as conn:  # the pool's one connection, back from the read
            assert conn.connection.dbapi_connection.isolation_level is None  # type: ignore[union-attr]
