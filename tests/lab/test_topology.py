"""Inventory -> lab topology: pure data, checked without building anything."""

from __future__ import annotations

import base64
import json
import re
from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path

import pytest
from paramiko.hostkeys import HostKeys

from onramp.core.errors import OnrampError
from onramp.core.settings import LabSettings
from onramp.lab.run import record_host_keys
from onramp.lab.topology import Node, Topology, build, cloud_lans
from onramp.network.inventory import Backbone, load
from onramp.network.inventory.generate import generate, write

from ..conftest import DEFAULT_INVENTORY, InventoryCopy

ROUTERS = ["pe1-par", "pe1-lon", "pe2-lon", "pe1-fra", "p1-par", "p1-fra"]
P_LOOPBACKS = {"p1-par": "10.255.0.11", "p1-fra": "10.255.0.12"}
PE_LOOPBACKS = ["10.255.0.1", "10.255.0.2", "10.255.0.3", "10.255.0.4"]


@pytest.fixture(scope="module")
def bb() -> Backbone:
    return load(DEFAULT_INVENTORY)


@pytest.fixture(scope="module")
def topo(bb: Backbone) -> Topology:
    return build(bb, LabSettings())


def edge_address(edge: Node) -> IPv4Interface:
    """The address an edge's config gives its LAN interface."""
    match = re.search(r"^interface lan0\n(?: .*\n)*? ip address (\S+)$", edge.config, re.M)
    assert match, edge.config
    return IPv4Interface(match.group(1))


# ------------------------------------------------------------------ routers


def test_one_router_node_per_inventory_router(topo: Topology) -> None:
    assert sorted(n.name for n in topo.routers()) == sorted(ROUTERS)


@pytest.mark.parametrize("name", ROUTERS)
def test_router_node_runs_the_backbone_daemons(topo: Topology, name: str) -> None:
    assert topo.nodes[name].daemons == ("zebra", "isisd", "bgpd", "staticd")


@pytest.mark.parametrize("name", ROUTERS)
def test_router_mgmt_is_its_hostname(topo: Topology, bb: Backbone, name: str) -> None:
    assert topo.nodes[name].mgmt == f"{bb.routers[name].hostname}/24"


@pytest.mark.parametrize("name", ROUTERS)
def test_router_config_has_hostname_net_and_peer_groups(
    topo: Topology, bb: Backbone, name: str
) -> None:
    config = topo.nodes[name].config
    assert f"\nhostname {name}\n" in config
    assert f"\n net {bb.routers[name].isis_net}\n" in config
    assert "\n neighbor RR peer-group\n" in config
    for p, loopback in P_LOOPBACKS.items():
        if p != name:
            assert f"\n neighbor {loopback} peer-group RR\n" in config


def test_p_config_reflects_for_the_pes(topo: Topology) -> None:
    config = topo.nodes["p1-par"].config
    assert "\n neighbor RR-CLIENTS peer-group\n" in config
    assert "\n  neighbor RR-CLIENTS route-reflector-client\n" in config
    for loopback in PE_LOOPBACKS:
        assert f"\n neighbor {loopback} peer-group RR-CLIENTS\n" in config


def test_pe_config_is_no_reflector(topo: Topology) -> None:
    config = topo.nodes["pe1-par"].config
    assert "RR-CLIENTS" not in config
    assert "cluster-id" not in config


@pytest.mark.parametrize("name", ROUTERS)
def test_router_expects_isis_on_its_core_interfaces(
    topo: Topology, bb: Backbone, name: str
) -> None:
    assert topo.nodes[name].expect_isis == tuple(c.name for c in bb.routers[name].core_interfaces)


@pytest.mark.parametrize("name", ["pe1-par", "pe1-lon", "pe2-lon", "pe1-fra"])
def test_pe_expects_bgp_with_both_ps(topo: Topology, name: str) -> None:
    assert sorted(topo.nodes[name].expect_bgp) == sorted(P_LOOPBACKS.values())


@pytest.mark.parametrize(("name", "other"), [("p1-par", "p1-fra"), ("p1-fra", "p1-par")])
def test_p_expects_bgp_with_every_pe_and_the_other_p(topo: Topology, name: str, other: str) -> None:
    assert sorted(topo.nodes[name].expect_bgp) == sorted([*PE_LOOPBACKS, P_LOOPBACKS[other]])


# ------------------------------------------------------------------ core links


