"""`onramp-client plan|apply` against the real API on loopback: the seed's story (an AWS and
an Azure Connector, a Link) from an empty file to the full one and back to empty, each
apply's second run finding nothing to do; the workers' part (allocated -> active,
modifying -> active, decommissioning -> deleted) played by a thread, as in test_client.py. The same story on a
lab through the embedded worker and the simulators: tests/e2e/test_connectivity_lab.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from onramp import connectivity
from onramp.client import Client
from onramp.core.store import ConnectorRow, LinkRow, move
from onramp.flow import change
from onramp.flow.allocate import release_connector, release_link

from .conftest import Api

AZURE_KEY = "9a0b1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d"
STORY: dict[str, Any] = {
    "connectors": {
        "paris-aws": {"onramp": "aws-dx-par", "kind": "aws-hosted-vif", "bandwidth_mbps": 500,
                      "aws_account": "123456789012", "prefixes": ["10.100.0.0/24"],
                      "description": "Paris to our VPC"},
        "london-azure": {"onramp": "azure-er-lon", "kind": "azure-expressroute",
                         "bandwidth_mbps": 1000, "azure_service_key": AZURE_KEY, "s_tag": 100,
                         "prefixes": ["10.100.1.0/24"]},
    },
    "links": {"vpc-to-vnet": {"a": "paris-aws", "b": "london-azure", "bandwidth_mbps": 500,
                              "sla_class": "gold", "description": "VPC to VNet"}},
}  # fmt: skip
REFUSED_AT_THE_GATE = "10.100.66.0/24"  # the workers' thread rolls a change to it back


def changed(description: str, prefixes: list[str]) -> dict[str, Any]:
    """The story with paris-aws' description and prefixes changed."""
    story: dict[str, Any] = yaml.safe_load(yaml.safe_dump(STORY, sort_keys=False))
    story["connectors"]["paris-aws"].update(description=description, prefixes=prefixes)
    return story


@pytest.fixture(scope="module")
def workers(api: Api) -> Iterator[None]:
    """What the workers would do, at once: allocated -> active, decommissioning -> deleted,
    modifying -> active (changed; or, a change to REFUSED_AT_THE_GATE, rolled back as the
    gate would)."""
    stop = threading.Event()

    def modified(s: Any, row: Any) -> None:
        record = dict(row.change)
        if REFUSED_AT_THE_GATE in (record.get("to_prefixes") or []):
            change.undo_in(s, api.svc.backbone, "connector", row, "gate: no route inside it")
        else:
            row.change = {**record, "outcome": "done"}
        move(s, row, "active", "test", "changed")

    def step(s: Any, table: Any, ident: str, state: str) -> None:
        row = s.get(table, ident)
        if row.state != state:
            return  # moved since listed
        if state == "allocated":
            move(s, row, "active", "test", "made")
        else:
            modified(s, row)

    def run() -> None:
        while not stop.wait(0.1):
            for kind, row, items in (("connector", ConnectorRow, api.svc.connectors("acme")),
                                     ("link", LinkRow, api.svc.links("acme"))):  # fmt: skip
                for item in items:
                    if item["state"] in ("allocated", "modifying"):
                        api.svc.store.transact(lambda s, r=row, i=item["id"], st=item["state"]:
                                               step(s, r, i, st))  # fmt: skip
                    elif item["state"] == "decommissioning":  # what it held is free again
                        release = release_connector if kind == "connector" else release_link
                        release(api.svc.store, item["id"], actor="test", reason="removed")

    t = threading.Thread(target=run, daemon=True)
    t.start()
    yield
    stop.set()
    t.join()


