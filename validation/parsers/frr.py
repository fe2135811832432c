"""FRR parsers in Genie's shape: a MetaParser schema plus a parser class whose `cli()`
runs `cli_command` on the device (or takes recorded `output`) and returns data the
schema validates. FRR answers in JSON; the parsers normalize it to onramp.core.shapes.

    ShowBgpVrfAllSummary(device=dev).parse()["sessions"]   # [BgpSession, ...]
    ShowBgpVrfRoutes(device=dev).parse(vrf="c1", neighbor="169.254.64.2")

`onramp.validation.sessions.bgp_sessions(output)` is the one reading of FRR's BGP
sessions: the gate, monitoring (through ShowBgpVrfAllSummary) and the lab's status.
"""

from __future__ import annotations

import re
from typing import Any as AnyType
from typing import ClassVar

from genie.metaparser import MetaParser
from genie.metaparser.util.schemaengine import Any, ListOf, Optional

from onramp.core.shapes import BgpRoute, BgpSession, IgpNode
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

    @classmethod
    def command(cls, vrf: str, neighbor: str | None = None) -> str:
        """The command this parser runs (a caller sends several in one exec)."""
        return cls.cli_command[0 if neighbor is None else 1].format(vrf=vrf, neighbor=neighbor)

    def cli(
        self, vrf: str, neighbor: str | None = None, output: str | None = None
    ) -> dict[str, dict[str, dict[str, dict[str, BgpRoute]]]]:
        if output is None:
            output = self.device.execute(self.command(vrf, neighbor))
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


class ShowIsisDatabaseSchema(MetaParser):
    schema: ClassVar[dict[AnyType, AnyType]] = {
        "nodes": {
            Any(): {
                "name": str,
                "system_id": str,
                "router_id": str,
                "overload": bool,
                "seq": int,
                "neighbors": {Any(): int},
            }
        }
    }


# an LSP's header: "p1.00-00   [*]   292   0x00000003  0x125d    1135    0/0/1"
_LSP = re.compile(r"^(?P<node>\S+?)\.(?P<pn>[0-9a-f]{2})-(?P<frag>[0-9a-f]{2})\s+(?:\*\s+)?\d+"
                  r"\s+0x(?P<seq>[0-9a-f]+)\s+0x\S+"
                  r"\s+\d+\s+\d/\d/(?P<ol>\d)\s*$")  # fmt: skip
_IS_REACH = re.compile(r"^\s+(?:Extended Reachability|IS Reachability): (\S+) \(Metric: (\d+)\)")
_ROUTER_ID = re.compile(r"^\s+TE Router ID: (\S+)")
_SYSID = re.compile(r"(?P<id>[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4})\s+(?P<name>\S+)\s*$")


class ShowIsisDatabase(ShowIsisDatabaseSchema):
    """`show isis database detail` (+ `show isis hostname` to name the neighbors): every
    router's LSP, as onramp.core.shapes.IgpDatabase. FRR 8.4's `... detail json` keeps only
    the last TLV of each kind per LSP (one neighbor), so the text is what carries the graph.
    A pseudonode (LAN) LSP becomes a node `<dis>.<n>` whose neighbors it lists at metric 0."""

    cli_command: ClassVar[list[str]] = ["show isis database detail", "show isis hostname"]

    def cli(
        self, output: str | None = None, hostnames: str | None = None
    ) -> dict[str, dict[str, IgpNode]]:
        if output is None or hostnames is None:
            output = self.device.execute(self.cli_command[0])
            hostnames = self.device.execute(self.cli_command[1])
        names = {m["id"]: m["name"] for m in map(_SYSID.search, hostnames.splitlines()) if m}
        ids = {name: sysid for sysid, name in names.items()}

        def named(neighbor: str) -> str:  # "0000.0000.0003.00" or "p1.00" -> "p1" / "p1.01"
            base, _, pn = neighbor.rpartition(".")
            base = names.get(base, base)
            return base if pn == "00" else f"{base}.{pn}"

        nodes: dict[str, IgpNode] = {}
        node: IgpNode | None = None
        for line in output.splitlines():
            if m := _LSP.match(line):
                name = m["node"] if m["pn"] == "00" else f"{m['node']}.{m['pn']}"
                node = nodes.setdefault(name, {"name": name, "system_id": ids.get(m["node"], ""),
                                               "router_id": "", "overload": False, "seq": 0,
                                               "neighbors": {}})  # fmt: skip
                if m["frag"] == "00":  # fragment 0's number: how fresh this copy is
                    node["seq"] = int(m["seq"], 16)
                node["overload"] |= m["ol"] == "1"  # fragment 0 carries it; any fragment counts
            elif node is not None and (m := _IS_REACH.match(line)):
                node["neighbors"][named(m[1])] = int(m[2])
            elif node is not None and (m := _ROUTER_ID.match(line)):
                node["router_id"] = m[1]
        return {"nodes": nodes}


class ShowDaemonsSchema(MetaParser):
    schema: ClassVar[dict[AnyType, AnyType]] = {"daemons": ListOf(str)}


class ShowDaemons(ShowDaemonsSchema):
    """`show daemons`: the daemons vtysh reaches (a dead one is missing)."""

    cli_command = "show daemons"

    def cli(self, output: str | None = None) -> dict[str, list[str]]:
        if output is None:
            output = self.device.execute(self.cli_command)
        return {"daemons": output.split()}