def test_one_core_link_per_inventory_pair(topo: Topology, bb: Backbone) -> None:
    pairs = {
        frozenset({(r.name, c.name), (c.peer.host, c.peer.interface)})
        for r in bb.routers.values()
        for c in r.core_interfaces
    }
    links = [
        frozenset({(lk.a.node, lk.a.ifname), (lk.b.node, lk.b.ifname)})
        for lk in topo.links
        if lk.kind == "core"
    ]
    assert len(links) == 9
    assert set(links) == pairs


# ------------------------------------------------------------------ the cloud side

EDGES = {  # edge: (asn, router, port), in the order the inventory cables them
    "aws-dx-par-e1": (64512, "pe1-par", "eth3"),
    "azure-er-lon-e1": (12076, "pe1-lon", "eth3"),  # primary
    "azure-er-lon-e2": (12076, "pe2-lon", "eth3"),  # secondary
    "gcp-pi-fra-e1": (16550, "pe1-fra", "eth3"),
    "ibm-dl-fra-e1": (13884, "pe1-fra", "eth5"),
    "alibaba-ec-lon-e1": (45104, "pe2-lon", "eth5"),
    "ent-par-e1": (LabSettings().enterprise_asn, "pe1-par", "eth4"),
    "ent-fra-e1": (LabSettings().enterprise_asn, "pe1-fra", "eth4"),
    "ent-lon-e1": (LabSettings().enterprise_asn, "pe1-lon", "eth4"),
    "ent-lon-e2": (LabSettings().enterprise_asn, "pe2-lon", "eth4"),
}
ONRAMPS = ["aws-dx-par", "azure-er-lon", "gcp-pi-fra", "ibm-dl-fra", "alibaba-ec-lon", "ent-par",
           "ent-fra", "ent-lon"]  # fmt: skip


def test_one_edge_per_onramp_port(topo: Topology) -> None:
    assert sorted(n.name for n in topo.nodes.values() if n.kind == "edge") == sorted(EDGES)


@pytest.mark.parametrize(("edge", "asn"), [(e, v[0]) for e, v in EDGES.items()])
def test_edge_is_in_the_providers_asn(topo: Topology, edge: str, asn: int) -> None:
    assert topo.nodes[edge].asn == asn
    assert f"\nrouter bgp {asn}\n" in topo.nodes[edge].config


def test_edges_run_only_the_daemons_their_config_needs(topo: Topology) -> None:
    edges = [n for n in topo.nodes.values() if n.kind == "edge"]
    assert edges and {n.daemons for n in edges} == {("zebra", "bgpd")}
    assert not [n.name for n in edges if "ip route" in n.config]  # nothing for a staticd


def test_edges_stand_behind_their_ports(topo: Topology) -> None:
    ports = {
        lk.b.node: (lk.a.node, lk.a.ifname, lk.b.ifname) for lk in topo.links if lk.kind == "port"
    }
    assert ports == {e: (router, p, "eth0") for e, (_, router, p) in EDGES.items()}


def test_one_host_per_onramp(topo: Topology) -> None:
    hosts = sorted(n.name for n in topo.nodes.values() if n.kind == "host")
    assert hosts == sorted(f"{o}-host" for o in ONRAMPS)


@pytest.mark.parametrize("onramp", ONRAMPS)
def test_host_default_route_goes_via_its_edges(topo: Topology, onramp: str) -> None:
    edges = sorted(e for e in EDGES if e.startswith(f"{onramp}-e"))
    nexthops = " ".join(f"nexthop via {edge_address(topo.nodes[e]).ip}" for e in edges)
    assert topo.nodes[f"{onramp}-host"].routes == (f"default {nexthops}",)


@pytest.mark.parametrize("onramp", ["azure-er-lon", "ent-lon"])
def test_edges_of_one_onramp_swap_routes_on_their_lan(topo: Topology, onramp: str) -> None:
    """Each edge peers (iBGP) with the on-ramp's other edges: what one learned from us,
    the others can forward to, whichever edge the host hands a packet to."""
    edges = [e for e in EDGES if e.startswith(f"{onramp}-e")]
    for e in edges:
        others = [str(edge_address(topo.nodes[o]).ip) for o in edges if o != e]
        config = topo.nodes[e].config
        assert [f" neighbor {o} remote-as internal" in config for o in others] == [True]
        assert all(f"  neighbor {o} next-hop-self" in config for o in others)
    assert "remote-as internal" not in topo.nodes["aws-dx-par-e1"].config  # alone


