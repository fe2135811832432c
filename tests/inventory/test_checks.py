"""`onramp.network.inventory.check`: every kind of bad data gets its code, host and field."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from nornir import InitNornir
from nornir.core import Nornir
from typer.testing import CliRunner

from onramp.cli.main import app
from onramp.core.errors import OnrampError
from onramp.network.inventory import InventoryError, check, load
from onramp.network.inventory.generate import generate, write

from ..conftest import DEFAULT_INVENTORY, InventoryCopy

Files = dict[str, Any]  # the four inventory files, parsed
Edit = Callable[[Files], object]
Where = tuple[str, str, str]  # (code, host, field) of a finding


def data(d: Files, host: str) -> dict[str, Any]:
    return d["hosts"][host]["data"]  # type: ignore[no-any-return]


def core(d: Files, host: str, i: int) -> dict[str, Any]:
    return data(d, host)["core_interfaces"][i]  # type: ignore[no-any-return]


def port(d: Files, host: str, i: int) -> dict[str, Any]:
    return data(d, host)["onramp_ports"][i]  # type: ignore[no-any-return]


def where(findings: list[Any]) -> list[Where]:
    return sorted((f.code, f.host, f.field) for f in findings)


# ------------------------------------------------------------------ the default inventory


def test_default_inventory_has_no_findings() -> None:
    bb, findings = check(DEFAULT_INVENTORY)
    assert findings == []
    assert bb is not None


def test_default_inventory_has_4_pe_and_2_p_in_3_pops() -> None:
    bb, _ = check(DEFAULT_INVENTORY)
    assert bb is not None
    roles = sorted(r.role for r in bb.routers.values())
    assert roles == ["p", "p", "pe", "pe", "pe", "pe"]
    assert sorted(bb.catalogue.pops) == ["fra", "lon", "par"]


def test_default_inventory_has_azure_ports_on_two_pes() -> None:
    bb, _ = check(DEFAULT_INVENTORY)
    assert bb is not None
    ports = bb.ports_of("azure-er-lon")
    assert sorted(r.name for r, _ in ports) == ["pe1-lon", "pe2-lon"]
    assert {r.role for r, _ in ports} == {"pe"}
    roles = {
        r.name: p.redundancy_role for r, name in ports for p in r.onramp_ports if p.name == name
    }
    assert roles == {"pe1-lon": "primary", "pe2-lon": "secondary"}


# ------------------------------------------------------------------ one bad thing at a time


def azure_on_one_router(d: Files) -> None:
    secondary = data(d, "pe2-lon").pop("onramp_ports")[0]
    data(d, "pe1-lon")["onramp_ports"].append({**secondary, "name": "eth5"})


def rename(mapping: dict[str, Any], old: str, new: str) -> None:
    mapping[new] = mapping.pop(old)


def del_(mapping: dict[str, Any], key: str) -> None:
    del mapping[key]


# A router that fails its schema is left out of the checks that follow; what points at
# it (its neighbours' core links, its on-ramps' redundancy) is not judged either: the
# finding on the router itself is the cause, the rest would only be its echo.

BAD: list[Any] = [
    pytest.param(
        lambda d: data(d, "pe1-lon").update(loopback="10.255.0.1/32"),
        [("ONR-INV-002", "pe1-lon", "loopback")],
        id="002-duplicate-loopback",
    ),
    pytest.param(
        lambda d: data(d, "pe2-lon").update(isis_net="49.0001.0102.5500.0002.00"),
        [("ONR-INV-003", "pe2-lon", "isis_net")],
        id="003-duplicate-net",
    ),
    pytest.param(
        lambda d: data(d, "pe2-lon").update(isis_net="49.0002.0102.5500.0002.00"),
        [("ONR-INV-003", "pe2-lon", "isis_net")],
        id="003-same-system-id-other-area",
    ),
    pytest.param(
        # pe1-par:eth1 -> p1-par:eth2, which is pe1-lon's; p1-par:eth1 is left dangling
        lambda d: core(d, "pe1-par", 0)["peer"].update(interface="eth2"),
        [
            ("ONR-INV-004", "p1-par", "core_interfaces.0.peer"),
            ("ONR-INV-004", "pe1-par", "core_interfaces.0.peer"),
        ],
        id="004-peer-points-elsewhere",
    ),
    pytest.param(
        # a pair whose ends agree is judged once, from its (host, interface)-smaller end
        lambda d: core(d, "pe1-par", 0).update(ip="10.0.9.0/31"),
        [("ONR-INV-004", "p1-par", "core_interfaces.0.ip")],
        id="004-ends-in-two-subnets",
    ),
    pytest.param(
        lambda d: core(d, "pe1-par", 0).update(ip="10.0.0.1/31"),
        [("ONR-INV-004", "p1-par", "core_interfaces.0.ip")],
        id="004-ends-same-address",
    ),
    pytest.param(
        lambda d: core(d, "pe1-fra", 1)["peer"].update(interface="eth9"),
        [
            ("ONR-INV-004", "p1-fra", "core_interfaces.3.peer"),
            ("ONR-INV-004", "pe1-fra", "core_interfaces.1.peer"),
        ],
        id="004-peer-interface-missing",
    ),
    pytest.param(
        lambda d: core(d, "pe1-par", 0)["peer"].update(host="pe9-par"),
        [
            ("ONR-INV-004", "p1-par", "core_interfaces.0.peer"),
            ("ONR-INV-004", "pe1-par", "core_interfaces.0.peer"),
        ],
        id="004-peer-router-missing",
    ),
    pytest.param(
        lambda d: (
            core(d, "pe1-par", 0).update(ip="10.0.0.2/29"),
            core(d, "p1-par", 0).update(ip="10.0.0.1/29"),
        ),
        [("ONR-INV-004", "p1-par", "core_interfaces.0.ip")],
        id="004-not-a-30-or-31",
    ),
    pytest.param(
        lambda d: core(d, "p1-par", 0).update(isis_metric=99),
        [("ONR-INV-004", "p1-par", "core_interfaces.0.isis_metric")],
        id="004-metrics-differ",
    ),
    pytest.param(
        lambda d: port(d, "pe1-par", 1).update(name="eth1"),
        [("ONR-INV-005", "pe1-par", "onramp_ports.1.name")],
        id="005-core-interface-reused-as-port",
    ),
    pytest.param(
        lambda d: port(d, "pe1-fra", 1).update(name="eth3"),
        [("ONR-INV-005", "pe1-fra", "onramp_ports.1.name")],
        id="005-two-ports-one-name",
    ),
    pytest.param(
        lambda d: d["hosts"]["p1-fra"].update(platform="nxos"),
        [("ONR-INV-006", "p1-fra", "platform")],
        id="006-unknown-platform",
    ),
    pytest.param(
        lambda d: port(d, "pe1-par", 0).update(vlan_range=[0, 100]),
        [("ONR-INV-007", "pe1-par", "onramp_ports.0.vlan_range")],
        id="007-vlan-0",
    ),
    pytest.param(
        lambda d: port(d, "pe1-par", 0).update(vlan_range=[100, 5000]),
        [("ONR-INV-007", "pe1-par", "onramp_ports.0.vlan_range")],
        id="007-vlan-5000",
    ),
    pytest.param(
        lambda d: port(d, "pe1-fra", 0).update(vlan_range=[200, 100]),
        [("ONR-INV-007", "pe1-fra", "onramp_ports.0.vlan_range")],
        id="007-vlan-range-reversed",
    ),
    pytest.param(
        lambda d: data(d, "p1-fra").update(pop="nyc"),
        [("ONR-INV-008", "p1-fra", "pop")],
        id="008-router-in-unknown-pop",
    ),
    pytest.param(
        lambda d: port(d, "pe1-par", 0).update(onramp="aws-dx-nyc"),
        [("ONR-INV-008", "pe1-par", "onramp_ports.0.onramp")],
        id="008-unknown-onramp",
    ),
    pytest.param(
        lambda d: port(d, "pe1-par", 0).update(onramp="gcp-pi-fra"),
        [("ONR-INV-008", "pe1-par", "onramp_ports.0.onramp")],
        id="008-onramp-of-another-pop",
    ),
    pytest.param(
        lambda d: d["backbone"]["onramps"]["gcp-pi-fra"].update(pop="nyc"),
        [
            ("ONR-INV-008", "backbone.yaml", "onramps.gcp-pi-fra.pop"),
            ("ONR-INV-008", "pe1-fra", "onramp_ports.0.onramp"),
        ],
        id="008-onramp-in-unknown-pop",
    ),
    pytest.param(
        lambda d: port(d, "pe1-fra", 0).update(csp_connection="dxcon-onramp01"),
        [("ONR-INV-005", "pe1-fra", "onramp_ports.0.csp_connection")],
        id="005-provider-port-name-twice",
    ),
    pytest.param(
        lambda d: d["hosts"]["p1-par"].update(hostname="172.20.20.11"),
        [("ONR-INV-009", "p1-par", "hostname")],
        id="009-duplicate-mgmt-address",
    ),
    pytest.param(
        azure_on_one_router,
        [("ONR-INV-010", "pe1-lon", "onramps.azure-er-lon")],
        id="010-azure-primary-and-secondary-on-one-router",
    ),
    pytest.param(
        lambda d: del_(data(d, "pe2-lon"), "onramp_ports"),
        [("ONR-INV-010", "backbone.yaml", "onramps.azure-er-lon")],
        id="010-azure-without-secondary",
    ),
    pytest.param(
        lambda d: port(d, "pe1-par", 0).update(redundancy_role="primary"),
        [("ONR-INV-010", "backbone.yaml", "onramps.aws-dx-par")],
        id="010-role-on-non-redundant-onramp",
    ),
    pytest.param(
        lambda d: data(d, "p1-par").update(
            onramp_ports=[{"name": "eth9", "onramp": "ent-par", "speed_mbps": 1000}]
        ),
        [("ONR-INV-011", "p1-par", "onramp_ports.0")],
        id="011-onramp-port-on-a-p",
    ),
    pytest.param(
        lambda d: [data(d, p).update(route_reflector=False) for p in ("p1-par", "p1-fra")],
        [("ONR-INV-014", "hosts.yaml", "route_reflector")],
        id="014-no-route-reflector",
    ),
    pytest.param(
        lambda d: rename(data(d, "pe1-par"), "loopback", "lopback"),
        [
            ("ONR-INV-001", "pe1-par", "loopback"),  # missing
            ("ONR-INV-001", "pe1-par", "lopback"),  # not a field
        ],
        id="001-typo-in-a-field-name",
    ),
    pytest.param(
        lambda d: rename(d["hosts"]["pe1-par"], "hostname", "hostnme"),
        [
            ("ONR-INV-001", "pe1-par", "hostname"),
            ("ONR-INV-001", "pe1-par", "hostnme"),
        ],
        id="001-typo-in-a-host-attribute",
    ),
    pytest.param(
        lambda d: data(d, "pe1-par").update(loopback="10.255.0.1/24"),
        [("ONR-INV-001", "pe1-par", "loopback")],
        id="001-loopback-not-32",
    ),
    pytest.param(
        # pe2-lon carries azure-er-lon's secondary port and two core links
        lambda d: del_(data(d, "pe2-lon"), "loopback"),
        [("ONR-INV-001", "pe2-lon", "loopback")],
        id="001-missing-field-on-a-linked-redundant-pe",
    ),
    pytest.param(
        lambda d: port(d, "pe1-par", 1).update(name="Gi0/0/0/4"),
        [("ONR-INV-001", "pe1-par", "onramp_ports.1.name")],
        id="001-interface-name-not-of-the-platform",
    ),
    pytest.param(
        lambda d: d["backbone"]["pops"]["par"].update(country="France"),
        [("ONR-INV-001", "backbone.yaml", "pops.par.country")],
        id="001-catalogue-field",
    ),
    pytest.param(
        lambda d: d.update(groups="pe: [unclosed\n"),
        [("ONR-INV-000", "groups.yaml", "-")],
        id="000-unreadable-yaml",
    ),
    pytest.param(
        lambda d: d.update(groups=["pe", "p"]),
        [("ONR-INV-000", "groups.yaml", "-")],
        id="000-not-a-mapping",
    ),
    pytest.param(
        lambda d: d.pop("defaults"),
        [("ONR-INV-000", "defaults.yaml", "-")],
        id="000-file-missing",
    ),
]


@pytest.mark.parametrize(("edit", "expected"), BAD)
def test_bad_inventory_gets_exactly_its_findings(
    inventory_copy: InventoryCopy, edit: Edit, expected: list[Where]
) -> None:
    edit(inventory_copy.data)
    bb, findings = check(inventory_copy.write())
    assert bb is None
    assert where(findings) == sorted(expected), [str(f) for f in findings]


@pytest.mark.parametrize(("edit", "expected"), BAD)
def test_every_finding_says_what_to_do(
    inventory_copy: InventoryCopy, edit: Edit, expected: list[Where]
) -> None:
    edit(inventory_copy.data)
    _, findings = check(inventory_copy.write())
    assert findings
    for f in findings:
        assert f.hint.strip()
        assert str(f).startswith(f"{f.code} {f.host} {f.field}: ")
        assert f.as_dict() == {
            "code": f.code,
            "host": f.host,
            "field": f.field,
            "reason": f.reason,
            "hint": f.hint,
        }


def test_every_problem_is_listed_at_once(inventory_copy: InventoryCopy) -> None:
    data(inventory_copy.data, "pe1-lon").update(loopback="10.255.0.1/32")
    inventory_copy.hosts["p1-fra"]["platform"] = "nxos"
    port(inventory_copy.data, "pe1-fra", 0).update(vlan_range=[200, 100])
    _, findings = check(inventory_copy.write())
    assert where(findings) == [
        ("ONR-INV-002", "pe1-lon", "loopback"),
        ("ONR-INV-006", "p1-fra", "platform"),
        ("ONR-INV-007", "pe1-fra", "onramp_ports.0.vlan_range"),
    ]


# ------------------------------------------------------------------ structure


def test_groups_given_as_a_string_is_a_finding(inventory_copy: InventoryCopy) -> None:
    inventory_copy.hosts["pe1-par"]["groups"] = "pe"
    _, findings = check(inventory_copy.write())
    assert [(f.code, f.host) for f in findings if f.field.startswith("groups")] == [
        ("ONR-INV-001", "pe1-par")
    ]


# each a YAML list (`- key: value` lines) where a mapping belongs
NOT_A_MAPPING: list[Any] = [
    pytest.param(lambda d: d["hosts"].update({"pe1-par": [d["hosts"]["pe1-par"]]}), id="host"),
    pytest.param(lambda d: d["hosts"]["pe1-par"].update(data=[{"pop": "par"}]), id="host-data"),
    pytest.param(lambda d: d["groups"].update(pe=[{"data": {"role": "pe"}}]), id="group"),
    pytest.param(lambda d: d["groups"]["pe"].update(data=[{"role": "pe"}]), id="group-data"),
]


@pytest.mark.parametrize("edit", NOT_A_MAPPING)
def test_entry_that_is_not_a_mapping_is_a_finding(
    inventory_copy: InventoryCopy, edit: Edit
) -> None:
    edit(inventory_copy.data)
    bb, findings = check(inventory_copy.write())
    assert bb is None
    assert "ONR-INV-001" in {f.code for f in findings}


# A key written twice: PyYAML would keep the last one and say nothing.
TWICE: list[Any] = [
    pytest.param(
        "hosts", "\npe1-par:\n  hostname: 172.20.20.99\n  platform: frr\n", "pe1-par", id="host"
    ),
    pytest.param("groups", "\npe:\n  data: {role: pe}\n", "pe", id="group"),
    pytest.param(
        "hosts", "\nx9:\n  hostname: 10.0.0.9\n  hostname: 10.0.0.8\n", "hostname", id="attribute"
    ),
]


@pytest.mark.parametrize(("file", "appended", "key"), TWICE)
def test_a_key_written_twice_is_refused_with_file_line_and_key(
    inventory_copy: InventoryCopy, file: str, appended: str, key: str
) -> None:
    text = (DEFAULT_INVENTORY / f"{file}.yaml").read_text()
    inventory_copy.data[file] = text + appended
    bb, findings = check(inventory_copy.write())
    added = appended.splitlines()
    last = max(i for i, x in enumerate(added) if x.strip().startswith(f"{key}:"))
    line = len(text.splitlines()) + 1 + last  # the second one's line
    assert bb is None
    assert [(f.code, f.host, f.field) for f in findings] == [("ONR-INV-012", f"{file}.yaml", key)]
    assert f"line {line}" in findings[0].reason and f"'{key}'" in findings[0].reason
    with pytest.raises(InventoryError, match=f"ONR-INV-012: {file}.yaml {key}: line {line}"):
        load(inventory_copy.directory)


# ------------------------------------------------------------------ load()


def test_load_returns_the_backbone() -> None:
    bb = load(DEFAULT_INVENTORY)
    assert len(bb.routers) == 6
    assert bb.asn == 65000


def test_load_refuses_with_the_first_finding(inventory_copy: InventoryCopy) -> None:
    inventory_copy.hosts["p1-fra"]["platform"] = "nxos"
    with pytest.raises(InventoryError) as exc:
        load(inventory_copy.write())
    assert str(exc.value).startswith("ONR-INV-006: p1-fra platform: 'nxos' is not one of")
    assert "more" not in str(exc.value)
    assert exc.value.code == "ONR-INV-006"


def test_load_counts_the_other_findings(inventory_copy: InventoryCopy) -> None:
    data(inventory_copy.data, "pe1-lon").update(loopback="10.255.0.1/32")
    inventory_copy.hosts["p1-fra"]["platform"] = "nxos"
    port(inventory_copy.data, "pe1-fra", 0).update(vlan_range=[200, 100])
    with pytest.raises(InventoryError) as exc:
        load(inventory_copy.write())
    assert str(exc.value).startswith("ONR-INV-002: pe1-lon loopback: ")
    assert "and 2 more" in str(exc.value)
    assert len(exc.value.findings) == 3


# ------------------------------------------------------------------ generated inventories


@pytest.mark.parametrize("count", [3, 10, 30])
def test_generated_inventory_has_no_findings(tmp_path: Path, count: int) -> None:
    write(generate(count, platforms=["frr", "iosxr", "junos"]), tmp_path)
    bb, findings = check(tmp_path)
    assert [str(f) for f in findings] == []
    assert bb is not None
    assert len(bb.routers) == count


@pytest.mark.parametrize(("count", "reflectors", "expected"), [
    (10, 2, ["p1", "p2"]), (100, 2, ["p1", "p11"]), (100, 4, ["p1", "p11", "p16", "p6"]),
])  # fmt: skip
def test_a_generated_backbone_names_its_route_reflectors_spread_around_the_ring(
    tmp_path: Path, count: int, reflectors: int, expected: list[str]
) -> None:
    write(generate(count, platforms=["frr", "iosxr", "junos"], reflectors=reflectors), tmp_path)
    bb = load(tmp_path)
    assert sorted(r.name for r in bb.routers.values() if r.route_reflector) == expected
    assert all(r.role == "p" for r in bb.routers.values() if r.route_reflector)


def test_a_generated_backbone_refuses_more_reflectors_than_p_routers() -> None:
    with pytest.raises(OnrampError, match="1 to 2 route reflectors") as refused:
        generate(10, reflectors=3)
    assert (refused.value.code, refused.value.field) == ("ONR-INV-001", "reflectors")


@pytest.mark.parametrize(("args", "code", "says"), [
    (["--routers", "2"], "ONR-INV-001", "at least 3 routers"),
    (["--routers", "10", "--reflectors", "5"], "ONR-INV-001", "1 to 2 route reflectors"),
    (["--routers", "10", "--mgmt-subnet", "10.0.0.0/29"], "ONR-INV-001", "too small"),
    (["--routers", "10", "--mgmt-subnet", "10.0.0.0/33"], "ONR-INV-001", "10.0.0.0/33"),
    (["--routers", "10", "--platforms", "frr,eos"], "ONR-INV-006", "eos"),
])  # fmt: skip
def test_generate_answers_a_wrong_request_with_a_code_not_a_traceback(
    tmp_path: Path, args: list[str], code: str, says: str
) -> None:
    """What a stranger types: each mistake named, with its code and what to do, exit 2."""
    proc = subprocess.run(
        [sys.executable, "-m", "onramp.cli", "inventory", "generate", *args,
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert code in proc.stderr and says in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()  # nothing half-written


def test_a_p_router_is_a_route_reflector_unless_it_says_not(
    inventory_copy: InventoryCopy,
) -> None:
    data(inventory_copy.data, "p1-fra").update(route_reflector=False)
    bb = load(inventory_copy.write())
    assert {n for n, r in bb.routers.items() if r.route_reflector} == {"p1-par"}


def test_generated_inventory_uses_every_platform(tmp_path: Path) -> None:
    write(generate(10, platforms=["frr", "iosxr", "junos"]), tmp_path)
    bb = load(tmp_path)
    assert {r.platform for r in bb.routers.values()} == {"frr", "iosxr", "junos"}


# ------------------------------------------------------------------ Nornir plugin


def nornir(directory: Path) -> Nornir:
    return InitNornir(
        inventory={"plugin": "OnrampInventory", "options": {"directory": str(directory)}},
        runner={"plugin": "serial"},
        logging={"enabled": False},
    )


def test_nornir_plugin_loads_the_default_inventory() -> None:
    nr = nornir(DEFAULT_INVENTORY)
    assert sorted(nr.inventory.hosts) == [
        "p1-fra",
        "p1-par",
        "pe1-fra",
        "pe1-lon",
        "pe1-par",
        "pe2-lon",
    ]


def test_nornir_host_resolves_groups_and_defaults() -> None:
    pe = nornir(DEFAULT_INVENTORY).inventory.hosts["pe1-par"]
    assert pe.platform == "frr"
    assert pe.hostname == "172.20.20.11"
    assert pe["role"] == "pe"  # from group pe
    assert pe["asn"] == 65000  # from defaults


def test_nornir_plugin_refuses_a_bad_inventory(inventory_copy: InventoryCopy) -> None:
    inventory_copy.hosts["p1-fra"]["platform"] = "nxos"
    with pytest.raises(InventoryError) as exc:
        nornir(inventory_copy.write())
    assert [(f.code, f.host) for f in exc.value.findings] == [("ONR-INV-006", "p1-fra")]


def test_known_hosts_is_resolved_against_the_inventory_directory() -> None:
    """The lab writes where the Backbone says, the driver reads where Nornir says: the same
    file, whatever the process's working directory."""
    want = str(DEFAULT_INVENTORY.parent / "var" / "known_hosts")
    assert str(load(DEFAULT_INVENTORY).known_hosts("pe1-par")) == want
    pe = nornir(DEFAULT_INVENTORY).inventory.hosts["pe1-par"]
    args = (pe.get_connection_parameters("napalm").extras or {})["optional_args"]
    assert (args["known_hosts"], args["host_key_policy"]) == (want, "strict")


