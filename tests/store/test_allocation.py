"""Allocation on a real database (SQLite and PostgreSQL): what is chosen, what is refused,
and that nothing is written when a request is refused."""

from __future__ import annotations

from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from onramp.core.errors import OnrampError
from onramp.core.model import ConnectorRequest, LinkRequest
from onramp.core.secrets import Vault
from onramp.core.shapes import Released
from onramp.core.store import (
    AllocationRow,
    ConnectorRow,
    LinkRow,
    PortUsageRow,
    ReleasedRow,
    RouterStateRow,
    Store,
    move,
)
from onramp.flow import allocate as al
from onramp.network.inventory import Backbone, load

from ..conftest import copy_default_inventory

AZURE_KEY = "9a0b1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d"
REQUESTS: dict[str, dict[str, Any]] = {
    "aws": {
        "onramp": "aws-dx-par",
        "kind": "aws-hosted-vif",
        "bandwidth_mbps": 1000,
        "aws_account": "123456789012",
    },
    "azure": {
        "onramp": "azure-er-lon",
        "kind": "azure-expressroute",
        "bandwidth_mbps": 1000,
        "azure_service_key": AZURE_KEY,
    },
    "gcp": {
        "onramp": "gcp-pi-fra",
        "kind": "gcp-partner",
        "bandwidth_mbps": 500,
        "gcp_pairing_key": "7e51371e-72a3-40b5-b844-2e3efefaee59/europe-west3/1",
    },
    "ent": {
        "onramp": "ent-par",
        "kind": "enterprise",
        "bandwidth_mbps": 100,
        "customer_asn": 65201,
        "prefixes": ["192.168.10.0/24"],
    },
}


def gone(store: Store, kind: str, ident: str) -> Released:
    """Taken away as the workers do it, with no router or provider here to clear: marked
    decommissioning (the one way), then the decommission step's last part, the release."""
    al.decommission(store, kind, ident)
    release = al.release_connector if kind == "connector" else al.release_link
    return release(store, ident)


def req(name: str, tenant: str = "acme", **changes: Any) -> ConnectorRequest:
    return ConnectorRequest.model_validate({"tenant": tenant, **REQUESTS[name], **changes})


def counts(store: Store) -> tuple[int, int, int]:
    with store.session() as s:
        return (
            s.scalar(select(func.count()).select_from(ConnectorRow)) or 0,
            s.scalar(select(func.count()).select_from(AllocationRow)) or 0,
            s.scalar(select(func.count()).select_from(LinkRow)) or 0,
        )


def backbone_with(tmp_path: Path, edit: Any) -> Backbone:
    """The default inventory with `edit(hosts, catalogue)` applied."""
    inv = copy_default_inventory(tmp_path / "inventory")
    edit(inv.data["hosts"], inv.data["backbone"])
    return load(inv.write())


def test_aws_hosted_vif(store: Store, backbone: Backbone, vault: Vault) -> None:
    c = al.create_connector(store, backbone, req("aws"), vault)
    (a,) = c["attachments"]
    assert (a["router"], a["port"], a["role"]) == ("pe1-par", "eth3", "single")
    assert 2 <= a["vlan"] <= 4094 and a["interface"] == f"eth3.{a['vlan']}"
    subnet = IPv4Network(a["subnet"])
    assert subnet.prefixlen == 30 and subnet.subnet_of(IPv4Network("169.254.64.0/18"))
    hosts = list(subnet.hosts())
    assert (
        IPv4Interface(a["local_address"]).ip == hosts[0]
        and IPv4Interface(a["peer_address"]).ip == hosts[1]
    )
    assert (c["local_asn"], c["peer_asn"], c["state"]) == (65000, 64512, "allocated")
    assert a["rd"] == f"10.255.0.1:{c['vrf'].removeprefix('c')}"
    with store.session() as s:
        row = s.get(ConnectorRow, c["id"])
        assert row is not None and row.md5_key is not None
        key = vault.decrypt(row.md5_key)
    assert 6 <= len(key) <= 80 and key.encode() not in row.md5_key  # encrypted at rest
    assert c["md5_key"] == "set"  # never the key itself


