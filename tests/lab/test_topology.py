"""Inventory -> lab topology: pure data, checked without building anything."""

from __future__ import annotations

import json
from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path

import pytest

from lab.topology import Topology, build, cloud_lans
from onramp.errors import OnrampError
from onramp.inventory import load
from onramp.inventory.generate import generate, write
from onramp.settings import ROOT, LabSettings

from ..conftest import InventoryCopy


@pytest.fixture(scope="module")
def topo() -> Topology:
    return build(load(ROOT / "inventory"), LabSettings())


def test_routers_become_frr_nodes_with_their_mgmt_address(topo: Topology) -> None:
    bb = load(ROOT / "inventory")
    routers = {n.name: n for n in topo.routers()}
    assert set(routers) == set(bb.routers)
    for name, node in routers.items():
        assert node.daemons == ("zebra", "isisd", "bgpd", "staticd")
        assert node.mgmt == f"{bb.routers[name].hostname}/24"
        assert f"hostname {name}\n" in node.config
        assert f" net {bb.routers[name].isis_net}\n" in node.config


def test_core_links_once_per_pair(topo: Topology) -> None:
    core = [
        (lk.a.node, lk.a.ifname, lk.b.node, lk.b.ifname) for lk in topo.links if lk.kind == "core"
    ]
    assert len(core) == 9 == len({frozenset([(a, ai), (b, bi)]) for a, ai, b, bi in core})
    assert ("p1-par", "eth1", "pe1-par", "eth1") in core


def test_cloud_side(topo: Topology) -> None:
    n = topo.nodes
    assert (
        n["aws-dx-par-e1"].asn,
        n["azure-er-lon-e1"].asn,
        n["azure-er-lon-e2"].asn,
        n["gcp-pi-fra-e1"].asn,
    ) == (64512, 12076, 12076, 16550)
    assert n["ent-par-e1"].asn == n["ent-fra-e1"].asn == LabSettings().enterprise_asn
    ports = {(lk.b.node, lk.a.node, lk.a.ifname) for lk in topo.links if lk.kind == "port"}
    assert ("azure-er-lon-e1", "pe1-lon", "eth3") in ports  # primary first
    assert ("azure-er-lon-e2", "pe2-lon", "eth3") in ports
    lans = cloud_lans(topo)
    assert len(set(lans.values())) == len(lans) == 5
    assert all(
        lan.subnet_of(LabSettings().cloud_pool) and lan.prefixlen == 24 for lan in lans.values()
    )
    host = n["azure-er-lon-host"]
    lan = lans["azure-er-lon"]
    assert host.routes == (f"default nexthop via {lan[1]} nexthop via {lan[2]}",)
    assert IPv4Interface(host.addresses[0][1]).network == lan


def test_expected_adjacencies_and_sessions(topo: Topology) -> None:
    n = topo.nodes
    assert n["pe1-par"].expect_isis == ("eth1", "eth2")
    assert sorted(n["pe1-par"].expect_bgp) == ["10.255.0.11", "10.255.0.12"]
    assert sorted(n["p1-par"].expect_bgp) == [
        "10.255.0.1",
        "10.255.0.12",
        "10.255.0.2",
        "10.255.0.3",
        "10.255.0.4",
    ]
    assert " neighbor RR-CLIENTS route-reflector-client\n" in n["p1-par"].config
    assert "route-reflector-client" not in n["pe1-par"].config


def test_other_platforms_get_a_stand_in_with_linux_names(tmp_path: Path) -> None:
    write(generate(10, platforms=["iosxr", "junos"]), tmp_path)
    topo = build(load(tmp_path), LabSettings())
    xr = next(n for n in topo.routers() if n.platform == "iosxr")
    assert xr.ifnames["GigabitEthernet0/0/0/1"] == "eth1"
    assert "GigabitEthernet" not in xr.config and "interface eth1\n" in xr.config
    junos = next(n for n in topo.routers() if n.platform == "junos")
    assert junos.ifnames["ge-0/0/1"] == "eth1"
    names = [e.ifname for lk in topo.links for e in (lk.a, lk.b)]
    assert all(len(x) <= 15 and "/" not in x for x in names)


@pytest.mark.parametrize("hostname", ["10.0.0.5", "172.20.20.1"], ids=["outside", "bridge address"])
def test_mgmt_address_must_fit_the_lab(inventory_copy: InventoryCopy, hostname: str) -> None:
    inventory_copy.data["hosts"]["pe1-par"]["hostname"] = hostname
    with pytest.raises(OnrampError) as exc:
        build(load(inventory_copy.write()), LabSettings())
    assert exc.value.code == "ONR-LAB-006" and "pe1-par" in exc.value.reason


def test_cloud_pool_too_small(topo: Topology) -> None:
    with pytest.raises(OnrampError) as exc:
        build(load(ROOT / "inventory"), LabSettings(cloud_pool=IPv4Network("10.100.0.0/23")))
    assert exc.value.code == "ONR-LAB-006"


def test_topology_is_json(topo: Topology) -> None:
    data = json.loads(json.dumps(topo.as_dict()))
    assert data["lab"] == "onr" and len(data["nodes"]) == 17
