"""FRR parsers in Genie's shape: a MetaParser schema plus a parser class whose `cli()`
runs `cli_command` on the device (or takes recorded `output`) and returns data the
schema validates. FRR answers in JSON; the parsers normalize it to onramp.core.shapes.

    ShowBgpVrfAllSummary(device=dev).parse()["sessions"]   # [BgpSession, ...]
    ShowBgpVrfRoutes(device=dev).parse(vrf="c1", neighbor="169.254.64.2")

`onramp.validation.sessions.bgp_sessions(output)` is the one reading of FRR's BGP
sessions: the gate, monitoring (through ShowBgpVrfAllSummary) and the lab's status.
"""

from __future__ import annotations

from typing import Any as AnyType
from typing import ClassVar

from genie.metaparser import MetaParser
from genie.metaparser.util.schemaengine import Any, ListOf, Optional

from onramp.core.shapes import BgpRoute, BgpSession
from onramp.validation.sessions import bgp_sessions
from onramp.validation.sessions import frr_json as _json


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
