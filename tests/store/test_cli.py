"""`onramp tenant|catalogue|connector|link` on a SQLite store named in a config file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from onramp.cli.main import app
from onramp.core.settings import ROOT
from onramp.core.store import AllocationRow, ConnectorRow, Store, move
from onramp.flow import allocate as al

AWS = [
    "--tenant",
    "acme",
    "--onramp",
    "aws-dx-par",
    "--kind",
    "aws-hosted-vif",
    "--bandwidth",
    "1000",
    "--aws-account",
    "123456789012",
]
AZURE = [
    "--tenant",
    "acme",
    "--onramp",
    "azure-er-lon",
    "--kind",
    "azure-expressroute",
    "--bandwidth",
    "1000",
    "--azure-service-key",
    "9a0b1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d",
]


@pytest.fixture
def onramp(tmp_path: Path) -> Any:
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "nornir": {
                    "inventory": {
                        "plugin": "OnrampInventory",
                        "options": {"directory": str(ROOT / "inventory")},
                    }
                },
                "store_url": "sqlite:///store/onramp.db",
                "secret_key_file": "store/secret.key",
            }
        )
    )
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, ["--config", str(config), *args])
        assert result.exit_code == code, result.output
        return json.loads(result.output) if "--json" in args else result.output

    run("tenant", "add", "acme", "ACME Corp")
    return run


def test_plan_writes_nothing_then_create_list_show(onramp: Any) -> None:
    plan = onramp("connector", "plan", *AWS, "--json")
    assert plan["attachments"][0]["router"] == "pe1-par" and plan["md5_key"] == "set"
    assert onramp("connector", "list", "--json") == []
    made = onramp("connector", "create", *AWS, "--json")
    assert made["attachments"] == plan["attachments"]
    assert [c["id"] for c in onramp("connector", "list", "--json")] == [made["id"]]
    shown = onramp("connector", "show", made["id"][:8], "--json")
    assert shown["id"] == made["id"] and shown["request"]["aws_account"] == "123456789012"
    text = onramp("connector", "show", made["id"][:8])
    assert "pe1-par" in text and made["attachments"][0]["local_address"] in text
    free = {o["id"]: o["free_mbps"] for o in onramp("catalogue", "--json")}
    assert free["aws-dx-par"] == 9000


def test_create_without_prefixes_says_how_to_add_them(onramp: Any) -> None:
    """An order without --prefix goes active with its session up and no route let in (the
    router's filter denies all): the text says so and how to list them; with one, no word."""
    text = onramp("connector", "create", *AWS)
    ident = onramp("connector", "list", "--json")[0]["id"][:8]
    assert f"no --prefix: the router accepts no route from it until 'onramp connector update {ident} --prefix P'" in " ".join(text.split())  # fmt: skip
    assert "no --prefix" not in onramp("connector", "create", *AZURE, "--prefix", "10.1.0.0/24")
    planned = " ".join(onramp("connector", "plan", *AWS).split())  # nothing written to update
    assert "until --prefix P lists them" in planned and "connector update" not in planned


def test_create_says_who_takes_it_on(onramp: Any, tmp_path: Path) -> None:
    """Created, a Connector or Link stays `allocated` until a worker takes it on: the text
    says so, how to follow it, and how to start a worker (a stranger's walk found it
    `allocated`, nothing said why). The same order again, already there, says nothing more."""
    text = onramp("connector", "create", *AWS, "--idempotency-key", "walk-1")
    made = onramp("connector", "list", "--json")[0]
    assert made["state"] == "allocated"
    assert "handed to the workers" in text and f"onramp connector show {made['id'][:8]}" in text
    assert "'onramp worker' starts one" in text
    b = onramp("connector", "create", *AZURE, "--json")["id"]
    link = onramp("link", "create", "--tenant", "acme", "--a", made["id"], "--b", b,
                  "--bandwidth", "500")  # fmt: skip
    assert "handed to the workers" in link and "onramp link show" in link
    store = Store(f"sqlite:///{tmp_path / 'store' / 'onramp.db'}")
    store.transact(lambda s: move(s, s.get(ConnectorRow, made["id"]), "active", "test"))
    again = onramp("connector", "create", *AWS, "--idempotency-key", "walk-1")
    assert "handed to the workers" not in again


def test_link_plan_create_show_delete(onramp: Any) -> None:
    a = onramp("connector", "create", *AWS, "--json")["id"]
    b = onramp("connector", "create", *AZURE, "--json")["id"]
    plan = onramp(
        "link",
        "plan",
        "--tenant",
        "acme",
        "--a",
        a[:8],
        "--b",
        b[:8],
        "--bandwidth",
        "500",
        "--json",
    )
    assert plan["route_target"] == "65000:1" and onramp("link", "list", "--json") == []
    link = onramp(
        "link",
        "create",
        "--tenant",
        "acme",
        "--a",
        a,
        "--b",
        b,
        "--bandwidth",
        "500",
        "--sla",
        "gold",
        "--json",
    )
    assert onramp("link", "show", link["id"], "--json")["sla_class"] == "gold"
    refused = onramp("connector", "delete", a, "--json", code=2)
    assert refused["error"]["code"] == "ONR-REQ-015"  # delete its Links first
    dry = onramp("connector", "delete", a, "--dry-run", "--json", code=2)  # refused alike
    assert dry["error"]["code"] == "ONR-REQ-015"
    assert onramp("link", "delete", link["id"], "--json")["state"] == "decommissioning"
    # still held until the workers have taken the Link off the routers
    assert onramp("connector", "delete", a, "--json", code=2)["error"]["code"] == "ONR-REQ-015"


def test_delete_hands_it_to_the_workers_and_releases_nothing_before(
    onramp: Any, tmp_path: Path
) -> None:
    """`connector delete` marks it decommissioning; what it holds stays held (the routers and
    the provider may still carry it) until the workers' step releases it; no Link onto it."""
    a = onramp("connector", "create", *AWS, "--json")["id"]
    b = onramp("connector", "create", *AZURE, "--json")["id"]
    store = Store(f"sqlite:///{tmp_path / 'store' / 'onramp.db'}")
    store.transact(lambda s: move(s, s.get(ConnectorRow, a), "active", "test"))  # as deployed
    assert onramp("connector", "delete", a[:8], "--json")["state"] == "decommissioning"
    with store.session() as s:
        assert s.scalar(select(func.count()).where(AllocationRow.owner == a)) == 3
    text = onramp("connector", "delete", a[:8])  # again: the same answer
    assert "decommissioning" in text and "--wait" in text
    onto = onramp("link", "create", "--tenant", "acme", "--a", b, "--b", a, "--bandwidth", "100",
                  "--json", code=2)  # fmt: skip
    assert (onto["error"]["code"], onto["error"]["field"]) == ("ONR-REQ-016", "b")
    al.release_connector(store, a)  # the decommission step's last part, as a worker does it
    assert onramp("connector", "delete", a[:8], "--json")["state"] == "deleted"
    store.engine.dispose()


def test_refusal_shows_code_field_and_hint(onramp: Any) -> None:
    out = onramp("connector", "create", *AWS, "--description", "web\nrouter bgp 1", code=2)
    assert "ONR-REQ-008" in out and "[description]" in out and "->" in out
    err = onramp("connector", "create", *AWS[:-2], "--json", code=2)["error"]
    assert (err["code"], err["field"]) == ("ONR-REQ-003", "aws_account")
    assert onramp("connector", "list", "--json") == []


def test_show_has_the_history_of_state_changes(onramp: Any) -> None:
    a = onramp("connector", "create", *AWS, "--json")["id"]
    b = onramp("connector", "create", *AZURE, "--json")["id"]
    link = onramp("link", "create", "--tenant", "acme", "--a", a, "--b", b,
                  "--bandwidth", "500", "--json")  # fmt: skip
    onramp("link", "delete", link["id"], "--json")
    made = onramp("connector", "show", a[:8], "--json")["history"]
    steps = [(None, "requested"), ("requested", "validated"), ("validated", "allocated")]
    assert [(h["from"], h["to"]) for h in made] == steps
    assert set(made[0]) == {"from", "to", "at", "actor", "reason"} and made[0]["actor"]
    gone = onramp("link", "show", link["id"], "--json")["history"]
    assert [h["to"] for h in gone][-2:] == ["allocated", "decommissioning"]
    text = onramp("link", "show", link["id"][:8])
    assert "history" in text and "allocated" in text and "decommissioning" in text
    assert gone[-1]["actor"] in text
    assert "allocated" in onramp("connector", "show", a[:8]).split("history", 1)[1]


def test_drain_dry_run_fails_when_nothing_can_move(onramp: Any) -> None:
    assert "no Connector on pe1-par" in onramp("runbook", "drain-pe", "pe1-par")  # exit 0
    made = onramp("connector", "create", *AWS, "--json")  # allocated, not active: cannot move
    report = onramp("runbook", "drain-pe", "pe1-par", "--json", code=1)
    assert [m["connector"] for m in report["moves"] if m["blocked"]] == [made["id"]]
    text = onramp("runbook", "drain-pe", "pe1-par", code=1)
    assert "none of the 1 Connector(s) on pe1-par can move" in text