@pytest.mark.parametrize("onramp", ONRAMPS)
def test_host_and_edges_share_the_onramp_lan(topo: Topology, onramp: str) -> None:
    lan = cloud_lans(topo)[onramp]
    (_, address), *_ = topo.nodes[f"{onramp}-host"].addresses
    assert IPv4Interface(address).network == lan
    for e in (e for e in EDGES if e.startswith(f"{onramp}-e")):
        assert edge_address(topo.nodes[e]).network == lan
        assert (e, "lan0", f"{onramp}-host") in {
            (lk.a.node, lk.a.ifname, lk.b.node) for lk in topo.links if lk.kind == "lan"
        }


def test_each_onramp_gets_its_own_24_from_the_cloud_pool(topo: Topology) -> None:
    lans = cloud_lans(topo)
    assert sorted(lans) == sorted(ONRAMPS)
    assert len(set(lans.values())) == len(ONRAMPS)
    for lan in lans.values():
        assert lan.prefixlen == 24
        assert lan.subnet_of(LabSettings().cloud_pool)


# ------------------------------------------------------------------ other platforms


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Topology:
    """A generated backbone whose PEs are iosxr and junos (its P routers are frr)."""
    directory = tmp_path_factory.mktemp("mixed")
    write(generate(10, platforms=["iosxr", "junos"]), directory)
    return build(load(directory), LabSettings())


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Topology:
    """A generated 100-router backbone: 20 P routers, 2 of them the route reflectors."""
    directory = tmp_path_factory.mktemp("large")
    write(generate(100, "172.20.0.0/22", ["frr", "iosxr", "junos"]), directory)
    return build(load(directory), LabSettings(mgmt_subnet=IPv4Network("172.20.0.0/22")))


def test_every_router_of_a_large_backbone_is_a_client_of_both_reflectors(
    large: Topology,
) -> None:
    loopback = {n.name: re.search(r"bgp router-id (\S+)", n.config)[1] for n in large.routers()}  # type: ignore[index]
    rrs = {"p1", "p11"}
    for node in large.routers():
        if node.name in rrs:
            others = {a for n, a in loopback.items() if n != node.name}
            assert set(node.expect_bgp) == others, node.name
            assert "\n  neighbor RR-CLIENTS route-reflector-client\n" in node.config
            assert f"\n bgp cluster-id {loopback[node.name]}\n" in node.config
        else:  # PEs and the other P routers alike
            assert set(node.expect_bgp) == {loopback[r] for r in rrs}, node.name
            assert "RR-CLIENTS" not in node.config and "cluster-id" not in node.config
    # 98 clients x 2 reflectors + the reflectors' own session (was 80 x 20 + 20 x 19 / 2)
    assert sum(len(n.expect_bgp) for n in large.routers()) // 2 == 197


def first(topo: Topology, platform: str) -> Node:
    return next(n for n in topo.routers() if n.platform == platform)


@pytest.mark.parametrize(
    ("platform", "inventory_name"),
    [("iosxr", "GigabitEthernet0/0/0/1"), ("junos", "ge-0/0/1")],
)
def test_stand_in_maps_interfaces_to_linux_names(
    mixed: Topology, platform: str, inventory_name: str
) -> None:
    node = first(mixed, platform)
    assert node.ifnames[inventory_name] == "eth1"
    assert list(node.ifnames.values()) == [f"eth{i}" for i in range(1, len(node.ifnames) + 1)]


def test_every_linux_name_fits_15_characters(mixed: Topology) -> None:
    names = [x for n in mixed.routers() for x in n.ifnames.values()]
    names += [e.ifname for lk in mixed.links for e in (lk.a, lk.b)]
    assert names
    assert [x for x in names if len(x) > 15 or "/" in x] == []


@pytest.mark.parametrize("platform", ["iosxr", "junos"])
def test_stand_in_config_uses_the_linux_names(mixed: Topology, platform: str) -> None:
    node = first(mixed, platform)
    configured = re.findall(r"^interface (\S+)$", node.config, re.M)
    assert configured == ["lo", *node.expect_isis]
    assert set(node.expect_isis) <= set(node.ifnames.values())
    for inventory_name in node.ifnames:
        assert inventory_name not in node.config


def test_link_endpoints_use_the_linux_names(mixed: Topology) -> None:
    for lk in mixed.links:
        for end in (lk.a, lk.b):
            node = mixed.nodes[end.node]
            if node.kind == "router":
                assert end.ifname in node.ifnames.values(), (lk.kind, end)


# ------------------------------------------------------------------ management addresses


