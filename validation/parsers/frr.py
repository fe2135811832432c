"""FRR parsers in Genie's shape: a MetaParser schema plus a parser class whose `cli()`
runs `cli_command` on the device (or takes recorded `output`) and returns data the
schema validates. FRR answers in JSON; the parsers normalize it to onramp.core.shapes.

    ShowBgpVrfAllSummary(device=dev).parse()["sessions"]   # [BgpSession, ...]
    ShowBgpVrfRoutes(device=dev).parse(vrf="c1", neighbor="169.254.64.2")

`bgp_sessions(output)` is the one reading of FRR's BGP sessions: the gate, monitoring and
the lab's status all see a session through it.
"""

from __future__ import annotations

import json
from typing import Any as AnyType
from typing import ClassVar

from genie.metaparser import MetaParser
from genie.metaparser.util.schemaengine import Any, ListOf, Optional

from onramp.core.shapes import BgpRoute, BgpSession

# FRR's address-family keys in `show bgp vrf all summary json`, in onramp's names
AFI = {
    "ipv4Unicast": "ipv4_unicast",
    "ipv4Vpn": "vpnv4",
    "ipv6Unicast": "ipv6_unicast",
    "l2VpnEvpn": "evpn",
}


def bgp_sessions(output: str) -> list[BgpSession]:
    """`show bgp vrf all summary json`: every session of every VRF once, with the prefixes
    received per address family it carries."""
    sessions: dict[tuple[str, str], BgpSession] = {}
    for vrf, families in _json(output).items():
        for family, table in families.items():
            if family not in AFI or not isinstance(table, dict):
                continue
            for address, peer in table.get("peers", {}).items():
                s = sessions.setdefault((vrf, address), _session(vrf, address, peer))
                s["prefixes_received"][AFI[family]] = int(peer.get("pfxRcd", 0))
                s["prefixes_sent"][AFI[family]] = int(peer.get("pfxSnt", 0))
    return list(sessions.values())


def _session(vrf: str, address: str, peer: dict[str, AnyType]) -> BgpSession:
    return {
        "vrf": vrf,
        "neighbor": address,
        "remote_as": int(peer["remoteAs"]),
        "description": str(peer.get("desc", "")),
        "state": str(peer.get("state", "unknown")),
        "uptime": str(peer.get("peerUptime", "")),
        "prefixes_received": {},
        "prefixes_sent": {},
        "connections_dropped": int(peer.get("connectionsDropped", 0)),
    }


class ShowBgpVrfAllSummarySchema(MetaParser):
    schema: ClassVar[dict[AnyType, AnyType]] = {
        "sessions": ListOf(
            {
                "vrf": str,
                "neighbor": str,
                "remote_as": int,
                "description": str,
                "state": str,
                "uptime": str,
                "prefixes_received": {Any(): int},
                "prefixes_sent": {Any(): int},
                "connections_dropped": int,
            }
        )
    }


class ShowBgpVrfAllSummary(ShowBgpVrfAllSummarySchema):
    """`show bgp vrf all summary json`: every session of every VRF (bgp_sessions)."""

    cli_command = "show bgp vrf all summary json"

    def cli(self, output: str | None = None) -> dict[str, list[BgpSession]]:
        if output is None:
            output = self.device.execute(self.cli_command)
        return {"sessions": bgp_sessions(output)}


class ShowBgpVrfRoutesSchema(MetaParser):
    schema: ClassVar[dict[AnyType, AnyType]] = {
        "vrf": {
            Any(): {
                "routes": {
                    Any(): {
                        "best": bool,
                        "as_path": str,
                        "next_hop": str,
                        "origin": str,
                        Optional("from"): str,  # the peer it came from; absent: local/VPN
                    }
                }
            }
        }
    }


class ShowBgpVrfRoutes(ShowBgpVrfRoutesSchema):
    """`show bgp vrf <vrf> ipv4 unicast json`: the VRF's BGP table (best path per prefix);
    with `neighbor`, only the routes accepted from that neighbor (after inbound policy)."""

    cli_command: ClassVar[list[str]] = [
        "show bgp vrf {vrf} ipv4 unicast json",
        "show bgp vrf {vrf} ipv4 unicast neighbors {neighbor} routes json",
    ]

    def cli(
        self, vrf: str, neighbor: str | None = None, output: str | None = None
    ) -> dict[str, dict[str, dict[str, dict[str, BgpRoute]]]]:
        if output is None:
            command = self.cli_command[0 if neighbor is None else 1]
            output = self.device.execute(command.format(vrf=vrf, neighbor=neighbor))
        routes: dict[str, BgpRoute] = {}
        for prefix, paths in _json(output).get("routes", {}).items():
            best = next((p for p in paths if p.get("bestpath")), paths[0])
            hops = best.get("nexthops") or [{}]
            routes[prefix] = {
                "best": bool(best.get("bestpath", False)),
                "as_path": str(best.get("path", "")),
                "next_hop": str(hops[0].get("ip", "")),
                "origin": str(best.get("origin", "")),
            }
            if best.get("peerId") not in (None, "(unspec)"):
                routes[prefix]["from"] = str(best["peerId"])
        return {"vrf": {vrf: {"routes": routes}}}


def _json(output: str) -> dict[str, AnyType]:
    """FRR's JSON, or {} for the empty answer of a VRF or neighbor that does not exist."""
    text = output.strip()
    data = json.loads(text) if text else {}
    return data if isinstance(data, dict) else {}
