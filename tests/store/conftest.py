"""Stores for the allocation tests: SQLite files, and the real PostgreSQL server of
tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from onramp.core.secrets import Vault
from onramp.core.settings import ROOT
from onramp.core.store import Store, TenantRow
from onramp.network.inventory import Backbone, load

from ..conftest import new_postgres_db


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
