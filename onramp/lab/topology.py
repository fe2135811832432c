"""Inventory -> lab topology, as plain data. Pure: no namespaces, no processes.

Every router of the inventory becomes an FRR node (an FRR stand-in when its platform is
iosxr or junos: its interfaces get Linux names, recorded in `ifnames`). Behind each
on-ramp port stands the other side: a CSP edge router (or an enterprise CE) in the
provider's ASN, and one host per on-ramp that stands for the VPC/VNet/site, on a LAN
bridge shared by that on-ramp's edges (so Azure's primary and secondary both reach it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from ipaddress import IPv4Interface, IPv4Network
from pathlib import Path
from typing import Any, Literal

from onramp.core.errors import OnrampError
from onramp.core.settings import LabSettings
from onramp.csp import constraints
from onramp.network import intent
from onramp.network.inventory import Backbone
from onramp.network.platforms import PLATFORMS
from onramp.network.templates import render

LAB_TEMPLATES = Path(__file__).resolve().parent / "templates"
ROUTER_DAEMONS = ("zebra", "isisd", "bgpd", "staticd")
# a cloud edge or CE is eBGP and connected routes only (templates/cloud_edge, cloud_peering,
# customer): no staticd, ~2.5 MiB and a start fewer on each of a large lab's ~30 edges
EDGE_DAEMONS = ("zebra", "bgpd")
EDGE_PORT = "eth0"  # the edge's side of an on-ramp port; VLAN subinterfaces hang off it
EDGE_LAN = "lan0"
HOST_BRIDGE = "lan"
HOST_OFFSET = 100  # host address in each cloud LAN: .100; edges take .1, .2, ...

Kind = Literal["router", "edge", "host"]


@dataclass(frozen=True)
class Endpoint:
    node: str
    ifname: str  # Linux name inside the node's namespace


@dataclass(frozen=True)
class Link:
    kind: Literal["core", "port", "lan"]
    a: Endpoint
    b: Endpoint


@dataclass(frozen=True)
class Template:
    """What renders a node's FRR config (`templates/<feature>/frr.j2` under `root`, the
    project's and the built-in ones when None), rendered when the config is first read:
    `lab status` reads none, and Jinja2 with the templates' compiling cost it ~30 ms."""

    feature: str
    data: Mapping[str, Any]
    root: Path | None = None


@dataclass(frozen=True)
class Node:
    name: str
    kind: Kind
    daemons: tuple[str, ...] = ()
    template: Template | str | None = None  # or the config itself; None: no FRR (a host)
    mgmt: str | None = None  # "172.20.20.11/24" on mgmt0, routers only
    known_hosts: str | None = None  # routers: the file their inventory names; the lab fills it
    platform: str | None = None  # the inventory's platform (routers)
    asn: int | None = None
    ifnames: dict[str, str] = field(default_factory=dict)  # inventory name -> Linux name
    addresses: tuple[tuple[str, str], ...] = ()  # hosts: (ifname, address) set with `ip`
    routes: tuple[str, ...] = ()  # hosts: `ip route add` arguments
    expect_isis: tuple[str, ...] = ()  # interfaces that must carry an Up adjacency
    expect_bgp: tuple[str, ...] = ()  # neighbor addresses that must be Established
    # every other router's loopback, which IS-IS must have put in the routing table: the
    # adjacencies and the sessions to the reflectors can all be up while an SPF (at most
    # one a second by default) has yet to take in a far router's LSP
    expect_routes: tuple[str, ...] = ()

    @cached_property
    def config(self) -> str:
        """FRR integrated config, loaded with vtysh -b."""
        t = self.template
        if t is None or isinstance(t, str):
            return t or ""
        return render(t.feature, "frr", t.data, root=t.root)


@dataclass(frozen=True)
class Topology:
    lab: str
    mgmt_subnet: str
    mgmt_gateway: str
    nodes: dict[str, Node]
    links: tuple[Link, ...]

    def namespace(self, node: str) -> str:
        return f"{self.lab}-{node}"

    @property
    def bridge(self) -> str:
        return f"{self.lab}-mgmt"

    def edge_of(self, router: str, port: str) -> str:
        """The cloud-side edge cabled to a router's on-ramp port (inventory port name)."""
        ifname = self.nodes[router].ifnames.get(port, port)
        for link in self.links:
            if link.kind == "port" and (link.a.node, link.a.ifname) == (router, ifname):
                return link.b.node
        raise KeyError(f"no edge behind {router} {port}")

    def routers(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == "router"]

    def as_dict(self) -> dict[str, Any]:
        """Each node with its rendered config, as before configs were rendered on demand."""
        out = asdict(self)
        for name, node in out["nodes"].items():
            del node["template"]  # a config, not what made it
            node["config"] = self.nodes[name].config
        return out


def provider_asn(provider: str, settings: LabSettings) -> int:
    """The ASN of a CSP's edge (a fact kept in csp/<provider>/constraints.yaml); a provider
    without a fixed ASN (an enterprise CE, a ticketed provider) gets the lab's customer ASN."""
    asn = constraints.for_provider(provider).asn
    return settings.enterprise_asn if asn is None else asn


def _ifnames(bb: Backbone, name: str) -> dict[str, str]:
    r = bb.routers[name]
    names = [c.name for c in r.core_interfaces] + [p.name for p in r.onramp_ports]
    if PLATFORMS[r.platform].lab_native:
        return {n: n for n in names}
    return {n: f"eth{i}" for i, n in enumerate(names, start=1)}


