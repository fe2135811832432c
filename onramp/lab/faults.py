"""Faults on the lab's core links, to prove monitoring sees them (the kernel here has no
netem; see ../shared/design/LAB.md):

- loss: random drop with an nftables table in the router's namespace, one table named
  `onramp_fault` (adding one replaces the previous, clearing removes it);
- delay: the link's veth pair replaced by two TAPs joined by a userspace relay
  (lab/relay.py) that holds one direction's frames; the veth pair comes back after;
- a BGP session shut from one side;
- a router's FRR daemons restarted (they come back with its startup config, as after a
  crash or an upgrade) and its SSH sessions cut (its sshd's session processes killed).

Loss applies to every IP packet leaving the router on the named core interfaces
(forwarded or its own, so the VXLAN segments between PEs too); IS-IS is not IP and
keeps its adjacencies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from onramp.core.errors import OnrampError
from onramp.lab.run import FRR_RUN, PORT_MTU, Lab, sh

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


def core_link(lab: Lab, router: str, interface: str | None = None) -> tuple[str, str, str, str]:
    """(router, its interface, peer, the peer's interface) of one of `router`'s core links."""
    if interface is not None and "." in interface and not interface.startswith("eth"):
        # an address: the core interface `router` sends it out of now
        out = sh("ip", "-n", lab.ns(router), "-o", "route", "get", interface).split()
        interface = out[out.index("dev") + 1]
    for link in lab.topo.links:
        if link.kind != "core":
            continue
        for near, far in ((link.a, link.b), (link.b, link.a)):
            if near.node == router and interface in (None, near.ifname):
                return near.node, near.ifname, far.node, far.ifname
    raise OnrampError("ONR-LAB-003", f"{router} has no core link {interface or ''}".strip())


@contextmanager
def delay(
    lab: Lab, router: str, ms: float, interface: str | None = None, converge_s: float = 60.0
) -> Iterator[tuple[str, str, str, str]]:
    """Frames `router` sends on one core link (`interface`, or the one toward an address,
    or its first) arrive `ms` later: a round trip across it grows by `ms`. The lab is
    converged again before the block runs and after it ends. Yields the link (router,
    interface, peer, peer interface)."""
    a, if_a, b, if_b = core_link(lab, router, interface)
    ns_a, ns_b = lab.ns(a), lab.ns(b)
    sh("ip", "-n", ns_a, "link", "del", if_a)  # both ends of the veth pair
    relay = subprocess.Popen(
        [sys.executable, "-m", "onramp.lab.relay", ns_a, if_a, ns_b, if_b, str(ms)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        if relay.stdout is None or relay.stdout.readline().strip() != "ready":
            raise OnrampError("ONR-LAB-003", f"the delaying relay on {a} {if_a} did not start")
        for ns, name in ((ns_a, if_a), (ns_b, if_b)):
            sh("ip", "-n", ns, "link", "set", name, "mtu", str(PORT_MTU), "up")
        lab.wait_converged(converge_s)
        yield a, if_a, b, if_b
    finally:
        relay.terminate()
        try:
            relay.wait(10)
        except subprocess.TimeoutExpired:
            relay.kill()
            relay.wait()
        # the TAPs went with the relay: the veth pair again, as the lab built it
        sh("ip", "link", "add", if_a, "netns", ns_a, "type", "veth", "peer", "name", if_b,
           "netns", ns_b)  # fmt: skip
        for ns, name in ((ns_a, if_a), (ns_b, if_b)):
            sh("ip", "-n", ns, "link", "set", name, "mtu", str(PORT_MTU), "up")
        lab.wait_converged(converge_s)


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def restart_frr(lab: Lab, router: str, timeout: float = 10.0) -> None:
    """Kill `router`'s FRR daemons (SIGKILL: a crash) and start them again in its network,
    UTS and mount namespaces (its VRF namespaces live in the last); they load its startup
    config. Its sshd stays."""
    ns = lab.ns(router)
    pids = [p for d in lab.topo.nodes[router].daemons
            if (p := _pid(FRR_RUN / ns / f"{d}.pid")) is not None]  # fmt: skip
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(os.path.exists(f"/proc/{p}") for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    sshd = _pid(lab.node_dir(router) / "sshd.pid")  # lives in the router's namespaces
    if sshd is None:
        raise OnrampError("ONR-LAB-003", f"{router}'s sshd is not running: cannot enter it")
    subprocess.run(["nsenter", "-t", str(sshd), "-n", "-u", "-m", "sh", "-ec",
                    " && ".join(lab.frr_start(router))], check=True, capture_output=True)  # fmt: skip


def cut_ssh(lab: Lab, router: str) -> int:
    """Kill every SSH session on `router` (its sshd's per-connection processes; the
    listener stays): the clients' connections drop mid-command. Returns how many."""
    listener = _pid(lab.node_dir(router) / "sshd.pid")
    out = sh("ip", "netns", "pids", lab.ns(router))
    killed = 0
    for pid in map(int, out.split()):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm.startswith("sshd") and pid != listener:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
    return killed


@contextmanager
def frozen_shapers(lab: Lab, router: str) -> Iterator[Path]:
    """`router`'s frr-netdev leaves its shapers as they are while this lasts (lab/netdev.py
    FREEZE on the router's disk): a device that ignores a new rate, for the gate to catch."""
    mark = lab.node_dir(router) / "var-tmp" / "frr-netdev.freeze"
    mark.write_text("onramp lab fault\n")
    try:
        yield mark
    finally:
        mark.unlink(missing_ok=True)
