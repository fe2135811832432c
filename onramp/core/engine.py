"""The store's engine and its transactions, without the ORM until a caller asks for it.

`Store` is what every layer opens: its ORM sessions (`session`, `read`, `transact`) import
SQLAlchemy's ORM on first use; `rows` reads through Core on the same pool, for reads that
return plain shapes (onramp.core.tables): a read-only CLI command then never loads the ORM
(issue 23 item 6). The mapped row classes are in onramp.core.store.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from select import POLLIN, poll
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic_core import from_json
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, OperationalError

from onramp.core.errors import OnrampError

if TYPE_CHECKING:  # the ORM: imported when a session is first made
    from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r'^(down_)?revision\s*=\s*(?:"([^"]*)"|None)', re.MULTILINE)


def head_revision() -> str:
    """The newest migration's revision, read from the files' `revision = "..."` and
    `down_revision = "..."` lines: the one no other file names as its parent. Alembic finds
    the same (tests/store/test_migrations.py checks it) but costs its import to do it."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for down, value in _REVISION.findall(path.read_text()):
            (parents if down else revisions).add(value)
    (head,) = revisions - parents
    return head


class Conflict(Exception):
    """Another transaction took a resource this one wanted: retry on fresh data."""


AUTOCOMMIT_SQLITE = "onramp_autocommit"  # an execution option: no BEGIN on SQLite


# how long a SQLite connection waits for another's write lock before "database is locked"
# (the store's and the embedded broker's: onramp.worker)
BUSY_TIMEOUT_S = 30


def make_engine(url: str) -> Engine:
    # JSON columns read by pydantic's parser (Rust): the standard library's cost a sixth of
    # an API page on PostgreSQL, two columns a row (issue 23); written as before
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
            json_deserializer=from_json,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _: Any) -> None:
            dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            # 64 MiB page cache: indexes stay in memory as the store grows
            cur.execute("PRAGMA cache_size=-65536")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            if conn.get_execution_options().get(AUTOCOMMIT_SQLITE):
                return  # Store.read: each statement its own, no lock held between them
            # writers queue at BEGIN instead of failing later on a lock upgrade
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # a connection the server ended (a restart, pg_terminate_backend, a crash) is replaced
    # at checkout, before any work is sent on it, without the round trip of pool_pre_ping
    # (a ping on every checkout, two a request: issue 23's list p99). Pinging only
    # connections idle for a while was tried before and let a restart within that while
    # reach a worker's statement (tests/e2e/test_faults.py); this test has no such while
    engine = create_engine(
        url,
        json_deserializer=from_json,
        # over TCP, the kernel probes an idle connection: a peer gone without a word (a
        # firewall's cut, a host lost) then shows at checkout too (libpq: ignored on a socket)
        connect_args={"keepalives_idle": 60, "keepalives_interval": 10, "keepalives_count": 3},
    )
    event.listen(engine, "checkout", _drop_if_ended)
    return engine


def _drop_if_ended(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """A pooled PostgreSQL connection idles outside any transaction: the server sends it
    nothing unless it ends it (the error it sends then, or the socket's end). Anything to
    read on it, or a broken connection, and the pool takes a new one (DisconnectionError:
    SQLAlchemy's documented way for a checkout listener to refuse a connection)."""
    if dbapi_conn.closed or dbapi_conn.broken:
        raise DisconnectionError("the connection is closed")
    waiting = poll()  # not select(): it refuses a descriptor past 1023, a busy API's
    try:
        waiting.register(dbapi_conn.pgconn.socket, POLLIN)
    except Exception as exc:  # whatever the driver raises for a socket it no longer has
        raise DisconnectionError(str(exc)) from exc
    if waiting.poll(0):  # readable, closed or in error
        raise DisconnectionError("the server sent something to an idle connection")


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # the same pool, each statement its own transaction (`read`, `rows`): PostgreSQL's
        # driver set to autocommit; SQLite's connections always are, the "begin" listener
        # then adds no BEGIN (SQLAlchemy's AUTOCOMMIT there would turn the driver's own
        # transactions back on when the connection returns to the pool)
        sqlite = url.startswith("sqlite")
        option = {AUTOCOMMIT_SQLITE: True} if sqlite else {"isolation_level": "AUTOCOMMIT"}
        self.autocommit = self.engine.execution_options(**option)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        from sqlalchemy.orm import sessionmaker

        return sessionmaker(self.engine, expire_on_commit=False)

    @cached_property
    def readers(self) -> sessionmaker[Session]:
        from sqlalchemy.orm import sessionmaker

        return sessionmaker(self.autocommit)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent). A store already at
        the newest one is left without importing Alembic: that import alone cost each CLI
        command ~0.1 s of start-up (issue 23), and engineers run the CLI in loops."""
        if self.revision() == head_revision():
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection_url"] = self.url
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def revision(self) -> str | None:
        """The store's schema revision, None when it has none yet (a new database). Read
        in autocommit: a plain connection's BEGIN on SQLite is IMMEDIATE (the "begin"
        listener), so every command's start queued behind the workers' writes for the lock,
        and with a writer past the busy timeout took the store for a new one."""
        with self.autocommit.connect() as conn:
            try:
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except DBAPIError:  # no table yet: a new store
                return None

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as s, s.begin():
            yield s

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session whose every statement is its own transaction (autocommit): for reads,
        and writes that are one atomic statement. No BEGIN and COMMIT (two round trips on
        PostgreSQL, where READ COMMITTED gives each statement its own snapshot anyway); on
        SQLite no write lock held between statements, so a read does not queue behind
        writers. Anything that must commit together goes through `transact`."""
        try:
            with self.readers() as s:
                yield s
        except OperationalError as exc:  # as transact says it: the store is not there
            raise OnrampError("ONR-STORE-001", str(exc).splitlines()[0]) from exc

    @contextmanager
    def rows(self) -> Iterator[Connection]:
        """`read` through Core: the same autocommit statements on the same pool, for a read
        whose answer is plain rows of onramp.core.tables (no ORM imported)."""
        try:
            with self.autocommit.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise OnrampError("ONR-STORE-001", str(exc).splitlines()[0]) from exc

    def transact(self, fn: Callable[[Session], T], retries: int = 8) -> T:
        """Run `fn` in one transaction; on a unique-key race, retry on fresh data."""
        for attempt in range(retries):
            try:
                with self.session() as s:
                    return fn(s)
            except (Conflict, IntegrityError) as exc:
                if attempt == retries - 1:
                    raise OnrampError(
                        "ONR-ALLOC-004",
                        f"resources kept being taken by concurrent requests ({exc})",
                    ) from exc
            except OperationalError as exc:
                raise OnrampError("ONR-STORE-001", str(exc).splitlines()[0]) from exc
        raise AssertionError("unreachable")