@pytest.mark.parametrize(
    "hostname",
    [
        pytest.param("10.0.0.5", id="outside-the-subnet"),
        pytest.param("172.20.21.11", id="next-subnet"),
        pytest.param("172.20.20.1", id="the-bridge-address"),
    ],
)
def test_mgmt_address_must_be_usable_in_the_lab_subnet(
    inventory_copy: InventoryCopy, hostname: str
) -> None:
    inventory_copy.hosts["pe1-par"]["hostname"] = hostname
    bb = load(inventory_copy.write())
    with pytest.raises(OnrampError) as exc:
        build(bb, LabSettings())
    assert exc.value.code == "ONR-LAB-006"
    assert f"pe1-par hostname {hostname} " in exc.value.reason


def test_mgmt_subnet_is_taken_from_the_settings(inventory_copy: InventoryCopy) -> None:
    for h in inventory_copy.hosts.values():
        h["hostname"] = h["hostname"].replace("172.20.20.", "192.168.7.")
    settings = LabSettings(mgmt_subnet=IPv4Network("192.168.7.0/24"))
    topo = build(load(inventory_copy.write()), settings)
    assert topo.nodes["pe1-par"].mgmt == "192.168.7.11/24"
    assert topo.mgmt_gateway == "192.168.7.1/24"


@pytest.mark.parametrize("hostname", ["172.20.20.0", "172.20.20.255"], ids=["network", "broadcast"])
def test_mgmt_address_cannot_be_network_or_broadcast(
    inventory_copy: InventoryCopy, hostname: str
) -> None:
    inventory_copy.hosts["pe1-par"]["hostname"] = hostname
    bb = load(inventory_copy.write())
    with pytest.raises(OnrampError) as exc:
        build(bb, LabSettings())
    assert exc.value.code == "ONR-LAB-006"


# ------------------------------------------------------------------ cloud pool


def test_cloud_pool_without_a_24_per_onramp_is_refused(bb: Backbone) -> None:
    with pytest.raises(OnrampError) as exc:
        build(bb, LabSettings(cloud_pool=IPv4Network("10.100.0.0/23")))
    assert exc.value.code == "ONR-LAB-006"
    assert "gcp-pi-fra" in exc.value.reason  # the third on-ramp finds the pool empty


def test_cloud_pool_smaller_than_a_24_is_refused(bb: Backbone) -> None:
    with pytest.raises(OnrampError) as exc:
        build(bb, LabSettings(cloud_pool=IPv4Network("10.100.0.0/25")))
    assert exc.value.code == "ONR-LAB-006"


# ------------------------------------------------------------------ serialisation


def test_topology_is_json_serialisable(topo: Topology) -> None:
    data = json.loads(json.dumps(topo.as_dict()))
    assert data["lab"] == "onr"
    assert data["mgmt_gateway"] == "172.20.20.1/24"
    assert len(data["nodes"]) == len(ROUTERS) + len(EDGES) + len(ONRAMPS)
    assert data["nodes"]["pe1-par"]["mgmt"] == "172.20.20.11/24"


def test_build_is_deterministic(bb: Backbone) -> None:
    assert build(bb, LabSettings()) == build(bb, LabSettings())


def test_routers_name_the_known_hosts_their_inventory_names(topo: Topology) -> None:
    want = str(DEFAULT_INVENTORY.parent / "var" / "known_hosts")
    assert {n.known_hosts for n in topo.routers()} == {want}
    assert {n.known_hosts for n in topo.nodes.values() if n.kind != "router"} == {None}


def test_lab_replaces_its_routers_old_host_keys_and_keeps_the_rest(tmp_path: Path) -> None:
    """A lab's routers get new host keys with every build: their old lines go, plain or
    hashed (OpenSSH's HashKnownHosts), and the file's other lines stay."""
    known = tmp_path / "known_hosts"
    salt = "|1|" + base64.b64encode(b"0123456789abcdefghij").decode() + "|"
    hashed = HostKeys.hash_host("172.20.20.12", salt)
    known.write_text(
        "# mine\n"
        "172.20.20.11 ssh-ed25519 OLD11\n"
        f"{hashed} ssh-ed25519 OLD12\n"
        "[172.20.20.11]:2222,other ssh-ed25519 KEEP\n"
        "10.0.0.1 ssh-rsa KEEP2"  # no newline at the end
    )
    record_host_keys(
        known, {"172.20.20.11": "ssh-ed25519 NEW11", "172.20.20.12": "ssh-ed25519 NEW12"}
    )
    assert known.read_text() == (
        "# mine\n"
        "[172.20.20.11]:2222,other ssh-ed25519 KEEP\n"
        "10.0.0.1 ssh-rsa KEEP2\n"
        "172.20.20.11 ssh-ed25519 NEW11\n"
        "172.20.20.12 ssh-ed25519 NEW12\n"
    )
