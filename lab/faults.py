"""Faults on the lab's core links, to prove monitoring sees them: random loss with an
nftables table in the router's namespace (the kernel here has no netem; see
../shared/design/LAB.md). A fault is one table named `onramp_fault`: adding one replaces
the previous, clearing removes it; nothing else in the namespace is touched.

Loss applies to every IP packet leaving the router on the named core interfaces
(forwarded or its own, so the VXLAN segments between PEs too); IS-IS is not IP and
keeps its adjacencies.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from lab.run import Lab, sh
from onramp.errors import OnrampError

TABLE = "onramp_fault"


def core_interfaces(lab: Lab, router: str) -> list[str]:
    """The Linux names of `router`'s core interfaces in this lab."""
    if router not in lab.topo.nodes:
        raise OnrampError("ONR-LAB-003", f"no router {router} in this lab")
    return [end.ifname for link in lab.topo.links if link.kind == "core"
            for end in (link.a, link.b) if end.node == router]  # fmt: skip


def add_loss(lab: Lab, router: str, pct: float, interfaces: Sequence[str] = ()) -> str:
    """Drop `pct` % of the IP packets `router` sends on `interfaces` (default: all its core
    interfaces). Returns the ruleset loaded."""
    if not 0 < pct <= 100:
        raise OnrampError("ONR-LAB-003", f"loss {pct} %: give more than 0 and at most 100")
    names = list(interfaces) or core_interfaces(lab, router)
    per_10k = round(pct * 100)
    ruleset = (
        f"table inet {TABLE} {{\n"
        f"  chain out {{\n"
        f"    type filter hook postrouting priority 0; policy accept;\n"
        f"    oifname {{ {', '.join(f'{chr(34)}{n}{chr(34)}' for n in names)} }} "
        f"numgen random mod 10000 < {per_10k} drop\n"
        f"  }}\n}}\n"
    )
    clear(lab, router)
    sh("nft", "-f", "-", ns=lab.ns(router), stdin=ruleset)
    return ruleset


def clear(lab: Lab, router: str) -> None:
    sh("nft", "delete", "table", "inet", TABLE, ns=lab.ns(router), check=False)


@contextmanager
def loss(lab: Lab, router: str, pct: float, interfaces: Sequence[str] = ()) -> Iterator[str]:
    """`add_loss` for the block's duration; cleared even when the block fails."""
    try:
        yield add_loss(lab, router, pct, interfaces)
    finally:
        clear(lab, router)


def bgp_shutdown(lab: Lab, node: str, neighbor: str, shut: bool = True) -> None:
    """Tear down (or bring back) one BGP session from `node`'s side: a cloud edge's
    `neighbor X shutdown`, as a provider's maintenance would."""
    ns = lab.ns(node)
    asn = lab.topo.nodes[node].asn
    if asn is None:
        raise OnrampError("ONR-LAB-003", f"{node} runs no BGP in this lab")
    line = f"neighbor {neighbor} shutdown"
    sh("vtysh", "-N", ns, "-c", "configure terminal", "-c", f"router bgp {asn}",
       "-c", line if shut else f"no {line}", ns=ns)  # fmt: skip
