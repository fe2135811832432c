"""`onramp inventory check`: every kind of bad data gets its code, host and field."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nornir import InitNornir
from typer.testing import CliRunner

from onramp.cli import app
from onramp.inventory import InventoryError, check, load
from onramp.inventory.generate import generate, write
from onramp.settings import ROOT

from ..conftest import InventoryCopy


def test_default_inventory_is_valid() -> None:
    bb, findings = check(ROOT / "inventory")
    assert findings == [] and bb is not None
    roles = [r.role for r in bb.routers.values()]
    assert (roles.count("pe"), roles.count("p")) == (4, 2)
    assert set(bb.catalogue.pops) == {"par", "lon", "fra"}
    azure = {r.name for r, _ in bb.ports_of("azure-er-lon")}
    assert azure == {"pe1-lon", "pe2-lon"}


def core(h: dict[str, Any], host: str, i: int) -> dict[str, Any]:
    return h[host]["data"]["core_interfaces"][i]  # type: ignore[no-any-return]


def port(h: dict[str, Any], host: str, i: int) -> dict[str, Any]:
    return h[host]["data"]["onramp_ports"][i]  # type: ignore[no-any-return]


Edit = Callable[[dict[str, Any]], None]
CASES: list[tuple[str, str, Edit, str, str, str]] = [
    (
        "duplicate loopback",
        "hosts",
        lambda h: h["pe1-lon"]["data"].update(loopback="10.255.0.1/32"),
        "ONR-INV-002",
        "pe1-lon",
        "loopback",
    ),
    (
        "duplicate NET",
        "hosts",
        lambda h: h["pe2-lon"]["data"].update(isis_net="49.0002.0102.5500.0002.00"),
        "ONR-INV-003",
        "pe2-lon",
        "isis_net",
    ),
    (
        "peer points elsewhere",
        "hosts",
        lambda h: core(h, "pe1-par", 0)["peer"].update(interface="eth2"),
        "ONR-INV-004",
        "pe1-par",
        "core_interfaces.0.peer",
    ),
    (
        "ends in two subnets",
        "hosts",
        lambda h: core(h, "p1-par", 0).update(ip="10.0.9.1/31"),
        "ONR-INV-004",
        "p1-par",
        "core_interfaces.0.ip",
    ),
    (
        "peer interface missing",
        "hosts",
        lambda h: core(h, "pe1-fra", 1)["peer"].update(interface="eth9"),
        "ONR-INV-004",
        "pe1-fra",
        "core_interfaces.1.peer",
    ),
    (
        "metric differs",
        "hosts",
        lambda h: core(h, "p1-par", 0).update(isis_metric=99),
        "ONR-INV-004",
        "p1-par",
        "core_interfaces.0.isis_metric",
    ),
    (
        "core port reused as on-ramp port",
        "hosts",
        lambda h: port(h, "pe1-par", 1).update(name="eth1"),
        "ONR-INV-005",
        "pe1-par",
        "onramp_ports.1.name",
    ),
    (
        "two on-ramp ports one name",
        "hosts",
        lambda h: port(h, "pe1-fra", 1).update(name="eth3"),
        "ONR-INV-005",
        "pe1-fra",
        "onramp_ports.1.name",
    ),
    (
        "unknown platform",
        "hosts",
        lambda h: h["p1-fra"].update(platform="nxos"),
        "ONR-INV-006",
        "p1-fra",
        "platform",
    ),
    (
        "vlan 0",
        "hosts",
        lambda h: port(h, "pe1-par", 0).update(vlan_range=[0, 100]),
        "ONR-INV-007",
        "pe1-par",
        "onramp_ports.0.vlan_range",
    ),
    (
        "vlan 5000",
        "hosts",
        lambda h: port(h, "pe1-par", 0).update(vlan_range=[100, 5000]),
        "ONR-INV-007",
        "pe1-par",
        "onramp_ports.0.vlan_range",
    ),
    (
        "vlan reversed",
        "hosts",
        lambda h: port(h, "pe1-fra", 0).update(vlan_range=[200, 100]),
        "ONR-INV-007",
        "pe1-fra",
        "onramp_ports.0.vlan_range",
    ),
    (
        "unknown pop",
        "hosts",
        lambda h: h["p1-fra"]["data"].update(pop="nyc"),
        "ONR-INV-008",
        "p1-fra",
        "pop",
    ),
    (
        "unknown on-ramp",
        "hosts",
        lambda h: port(h, "pe1-par", 0).update(onramp="aws-dx-nyc"),
        "ONR-INV-008",
        "pe1-par",
        "onramp_ports.0.onramp",
    ),
    (
        "duplicate mgmt address",
        "hosts",
        lambda h: h["p1-par"].update(hostname="172.20.20.11"),
        "ONR-INV-009",
        "p1-par",
        "hostname",
    ),
    (
        "azure on one router",
        "hosts",
        lambda h: (
            h["pe1-lon"]["data"]["onramp_ports"].append({**port(h, "pe2-lon", 0), "name": "eth4"})
            or h["pe2-lon"]["data"].pop("onramp_ports")
        ),
        "ONR-INV-010",
        "pe1-lon",
        "onramps.azure-er-lon",
    ),
    (
        "on-ramp port on a P",
        "hosts",
        lambda h: h["p1-par"]["data"].update(
            onramp_ports=[{"name": "eth9", "onramp": "ent-par", "speed_mbps": 1000}]
        ),
        "ONR-INV-011",
        "p1-par",
        "onramp_ports.0",
    ),
    (
        "typo in a field",
        "hosts",
        lambda h: h["pe1-par"]["data"].update(lopback="10.255.0.99/32"),
        "ONR-INV-001",
        "pe1-par",
        "lopback",
    ),
    (
        "loopback not /32",
        "hosts",
        lambda h: h["pe1-par"]["data"].update(loopback="10.255.0.1/24"),
        "ONR-INV-001",
        "pe1-par",
        "loopback",
    ),
    (
        "bad interface name",
        "hosts",
        lambda h: core(h, "pe1-par", 0).update(name="Gi0/0/0/1"),
        "ONR-INV-001",
        "pe1-par",
        "core_interfaces.0.name",
    ),
]


@pytest.mark.parametrize(
    ("file", "edit", "code", "host", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_inventory_is_reported(
    inventory_copy: InventoryCopy, file: str, edit: Edit, code: str, host: str, field: str
) -> None:
    edit(inventory_copy.data[file])
    bb, findings = check(inventory_copy.write())
    assert bb is None
    assert (code, host, field) in [(f.code, f.host, f.field) for f in findings], [
        str(f) for f in findings
    ]
    for f in findings:
        assert f.hint and str(f).startswith(f.code)


def test_unreadable_yaml(inventory_copy: InventoryCopy) -> None:
    path = inventory_copy.write()
    (path / "groups.yaml").write_text("pe: [unclosed\n")
    _, findings = check(path)
    assert [(f.code, f.host) for f in findings] == [("ONR-INV-000", "groups.yaml")]


def test_load_refuses_with_the_first_problem_and_a_count(inventory_copy: InventoryCopy) -> None:
    inventory_copy.data["hosts"]["pe1-lon"]["data"]["loopback"] = "10.255.0.1/32"
    inventory_copy.data["hosts"]["p1-fra"]["platform"] = "nxos"
    with pytest.raises(InventoryError) as exc:
        load(inventory_copy.write())
    assert str(exc.value).startswith("ONR-INV-")
    assert "and 1 more" in str(exc.value)
    assert len(exc.value.findings) == 2


@pytest.mark.parametrize("count", [3, 10, 30])
def test_generated_inventories_are_valid(tmp_path: Path, count: int) -> None:
    write(generate(count, platforms=["frr", "iosxr", "junos"]), tmp_path)
    bb, findings = check(tmp_path)
    assert findings == [] and bb is not None and len(bb.routers) == count
    assert {r.platform for r in bb.routers.values()} == (
        {"frr"} if count == 3 else {"frr", "iosxr", "junos"}
    )


def _nornir(directory: Path) -> Any:
    return InitNornir(
        inventory={"plugin": "OnrampInventory", "options": {"directory": str(directory)}},
        runner={"plugin": "serial"},
        logging={"enabled": False},
    )


def test_nornir_plugin_loads_the_inventory() -> None:
    nr = _nornir(ROOT / "inventory")
    assert len(nr.inventory.hosts) == 6
    pe = nr.inventory.hosts["pe1-par"]
    assert (pe.platform, pe["role"], pe["asn"], pe.hostname) == ("frr", "pe", 65000, "172.20.20.11")


def test_nornir_plugin_refuses_bad_data(inventory_copy: InventoryCopy) -> None:
    inventory_copy.data["hosts"]["p1-fra"]["platform"] = "nxos"
    with pytest.raises(InventoryError):
        _nornir(inventory_copy.write())


def test_cli_check(inventory_copy: InventoryCopy) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["inventory", "check", str(ROOT / "inventory"), "--json"])
    assert ok.exit_code == 0 and json.loads(ok.output)["ok"] is True
    inventory_copy.data["hosts"]["pe1-lon"]["data"]["loopback"] = "10.255.0.1/32"
    path = inventory_copy.write()
    bad = runner.invoke(app, ["inventory", "check", str(path), "--json"])
    assert bad.exit_code == 1
    (finding,) = json.loads(bad.output)["findings"]
    assert finding == {
        "code": "ONR-INV-002",
        "host": "pe1-lon",
        "field": "loopback",
        "reason": "10.255.0.1 is already used by pe1-par",
        "hint": "give every router its own /32 loopback",
    }
    text = runner.invoke(app, ["inventory", "check", str(path)])
    assert text.exit_code == 1 and "ONR-INV-002" in text.output
