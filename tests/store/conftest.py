"""Stores for the allocation tests: SQLite files, and a real PostgreSQL server that this
test session starts (initdb into a temp dir, unix socket only) and stops again."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from onramp.inventory import Backbone, load
from onramp.secrets import Vault
from onramp.settings import ROOT
from onramp.store import Store, TenantRow


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throw-away PostgreSQL server; yields a URL template with {db} to fill in."""
    pg = _pg_bin()
    if pg is None:
        pytest.skip("PostgreSQL is not installed: run `make deps` (Debian package postgresql)")
    if os.geteuid() != 0:
        pytest.skip("starting PostgreSQL as user postgres needs root")
    base = Path(
        tempfile.mkdtemp(prefix="onramp-pg-")
    )  # outside pytest's tmp: postgres must read it
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    shutil.chown(base, "postgres")
    shutil.chown(sock, "postgres")
    run = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*run, str(pg / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    opts = f"-c listen_addresses='' -k {sock} -c max_connections=200 -c fsync=off"
    subprocess.run(
        [
            *run,
            str(pg / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-w",
            "-l",
            str(base / "log"),
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@/{{db}}?host={sock}"
    finally:
        subprocess.run(
            [*run, str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


def new_postgres_db(template: str) -> str:
    import psycopg

    name = f"t{uuid.uuid4().hex[:12]}"
    host = template.split("host=")[1]
    with psycopg.connect(host=host, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return template.format(db=name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty, migrated store with tenants acme and globex; once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'onramp.db'}"
    else:
        url = new_postgres_db(request.getfixturevalue("postgres"))
    st = Store(url)
    st.migrate()
    with st.session() as s:
        s.add_all([TenantRow(id="acme", name="ACME"), TenantRow(id="globex", name="Globex")])
    yield st
    st.engine.dispose()


@pytest.fixture(scope="session")
def backbone() -> Backbone:
    return load(ROOT / "inventory")


@pytest.fixture
def vault(tmp_path: Path) -> Vault:
    return Vault(tmp_path / "secret.key")
