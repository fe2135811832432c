"""`onramp validate`, the CI gate without routers: passes on the repository as it is,
and each check finds what it is there to find."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from onramp.cli.main import app
from onramp.core.settings import ROOT, load_settings, local_config
from onramp.core.store import ConnectorRow
from onramp.flow import offline
from onramp.flow.service import Service
from onramp.network import templates
from onramp.network.inventory import load
from onramp.network.templates import RouterServices

from ..conftest import copy_default_inventory


def validate(*args: str, code: int = 0) -> Any:
    result = CliRunner().invoke(app, ["validate", *args, "--json"])
    assert result.exit_code == code, result.output
    return json.loads(result.output)


def test_the_repository_passes_every_check() -> None:
    report = validate("--no-store")
    assert report["ok"] and report["routers"] == len(load(ROOT / "inventory").routers)
    assert set(report["checks"]) == {"inventory", "render", "frr-syntax", "parse-back",
                                     "csp-constraints", "platforms", "golden"}  # fmt: skip


def test_a_broken_inventory_fails_with_its_finding(tmp_path: Path) -> None:
    inv = copy_default_inventory(tmp_path / "inventory").write()
    hosts = yaml.safe_load((inv / "hosts.yaml").read_text())
    first, second = list(hosts)[:2]
    hosts[second]["data"]["loopback"] = hosts[first]["data"]["loopback"]
    (inv / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    report = validate("--no-store", "--inventory", str(inv), code=1)
    assert [f["code"] for f in report["findings"]] == ["ONR-INV-002"]


@pytest.mark.skipif(shutil.which("vtysh") is None, reason="FRR not installed")
def test_frr_refuses_a_line_it_does_not_know() -> None:
    (f,) = offline.frr_syntax({"pe1-par": "hostname x\nrouter bgp 65000\n bgp nonsense\n"})
    assert f["code"] == "ONR-VAL-002" and f["target"] == "pe1-par"


def test_a_feature_that_parses_back_to_other_intent(monkeypatch: pytest.MonkeyPatch) -> None:
    bb = load(ROOT / "inventory")
    real = offline.render
    monkeypatch.setattr(offline, "render", lambda f, p, d, **kw: real(f, p, d, **kw)
                        .replace("net 49.", "net 39."))  # fmt: skip
    found = offline.parse_back(bb, {"pe1-par": RouterServices("pe1-par")})
    assert [(f["target"], f["code"]) for f in found] == [("pe1-par backbone", "ONR-VAL-003")]


def test_a_stored_connector_the_provider_no_longer_allows(tmp_path: Path) -> None:
    config = local_config(tmp_path)
    svc = Service.open(load_settings(config))
    svc.add_tenant("acme", "ACME")
    made = svc.create_connector(svc.connector_request({
        "tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
        "bandwidth_mbps": 100, "aws_account": "123456789012"}))  # fmt: skip

    def shrink(s: Any) -> None:  # as if the provider dropped the 100 Mb/s step since
        row = s.get(ConnectorRow, made["id"])
        row.request = {**row.request, "bandwidth_mbps": 7}

    svc.store.transact(shrink)
    (f,) = offline.constraints(svc, svc.backbone)
    assert f["code"] == "ONR-REQ-004" and f["target"] == f"connector {made['id'][:8]}"
    result = CliRunner().invoke(app, ["--config", str(config), "validate", "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["checks"]["csp-constraints"] == 1


def test_the_pre_commit_hook_runs_the_gate() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    (gate,) = [h for h in hooks if h["id"] == "onramp-validate"]
    done = subprocess.run(gate["entry"].split(), cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK:" in done.stdout


def test_compliance_of_an_unknown_router_is_refused_with_its_code() -> None:
    result = CliRunner().invoke(app, ["compliance", "run", "--router", "nosuch", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.output)["error"]["code"] == "ONR-COMP-003"


@pytest.mark.parametrize("feature", ["backbone", "vrf"])  # every router's; the golden case's
def test_an_undefined_template_variable_is_a_finding_naming_file_and_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, feature: str
) -> None:
    root = tmp_path / "templates"
    shutil.copytree(templates.TEMPLATES, root)
    with (root / feature / "frr.j2").open("a") as f:
        f.write("{{ no_such_value }}\n")
    monkeypatch.setattr(templates, "TEMPLATES", root)
    result = CliRunner().invoke(app, ["validate", "--no-store", "--json"])
    assert isinstance(result.exception, SystemExit), result.exception  # not a crash
    assert result.exit_code == 1, result.output
    found = [f for f in json.loads(result.output)["findings"] if f["code"] == "ONR-TPL-001"]
    assert found and {f["check"] for f in found} >= {"golden"}
    for f in found:
        assert f"{feature}/frr.j2" in f["reason"] and "'no_such_value' is undefined" in f["reason"]