def client(api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`onramp-client ARGS` in this process with acme's key; (exit code, stdout)."""
    monkeypatch.setenv("ONRAMP_URL", api.url)
    monkeypatch.setenv("ONRAMP_KEY", api.keys["acme"])

    def run(
        file: dict[str, Any], *args: str, capsys: pytest.CaptureFixture[str]
    ) -> tuple[int, str]:
        path = tmp_path / "connectivity.yaml"
        path.write_text(yaml.safe_dump(file, sort_keys=False))
        capsys.readouterr()
        code = connectivity.main([args[0], "-f", str(path), *args[1:]])
        return code, capsys.readouterr().out

    return run


def live(api: Api) -> dict[str, str]:
    """acme's Connectors and Links not deleted: description -> state."""
    c = Client(api.url, api.keys["acme"])
    items = [*c.connectors(), *c.links()]
    return {connectivity.description_of(i): i["state"] for i in items if i["state"] != "deleted"}


def test_the_story_from_empty_to_full_to_empty(
    api: Api, workers: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    run = client(api, tmp_path, monkeypatch)
    hand = Client(api.url, api.keys["acme"]).order_connector(  # ordered by hand: never touched
        onramp="aws-dx-par", kind="aws-hosted-vif", bandwidth_mbps=50, aws_account="999988887777",
        description="by hand")  # fmt: skip

    assert run({}, "plan", "--detailed-exitcode", capsys=capsys) == (
        0, "No changes: the API holds what the file says.\nPlan: 0 to create, 0 to change, 0 to delete.\n")  # fmt: skip

    code, out = run(STORY, "plan", "--detailed-exitcode", "--json", capsys=capsys)
    planned = json.loads(out)
    assert code == 2 and (planned["create"], planned["change"], planned["delete"]) == (3, 0, 0)
    assert [(c["action"], c["kind"], c["name"]) for c in planned["changes"]] == [
        ("create", "connector", "paris-aws"), ("create", "connector", "london-azure"),
        ("create", "link", "vpc-to-vnet")]  # fmt: skip

    code, out = run(STORY, "apply", "--wait", capsys=capsys)
    assert code == 0, out
    assert live(api) == {"@paris-aws Paris to our VPC": "active", "@london-azure": "active",
                         "@vpc-to-vnet VPC to VNet": "active", "by hand": "active"}  # fmt: skip
    link = next(iter(Client(api.url, api.keys["acme"]).links()))
    ids = {
        connectivity.description_of(c): c["id"]
        for c in Client(api.url, api.keys["acme"]).connectors()
    }
    assert {link["a"], link["b"]} == {ids["@paris-aws Paris to our VPC"], ids["@london-azure"]}

    assert run(STORY, "apply", "--wait", capsys=capsys) == (
        0, "Nothing to do: the API holds what the file says.\n")  # fmt: skip
    assert run(STORY, "plan", "--detailed-exitcode", capsys=capsys)[0] == 0

    # a changed description and prefixes: applied in place (PATCH), the same Connector
    new = changed("Paris to the new VPC", ["10.100.0.0/24", "10.100.8.0/24"])
    code, out = run(new, "apply", "--wait", "--json", capsys=capsys)
    (made,) = json.loads(out)["changes"]
    assert code == 0 and (made["action"], made["name"], made["result"]) == (
        "change", "paris-aws", "active"), out  # fmt: skip
    assert made["fields"] == {
        "description": ["Paris to our VPC", "Paris to the new VPC"],
        "prefixes": [["10.100.0.0/24"], ["10.100.0.0/24", "10.100.8.0/24"]]}  # fmt: skip
    now = Client(api.url, api.keys["acme"]).connector(made["id"])
    assert now["id"] == ids["@paris-aws Paris to our VPC"] and now["state"] == "active"
    assert now["request"]["prefixes"] == ["10.100.0.0/24", "10.100.8.0/24"]
    assert now["request"]["description"] == "@paris-aws Paris to the new VPC"
    assert [h["to"] for h in now["history"]][-2:] == ["modifying", "active"]
    assert run(new, "apply", "--wait", capsys=capsys) == (
        0, "Nothing to do: the API holds what the file says.\n")  # fmt: skip
    assert run(new, "plan", "--detailed-exitcode", capsys=capsys)[0] == 0

    code, out = run({}, "apply", "--wait", capsys=capsys)  # Links go before their Connectors
    assert code == 0, out
    lines = [ln for ln in out.splitlines() if ln.startswith("  - ")]
    assert [ln.split(":")[0] for ln in lines][:3] == [
        "  - link vpc-to-vnet", "  - connector paris-aws", "  - connector london-azure"], out  # fmt: skip
    assert live(api) == {"by hand": "active"}
    assert run({}, "apply", "--wait", capsys=capsys) == (
        0, "Nothing to do: the API holds what the file says.\n")  # fmt: skip
    Client(api.url, api.keys["acme"]).delete("connector", hand["id"])


def test_a_change_the_gate_rolls_back_exits_1_and_stays_planned(
    api: Api, workers: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """A change in place that the workers roll back ends `active` as it was: apply --wait
    says so and exits 1, and the next plan still has the change to make."""
    run = client(api, tmp_path, monkeypatch)
    assert (ran := run(STORY, "apply", "--wait", capsys=capsys))[0] == 0, ran
    refused = changed("Paris to our VPC", ["10.100.0.0/24", REFUSED_AT_THE_GATE])
    code, out = run(refused, "apply", "--wait", capsys=capsys)
    assert code == 1 and "[rolled back: gate: no route inside it]" in out, out
    held = connectivity.held(Client(api.url, api.keys["acme"]))["connector"]["paris-aws"]
    assert (held["state"], held["request"]["prefixes"]) == ("active", ["10.100.0.0/24"])
    assert run(refused, "plan", "--detailed-exitcode", capsys=capsys)[0] == 2
    # refused before anything is touched (ONR-REQ-012): the API's code, exit 1, nothing moved
    code, out = run(changed("x", ["10.100.0.0/24", "10.100.0.128/25"]), "apply", "--json",
                    capsys=capsys)  # fmt: skip
    (made,) = json.loads(out)["changes"]
    assert code == 1 and made["result"].startswith("ONR-REQ-012"), out
    assert run(STORY, "plan", "--detailed-exitcode", capsys=capsys)[0] == 0
    assert run({}, "apply", "--wait", capsys=capsys)[0] == 0


@pytest.mark.parametrize(("edit", "code", "field"), [
    (lambda f: f["links"]["vpc-to-vnet"].update(b="nowhere"), "ONR-CLIENT-002", "links.vpc-to-vnet.b"),
    (lambda f: f["connectors"]["paris-aws"].update(colour="red"), "ONR-CLIENT-002", "connectors.paris-aws"),
    (lambda f: f["connectors"].update({"Paris AWS": {}}), "ONR-CLIENT-002", "connectors.Paris AWS"),
    (lambda f: f["connectors"]["paris-aws"].update(description="x" * 60), "ONR-CLIENT-002",
     "connectors.paris-aws"),
])  # fmt: skip
def test_a_wrong_file_is_an_error_with_its_field_and_nothing_is_made(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], edit: Any, code: str, field: str,
) -> None:  # fmt: skip
    run = client(api, tmp_path, monkeypatch)
    wrong = yaml.safe_load(yaml.safe_dump(STORY, sort_keys=False))
    edit(wrong)
    before = live(api)
    status, out = run(wrong, "apply", "--json", capsys=capsys)
    error = json.loads(out)["error"]
    assert status == 1 and (error["code"], error["field"]) == (code, field), error
    assert live(api) == before


def test_what_cannot_change_in_place_asks_for_a_new_name(
    api: Api, workers: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    run = client(api, tmp_path, monkeypatch)
    assert (ran := run(STORY, "apply", "--wait", capsys=capsys))[0] == 0, ran
    moved = yaml.safe_load(yaml.safe_dump(STORY, sort_keys=False))
    moved["connectors"]["paris-aws"]["aws_account"] = "111122223333"
    status, out = run(moved, "plan", "--json", capsys=capsys)
    error = json.loads(out)["error"]
    assert status == 1 and error["code"] == "ONR-CLIENT-003", error
    assert error["field"] == "connectors.paris-aws.aws_account" and "new name" in error["hint"]
    assert run({}, "apply", "--wait", capsys=capsys)[0] == 0


def test_the_console_entry_point_and_its_exit_codes(api: Api) -> None:
    """As a CI job runs it (examples/ci/): a process, the key from the environment, never
    on the line; the example file of examples/."""
    path = Path(__file__).parents[2] / "examples" / "connectivity.yaml"
    env = {"ONRAMP_URL": api.url, "ONRAMP_KEY": api.keys["acme"], "PATH": "/usr/bin:/bin",
           "PYTHONPATH": os.environ.get("PYTHONPATH", "")}  # fmt: skip
    cmd = [sys.executable, "-m", "onramp.connectivity", "plan", "-f", str(path)]
    planned = subprocess.run([*cmd, "--detailed-exitcode"], env=env, capture_output=True,
                             text=True, timeout=60)  # fmt: skip
    assert (
        planned.returncode == 2 and "Plan: 3 to create, 0 to change, 0 to delete." in planned.stdout
    )
    assert subprocess.run(cmd, env=env, capture_output=True, timeout=60).returncode == 0
    refused = subprocess.run(cmd, env={**env, "ONRAMP_KEY": "onr_nothere_x"},
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert refused.returncode == 1 and refused.stderr.startswith("ONR-API-001"), refused.stderr
    assert api.keys["acme"] not in planned.stdout + planned.stderr