def _mgmt(bb: Backbone, settings: LabSettings) -> dict[str, str]:
    subnet = settings.mgmt_subnet
    gateway = next(subnet.hosts())
    out = {}
    for r in bb.routers.values():
        if r.hostname not in subnet or r.hostname in (
            gateway,
            subnet.network_address,
            subnet.broadcast_address,
        ):
            raise OnrampError(
                "ONR-LAB-006",
                f"{r.name} hostname {r.hostname} is not a usable address of the lab's {subnet} "
                f"({gateway} is the bridge)",
                "set lab.mgmt_subnet in config.yaml to contain the routers' hostnames",
            )
        out[r.name] = f"{r.hostname}/{subnet.prefixlen}"
    return out


def build(bb: Backbone, settings: LabSettings) -> Topology:
    nodes: dict[str, Node] = {}
    links: list[Link] = []
    mgmt = _mgmt(bb, settings)
    for r in bb.routers.values():
        ifn = _ifnames(bb, r.name)
        data = intent.backbone(bb, r.name, platform="frr", ifnames=ifn)
        nodes[r.name] = Node(
            name=r.name,
            kind="router",
            daemons=ROUTER_DAEMONS,
            template=Template("backbone", data),
            mgmt=mgmt[r.name],
            known_hosts=str(kh) if (kh := bb.known_hosts(r.name)) else None,
            platform=r.platform,
            asn=r.asn,
            ifnames=ifn,
            expect_isis=tuple(ifn[c.name] for c in r.core_interfaces),
            expect_bgp=tuple(
                m["address"] for g in data["bgp"]["peer_groups"] for m in g["members"]
            ),
            expect_routes=tuple(
                f"{o.loopback.ip}/32" for o in bb.routers.values() if o.name != r.name
            ),
        )
        for c in r.core_interfaces:
            if (r.name, c.name) < (c.peer.host, c.peer.interface):  # one link per pair
                far = _ifnames(bb, c.peer.host)[c.peer.interface]
                links.append(
                    Link("core", Endpoint(r.name, ifn[c.name]), Endpoint(c.peer.host, far))
                )

    if settings.cloud_pool.prefixlen > 24:
        raise OnrampError(
            "ONR-LAB-006",
            f"lab.cloud_pool {settings.cloud_pool} is smaller than one /24",
            "set lab.cloud_pool in config.yaml to a /24 per on-ramp or more (default 10.100.0.0/16)",
        )
    lans = settings.cloud_pool.subnets(new_prefix=24)
    for oid, onramp in bb.catalogue.onramps.items():
        ports = sorted(bb.ports_of(oid), key=lambda rp: (_role_rank(rp[0], rp[1]), rp[0].name))
        if not ports:
            continue  # nothing cabled: nothing to stand behind it
        lan = next(lans, None)
        if lan is None:
            raise OnrampError(
                "ONR-LAB-006",
                f"lab.cloud_pool {settings.cloud_pool} has no /24 left for {oid}",
                "widen lab.cloud_pool in config.yaml: one /24 per on-ramp",
            )
        asn = provider_asn(onramp.provider, settings)
        host = f"{oid}-host"
        # the host's gateways: every edge. The edges also swap, in iBGP on their LAN, what
        # each learned from us (the cloud's routers behind one VIF share its routes): a
        # packet the host hands to an edge without a session of its own still gets out
        gateways = [str(lan[k]) for k in range(1, len(ports) + 1)]
        for k, (router, port) in enumerate(ports, start=1):
            edge = f"{oid}-e{k}"
            address = IPv4Interface(f"{lan[k]}/{lan.prefixlen}")
            nodes[edge] = Node(
                name=edge,
                kind="edge",
                daemons=EDGE_DAEMONS,
                asn=asn,
                template=Template(
                    "cloud_edge",
                    {
                        "hostname": edge,
                        "asn": asn,
                        "router_id": str(address.ip),
                        "lan": {"name": EDGE_LAN, "address": str(address)},
                        "prefix": str(lan),
                        "description": onramp.description,
                        "lan_peers": [g for g in gateways if g != str(address.ip)],
                    },
                    root=LAB_TEMPLATES,
                ),
            )
            links.append(
                Link(
                    "port",
                    Endpoint(router.name, _ifnames(bb, router.name)[port]),
                    Endpoint(edge, EDGE_PORT),
                )
            )
            links.append(Link("lan", Endpoint(edge, EDGE_LAN), Endpoint(host, f"e{k}")))
        nexthops = " ".join(f"nexthop via {g}" for g in gateways)
        nodes[host] = Node(
            name=host,
            kind="host",
            addresses=((HOST_BRIDGE, f"{lan[HOST_OFFSET]}/{lan.prefixlen}"),),
            routes=(f"default {nexthops}",),
        )
    return Topology(
        lab=settings.name,
        mgmt_subnet=str(settings.mgmt_subnet),
        mgmt_gateway=f"{next(settings.mgmt_subnet.hosts())}/{settings.mgmt_subnet.prefixlen}",
        nodes=nodes,
        links=tuple(links),
    )


def _role_rank(router: Any, port: str) -> int:
    role = next(p.redundancy_role for p in router.onramp_ports if p.name == port)
    return {"primary": 0, "secondary": 1}.get(role or "", 2)


def cloud_lans(topo: Topology) -> dict[str, IPv4Network]:
    """The LAN prefix behind each on-ramp, as the lab built it (what a cloud announces)."""
    return {
        name.removesuffix("-host"): IPv4Interface(n.addresses[0][1]).network
        for name, n in topo.nodes.items()
        if n.kind == "host"
    }
