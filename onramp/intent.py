"""Intent: the plain data each template renders. Python computes here; templates only loop.

Every function returns JSON-like dicts (strings, ints, lists) so that the same data
feeds every platform's template and can be stored with a plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from onramp.inventory import Backbone
from onramp.platforms import PLATFORMS

ISIS_INSTANCE = "core"


def backbone(
    bb: Backbone, name: str, platform: str | None = None, ifnames: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Interfaces, IS-IS and iBGP (IPv4 + VPNv4) for one router.

    P routers reflect routes for the PEs (their clients) and peer with each other as
    non-clients. `platform`/`ifnames` let the lab render an FRR stand-in for another OS.
    """
    r = bb.routers[name]
    plat = PLATFORMS[platform or r.platform]
    rename = ifnames or {}
    reflectors = [x for x in bb.routers.values() if x.role == "p" and x.name != name]
    clients = [x for x in bb.routers.values() if x.role == "pe"] if r.role == "p" else []
    groups = [
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
                "isis_metric": c.isis_metric,
            }
            for c in r.core_interfaces
        ],
        "isis": {
            "instance": ISIS_INSTANCE,
            "net": r.isis_net,
            "lsp_gen_interval": r.timers.isis_lsp_gen_interval,
            "spf_interval": r.timers.isis_spf_interval,
        },
        "bgp": {
            "asn": r.asn,
            "router_id": str(r.loopback.ip),
            "keepalive": r.timers.bgp_keepalive,
            "hold": r.timers.bgp_hold,
            "connect_retry": r.timers.bgp_connect_retry,
            "cluster_id": str(r.loopback.ip) if r.role == "p" else None,
            "peer_groups": [g for g in groups if g["members"]],
        },
    }


def _member(x: Any) -> dict[str, str]:
    return {"address": str(x.loopback.ip), "description": f"ibgp: {x.name}"}