def test_azure_gets_primary_and_secondary_on_two_pes(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    c = al.create_connector(store, backbone, req("azure", vlan=300), vault)
    primary, secondary = c["attachments"]
    assert (primary["role"], primary["router"]) == ("primary", "pe1-lon")
    assert (secondary["role"], secondary["router"]) == ("secondary", "pe2-lon")
    assert (
        primary["inner_vlan"] == secondary["inner_vlan"] == 300
    )  # the peering's vlan_id, inside the S-tag
    nets = [IPv4Network(x["subnet"]) for x in (primary, secondary)]
    assert all(n.prefixlen == 30 and n.subnet_of(IPv4Network("169.254.192.0/18")) for n in nets)
    assert not nets[0].overlaps(nets[1])
    for x, n in zip((primary, secondary), nets, strict=True):
        first, second = list(n.hosts())
        assert (IPv4Interface(x["local_address"]).ip, IPv4Interface(x["peer_address"]).ip) == (
            first,
            second,
        )
    assert c["peer_asn"] == 12076


def test_azure_takes_the_s_tag_microsoft_assigned(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    c = al.create_connector(store, backbone, req("azure", s_tag=321, vlan=7), vault)
    assert [(a["vlan"], a["inner_vlan"]) for a in c["attachments"]] == [(321, 7), (321, 7)]
    other = req("azure", s_tag=321, azure_service_key="0d5f2c9e-1111-4a2b-9c3d-4e5f60718293")
    with pytest.raises(OnrampError) as taken:  # one circuit per S-tag on a port pair
        al.create_connector(store, backbone, other, vault)
    assert taken.value.code == "ONR-ALLOC-006"


def test_gcp_gets_a_29_with_cloud_router_first(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    (a,) = al.create_connector(store, backbone, req("gcp"), vault)["attachments"]
    n = IPv4Network(a["subnet"])
    assert n.prefixlen == 29
    assert IPv4Interface(a["peer_address"]).ip == next(
        n.hosts()
    )  # Google's side is the first usable


def test_plan_writes_nothing_and_matches_the_commit(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    plan = al.plan_connector(store, backbone, req("azure"), vault)
    assert counts(store) == (0, 0, 0)
    made = al.create_connector(store, backbone, req("azure"), vault)
    strip = lambda c: [{k: v for k, v in a.items()} for a in c["attachments"]]  # noqa: E731
    assert strip(plan) == strip(made) and plan["vrf"] == made["vrf"]


def test_release_frees_everything_and_it_is_reused(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    first = al.create_connector(store, backbone, req("aws"), vault)
    second = al.create_connector(store, backbone, req("aws"), vault)
    released = gone(store, "connector", first["id"])
    assert released["state"] == "deleted"
    assert gone(store, "connector", first["id"])["state"] == "deleted"  # twice is fine
    third = al.create_connector(store, backbone, req("aws"), vault)
    assert third["attachments"][0]["vlan"] == first["attachments"][0]["vlan"]
    assert third["attachments"][0]["subnet"] == first["attachments"][0]["subnet"]
    assert third["vrf"] == first["vrf"]
    assert second["attachments"][0]["vlan"] != third["attachments"][0]["vlan"]
    with store.session() as s:
        usage = s.get(PortUsageRow, ("pe1-par", "eth3"))
        assert usage is not None and (usage.used_mbps, usage.attachments) == (2000, 2)


def test_drained_router_is_skipped(store: Store, backbone: Backbone, vault: Vault) -> None:
    with store.session() as s:
        s.add(RouterStateRow(router="pe2-lon", state="drained", reason="maintenance"))
    with pytest.raises(OnrampError) as exc:
        al.create_connector(store, backbone, req("azure"), vault)
    assert exc.value.code == "ONR-ALLOC-001" and "secondary" in exc.value.reason
    assert counts(store) == (0, 0, 0)


def test_inventory_drained_router_is_skipped(store: Store, tmp_path: Path, vault: Vault) -> None:
    bb = backbone_with(tmp_path, lambda h, _: h["pe1-par"]["data"].update(state="drained"))
    with pytest.raises(OnrampError) as exc:
        al.create_connector(store, bb, req("aws"), vault)
    assert exc.value.code == "ONR-ALLOC-001"


def _second_aws_port(speed: int) -> Any:
    def edit(hosts: dict[str, Any], _: dict[str, Any]) -> None:
        hosts["pe1-par"]["data"]["onramp_ports"].append(
            {"name": "eth5", "onramp": "aws-dx-par", "vlan_range": [2, 4094], "speed_mbps": speed}
        )

    return edit


def test_load_is_balanced_and_full_ports_are_skipped(
    store: Store, tmp_path: Path, vault: Vault
) -> None:
    bb = backbone_with(tmp_path, _second_aws_port(10000))
    ports = [
        al.create_connector(store, bb, req("aws", bandwidth_mbps=5000), vault)["attachments"][0][
            "port"
        ]
        for _ in range(4)
    ]
    assert (
        sorted(ports[:2]) == sorted(ports[2:]) == ["eth3", "eth5"]
    )  # alternating: least utilised first
    with pytest.raises(OnrampError) as exc:
        al.create_connector(store, bb, req("aws", bandwidth_mbps=50), vault)  # both ports are full
    assert exc.value.code == "ONR-ALLOC-001"


def test_a_port_without_room_is_skipped(store: Store, tmp_path: Path, vault: Vault) -> None:
    bb = backbone_with(tmp_path, _second_aws_port(1000))
    first = [
        al.create_connector(store, bb, req("aws", bandwidth_mbps=500), vault)["attachments"][0][
            "port"
        ]
        for _ in range(2)
    ]
    assert sorted(first) == ["eth3", "eth5"]
    # eth5 has 500 Mb/s left: a 1 Gb/s request fits only eth3
    assert (
        al.create_connector(store, bb, req("aws", bandwidth_mbps=1000), vault)["attachments"][0][
            "port"
        ]
        == "eth3"
    )


def test_requested_vlan(store: Store, backbone: Backbone, vault: Vault) -> None:
    c = al.create_connector(store, backbone, req("aws", vlan=777), vault)
    assert c["attachments"][0]["vlan"] == 777
    before = counts(store)
    with pytest.raises(OnrampError) as exc:
        al.create_connector(store, backbone, req("aws", vlan=777), vault)
    assert (exc.value.code, exc.value.field) == ("ONR-ALLOC-006", "vlan")
    assert counts(store) == before


def test_vlan_exhaustion(store: Store, tmp_path: Path, vault: Vault) -> None:
    bb = backbone_with(
        tmp_path, lambda h, _: h["pe1-par"]["data"]["onramp_ports"][1].update(vlan_range=[100, 102])
    )
    vlans = [
        al.create_connector(store, bb, req("ent"), vault)["attachments"][0]["vlan"]
        for _ in range(3)
    ]
    assert vlans == [100, 101, 102]
    before = counts(store)
    with pytest.raises(OnrampError) as exc:
        al.create_connector(store, bb, req("ent"), vault)
    assert exc.value.code == "ONR-ALLOC-002"
    assert counts(store) == before


def test_same_idempotency_key_makes_one_connector(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    a = al.create_connector(store, backbone, req("aws", idempotency_key="order-42"), vault)
    b = al.create_connector(store, backbone, req("aws", idempotency_key="order-42"), vault)
    assert a["id"] == b["id"] and counts(store)[0] == 1


BAD = [
    ("unknown on-ramp", "aws", {"onramp": "aws-dx-nyc"}, "ONR-REQ-001", "onramp"),
    ("kind elsewhere", "aws", {"onramp": "gcp-pi-fra"}, "ONR-REQ-002", "kind"),
    ("no aws account", "aws", {"aws_account": None}, "ONR-REQ-003", "aws_account"),
    ("no service key", "azure", {"azure_service_key": None}, "ONR-REQ-003", "azure_service_key"),
    ("bandwidth step", "aws", {"bandwidth_mbps": 750}, "ONR-REQ-004", "bandwidth_mbps"),
    ("bandwidth over port", "ent", {"bandwidth_mbps": 2000}, "ONR-REQ-004", "bandwidth_mbps"),
    ("azure asn", "ent", {"customer_asn": 12076}, "ONR-REQ-005", "customer_asn"),
    ("our asn", "ent", {"customer_asn": 65000}, "ONR-REQ-005", "customer_asn"),
    ("as_trans", "ent", {"customer_asn": 23456}, "ONR-REQ-005", "customer_asn"),
    ("asn to google", "gcp", {"customer_asn": 65001}, "ONR-REQ-005", "customer_asn"),
    ("vlan range gcp", "gcp", {"vlan": 4094}, "ONR-REQ-006", "vlan"),
    ("vlan outside port", "ent", {"vlan": 1500}, "ONR-REQ-006", "vlan"),
    ("prefix length", "azure", {"prefix_length": 31}, "ONR-REQ-007", "prefix_length"),
    ("mtu", "azure", {"mtu": 9000}, "ONR-REQ-009", "mtu"),
    ("default route", "ent", {"prefixes": ["0.0.0.0/0"]}, "ONR-REQ-012", "prefixes.0"),
    # a host route has no prefix-list sequence number of its own (intent.prefix_seq)
    ("host route", "ent", {"prefixes": ["192.0.2.1/32"]}, "ONR-REQ-012", "prefixes.0"),
    ("peering space", "ent", {"prefixes": ["100.64.0.0/24"]}, "ONR-REQ-012", "prefixes.0"),
    ("segment space", "aws", {"prefixes": ["100.100.0.0/16"]}, "ONR-REQ-012", "prefixes.0"),
    (
        "overlapping prefixes",
        "ent",
        {"prefixes": ["10.0.0.0/16", "10.0.4.0/24"]},
        "ONR-REQ-012",
        "prefixes.1",
    ),
    ("unknown tenant", "aws", {"tenant": "nobody"}, "ONR-REQ-013", "tenant"),
]


@pytest.mark.parametrize(
    ("base", "changes", "code", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_refusals_name_code_and_field_and_write_nothing(
    store: Store,
    backbone: Backbone,
    vault: Vault,
    base: str,
    changes: dict[str, Any],
    code: str,
    field: str,
) -> None:
    with pytest.raises(OnrampError) as exc:
        al.create_connector(store, backbone, req(base, **changes), vault)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert exc.value.hint
    assert counts(store) == (0, 0, 0)


@pytest.mark.parametrize(
    "description",
    ["web\nrouter bgp 1", "a ! comment", 'quote"', "semi;colon", "x" * 65],
    ids=["newline", "bang", "quote", "semicolon", "long"],
)
def test_descriptions_that_a_router_would_interpret_are_refused(description: str) -> None:
    from onramp.flow.request import parse

    with pytest.raises(OnrampError) as exc:
        parse(ConnectorRequest, {"tenant": "acme", **REQUESTS["aws"], "description": description})
    assert (exc.value.code, exc.value.field) == ("ONR-REQ-008", "description")


@pytest.mark.parametrize(
    ("field", "value", "form"),
    [("aws_account", "1234-5678-9012", "12 digits"), ("azure_service_key", "key", "UUID"),
     ("gcp_pairing_key", "abc", "<uuid>/<region>/<1|2>"), ("ibm_account", "x", "32 hex digits"),
     ("alibaba_uid", "12", "16 digits")],
)  # fmt: skip
def test_a_providers_id_refused_says_its_form(field: str, value: str, form: str) -> None:
    from onramp.flow.request import parse

    with pytest.raises(OnrampError) as exc:
        parse(ConnectorRequest, {"tenant": "acme", **REQUESTS["aws"], field: value})
    assert (exc.value.code, exc.value.field) == ("ONR-REQ-008", field)
    assert form in exc.value.hint and "router" not in exc.value.hint, exc.value.hint


def test_link_joins_two_connectors_of_one_tenant(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    a = al.create_connector(store, backbone, req("aws"), vault)
    b = al.create_connector(store, backbone, req("azure"), vault)
    plan = al.plan_link(
        store, backbone, LinkRequest(tenant="acme", a=a["id"], b=b["id"], bandwidth_mbps=500)
    )
    assert counts(store)[2] == 0
    link = al.create_link(
        store,
        backbone,
        LinkRequest(tenant="acme", a=a["id"], b=b["id"], bandwidth_mbps=500, sla_class="gold"),
    )
    assert link["route_target"] == plan["route_target"] == "65000:1"
    with pytest.raises(OnrampError) as exc:
        al.decommission(store, "connector", a["id"])
    assert exc.value.code == "ONR-REQ-015"  # still in a live Link
    with store.session() as s:  # refused: nothing moved
        assert s.get(ConnectorRow, a["id"]).state == "allocated"
    gone(store, "link", link["id"])
    assert gone(store, "connector", a["id"])["state"] == "deleted"


@pytest.mark.parametrize(
    ("case", "code", "field"),
    [
        ("other tenant", "ONR-REQ-010", "b"),
        ("same connector", "ONR-REQ-011", "b"),
        ("too fast", "ONR-REQ-004", "bandwidth_mbps"),
        ("deleted", "ONR-REQ-011", "a"),
        ("decommissioning", "ONR-REQ-016", "a"),
        ("rolling_back", "ONR-REQ-016", "b"),
    ],
)
def test_link_refusals(
    store: Store, backbone: Backbone, vault: Vault, case: str, code: str, field: str
) -> None:
    a = al.create_connector(store, backbone, req("aws"), vault)
    other = al.create_connector(store, backbone, req("gcp", tenant="globex"), vault)
    b = al.create_connector(store, backbone, req("azure"), vault)
    body = {"tenant": "acme", "a": a["id"], "b": b["id"], "bandwidth_mbps": 500}
    if case == "other tenant":
        body["b"] = other["id"]
    elif case == "same connector":
        body["b"] = a["id"]
    elif case == "too fast":
        body["bandwidth_mbps"] = 5000
    elif case == "deleted":
        gone(store, "connector", a["id"])
    elif case == "decommissioning":
        al.decommission(store, "connector", a["id"])
    else:  # a step failed: on its way to failed
        store.transact(lambda s: move(s, s.get(ConnectorRow, b["id"]), "rolling_back", "t"))
    with pytest.raises(OnrampError) as exc:
        al.create_link(store, backbone, LinkRequest.model_validate(body))
    assert (exc.value.code, exc.value.field) == (code, field)
    assert counts(store)[2] == 0


def test_a_provider_wanting_an_asn_per_gateway_gets_a_private_one_of_ours(
    store: Store, tmp_path: Path, vault: Vault
) -> None:
    def edit(hosts: dict[str, Any], catalogue: dict[str, Any]) -> None:
        hosts["pe1-par"]["data"]["onramp_ports"].append(
            {"name": "eth5", "onramp": "ibm-dl-par", "speed_mbps": 10000}
        )
        catalogue["onramps"]["ibm-dl-par"] = {
            "provider": "ibm",
            "pop": "par",
            "description": "IBM Direct Link Paris",
        }

    bb = backbone_with(tmp_path, edit)
    body = {"onramp": "ibm-dl-par", "kind": "ibm-direct-link", "bandwidth_mbps": 1000,
            "ibm_account": "0123456789abcdef0123456789abcdef"}  # fmt: skip
    one = al.create_connector(
        store, bb, ConnectorRequest.model_validate({"tenant": "acme", **body}), vault
    )
    two = al.create_connector(
        store, bb, ConnectorRequest.model_validate({"tenant": "acme", **body}), vault
    )
    # IBM's bgp_asn ranges leave out our 2-byte private backbone ASN: a 4-byte one each
    assert one["local_asn"] == 4201000000 and two["local_asn"] == 4201000001
    assert one["peer_asn"] == 13884
    gone(store, "connector", one["id"])
    three = al.create_connector(
        store, bb, ConnectorRequest.model_validate({"tenant": "acme", **body}), vault
    )
    assert three["local_asn"] == 4201000000  # released, then reused


def test_values_taken_together_are_those_taken_one_by_one(store: Store) -> None:
    """`take_many` (a create's VLAN, subnet and VRF number in one statement) answers what
    `take` would, in turn: a scope named twice gets two values, a released value comes
    first, a full scope answers None, and a scope's top once held falls back to its gap."""

    def held(s: Any) -> None:
        for scope, value in (("vlan:pe", 101), ("full", 1), ("gap", 1), ("gap", 3)):
            s.add(AllocationRow(scope=scope, value=value, owner="x"))
        s.add(ReleasedRow(scope="vlan:pe", value=100))  # given back by a decommission

    store.transact(held)
    wants = [("vlan:pe", 100, 200), ("subnet", 0, 3), ("subnet", 0, 3), ("full", 1, 1),
             ("gap", 1, 3), ("vrf", 1, 999_999)]  # fmt: skip
    assert store.transact(lambda s: al.take_many(s, wants, "me")) == [100, 0, 1, None, 2, 1]
    with store.session() as s:
        rows = s.scalars(select(AllocationRow).where(AllocationRow.owner == "me"))
        mine = {(r.scope, r.value) for r in rows}
    assert mine == {("vlan:pe", 100), ("subnet", 0), ("subnet", 1), ("gap", 2), ("vrf", 1)}


def test_values_taken_with_a_port_only_if_its_bandwidth_is_reserved(store: Store) -> None:
    """`take_many` with a port (a create's last leg): the port's bandwidth reserved and the
    values taken (one statement on PostgreSQL), or, the port full, nothing taken and None;
    a reserved port whose scopes all fall back (a released value, a full scope) still
    answers their values, by `take`."""
    port = al.Candidate("pe1", "eth4", 100, 100, 200, None)

    def given_back(s: Any) -> None:
        s.add_all([ReleasedRow(scope="vlan:pe1", value=v) for v in (120, 150)])
        s.add(AllocationRow(scope="full", value=1, owner="x"))

    store.transact(given_back)
    wants = [("vlan:pe1", 100, 200), ("vrf", 1, 999_999)]
    assert store.transact(lambda s: al.take_many(s, wants, "a", (port, 60))) == [120, 1]
    assert store.transact(lambda s: al.take_many(s, wants, "b", (port, 60))) is None
    only_fallbacks = [("vlan:pe1", 100, 200), ("full", 1, 1)]
    assert store.transact(lambda s: al.take_many(s, only_fallbacks, "c", (port, 40))) == [
        150, None]  # fmt: skip
    with store.session() as s:
        held = {(r.owner, r.scope, r.value) for r in s.scalars(select(AllocationRow))}
        usage = s.get(PortUsageRow, ("pe1", "eth4"))
        assert usage is not None and (usage.used_mbps, usage.attachments) == (100, 2)
    assert held == {("x", "full", 1), ("a", "vlan:pe1", 120), ("a", "vrf", 1),
                    ("c", "vlan:pe1", 150)}  # fmt: skip


def test_a_scopes_highest_value_is_read_once_on_postgresql(store: Store) -> None:
    """The statement that takes a create's values reads each scope's highest held value
    once: named in its value and in its bound, the planner read it twice (two SubPlans
    a scope, each an index probe or, on a table PostgreSQL thinks small, a scan)."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's plan")
    params: dict[str, Any] = {"owner": "me"}
    for i, scope in enumerate(("vlan:pe1", "subnet:pe1", "vrf")):
        params |= {f"scope{i}": scope, f"lo{i}": 1, f"hi{i}": 999}

    def reads(plan: dict[str, Any]) -> int:
        own = plan.get("Relation Name") == "allocations" and plan["Node Type"] != "ModifyTable"
        return own + sum(reads(p) for p in plan.get("Plans", []))

    for reserving in (False, True):
        stmt = al._next_of("postgresql", 3, reserving)
        compiled = stmt.compile(dialect=store.engine.dialect)
        bound = params | ({"router": "pe1", "port": "eth4", "mbps": 10, "speed": 100}
                          if reserving else {})  # fmt: skip
        with store.engine.connect() as conn:
            (plan,) = conn.exec_driver_sql(
                f"EXPLAIN (FORMAT JSON) {compiled}", compiled.construct_params(bound)
            ).scalar_one()
        assert reads(plan["Plan"]) == 1, plan


def test_a_reservation_that_waited_for_its_port_takes_the_next_values(store: Store) -> None:
    """Reserved with its values in one statement (PostgreSQL), a create that waited for the
    port's row (another create held it) read the values as of its start, without those the
    other took: it takes the next ones in one statement more, as it did with the reservation
    on its own, not value by value (`take`: three statements a scope)."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers: no create waits inside a statement")
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import event, text

    port = al.Candidate("pe1", "eth4", 1000, 100, 200, None)
    wants = [("vlan:pe1:eth4", 100, 200), ("vrf", 1, 999)]
    other = Store(store.url)
    seen: list[str] = []
    event.listen(other.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    first = store.sessions()
    with ThreadPoolExecutor(1) as pool:
        with first.begin():  # the first create holds the port until it commits
            assert al.take_many(first, wants, "a", (port, 10)) == [100, 1]
            second = pool.submit(other.transact, lambda s: al.take_many(s, wants, "b", (port, 10)))
            with store.rows() as conn:  # until the second waits for the port's row
                while not second.done() and not conn.execute(text(
                        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).first():  # fmt: skip
                    pass
        assert second.result() == [101, 2]
    assert len(seen) == 2, seen
    other.engine.dispose()
