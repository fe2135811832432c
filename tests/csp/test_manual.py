"""The ticket adapter through `onramp ticket`, as an engineer works it: a request waits in
AWAITING_TICKET with the text a provider needs (key masked, revealed only on demand), the
engineer records the answer, the adapter's next status reads it; removal goes the same
way; once only. What every adapter does (retries, waiting, rejection, delete, unknown
ids, a restarted worker) is the contract's (test_contract.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from typer.testing import CliRunner

from onramp.cli.main import app
from onramp.core.secrets import Vault
from onramp.core.settings import ROOT
from onramp.core.store import Base, Store
from onramp.csp.adapter import CspState, wait
from onramp.csp.manual.adapter import ManualAdapter
from tests.csp.cases import MANUAL_REQ

REQ = MANUAL_REQ
KEY = REQ.md5_key


@pytest.fixture
def setup(tmp_path: Path) -> tuple[ManualAdapter, Any]:
    """(adapter, run) on one store: `run` is the `onramp` CLI on a config naming it."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "nornir": {"inventory": {"plugin": "OnrampInventory",
                                 "options": {"directory": str(ROOT / "inventory")}}},
        "store_url": "sqlite:///onramp.db",
        "secret_key_file": "secret.key",
    }))  # fmt: skip
    store = Store(f"sqlite:///{tmp_path / 'onramp.db'}")
    store.migrate()
    adapter = ManualAdapter("ibm", store, Vault(tmp_path / "secret.key"), {"pe1-fra:eth4": "DL-7"})

    def run(*args: str, code: int = 0) -> Any:
        result = CliRunner().invoke(app, ["--config", str(config), *args])
        assert result.exit_code == code, result.output
        return json.loads(result.output) if "--json" in args else result.output

    return adapter, run


def test_the_migrations_make_exactly_the_tables_the_code_uses(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'm.db'}")
    store.migrate()
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_request_waits_for_the_answer_recorded_by_an_engineer(
    setup: tuple[ManualAdapter, Any],
) -> None:
    adapter, run = setup
    opened = adapter.request(REQ)
    assert (opened.state, opened.provider_state) == (CspState.AWAITING_TICKET, "ticket open")
    (listed,) = run("ticket", "list", "--json")
    assert listed["id"] == opened.resource_id and listed["provider"] == "ibm"
    text = run("ticket", "show", opened.resource_id[:8])
    for needed in ("ibm-account-4411", "VLAN                       : 812", "169.254.64.1/30",
                   "169.254.64.2/30", "4200000017", "64999", "500 Mb/s", "your port DL-7"):  # fmt: skip
        assert needed in text
    assert KEY not in text and KEY not in json.dumps(listed) and "<masked>" in text
    assert run("ticket", "show", opened.resource_id[:8], "--reveal", "--json")["md5_key"] == KEY

    run("ticket", "answer", opened.resource_id[:8], "--accept", "--ref", "DL-CASE-991")
    ready = wait(adapter, opened.resource_id, timeout_s=1, poll_s=0.05)
    assert ready.state == CspState.READY and ready.details["provider_ref"] == "DL-CASE-991"
    assert run("ticket", "list").strip() == "no tickets waiting"
    again = run("ticket", "answer", opened.resource_id[:8], "--reject", "--json", code=2)
    assert again["error"]["code"] == "ONR-CSP-007"

    removing = adapter.delete(opened.resource_id)
    assert removing.state == CspState.DELETING
    assert "Remove private peering" in run("ticket", "show", opened.resource_id[:8])
    assert "DL-CASE-991" in run("ticket", "show", opened.resource_id[:8])
    run("ticket", "answer", opened.resource_id[:8], "--accept", "--ref", "DL-CASE-992")
    assert adapter.status(opened.resource_id).state == CspState.DELETED
    history = run("ticket", "show", opened.resource_id[:8], "--json")["answer"]["history"]
    assert [h["provider_ref"] for h in history] == ["DL-CASE-991", "DL-CASE-992"]


def test_a_rejection_recorded_by_an_engineer_is_read_by_the_adapter(
    setup: tuple[ManualAdapter, Any],
) -> None:
    adapter, run = setup
    opened = adapter.request(REQ)
    run("ticket", "answer", opened.resource_id[:8], "--reject", "--note", "VLAN taken")
    assert adapter.status(opened.resource_id).state == CspState.REJECTED
    assert run("ticket", "show", opened.resource_id[:8], "--json")["answer"]["note"] == "VLAN taken"