def test_host_key_policy_is_checked_where_nornir_takes_it_from(
    inventory_copy: InventoryCopy,
) -> None:
    """A group's own napalm extras replace the defaults' whole (Nornir does not merge)."""
    args = {"known_hosts": "kh", "host_key_policy": "accept-all"}
    inventory_copy.data["groups"]["pe"]["connection_options"] = {
        "napalm": {"extras": {"optional_args": args}}
    }
    _, findings = check(inventory_copy.write())
    pes = ["pe1-fra", "pe1-lon", "pe1-par", "pe2-lon"]
    ours = [f for f in findings if f.code == "ONR-INV-001"]  # the rest: PEs gone from the links
    assert where(ours) == [("ONR-INV-001", h, "host_keys.host_key_policy") for h in pes]


# ------------------------------------------------------------------ CLI


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, ["inventory", "check", *args])


def test_cli_json_ok_on_the_default_inventory() -> None:
    result = cli(str(DEFAULT_INVENTORY), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["ok"] is True
    assert out["findings"] == []


def test_cli_json_lists_the_findings(inventory_copy: InventoryCopy) -> None:
    data(inventory_copy.data, "pe1-lon").update(loopback="10.255.0.1/32")
    result = cli(str(inventory_copy.write()), "--json")
    assert result.exit_code == 1
    out = json.loads(result.output)
    assert out["ok"] is False
    assert out["findings"] == [
        {
            "code": "ONR-INV-002",
            "host": "pe1-lon",
            "field": "loopback",
            "reason": "10.255.0.1 is already used by pe1-par",
            "hint": "give every router its own /32 loopback",
        }
    ]


def test_cli_text_shows_the_code(inventory_copy: InventoryCopy) -> None:
    data(inventory_copy.data, "pe1-lon").update(loopback="10.255.0.1/32")
    result = cli(str(inventory_copy.write()))
    assert result.exit_code == 1
    assert "ONR-INV-002" in result.output
    assert "pe1-lon" in result.output


def test_cli_text_ok_on_the_default_inventory() -> None:
    result = cli(str(DEFAULT_INVENTORY))
    assert result.exit_code == 0
    assert "OK" in result.output
    assert "6 routers, 3 PoPs, 8 on-ramps" in result.output


def test_one_port_under_its_long_and_short_name_is_used_twice(tmp_path: Path) -> None:
    """IOS-XR takes `TenGigE0/0/0/7` and `TenGigabitEthernet0/0/0/7` for one port: two
    on-ramp ports, one named each way, are one port used twice."""
    files = generate(3, platforms=["iosxr"])
    pe = next(h for h in files["hosts"].values() if len(h["data"].get("onramp_ports", [])) > 1)
    pe["data"]["onramp_ports"][0]["name"] = "TenGigabitEthernet0/0/0/7"
    pe["data"]["onramp_ports"][1]["name"] = "TenGigE0/0/0/7"
    write(files, tmp_path)
    _, findings = check(tmp_path)
    assert [(f.code, f.field) for f in findings] == [("ONR-INV-005", "onramp_ports.1.name")]
    assert "the same port" in findings[0].reason
