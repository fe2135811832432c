"""The one reading of FRR's BGP sessions (`show bgp vrf all summary json` -> BgpSession):
the gate and monitoring reach it through the Genie-shaped parser of parsers/frr.py, the
lab's status directly. Plain JSON, no Genie: `onramp lab` does not pay its import (0.27 s).
"""

from __future__ import annotations

import json
from typing import Any

from onramp.core.shapes import BgpSession

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
    for vrf, families in frr_json(output).items():
        for family, table in families.items():
            if family not in AFI or not isinstance(table, dict):
                continue
            for address, peer in table.get("peers", {}).items():
                s = sessions.setdefault((vrf, address), _session(vrf, address, peer))
                s["prefixes_received"][AFI[family]] = int(peer.get("pfxRcd", 0))
                s["prefixes_sent"][AFI[family]] = int(peer.get("pfxSnt", 0))
    return list(sessions.values())


def _session(vrf: str, address: str, peer: dict[str, Any]) -> BgpSession:
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


def frr_json(output: str) -> dict[str, Any]:
    """FRR's JSON, or {} for the empty answer of a VRF or neighbor that does not exist."""
    text = output.strip()
    data = json.loads(text) if text else {}
    return data if isinstance(data, dict) else {}
