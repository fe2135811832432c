"""Platforms that cannot take a safe deploy (no commit-confirm in their NAPALM driver, no
gate parser) stay in the inventory but carry no Connector: allocation passes them over
or refuses the order (ONR-PLAT-001), and plans, applies and `onramp validate` refuse them,
all before any router is connected to (their management addresses here answer nothing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select
from typer.testing import CliRunner

from onramp.api import keys as apikeys
from onramp.api.app import create_app, serve_in_thread
from onramp.cli.main import app
from onramp.core.errors import OnrampError
from onramp.core.settings import load_settings, local_config
from onramp.core.store import AllocationRow
from onramp.flow import offline
from onramp.flow.service import Service
from onramp.network.inventory import load
from onramp.network.platforms import PLATFORMS

from ..conftest import InventoryCopy, copy_default_inventory

AWS = {"tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
       "bandwidth_mbps": 100, "aws_account": "123456789012"}  # fmt: skip
ENT_LON = {"tenant": "acme", "onramp": "ent-lon", "kind": "enterprise", "bandwidth_mbps": 100,
           "customer_asn": 65201, "prefixes": ["192.168.10.0/24"]}  # fmt: skip
IOSXR_GAPS = "iosxr: no commit-confirm in its NAPALM driver; no gate parser"


def on_platform(inv: InventoryCopy, router: str, platform: str) -> None:
    """`router` becomes a `platform` box: its interfaces renamed as that OS names them
    (and the other ends of its core links), its management address one that answers
    nothing (TEST-NET-1): a connection attempt would fail with ONR-DEPLOY-001."""
    host = inv.hosts[router]
    host["platform"], host["hostname"] = platform, "192.0.2.77"
    rename = {}
    for iface in host["data"]["core_interfaces"] + host["data"]["onramp_ports"]:
        n = int(iface["name"].removeprefix("eth"))
        rename[iface["name"]] = iface["name"] = PLATFORMS[platform].numbered_interface.format(n)
    for other in inv.hosts.values():
        for iface in other["data"].get("core_interfaces", []):
            if iface["peer"]["host"] == router:
                iface["peer"]["interface"] = rename[iface["peer"]["interface"]]


def service(tmp: Path, **platforms: str) -> tuple[Service, Path]:
    inv = copy_default_inventory(tmp / "inventory")
    for router, platform in platforms.items():
        on_platform(inv, router.replace("_", "-"), platform)
    config = local_config(tmp, inv.write())
    svc = Service.open(load_settings(config))
    svc.add_tenant("acme", "ACME")
    return svc, config


def cli(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["--config", str(config), *args, "--json"])
    return result.exit_code, json.loads(result.output)


def test_an_onramp_only_on_an_unsafe_platform_refuses_the_order(tmp_path: Path) -> None:
    svc, config = service(tmp_path, pe1_par="iosxr")
    assert load(tmp_path / "inventory").routers["pe1-par"].platform == "iosxr"  # loads fine
    for command in ("plan", "create"):
        code, out = cli(config, "connector", command, "--tenant", "acme", "--onramp",
                        "aws-dx-par", "--kind", "aws-hosted-vif", "--bandwidth", "100",
                        "--aws-account", "123456789012")  # fmt: skip
        assert code == 2 and out["error"]["code"] == "ONR-PLAT-001", out
        assert f"pe1-par ({IOSXR_GAPS})" in out["error"]["reason"]
    with svc.store.session() as s:  # refused before anything was taken
        assert s.scalar(select(func.count()).select_from(AllocationRow)) == 0


def test_the_api_refuses_it_with_its_code(tmp_path: Path) -> None:
    svc, _ = service(tmp_path, pe1_par="iosxr")
    key = apikeys.issue(svc.store, "acme")
    with serve_in_thread(create_app(svc, lambda kind, ident: None)) as url:
        got = requests.post(f"{url}/v1/connectors", json={k: v for k, v in AWS.items()
                            if k != "tenant"}, headers={"Authorization": f"Bearer {key}"},
                            timeout=10)  # fmt: skip
    assert got.status_code == 409 and got.json()["error"]["code"] == "ONR-PLAT-001"


def test_an_unsafe_pe_is_passed_over_when_the_onramp_has_another(tmp_path: Path) -> None:
    # ent-lon has a port on pe1-lon and on pe2-lon; both empty, pe1-lon would come first
    svc, _ = service(tmp_path, pe1_lon="junos")
    for _ in range(2):
        made = svc.create_connector(svc.connector_request(ENT_LON))
        assert [a["router"] for a in made["attachments"]] == ["pe2-lon"]


def test_a_redundant_onramp_with_one_side_unsafe_is_refused(tmp_path: Path) -> None:
    svc, _ = service(tmp_path, pe1_lon="junos")  # Azure's primary port
    req = svc.connector_request({"tenant": "acme", "onramp": "azure-er-lon",
                                 "kind": "azure-expressroute", "bandwidth_mbps": 100,
                                 "azure_service_key": "9a0b1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d"})  # fmt: skip
    with pytest.raises(OnrampError) as got:
        svc.plan_connector(req)
    assert got.value.code == "ONR-PLAT-001"
    assert "every primary port of azure-er-lon: pe1-lon (junos: no gate parser)" in str(got.value)


def test_plan_router_is_refused_before_connecting(tmp_path: Path) -> None:
    _, config = service(tmp_path, pe1_par="iosxr")
    code, out = cli(config, "plan", "router", "pe1-par")
    assert code == 2 and out["error"] == {
        "code": "ONR-PLAT-001", "reason": f"router pe1-par: pe1-par ({IOSXR_GAPS})",
        "hint": out["error"]["hint"]}  # fmt: skip
    assert "onramp/network/platforms.py" in out["error"]["hint"]


def test_validate_finds_a_stored_connector_on_an_unsafe_platform(tmp_path: Path) -> None:
    svc, _ = service(tmp_path)  # ordered while pe1-par ran FRR
    made = svc.create_connector(svc.connector_request(AWS))
    inv = copy_default_inventory(tmp_path / "later")
    on_platform(inv, "pe1-par", "iosxr")  # then the box was replaced
    (f,) = offline.platforms(svc, load(inv.write()))
    assert f == {"check": "platforms", "target": f"connector {made['id'][:8]}",
                 "code": "ONR-PLAT-001", "reason": f"on pe1-par ({IOSXR_GAPS})"}  # fmt: skip
    config = local_config(tmp_path, tmp_path / "later")
    code, report = cli(config, "validate")
    assert code == 1 and report["checks"]["platforms"] == 1
