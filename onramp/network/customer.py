"""The customer's side of a Connector: what their own router (an enterprise site's CE) must
be set up with to peer with ours, as the providers' "download router configuration" gives.

`customer_config` computes one shape for every platform (`CustomerConfig`); `render` hands
it to `templates/customer/<platform>.j2`. Both are pure: revealing the key and recording
that it was revealed is the caller's part (onramp.flow.service).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Interface

from onramp.core.errors import OnrampError
from onramp.core.shapes import (
    ConnectorView,
    CustomerAttachment,
    CustomerConfig,
    CustomerPlatformName,
)
from onramp.network import intent
from onramp.network.templates import render as render_template


@dataclass(frozen=True)
class CustomerPlatform:
    """A customer router's OS, as data: its usual port name and how it names a VLAN
    subinterface (Linux nests the C-tag device in the S-tag's; the others keep one)."""

    name: CustomerPlatformName
    port: str  # the default port facing the cross-connect (`--interface` overrides it)
    subinterface: str = "{port}.{vlan}"
    qinq_subinterface: str = "{port}.{vlan}"

    def subinterface_name(self, port: str, vlan: int, inner_vlan: int | None) -> str:
        fmt = self.subinterface if inner_vlan is None else self.qinq_subinterface
        return fmt.format(port=port, vlan=vlan, inner=inner_vlan)


CUSTOMER_PLATFORMS: dict[CustomerPlatformName, CustomerPlatform] = {
    p.name: p
    for p in (
        CustomerPlatform("ios", "GigabitEthernet0/0/1"),
        CustomerPlatform("iosxr", "GigabitEthernet0/0/0/1"),
        CustomerPlatform("junos", "ge-0/0/1"),  # the unit is the (outer) VLAN
        CustomerPlatform("frr", "eth1", qinq_subinterface="{port}.{vlan}.{inner}"),
    )
}
# what may stand in a config line as a port name on any of them
PORT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9/:._-]{0,63}$")


def platform_of(name: str) -> CustomerPlatform:
    found = next((p for p in CUSTOMER_PLATFORMS.values() if p.name == name), None)
    if found is None:
        raise OnrampError("ONR-REQ-008", f"platform {name!r}; one of {', '.join(CUSTOMER_PLATFORMS)}",
                          field="platform")  # fmt: skip
    return found


def customer_config(
    conn: ConnectorView,
    platform: str,
    *,
    password: str | None,
    max_prefixes: int,
    port: str | None = None,
) -> CustomerConfig:
    """What the customer's router needs for `conn`: per attachment the subinterface with
    its tags and the customer's address, our address and ASN, the key, the prefixes we
    accept from it (the same list our side filters with)."""
    plat = platform_of(platform)
    port = port or plat.port
    if not PORT_NAME.match(port):
        raise OnrampError("ONR-REQ-008", f"port name {port!r}", field="interface")
    if conn["peer_asn"] is None:  # an enterprise order always names it (csp constraints)
        raise OnrampError("ONR-REQ-003", f"connector {conn['id']} has no customer ASN",
                          field="customer_asn")  # fmt: skip
    short = conn["id"][:8]
    # our side accepts exactly these (intent.connector's `<vrf>-in`): announce no other
    entries = intent.prefix_entries([str(p) for p in conn["request"].get("prefixes", [])])
    attachments: list[CustomerAttachment] = []
    for a in conn["attachments"]:
        mine = IPv4Interface(a["peer_address"])  # the customer's end is our peer address
        attachments.append(
            {
                "role": a["role"],
                "interface": plat.subinterface_name(port, a["vlan"], a["inner_vlan"]),
                "parent": port,
                "unit": a["vlan"],
                "vlan": a["vlan"],
                "inner_vlan": a["inner_vlan"],
                "address": str(mine),
                "ip": str(mine.ip),
                "netmask": str(mine.netmask),
                "neighbor": str(IPv4Interface(a["local_address"]).ip),
                "description": f"onramp {conn['onramp']} {short} {a['role']}",
            }
        )
    return {
        "connector": conn["id"],
        "tenant": conn["tenant"],
        "onramp": conn["onramp"],
        "platform": plat.name,
        "name": f"onramp-{short}",
        "customer_asn": conn["peer_asn"],
        "our_asn": conn["local_asn"],
        "mtu": conn["mtu"],
        "bandwidth_mbps": conn["bandwidth_mbps"],
        "keepalive": intent.EBGP_KEEPALIVE,
        "hold": intent.EBGP_HOLD,
        "max_prefixes": max_prefixes,
        "password": password,
        "prefixes": entries,
        "permits": intent.permits(entries),
        "attachments": attachments,
    }


def render(data: CustomerConfig) -> str:
    """The customer's router configuration in its platform's syntax."""
    return render_template("customer", data["platform"], data)
