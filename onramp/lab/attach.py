"""The simulators' hands in the lab: a cloud-side BGP peer brought up (or down) with
exactly what the provider was sent.

A simulator names the provider's port (`CloudPeer.connection`); the inventory says which
of our ports that is (`csp_connection`), the topology which CSP edge is cabled to it, and
`Lab.cloud_peering` configures the edge. A wrong VLAN, address, ASN or key in a request
therefore shows up as a BGP session that does not come up, as with a real provider.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from onramp.csp.simulator import CloudPeer
from onramp.lab.run import Lab
from onramp.network.inventory import Backbone


@dataclass
class LabAttachment:
    lab: Lab
    bb: Backbone
    applied: list[tuple[str, CloudPeer]] = field(default_factory=list)  # ("up"|"down", peer)
    failed: list[tuple[CloudPeer, str]] = field(default_factory=list)  # (peer, why)
    _lock: threading.Lock = field(default_factory=threading.Lock)  # one vtysh at a time

    def up(self, peer: CloudPeer) -> None:
        self._configure(peer, remove=False)

    def down(self, peer: CloudPeer) -> None:
        self._configure(peer, remove=True)

    def edge(self, connection: str) -> str:
        """The lab's CSP edge behind the port the provider calls `connection`."""
        for r in self.bb.routers.values():
            for p in r.onramp_ports:
                if p.csp_connection == connection:
                    return self.lab.topo.edge_of(r.name, p.name)
        raise KeyError(f"no on-ramp port has csp_connection {connection} (inventory)")

    def _configure(self, peer: CloudPeer, remove: bool) -> None:
        """Never raises: a simulator calls this inside its own state change, and a cloud
        side that failed to come up is what the deploy's checks are there to see."""
        with self._lock:
            try:
                self.lab.cloud_peering(
                    self.edge(peer.connection),
                    vlan=peer.vlan,
                    inner_vlan=peer.inner_vlan,
                    address=peer.address,
                    neighbor=peer.neighbor,
                    remote_as=peer.remote_as,
                    password=peer.password,
                    remove=remove,
                )
            except Exception as exc:  # kept in `failed` for the test or engineer to read
                self.failed.append((peer, f"{type(exc).__name__}: {exc}"))
                return
            self.applied.append(("down" if remove else "up", peer))
