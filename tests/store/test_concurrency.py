"""50 concurrent plan-and-commit requests against one port: never a duplicate; every loser
gets a different free resource or a clear "taken, retry" (threads on SQLite, processes on
PostgreSQL)."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from onramp.core.errors import OnrampError
from onramp.core.model import ConnectorRequest
from onramp.core.secrets import Vault
from onramp.core.settings import ROOT
from onramp.core.store import AllocationRow, Store
from onramp.flow import allocate as al
from onramp.network.inventory import load

N = 50
BODY = {
    "tenant": "acme",
    "onramp": "aws-dx-par",
    "kind": "aws-hosted-vif",
    "bandwidth_mbps": 50,
    "aws_account": "123456789012",
}


def plan_and_commit(url: str, key_file: str, pin: bool) -> tuple[str, Any]:
    """Plan, then commit: either whatever is free at commit time, or exactly the planned VLAN."""
    store, bb, vault = Store(url), load(ROOT / "inventory"), Vault(Path(key_file))
    try:
        plan = al.plan_connector(store, bb, ConnectorRequest.model_validate(BODY), vault)
        body = {**BODY, "vlan": plan["attachments"][0]["vlan"]} if pin else BODY
        made = al.create_connector(store, bb, ConnectorRequest.model_validate(body), vault)
        (a,) = made["attachments"]
        return "ok", (a["vlan"], a["subnet"], made["vrf"])
    except OnrampError as exc:
        return exc.code, exc.reason
    finally:
        store.engine.dispose()


def _check(results: list[tuple[str, Any]], store: Store, pin: bool) -> None:
    won = [r for code, r in results if code == "ok"]
    lost = [code for code, _ in results if code != "ok"]
    for field in range(3):  # VLAN, subnet, VRF: never twice
        values = [w[field] for w in won]
        assert len(values) == len(set(values)), f"duplicate {['vlan', 'subnet', 'vrf'][field]}"
    if pin:
        # everyone planned while the others planned: the losers are told it was taken
        assert won and set(lost) <= {"ONR-ALLOC-006"}, lost
    else:
        # a lost race moves on to the next free value inside the transaction: nobody fails
        assert lost == [], lost
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(AllocationRow)) == 3 * len(won)


@pytest.mark.parametrize("pin", [False, True], ids=["next-free", "planned-vlan"])
def test_threads_on_sqlite(tmp_path: Path, pin: bool) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    _prepare(url)
    with ThreadPoolExecutor(max_workers=N) as pool:
        results = list(
            pool.map(lambda _: plan_and_commit(url, str(tmp_path / "key"), pin), range(N))
        )
    _check(results, Store(url), pin)


@pytest.mark.postgres
@pytest.mark.parametrize("pin", [False, True], ids=["next-free", "planned-vlan"])
def test_processes_on_postgresql(postgres: str, tmp_path: Path, pin: bool) -> None:
    from ..conftest import new_postgres_db

    url = new_postgres_db(postgres)
    _prepare(url)
    with multiprocessing.get_context("fork").Pool(N) as pool:
        results = pool.starmap(plan_and_commit, [(url, str(tmp_path / "key"), pin)] * N)
    _check(results, Store(url), pin)


def _prepare(url: str) -> None:
    from onramp.core.store import TenantRow

    store = Store(url)
    store.migrate()
    with store.session() as s:
        s.add(TenantRow(id="acme", name="ACME"))
    store.engine.dispose()
