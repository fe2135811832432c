"""Intent: the plain data each template renders. Python computes here; templates only loop.

Every function returns JSON-like dicts (strings, ints, lists; their shapes in
onramp.core.shapes) so that the same data feeds every platform's template and can be
stored with a plan.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network
from typing import Any

from onramp.core.errors import OnrampError
from onramp.core.model import ROLE_ORDER, Connector
from onramp.core.shapes import (
    BackboneIntent,
    BgpLsIntent,
    ConnectorIntent,
    PeerGroup,
    PeerMember,
    PrefixEntry,
    PrefixListIntent,
    QosIntent,
    SegmentIntent,
    SubinterfaceIntent,
)
from onramp.network.inventory import Backbone
from onramp.network.platforms import PLATFORMS

ISIS_INSTANCE = "core"


def backbone(
    bb: Backbone, name: str, platform: str | None = None, ifnames: Mapping[str, str] | None = None
) -> BackboneIntent:
    """Interfaces, IS-IS and iBGP (IPv4 + VPNv4) for one router.

    The route reflectors (`Router.route_reflector`) peer with each other as non-clients and
    reflect for every other router, a client of each. `platform`/`ifnames` let the lab
    render an FRR stand-in for another OS.
    """
    r = bb.routers[name]
    plat = PLATFORMS[platform or r.platform]
    rename = ifnames or {}
    reflectors = [x for x in bb.routers.values() if x.route_reflector and x.name != name]
    clients = [x for x in bb.routers.values() if not x.route_reflector] if r.route_reflector else []
    groups: list[PeerGroup] = [
        {"name": "RR", "client": False, "members": [_member(x) for x in reflectors]},
        {"name": "RR-CLIENTS", "client": True, "members": [_member(x) for x in clients]},
    ]
    return {
        "hostname": r.name,
        "router_id": str(r.loopback.ip),
        "loopback": {"name": plat.loopback, "address": str(r.loopback)},
        "interfaces": [
            {
                "name": rename.get(c.name, c.name),
                "address": str(c.ip),
                "description": f"core: {c.peer.host} {c.peer.interface}",
                "isis_metric": plat.unless_default("isis_metric", c.isis_metric),
            }
            for c in r.core_interfaces
        ],
        "isis": {
            "instance": ISIS_INSTANCE,
            "net": r.isis_net,
            "lsp_gen_interval": r.timers.isis_lsp_gen_interval,
            "spf_interval": plat.unless_default("spf_interval", r.timers.isis_spf_interval),
            # IOS-XR and Junos take these in milliseconds
            "lsp_gen_interval_ms": r.timers.isis_lsp_gen_interval * 1000,
            "spf_interval_ms": r.timers.isis_spf_interval * 1000,
            # FRR's (and IOS-XR's) defaults, stated so every platform renders the same
            "lsp_refresh_interval": 900,
            "max_lsp_lifetime": 1200,
        },
        "bgp": {
            "asn": r.asn,
            "router_id": str(r.loopback.ip),
            "keepalive": r.timers.bgp_keepalive,
            "hold": r.timers.bgp_hold,
            "connect_retry": r.timers.bgp_connect_retry,
            "cluster_id": str(r.loopback.ip) if r.route_reflector else None,
            "peer_groups": [g for g in groups if g["members"]],
        },
    }


BGP_LS_INSTANCE_ID = 32  # the IGP instance's BGP-LS Identifier: IOS-XR reserves 0-31


def bgp_ls(bb: Backbone, name: str, platform: str | None = None) -> BgpLsIntent:
    """BGP-LS on route reflector `name`: its IS-IS database distributed into BGP-LS and
    exchanged with the other route reflectors, so each holds the whole graph (topology
    source `bgp-ls` reads it there). The PEs need nothing: every router floods to it."""
    r = bb.routers[name]
    return {
        "hostname": r.name,
        "asn": bb.asn,
        "router_id": str(r.loopback.ip),
        "loopback": PLATFORMS[platform or r.platform].loopback,
        "isis_instance": ISIS_INSTANCE,
        "instance_id": BGP_LS_INSTANCE_ID,
        "group": "RR",  # backbone()'s non-client group: the route reflectors among themselves
        "peers": [_member(x) for x in bb.routers.values() if x.route_reflector and x.name != name],
    }


def _member(x: Any) -> PeerMember:
    return {"address": str(x.loopback.ip), "description": f"ibgp: {x.name}"}


# eBGP to a CSP: keepalive/hold short enough that a dead peer is noticed in 30 s without
# BFD (not every CSP offers it on hosted connections)
EBGP_KEEPALIVE = 10
EBGP_HOLD = 30


def connector(
    bb: Backbone,
    conn: Connector,
    router: str,
    *,
    md5_key: str | None,
    route_targets: list[str],
    remote_prefixes: Sequence[str],
    max_prefixes: int,
    segments: Sequence[SegmentIntent] = (),
) -> ConnectorIntent:
    """One Connector's share of one PE: its VRF, subinterface(s) and eBGP session(s).

    `route_targets` are the Links' RTs (both imported and exported: each Link is one
    segment shared by its Connectors); `remote_prefixes` what those Links bring from the
    other clouds: the only routes we announce to this one (each numbered by the prefix
    alone, `link_entries`). No prefixes allowed: deny all.
    `segments`: `segment()` of each Link, on platforms with `vpn_segments` only.
    """
    r = bb.routers[router]
    plat = PLATFORMS[r.platform]
    atts = [a for a in conn.attachments if a.router == router]
    vrf = conn.vrf
    label = f"onramp {conn.tenant} {conn.onramp} {str(conn.id)[:8]}"
    interfaces: list[SubinterfaceIntent] = [
        {
            "name": plat.subinterface_name(a.port, a.vlan, a.inner_vlan),
            "parent": a.port,
            "vlan": a.vlan,
            "inner_vlan": a.inner_vlan,
            "address": str(a.local_address),
            "mtu": conn.mtu,
            "vrf": vrf,
            "description": f"{label} {a.role}",
            "qos": qos(
                f"{vrf}-{a.vlan}" + (f"-{a.inner_vlan}" if a.inner_vlan else ""),
                conn.bandwidth_mbps,
            ),
        }
        for a in atts
    ]
    allowed = [str(p) for p in conn.request.get("prefixes", [])]
    return {
        "vrf": {
            "name": vrf,
            "asn": bb.asn,
            # VRF instances meet on a Link's segment (iBGP): each needs its own router-id
            # there; elsewhere they peer with nothing of ours and take the PE's loopback
            "router_id": vrf_router_id(vrf, _instance(conn, router))
            if plat.vpn_segments
            else str(r.loopback.ip),
            "rd": atts[0].rd if atts else f"{r.loopback.ip}:{vrf[1:]}",
            "route_targets": sorted(route_targets),
            "description": label,
            # with segments, a VRF's own cloud routes only go to the VPN: not the routes it
            # learned on a segment (they would come back to the other VRFs twice); and it
            # imports none (unlabelled, they could not forward; the segment brings them)
            "export_map": f"{vrf}-vpn-export" if plat.vpn_segments else None,
            "import_vpn": not plat.vpn_segments,
            "coalesce_ms": plat.vrf_bgp_coalesce_ms,  # the first UPDATE to a new peer
        },
        "interfaces": interfaces,
        "neighbors": [
            {
                "address": str(a.peer_address.ip),
                "remote_as": conn.peer_asn,
                # a private ASN of ours for this Connector only (ticketed providers), else none
                "local_as": conn.local_asn if conn.local_asn != bb.asn else None,
                "description": f"{label} {a.role}",
                "password": md5_key,
                "keepalive": EBGP_KEEPALIVE,
                "hold": EBGP_HOLD,
                "max_prefix": max_prefixes,
                "prefix_list_in": f"{vrf}-in",
                "prefix_list_out": f"{vrf}-out",
                "interface": i["name"],
            }
            for a, i in zip(atts, interfaces, strict=True)
        ],
        "prefix_lists": [
            _prefix_list(f"{vrf}-in", prefix_entries(allowed)),
            _prefix_list(f"{vrf}-out", link_entries(remote_prefixes)),
        ],
        "segments": list(segments),
    }


# A VRF instance's BGP router-id where instances meet on segments: unique in the AS (RFC
# 6286: FRR refuses an iBGP OPEN with its own id), so never a peering address (pools per PE
# repeat them on other PEs) nor the loopback (two VRFs of one PE meet on a same-PE Link).
# The VRF's number is unique in the backbone, its instance unique among its Connector's PEs:
# ROUTER_ID_BASE + number * INSTANCES + instance. Private, below the loopbacks, never class
# D/E (refused as identifiers); ids only, never routed.
ROUTER_ID_BASE = IPv4Address("10.0.0.0")
INSTANCES = 4  # PEs of one Connector, at most
MAX_VRF_NUMBER = 999_999  # onramp.flow.allocate.NUMBERS


def vrf_router_id(vrf: str, instance: int) -> str:
    """The router-id of VRF `vrf` (c<number>) on its Connector's `instance`-th PE.

    >>> vrf_router_id("c1", 0), vrf_router_id("c1", 1), vrf_router_id("c2", 0)
    ('10.0.0.4', '10.0.0.5', '10.0.0.8')
    >>> vrf_router_id("c999999", 3)
    '10.61.8.255'
    """
    number = int(vrf.removeprefix("c"))
    if not 0 < number <= MAX_VRF_NUMBER or not 0 <= instance < INSTANCES:
        raise OnrampError("ONR-ALLOC-005", f"no router-id for VRF {vrf} instance {instance}")
    return str(ROUTER_ID_BASE + number * INSTANCES + instance)


def _instance(conn: Connector, router: str) -> int:
    """Which of its Connector's PEs `router` is: their order of first attachment, by role
    (primary first), which never changes while the Connector lives."""
    legs = sorted(conn.attachments, key=lambda a: ROLE_ORDER[a.role])
    pes = dict.fromkeys(a.router for a in legs)
    return list(pes).index(router)


# A Link's segment (platforms with `vpn_segments`): a /29 per Link number, enough for its
# at most four VRF instances (two Connectors, two attachments each). The top half of the
# shared address space (RFC 6598; enterprise peerings take the bottom), never announced:
# it stays inside the VRFs, and customers may not announce it (onramp.flow.request).
SEGMENT_POOL = IPv4Network("100.96.0.0/11")
SEGMENT_PREFIX = 29


def segment(
    bb: Backbone,
    link: str,
    number: int,
    members: Sequence[tuple[str, str]],
    me: tuple[str, str],
    *,
    bandwidth_mbps: int,
) -> SegmentIntent:
    """Link `number`'s segment as the VRF instance `me` = (vrf, router) sees it.

    `members` are all its (vrf, router) instances in one order every router agrees on: the
    n-th gets the n-th address. `vteps` are the loopbacks of the other VRFs' routers, where
    the segment's VXLAN floods (the interface description carries them to the lab's
    `frr-netdev`).
    """
    size = 2 ** (32 - SEGMENT_PREFIX)
    if number >= SEGMENT_POOL.num_addresses // size:
        raise OnrampError("ONR-ALLOC-005", f"Link number {number} beyond the segment pool")
    net = IPv4Network((int(SEGMENT_POOL.network_address) + number * size, SEGMENT_PREFIX))
    hosts = list(net.hosts())
    address = {m: hosts[n] for n, m in enumerate(members)}
    vrf, router = me
    # its own VRF's other instance (a redundant Connector's second PE) has nothing for it:
    # each instance only takes the other clouds' routes
    others = [m for m in members if m[0] != vrf]
    vteps = sorted({bb.routers[r].loopback.ip for _, r in others if r != router})
    label = f"onramp link {link[:8]}"
    timers = bb.routers[router].timers
    return {
        "name": f"vpn{number}",
        "vrf": vrf,
        "address": f"{address[me]}/{SEGMENT_PREFIX}",
        "description": " ".join([label, "vtep", *map(str, vteps)]),
        "keepalive": timers.bgp_keepalive,
        "hold": timers.bgp_hold,
        "peers": [
            {"address": str(address[m]), "description": f"{label} {m[0]} {m[1]}"} for m in others
        ],
        "qos": qos(f"{vrf}-vpn{number}", bandwidth_mbps),
    }


# 5 ms of traffic at the rate: enough for TCP to fill the rate through a policer, short
# enough to keep the queue small; never under 10 full frames (a tiny rate still bursts)
BURST_S = 0.005
MIN_BURST_BYTES = 10 * 1518


def qos(policy: str, mbps: int) -> QosIntent:
    """A guaranteed rate: `policy` names it on the router (the same name across a change
    of rate, so a change is one line, not a new policy).

    >>> qos("c42-120", 100)
    {'policy': 'c42-120', 'mbps': 100, 'burst_bytes': 62500}
    """
    return {
        "policy": policy,
        "mbps": mbps,
        "burst_bytes": max(int(mbps * 1_000_000 / 8 * BURST_S), MIN_BURST_BYTES),
    }


def _prefix_list(name: str, entries: list[PrefixEntry]) -> PrefixListIntent:
    """FRR's prefix-list (entries, ending in deny-all); `permits` for the platforms that
    match a set and decide in a policy (IOS-XR prefix-set + route-policy, Junos
    route-filters), by prefix: no permits there means drop everything."""
    return {"name": name, "entries": entries, "permits": permits(entries)}


# Prefix-list sequence numbers run 1-4294967294 on IOS (FRR takes one more). The deny-all
# sits at the top in every list, whatever it permits: a permit added or removed below it is
# one line, never the deny-all replaced at its number (a deletion, which costs frr-reload's
# two passes and is not what the change means). The same routes pass as with FRR's
# implicit deny at the end; the explicit one also makes an empty list deny (FRR lets
# everything through a list that does not exist).
DENY_ALL_SEQ = 4_294_967_294


def prefix_entries(prefixes: Sequence[str]) -> list[PrefixEntry]:
    """Each allowed prefix and its more-specifics, then the deny-all.

    >>> [(e["seq"], e["action"], e["prefix"]) for e in prefix_entries(["10.2.0.0/16"])]
    [(10, 'permit', '10.2.0.0/16'), (4294967294, 'deny', '0.0.0.0/0')]
    """
    nets = sorted({IPv4Network(p) for p in prefixes})
    return [*(_permit(10 * k, n) for k, n in enumerate(nets, start=1)), _deny_all()]


def prefix_seq(net: IPv4Network) -> int:
    """The sequence number of a permit of `net` in a `<vrf>-out` list: the prefix's node
    number in the binary tree of IPv4 prefixes, 2^length + its top `length` bits (heap
    numbering: /1 -> 2-3, /2 -> 4-7, ... /31 -> 2^31..2^32-1, each length in a band of its
    own, inside which the number grows with the address). It depends on the prefix alone,
    so no Link's arrival or removal ever renumbers a permit another Link still brings (a
    renumbered permit is a deletion then an addition on the router: the route is gone in
    between), and no two prefixes share one. A /32 has no room below the deny-all (2^32
    hosts and 2^32 shorter prefixes for 2^32 numbers): customer prefixes stop at /31
    (ONR-REQ-012); /0 never is one.

    >>> prefix_seq(IPv4Network("10.0.0.0/8")), prefix_seq(IPv4Network("10.1.0.0/16"))
    (266, 68097)
    """
    seq = (1 << net.prefixlen) + (int(net.network_address) >> (32 - net.prefixlen))
    if not 0 < net.prefixlen < 32 or seq >= DENY_ALL_SEQ:
        raise OnrampError("ONR-REQ-012", f"{net} has no prefix-list sequence number")
    return seq


def link_entries(prefixes: Sequence[str]) -> list[PrefixEntry]:
    """What the Links bring, each prefix once (FRR refuses a list holding one twice, and
    two Links may bring the same one) at its own `prefix_seq`, then the deny-all.

    >>> [(e["seq"], e["prefix"]) for e in link_entries(["10.9.0.0/16", "10.1.0.0/16", "10.1.0.0/16"])]
    [(68097, '10.1.0.0/16'), (68105, '10.9.0.0/16'), (4294967294, '0.0.0.0/0')]
    """
    nets = {IPv4Network(p) for p in prefixes}
    return [*sorted((_permit(prefix_seq(n), n) for n in nets), key=lambda e: e["seq"]), _deny_all()]


def permits(entries: list[PrefixEntry]) -> list[PrefixEntry]:
    """The permits of a list, by prefix (what a prefix-set or route-filter holds)."""
    return sorted((e for e in entries if e["action"] == "permit"),
                  key=lambda e: IPv4Network(e["prefix"]))  # fmt: skip


def _deny_all() -> PrefixEntry:
    return {"seq": DENY_ALL_SEQ, "action": "deny", "prefix": "0.0.0.0/0", "le": 32}


def _permit(seq: int, net: IPv4Network) -> PrefixEntry:
    return {
        "seq": seq,
        "action": "permit",
        "prefix": str(net),
        "le": 32 if net.prefixlen < 32 else None,
    }
