"""What BGP-LS (RFC 7752) carries, read from the routers that speak it, in the one
normalized shape of a link-state database (onramp.core.shapes.IgpDatabase), whatever the
vendor's output: `ShowBgpLinkStateIosxr` (IOS-XR) and `ShowRouteLsdistJunos` (Junos).

Node NLRIs give the router's ISO system id, its name (Node Name TLV 1026), its TE
router-id and the IS-IS overload bit (Node Flag Bits TLV 1024, bit O); link NLRIs give
one direction of an adjacency (local -> remote system id) with its IGP metric (TLV 1095).
A link announced by one end only stays one-way here, as in the IS-IS parser: SPF
(onramp.flow.edges.graph) uses it only when both directions are present.

The outputs these parsers read were written from the vendors' documented formats
(tests/validation/recorded/bgp_ls/<platform>/<case>/output.txt), not recorded from a
live router: nothing here speaks BGP-LS (the lab is FRR, which does not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from onramp.core.shapes import IgpDatabase, IgpNode
from onramp.validation.parsers.frr import ShowIsisDatabaseSchema as IgpDatabaseSchema

_SYS = r"[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}"


@dataclass
class _Lsdb:
    """NLRIs as they are read, keyed by system id; named at the end (a link may come
    before the node NLRI that names its far end)."""

    names: dict[str, str] = field(default_factory=dict)  # system id -> hostname
    router_ids: dict[str, str] = field(default_factory=dict)
    overload: dict[str, bool] = field(default_factory=dict)
    links: dict[tuple[str, str], int] = field(default_factory=dict)  # (local, remote) -> metric

    def database(self) -> IgpDatabase:
        def name(sysid: str) -> str:  # a node without a Node Name TLV keeps its system id
            return self.names.get(sysid, sysid)

        nodes: dict[str, IgpNode] = {}
        for sysid in {*self.names, *self.router_ids, *(a for a, _ in self.links)}:
            nodes[name(sysid)] = {"name": name(sysid), "system_id": sysid,
                                  "router_id": self.router_ids.get(sysid, ""),
                                  "overload": self.overload.get(sysid, False),
                                  # BGP-LS hands over one copy of each node (BGP's best
                                  # path): no LSP sequence numbers to compare copies by
                                  "seq": 0, "neighbors": {}}  # fmt: skip
        for (a, b), metric in sorted(self.links.items()):
            nodes[name(a)]["neighbors"][name(b)] = metric
        return {"nodes": dict(sorted(nodes.items()))}


# IOS-XR `show bgp link-state link-state detail`: one block per NLRI, its key in the
# "BGP routing table entry for" line, its attributes on the "Link-state:" lines after it
_XR_NODE = re.compile(rf"^BGP routing table entry for \[V\]\[L2\].*\[s({_SYS})\.00\]\]/\d+")
_XR_LINK = re.compile(
    rf"^BGP routing table entry for \[E\]\[L2\].*\[N\[.*?\[s({_SYS})\.00\]\]\[R\[.*?\[s({_SYS})\.00\]\]"
)
_XR_ENTRY = re.compile(r"^BGP routing table entry for ")
_XR_NAME = re.compile(r"Node-name: ([^,\s]+)")
_XR_RID = re.compile(r"Local TE Router-ID: ([0-9.]+)")
_XR_FLAGS = re.compile(r"Node-flags: ([A-Z ]+)")
_XR_METRIC = re.compile(r"IGP-metric: (\d+)")


class ShowBgpLinkStateIosxr(IgpDatabaseSchema):
    """IOS-XR: the BGP-LS table of a router that distributes its IS-IS database
    (`router isis X / distribute link-state`; templates/bgp_ls/iosxr.j2)."""

    cli_command: ClassVar[str] = "show bgp link-state link-state detail"

    def cli(self, output: str | None = None) -> IgpDatabase:
        if output is None:
            output = self.device.execute(self.cli_command)
        db = _Lsdb()
        node: str | None = None
        link: tuple[str, str] | None = None
        for line in output.splitlines():
            if m := _XR_NODE.match(line):
                node, link = m[1], None
            elif m := _XR_LINK.match(line):
                node, link = None, (m[1], m[2])
            elif _XR_ENTRY.match(line):  # a prefix NLRI ([T]): nothing of the graph
                node = link = None
            elif node is not None:
                if m := _XR_NAME.search(line):
                    db.names[node] = m[1]
                if m := _XR_RID.search(line):
                    db.router_ids[node] = m[1]
                if m := _XR_FLAGS.search(line):
                    db.overload[node] = "O" in m[1].split()
            elif link is not None and (m := _XR_METRIC.search(line)):
                db.links[link] = int(m[1])
        return db.database()


# Junos `show route table lsdist.0 extensive`: a NODE { ... } or LINK { ... } line, then
# the route's attributes indented below it
_JX_NODE = re.compile(rf"^NODE \{{ AS:\d+ ISO:({_SYS})\.00 ISIS-L2:\d+ \}}")
_JX_LINK = re.compile(
    rf"^LINK \{{ Local \{{ AS:\d+ ISO:({_SYS})\.00 \}}.*Remote \{{ AS:\d+ ISO:({_SYS})\.00 \}}.*ISIS-L2:"
)
_JX_ROUTE = re.compile(r"^[A-Z0-9-]+ \{")  # another NLRI of the table (PREFIX { ... })
_JX_OVERLOAD = re.compile(r"^\s+Overload: (Yes|No)")
_JX_HOSTNAME = re.compile(r"^\s+Hostname: (\S+)")
_JX_RIDS = re.compile(r"^\s+IPv4 Router-ids:")
_JX_ADDRESS = re.compile(r"^\s+([0-9]+(?:\.[0-9]+){3})\s*$")
_JX_METRIC = re.compile(r"^\s+Metric: (\d+)")  # the IGP metric ("TE Metric" is another line)


class ShowRouteLsdistJunos(IgpDatabaseSchema):
    """Junos: lsdist.0, where `protocols mpls traffic-engineering database import
    igp-topology bgp-link-state` puts the IS-IS topology (templates/bgp_ls/junos.j2)."""

    cli_command: ClassVar[str] = "show route table lsdist.0 extensive"

    def cli(self, output: str | None = None) -> IgpDatabase:
        if output is None:
            output = self.device.execute(self.cli_command)
        db = _Lsdb()
        node: str | None = None
        link: tuple[str, str] | None = None
        router_ids = False  # inside a node's "IPv4 Router-ids:" list
        for line in output.splitlines():
            if m := _JX_NODE.match(line):
                node, link, router_ids = m[1], None, False
            elif m := _JX_LINK.match(line):
                node, link, router_ids = None, (m[1], m[2]), False
            elif _JX_ROUTE.match(line):
                node = link = None
            elif node is not None:
                if m := _JX_OVERLOAD.match(line):
                    db.overload[node] = m[1] == "Yes"
                elif m := _JX_HOSTNAME.match(line):
                    db.names[node] = m[1]
                elif _JX_RIDS.match(line):
                    router_ids = True
                elif router_ids and (m := _JX_ADDRESS.match(line)):
                    db.router_ids.setdefault(node, m[1])  # the first: the TE router-id
                    router_ids = False
            elif link is not None and (m := _JX_METRIC.match(line)):
                db.links[link] = int(m[1])
        return db.database()


PARSERS: dict[str, type[ShowBgpLinkStateIosxr] | type[ShowRouteLsdistJunos]] = {
    "iosxr": ShowBgpLinkStateIosxr,
    "junos": ShowRouteLsdistJunos,
}
