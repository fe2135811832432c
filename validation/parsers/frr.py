"""FRR parsers in Genie's shape: a MetaParser schema plus a parser class whose `cli()`
runs `cli_command` on the device (or takes recorded `output`) and returns data the
schema validates. FRR answers in JSON; the parsers normalize its field names.

    ShowBgpVrfAllSummary(device=dev).parse()
    ShowBgpVrfRoutes(device=dev).parse(vrf="c1", neighbor="169.254.64.2")
"""

from __future__ import annotations

import json
from typing import Any as AnyType
from typing import ClassVar

from genie.metaparser import MetaParser
from genie.metaparser.util.schemaengine import Any, Optional

AFI = {"ipv4Unicast": "ipv4 unicast", "ipv4Vpn": "vpnv4 unicast", "ipv6Unicast": "ipv6 unicast"}


class ShowBgpVrfAllSummarySchema(MetaParser):
    schema: ClassVar[dict[AnyType, AnyType]] = {
        "vrf": {
            Any(): {
                "router_id": str,
                "local_as": int,
                "neighbor": {
                    Any(): {
                        "remote_as": int,
                        "state": str,  # Established, Active, Connect, Idle, ...
                        "up_down": str,
                        "connections_established": int,
                        "connections_dropped": int,
                        Optional("description"): str,
                        "address_family": {Any(): {"prefixes_received": int, "prefixes_sent": int}},
                    }
                },
            }
        }
    }


class ShowBgpVrfAllSummary(ShowBgpVrfAllSummarySchema):
    """`show bgp vrf all summary json`: every session of every VRF, per address family."""

    cli_command = "show bgp vrf all summary json"

    def cli(self, output: str | None = None) -> dict[str, AnyType]:
        if output is None:
            output = self.device.execute(self.cli_command)
        parsed: dict[str, AnyType] = {"vrf": {}}
        for vrf, families in _json(output).items():
            for family, table in families.items():
                if family not in AFI or not isinstance(table, dict):
                    continue
                entry = parsed["vrf"].setdefault(
                    vrf, {"router_id": table["routerId"], "local_as": table["as"], "neighbor": {}}
                )
                for address, peer in table.get("peers", {}).items():
                    n = entry["neighbor"].setdefault(address, _neighbor(peer))
                    n["address_family"][AFI[family]] = {
                        "prefixes_received": int(peer.get("pfxRcd", 0)),
                        "prefixes_sent": int(peer.get("pfxSnt", 0)),
                    }
        return parsed


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
    ) -> dict[str, AnyType]:
        if output is None:
            command = self.cli_command[0 if neighbor is None else 1]
            output = self.device.execute(command.format(vrf=vrf, neighbor=neighbor))
        routes: dict[str, AnyType] = {}
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


def _neighbor(peer: dict[str, AnyType]) -> dict[str, AnyType]:
    n: dict[str, AnyType] = {
        "remote_as": int(peer["remoteAs"]),
        "state": str(peer["state"]),
        "up_down": str(peer.get("peerUptime", "never")),
        "connections_established": int(peer.get("connectionsEstablished", 0)),
        "connections_dropped": int(peer.get("connectionsDropped", 0)),
        "address_family": {},
    }
    if peer.get("desc"):
        n["description"] = str(peer["desc"])
    return n


def _json(output: str) -> dict[str, AnyType]:
    """FRR's JSON, or {} for the empty answer of a VRF or neighbor that does not exist."""
    text = output.strip()
    data = json.loads(text) if text else {}
    return data if isinstance(data, dict) else {}
