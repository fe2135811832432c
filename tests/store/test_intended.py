"""The intended config of a router from the store: which services it carries, with which
route targets, prefix filters and keys (SQLite and PostgreSQL)."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

from onramp.core.model import LinkRequest, State
from onramp.core.secrets import MASK, Vault, mask
from onramp.core.store import ConnectorRow, LinkRow, Store, move
from onramp.flow import allocate as al
from onramp.flow.render import Change, services
from onramp.network.intent import prefix_seq
from onramp.network.inventory import Backbone
from onramp.network.templates import router_config

from .test_allocation import req


def set_state(store: Store, table: Any, ident: str, state: State) -> None:
    store.transact(lambda s: move(s, s.get(table, ident), state.value, "test"))


def on(store: Store, bb: Backbone, vault: Vault, router: str, change: Change | None = None) -> Any:
    with store.session() as s:
        return services(s, bb, vault, [router], change or Change())[router]


def test_only_configured_or_planned_connectors_are_intended(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    c = al.create_connector(store, backbone, req("aws", prefixes=["10.1.0.0/16"]), vault)
    assert on(store, backbone, vault, "pe1-par").connectors == []  # allocated: not on routers
    added = on(store, backbone, vault, "pe1-par", Change(add_connectors=frozenset({c["id"]})))
    assert [d["vrf"]["name"] for d in added.connectors] == [c["vrf"]]
    set_state(store, ConnectorRow, c["id"], State.ACTIVE)
    assert len(on(store, backbone, vault, "pe1-par").connectors) == 1
    removed = on(store, backbone, vault, "pe1-par", Change(remove_connectors=frozenset({c["id"]})))
    assert removed.connectors == []
    assert on(store, backbone, vault, "pe1-lon").connectors == []  # not on other routers


def test_connector_intent_on_its_pe(store: Store, backbone: Backbone, vault: Vault) -> None:
    c = al.create_connector(store, backbone, req("aws", prefixes=["10.1.0.0/16"]), vault)
    set_state(store, ConnectorRow, c["id"], State.ACTIVE)
    svc = on(store, backbone, vault, "pe1-par")
    (data,) = svc.connectors
    a = c["attachments"][0]
    assert (
        data["vrf"]
        == {
            "name": c["vrf"],
            "asn": 65000,
            "router_id": "10.0.0.4",  # the lab's FRR: c1 on its first PE (intent.vrf_router_id)
            "rd": a["rd"],
            "route_targets": [],
            "description": f"onramp acme aws-dx-par {c['id'][:8]}",
            "export_map": "c1-vpn-export",  # the lab's FRR: segments stand in for the labels
            "import_vpn": False,
            "coalesce_ms": 100,  # FRR's first UPDATE to a new peer (platforms.py)
        }
    )
    (iface,) = data["interfaces"]
    assert (iface["name"], iface["vlan"], iface["address"]) == (
        f"eth3.{a['vlan']}",
        a["vlan"],
        a["local_address"],
    )
    (n,) = data["neighbors"]
    assert (n["address"], n["remote_as"], n["max_prefix"]) == (
        a["peer_address"].split("/")[0],
        64512,
        100,  # AWS: 100 prefixes per private VIF (csp/aws/constraints.yaml)
    )
    assert n["password"] and svc.secrets == [n["password"]]
    pl = {p["name"]: p["entries"] for p in data["prefix_lists"]}
    # every list ends in a deny-all at the top sequence number: a permit added below it
    # later is one line added, never the deny-all replaced (a deletion on the router)
    deny_all = {"seq": 4_294_967_294, "action": "deny", "prefix": "0.0.0.0/0", "le": 32}
    assert pl[f"{c['vrf']}-in"] == [
        {"seq": 10, "action": "permit", "prefix": "10.1.0.0/16", "le": 32},
        deny_all,
    ]
    # linked to nothing: nothing is announced to this cloud
    assert pl[f"{c['vrf']}-out"] == [deny_all]


def test_azure_qinq_subinterfaces_on_both_pes(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    c = al.create_connector(store, backbone, req("azure"), vault)
    change = Change(add_connectors=frozenset({c["id"]}))
    with store.session() as s:
        per = services(s, backbone, vault, ["pe1-lon", "pe2-lon"], change)
    for a in c["attachments"]:
        (data,) = per[a["router"]].connectors
        (iface,) = data["interfaces"]
        # FRR names a QinQ subinterface <port>.<s-tag>.<c-tag>, as Linux does
        assert iface["name"] == f"{a['port']}.{a['vlan']}.{a['inner_vlan']}"
        assert data["vrf"]["rd"] == a["rd"]
        assert data["neighbors"][0]["remote_as"] == 12076


def test_a_link_brings_its_route_target_and_the_other_sides_prefixes(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    aws = al.create_connector(store, backbone, req("aws", prefixes=["10.1.0.0/16"]), vault)
    ent = al.create_connector(store, backbone, req("ent"), vault)  # 192.168.10.0/24
    for c in (aws, ent):
        set_state(store, ConnectorRow, c["id"], State.ACTIVE)
    link = al.create_link(
        store,
        backbone,
        LinkRequest(tenant="acme", a=aws["id"], b=ent["id"], bandwidth_mbps=100),
    )
    before = {d["vrf"]["name"]: d for d in on(store, backbone, vault, "pe1-par").connectors}
    assert all(d["vrf"]["route_targets"] == [] for d in before.values())  # link only allocated
    change = Change(add_links=frozenset({link["id"]}))
    after = {d["vrf"]["name"]: d for d in on(store, backbone, vault, "pe1-par", change).connectors}
    other_vrf = {aws["id"]: ent["vrf"], ent["id"]: aws["vrf"]}
    for c, other in ((aws, "192.168.10.0/24"), (ent, "10.1.0.0/16")):
        d = after[c["vrf"]]
        assert d["vrf"]["route_targets"] == [link["route_target"]]
        out = next(p for p in d["prefix_lists"] if p["name"].endswith("-out"))
        assert [e["prefix"] for e in out["entries"]] == [other, "0.0.0.0/0"]
        # numbered by the prefix alone, whichever Link brings it
        assert out["entries"][0]["seq"] == prefix_seq(IPv4Network(other))
        # both ends on pe1-par: one segment, each VRF peering with the other's address on it
        (seg,) = d["segments"]
        assert seg["name"] == f"vpn{link['route_target'].split(':')[1]}"
        assert seg["description"].endswith("vtep")  # nothing to flood to: no other PE
        (peer,) = seg["peers"]
        assert peer["address"] == after[other_vrf[c["id"]]]["segments"][0]["address"].split("/")[0]
    set_state(store, LinkRow, link["id"], State.ACTIVE)
    gone = on(store, backbone, vault, "pe1-par", Change(remove_links=frozenset({link["id"]})))
    assert all(d["vrf"]["route_targets"] == [] and d["segments"] == [] for d in gone.connectors)


def test_vrfs_meeting_on_a_segment_have_their_own_router_ids(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    """Two enterprise sites on different PEs take the same peering address (the pool is per
    PE); linked, their VRF instances peer (iBGP) on the Link's segment, which RFC 6286 (and
    FRR) refuse between equal router-ids: each instance has its own, unique in the backbone."""
    par = al.create_connector(store, backbone, req("ent"), vault)
    fra = al.create_connector(store, backbone, req("ent", onramp="ent-fra", customer_asn=65102,
                                                   prefixes=["192.168.20.0/24"]), vault)  # fmt: skip
    (a,), (b,) = par["attachments"], fra["attachments"]
    assert (a["router"], b["router"]) == ("pe1-par", "pe1-fra")
    assert a["local_address"] == b["local_address"]  # what used to be both router-ids
    for c in (par, fra):
        set_state(store, ConnectorRow, c["id"], State.ACTIVE)
    link = al.create_link(store, backbone,
                          LinkRequest(tenant="acme", a=par["id"], b=fra["id"], bandwidth_mbps=100))  # fmt: skip
    change = Change(add_links=frozenset({link["id"]}))
    (one,) = on(store, backbone, vault, "pe1-par", change).connectors
    (two,) = on(store, backbone, vault, "pe1-fra", change).connectors
    assert one["segments"][0]["peers"][0]["address"] == two["segments"][0]["address"].split("/")[0]
    ids = {one["vrf"]["router_id"], two["vrf"]["router_id"]}
    assert len(ids) == 2 and not ids & {str(r.loopback.ip) for r in backbone.routers.values()}


def test_router_config_holds_the_key_and_masking_removes_it(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    c = al.create_connector(store, backbone, req("aws"), vault)
    svc = on(store, backbone, vault, "pe1-par", Change(add_connectors=frozenset({c["id"]})))
    config = router_config(backbone, "pe1-par", svc)
    key = svc.secrets[0]
    assert config.startswith("frr defaults traditional\nhostname pe1-par\n")
    assert f"password {key}" in config
    masked = mask(config, svc.secrets)
    assert key not in masked and f"password {MASK}" in masked
