"""Build, inspect and remove a lab: namespaces, veths, FRR daemons and sshd per router.

Everything the lab makes is named after the lab (`<lab>-<node>` namespaces, `<lab>-...`
links in the root namespace, `/etc/frr/<lab>-*`, `/var/run/frr/<lab>-*`), so `down`
finds all of it from names alone, even after a crash that lost the state file.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

from onramp.core.errors import OnrampError
from onramp.core.shapes import BgpSession
from onramp.lab import netdev
from onramp.lab.topology import (
    EDGE_LAN,
    EDGE_PORT,
    HOST_BRIDGE,
    HOST_OFFSET,
    LAB_TEMPLATES,
    Topology,
)
from onramp.network.templates import render
from onramp.validation.sessions import bgp_sessions

FRR_BIN = Path("/usr/lib/frr")
FRR_ETC = Path("/etc/frr")
FRR_RUN = Path("/var/run/frr")
SSHD = Path("/usr/sbin/sshd")
NETNS_DIR = Path("/run/netns")
NETDEV = Path(__file__).resolve().parent / "netdev.py"
# netdev.py is stdlib only: the router's python3 (frr-reload.py's) runs it, isolated and
# without `site` (-I -S), as a router's own tool: to its usage line 64 ms, the venv's
# interpreter (its .pth files) 87 ms (median of 40, load 1.9); twice on every commit, and
# `prepare` is on its path (before FRR has the config)
NETDEV_PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
# imported, not run as a script: its bytecode is compiled once and cached (__pycache__), not
# on every start (~4 ms of each, measured: 29.6 -> 25.5 ms to its usage line)
_NETDEV_MAIN = "import sys; sys.path.insert(0, sys.argv[1]); import netdev; sys.exit(netdev.main(sys.argv[2:]))"
# on-ramp ports carry the VXLAN-emulated VLANs, core links the Links' VXLAN segments
# (lab/netdev.py): jumbo, as a backbone's are, so both carry 1500-byte packets whole
PORT_MTU = 9100
# The kernel keeps ONE neighbour (ARP, ND) table for every namespace of the machine: every
# router, VRF and edge of every lab shares its gc_thresh3, 1,024 by default. Past it a new
# neighbour is refused while the others are fresh (used in the last 5 s), so a Link's
# segment never resolves its far end: 500 Links after 100 orders lost every probe of
# 123-127 Links. A router has a table of its own; the lab raises the machine's limits.
NEIGH_LIMITS = (("gc_thresh3", 65536), ("gc_thresh2", 32768), ("gc_thresh1", 4096))
NEIGH_SYSCTL = Path("/proc/sys/net")
NEEDED = (FRR_BIN / "zebra", FRR_BIN / "isisd", FRR_BIN / "bgpd", Path("/usr/bin/vtysh"), SSHD)
Progress = Callable[[str], None]
log = logging.getLogger(__name__)


def _quiet(_: str) -> None:
    return None


def sh(*args: str, ns: str | None = None, stdin: str | None = None, check: bool = True) -> str:
    """Run a command (inside namespace `ns` if given); a failure names the command and its error."""
    cmd = ["ip", "netns", "exec", ns, *args] if ns else list(args)
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise OnrampError(
            "ONR-LAB-003",
            f"`{' '.join(cmd)}` exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()}",
        )
    return proc.stdout


def _parallel(fn: Callable[[Any], Any], items: list[Any], workers: int = 8) -> list[Any]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


# ---------------------------------------------------------------- discovery


def record_host_keys(known_hosts: Path, keys: dict[str, str]) -> None:
    """Put `name keytype base64` for each of `keys` into known_hosts in place of any older
    line for that name (a lab's routers get new keys with every build); other lines stay.
    In place under the lock the driver's accept-new appends take too."""
    known_hosts.parent.mkdir(parents=True, exist_ok=True)
    with known_hosts.open("a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        kept = [line for line in f.read().splitlines() if not _for_any(line, keys)]
        f.seek(0)
        f.truncate()
        f.write("".join(f"{line}\n" for line in kept))
        f.write("".join(f"{name} {key}\n" for name, key in keys.items()))


def _for_any(line: str, names: Iterable[str]) -> bool:
    """Whether a known_hosts line is for one of `names`, plain or hashed (`|1|salt|hash`).
    napalm_frr.is_for's twin: importing the driver (napalm) costs a lab command 1 s."""
    fields = line.split()
    if not fields or fields[0].startswith(("#", "@")):
        return False
    from paramiko.hostkeys import HostKeys  # here: lab commands load without paramiko

    return any(
        HostKeys.hash_host(n, h) == h if h.startswith("|1|") else h == n
        for h in fields[0].split(",")
        for n in names
    )


def namespaces(lab: str) -> list[str]:
    out = sh("ip", "-j", "netns", "list", check=False).strip()
    names = [n["name"] for n in json.loads(out)] if out else []
    return sorted(n for n in names if n.startswith(f"{lab}-"))


def root_links(lab: str) -> list[str]:
    return sorted(
        link["ifname"]
        for link in json.loads(sh("ip", "-j", "link", "show"))
        if link["ifname"].startswith(f"{lab}-")
    )


def is_running(lab: str) -> bool:
    return bool(namespaces(lab) or root_links(lab))


# ---------------------------------------------------------------- up


def preflight(topo: Topology) -> None:
    if os.name != "posix" or os.geteuid() != 0:
        raise OnrampError("ONR-LAB-001", "the lab creates network namespaces, which needs root")
    missing = [str(p) for p in NEEDED if not p.exists()]
    if missing or shutil.which("ip") is None:
        raise OnrampError("ONR-LAB-002", f"missing: {', '.join(missing) or 'ip (iproute2)'}")
    if is_running(topo.lab):
        raise OnrampError(
            "ONR-LAB-005", f"lab '{topo.lab}' exists ({len(namespaces(topo.lab))} namespaces)"
        )
    subnet = IPv4Network(topo.mgmt_subnet)
    for route in json.loads(sh("ip", "-j", "-4", "route", "show", "table", "all")):
        dst = route.get("dst", "")
        if (
            dst
            and dst != "default"
            and "/" in dst
            and IPv4Network(dst, strict=False).overlaps(subnet)
        ):
            raise OnrampError(
                "ONR-LAB-006",
                f"{subnet} overlaps the route {dst} dev {route.get('dev')} already on this machine",
            )


def neighbour_room(sysctl: Path = NEIGH_SYSCTL) -> list[str]:
    """The machine's neighbour tables (IPv4 and IPv6) raised to NEIGH_LIMITS where they are
    lower (never lowered: another lab may need more); what changed, `key old -> new`."""
    changed = []
    for family in ("ipv4", "ipv6"):
        for key, want in NEIGH_LIMITS:  # the hard limit first: thresh1 <= 2 <= 3 throughout
            path = sysctl / family / "neigh" / "default" / key
            old = int(path.read_text())
            if old < want:
                try:
                    path.write_text(f"{want}\n")
                except OSError as exc:  # a read-only /proc/sys: small labs still fit
                    log.warning("neighbour table %s %s stays %d (%s): a lab of more than "
                                "~%d neighbours loses them", family, key, old, exc, old)  # fmt: skip
                    continue
                changed.append(f"{family} {key} {old} -> {want}")
    return changed


class Lab:
    def __init__(self, topo: Topology, state_dir: Path) -> None:
        self.topo = topo
        self.dir = state_dir / topo.lab

    # paths ---------------------------------------------------------------
    @property
    def ssh_key(self) -> Path:
        """Private key that logs in as root on every router's sshd."""
        return self.dir / "id_ed25519"

    def node_dir(self, node: str) -> Path:
        return self.dir / "nodes" / node

    def ns(self, node: str) -> str:
        return self.topo.namespace(node)

    def inside(self, router: str, *args: str) -> str:
        """A command's output, run inside `router` as its SSH sessions run it: its network,
        UTS and mount namespaces (its VRFs live under its own /run/netns), its PATH."""
        sshd = (self.node_dir(router) / "sshd.pid").read_text().split()[0]
        path = f"{self.node_dir(router) / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin"
        return sh("nsenter", "-t", sshd, "-n", "-u", "-m", "env", f"PATH={path}", *args)

    # build ---------------------------------------------------------------
    def up(
        self, progress: Progress = _quiet, converge_timeout: float | None = None
    ) -> LabStatus | None:
        """Build the whole lab, and wait for convergence when given a timeout.

        On any failure, a convergence timeout, Ctrl-C or SIGTERM, everything built is removed.
        """
        preflight(self.topo)
        for change in neighbour_room():
            progress(f"neighbour table: {change}")
        try:
            with _sigterm_as_interrupt():
                self.dir.mkdir(parents=True, exist_ok=True)
                (self.dir / "topology.json").write_text(json.dumps(self.topo.as_dict(), indent=1))
                progress(
                    f"namespaces and links: {len(self.topo.nodes)} nodes, {len(self.topo.links)} links"
                )
                self._wire()
                progress("ssh keys")
                self._keys()
                progress("FRR daemons and sshd")
                _parallel(self._start, list(self.topo.nodes.values()))
                if converge_timeout is None:
                    return None
                return self.wait_converged(converge_timeout, progress)
        except BaseException:
            down(self.topo.lab, self.dir.parent)
            raise

    def _wire(self) -> None:
        t = self.topo
        root = [f"netns add {self.ns(n)}" for n in t.nodes]
        root.append(f"link add {t.bridge} type bridge")
        root.append(f"addr add {t.mgmt_gateway} dev {t.bridge}")
        root.append(f"link set {t.bridge} up")
        for link in t.links:
            root.append(
                f"link add {link.a.ifname} netns {self.ns(link.a.node)} type veth "
                f"peer name {link.b.ifname} netns {self.ns(link.b.node)}"
            )
        routers = t.routers()
        for i, r in enumerate(routers):
            root.append(f"link add {t.lab}-m{i} type veth peer name mgmt0 netns {self.ns(r.name)}")
            root.append(f"link set {t.lab}-m{i} master {t.bridge} up")
        sh("ip", "-batch", "-", stdin="\n".join(root) + "\n")

        per_ns: dict[str, list[str]] = {n: ["link set lo up"] for n in t.nodes}
        for link in t.links:
            for end in (link.a, link.b):
                mtu = f" mtu {PORT_MTU}" if link.kind in ("port", "core") else ""
                per_ns[end.node].append(f"link set {end.ifname}{mtu} up")
        for r in routers:
            per_ns[r.name] += [f"addr add {r.mgmt} dev mgmt0", "link set mgmt0 up"]
        for n in t.nodes.values():
            if n.kind == "host":
                cmds = [f"link add {HOST_BRIDGE} type bridge", f"link set {HOST_BRIDGE} up"]
                cmds += [
                    f"link set {lk.b.ifname} master {HOST_BRIDGE}"
                    for lk in t.links
                    if lk.kind == "lan" and lk.b.node == n.name
                ]
                cmds += [f"addr add {addr} dev {dev}" for dev, addr in n.addresses]
                per_ns[n.name] = per_ns[n.name][:1] + cmds + per_ns[n.name][1:]
                per_ns[n.name] += [f"route add {r}" for r in n.routes]
        # one `ip -batch` per namespace, several at a time: ~150 in a 100-router lab
        _parallel(
            lambda item: sh(
                "ip", "-n", self.ns(item[0]), "-batch", "-", stdin="\n".join(item[1]) + "\n"
            ),
            list(per_ns.items()),
        )

    def _keys(self) -> None:
        if not self.ssh_key.exists():
            sh(
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                f"onramp-lab-{self.topo.lab}",
                "-f",
                str(self.ssh_key),
            )
        (self.dir / "authorized_keys").write_text(self.ssh_key.with_suffix(".pub").read_text())
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation dir
        # each router's host key, made before its sshd starts and recorded where its inventory
        # says the driver looks, so strict host-key checking holds in the lab too
        routers = self.topo.routers()
        _parallel(self._host_key_made, routers)  # ~8 ms each: a 30-router lab waits less
        known: dict[str, dict[str, str]] = {}
        for r in routers:
            key = self.host_key(r.name)
            if r.known_hosts and r.mgmt:
                line = key.with_suffix(".pub").read_text().split()
                address = r.mgmt.split("/")[0]  # sshd listens on port 22 there
                known.setdefault(r.known_hosts, {})[address] = f"{line[0]} {line[1]}"
        for path, keys in known.items():
            record_host_keys(Path(path), keys)

    def _host_key_made(self, router: Any) -> None:
        key = self.host_key(router.name)
        key.parent.mkdir(parents=True, exist_ok=True)
        if not key.exists():
            sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", router.name, "-f", str(key))

    def host_key(self, node: str) -> Path:
        """A router's SSH host key (private; `.pub` beside it)."""
        return self.node_dir(node) / "ssh_host_ed25519_key"

    def _start(self, node: Any) -> None:
        if node.kind == "host":
            return
        ns = self.ns(node.name)
        for d in (FRR_ETC / ns, FRR_RUN / ns):
            d.mkdir(parents=True, exist_ok=True)
            shutil.chown(d, "frr", "frr")
        (FRR_ETC / ns / "vtysh.conf").write_text("service integrated-vtysh-config\n")
        (FRR_ETC / ns / "frr.conf").write_text(node.config)
        steps = [
            f"hostname {node.name}",
            "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1",
        ]
        router = node.kind == "router"
        if router:
            # the router's VRFs are namespaces under its own /run/netns (see lab/netdev.py);
            # they vanish with its mount namespace when the lab goes down. Its own /var/tmp
            # too: what a device keeps on its disk (the NAPALM driver's commit state)
            disk = self.node_dir(node.name) / "var-tmp"
            disk.mkdir(parents=True, exist_ok=True)
            steps[:0] = [
                f"mount -t tmpfs -o mode=755 onramp-vrfs {NETNS_DIR}",
                f"mount --bind {disk} /var/tmp",
            ]
        steps += self.frr_start(node.name)
        if router:
            steps.append(f"{SSHD} -f {self._sshd_config(node.name, node.mgmt)}")
        # one UTS namespace per node: daemons and SSH sessions see the router's own hostname;
        # routers also get a private mount namespace for their VRF namespaces
        unshare = ["unshare", "--uts"] + (["--mount", "--propagation", "private"] if router else [])
        sh(*unshare, "sh", "-ec", " && ".join(steps), ns=ns)

    def frr_start(self, name: str) -> list[str]:
        """The shell commands that start a node's FRR daemons and load its startup config
        (`/etc/frr/<ns>/frr.conf`), run inside the node's namespaces."""
        node, ns = self.topo.nodes[name], self.ns(name)
        return [
            f"{FRR_BIN / d} -d -N {ns} -i {FRR_RUN / ns / d}.pid"
            + (" -n" if node.kind == "router" and d == "zebra" else "")
            for d in node.daemons
        ] + [f"vtysh -N {ns} -b"]

    def _sshd_config(self, node: str, mgmt: str) -> Path:
        d = self.node_dir(node)
        (d / "bin").mkdir(parents=True, exist_ok=True)
        # plain `vtysh` and `frr-reload.py` over SSH reach this router's FRR, as on a real FRR box
        # and `frr-netdev` makes the kernel's subinterfaces and VRFs match FRR's config
        for name, command in (
            ("vtysh", f"/usr/bin/vtysh -N {self.ns(node)}"),
            ("frr-reload.py", f"/usr/lib/frr/frr-reload.py -N {self.ns(node)}"),
            (
                "frr-netdev",
                shlex.join([NETDEV_PYTHON, "-I", "-S", "-c", _NETDEV_MAIN, str(NETDEV.parent)]),
            ),
        ):
            wrapper = d / "bin" / name
            wrapper.write_text(f'#!/bin/sh\nexec {command} "$@"\n')
            wrapper.chmod(0o755)
        key = self.host_key(node)  # made by _keys()
        cfg = d / "sshd_config"
        cfg.write_text(
            "\n".join(
                [
                    f"ListenAddress {mgmt.split('/')[0]}",
                    f"HostKey {key}",
                    f"PidFile {d / 'sshd.pid'}",
                    f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
                    "PermitRootLogin prohibit-password",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "MaxStartups 100:30:200",
                    # the monitor runs 8 pings at a time on one connection (default 10;
                    # sessions just closed still count for a moment)
                    "MaxSessions 32",
                    # a router's own HOME: bash started by sshd sources ~/.bashrc, and this
                    # machine's root .bashrc (pyenv init) costs ~0.15 s of CPU per command
                    f"SetEnv PATH={d / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin HOME={d}",
                    "",
                ]
            )
        )
        return cfg

    # the cloud side -------------------------------------------------------
    def cloud_peering(
        self,
        edge: str,
        *,
        vlan: int,
        inner_vlan: int | None,
        address: str,
        neighbor: str,
        remote_as: int,
        password: str | None,
        remove: bool = False,
    ) -> str:
        """Configure (or remove) a CSP edge's side of one peering: the VLAN subinterface and
        the BGP session, with exactly the parameters given (what the CSP was sent)."""

        ns = self.ns(edge)
        subif = f"{EDGE_PORT}.{vlan}" + (f".{inner_vlan}" if inner_vlan else "")
        data = {
            "interface": subif,
            "address": address,
            "asn": self.topo.nodes[edge].asn,
            "neighbor": neighbor,
            "remote_as": remote_as,
            "password": password,
        }
        config = render("cloud_peering", "frr", data, root=LAB_TEMPLATES, remove=remove)
        if not remove:
            netdev.ensure(subif, base=ns)
        path = self.node_dir(edge) / "peering.conf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config)
        sh("vtysh", "-N", ns, "-f", str(path), ns=ns)
        if remove:
            netdev.ip("link", "del", subif, netns=ns, check=False)
        return subif

    # an enterprise site's CE: configured from what its customer was given -------
    def apply_ce_config(self, edge: str, config: str, remove: bool = False) -> list[str]:
        """Configure an enterprise site's CE from the text `onramp connector customer-config
        --platform frr` gave its customer, unchanged (`remove`: take that text's stanzas off
        again). The OS part first, as the site's Linux would: the VLAN subinterfaces the
        text names (their parent: the edge's port, `--interface eth0`)."""
        ns = self.ns(edge)
        subifs = [n for n in _CE_INTERFACE.findall(config) if netdev.SUBIF.match(n)]
        for subif in [] if remove else subifs:
            netdev.ensure(subif, base=ns)
        path = self.node_dir(edge) / "ce.conf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_ce_removal(config) if remove else config)
        sh("vtysh", "-N", ns, "-f", str(path), ns=ns)
        for subif in subifs if remove else []:
            # FRR drops the stanza of a device only once zebra has seen it go
            netdev.ip("link", "del", subif, netns=ns, check=False)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not re.search(
                r"is down|Can't find", self.vtysh(edge, f"show interface {subif}")
            ):
                time.sleep(0.1)
            sh("vtysh", "-N", ns, "-c", "configure terminal", "-c", f"no interface {subif}", ns=ns)
        return subifs

    def announce(self, onramp: str, prefix: str, withdraw: bool = False) -> str:
        """The cloud (or site) behind `onramp` announces one more prefix, as a customer who
        adds a subnet: its host takes an address in it (.100, as on its LAN), each edge
        one (.1, .2, ...) beside its LAN address and `network PREFIX` in its BGP. Returns
        the host's address there. `withdraw`: all of it taken away again."""
        net = IPv4Network(prefix)
        edge = re.compile(rf"^{re.escape(onramp)}-e\d+$")
        edges = sorted(n for n, node in self.topo.nodes.items()
                       if node.kind == "edge" and edge.match(n))  # fmt: skip
        op, no = ("del", "no ") if withdraw else ("add", "")
        host = f"{net[HOST_OFFSET]}/{net.prefixlen}"
        sh("ip", "addr", op, host, "dev", HOST_BRIDGE, ns=self.ns(f"{onramp}-host"))
        for k, name in enumerate(edges, start=1):
            ns = self.ns(name)
            sh("ip", "addr", op, f"{net[k]}/{net.prefixlen}", "dev", EDGE_LAN, ns=ns)
            sh("vtysh", "-N", ns, "-c", "configure terminal", "-c",
               f"router bgp {self.topo.nodes[name].asn}", "-c", "address-family ipv4 unicast",
               "-c", f"{no}network {net}", ns=ns)  # fmt: skip
        return str(net[HOST_OFFSET])

    # inspect -------------------------------------------------------------
    def vtysh(self, node: str, command: str | list[str]) -> str:
        """A command's output (several: one vtysh, their outputs one after the other)."""
        ns = self.ns(node)
        commands = [command] if isinstance(command, str) else command
        return sh("vtysh", "-N", ns, *(a for c in commands for a in ("-c", c)), ns=ns)

    def vtysh_json(self, node: str, command: str) -> Any:
        out = self.vtysh(node, command).strip()
        return json.loads(out) if out else {}

    def ping(
        self, node: str, target: str, count: int = 5, size: int = 56, source: str | None = None
    ) -> Ping:
        """`count` pings of `size` bytes from `node` to `target`, 0.2 s apart, never
        fragmented (a path with a smaller MTU answers nothing); `source`: from this address
        of the node's."""
        out = sh("ping", "-q", "-n", "-c", str(count), "-i", "0.2", "-W", "1", "-M", "do",
                 *(["-I", source] if source else []), "-s", str(size), target,
                 ns=self.ns(node), check=False)  # fmt: skip
        counts = re.search(r"(\d+) packets transmitted, (\d+) received", out)
        rtt = re.search(r"= [\d.]+/([\d.]+)/", out)
        return Ping(
            target,
            int(counts[1]) if counts else count,
            int(counts[2]) if counts else 0,
            float(rtt[1]) if rtt else None,
        )

    def status(self, nodes: list[Any] | None = None) -> LabStatus:
        """Every node's status (`nodes`: only those)."""
        present = set(namespaces(self.topo.lab))
        asked = list(self.topo.nodes.values()) if nodes is None else nodes
        found = _parallel(lambda n: self._node_status(n, self.ns(n.name) in present), asked)
        return LabStatus(self.topo.lab, bool(present), found)

    def _node_status(self, node: Any, present: bool) -> NodeStatus:
        st = NodeStatus(node.name, node.kind, self.ns(node.name), node.mgmt, present, node.asn)
        st.expected = {"isis": len(node.expect_isis), "bgp": len(node.expect_bgp)}
        if not present:
            st.problems.append("namespace missing")
            return st
        pids = {d: FRR_RUN / st.namespace / f"{d}.pid" for d in node.daemons}
        if node.kind == "router":
            pids["sshd"] = self.node_dir(node.name) / "sshd.pid"
        st.daemons = {d: "up" if _alive(p) else "down" for d, p in pids.items()}
        st.problems += [f"{d} down" for d, s in st.daemons.items() if s != "up"]
        if node.kind == "host" or st.daemons.get("zebra") != "up":
            return st
        isis = "isisd" in node.daemons and st.daemons.get("isisd") == "up"
        bgp = st.daemons.get("bgpd") == "up"
        # the daemons' own sockets, not vtysh: a vtysh costs ~30 ms of CPU to start, and a
        # 100-router lab is polled while it converges on the same cores
        if isis:
            st.isis = _isis_adjacencies(_vty_json(st.namespace, "isisd", _SHOW_ISIS))
            up = {a["interface"] for a in st.isis if a["state"] == "Up"}
            st.problems += [f"no IS-IS adjacency on {i}" for i in node.expect_isis if i not in up]
            if node.expect_routes and not st.problems:  # asked once its adjacencies are up
                rib = _vty_json(st.namespace, "zebra", _SHOW_ISIS_ROUTES)
                st.problems += [f"no IS-IS route to {p}" for p in node.expect_routes
                                if not any(r.get("installed") for r in rib.get(p, []))]  # fmt: skip
            if node.expect_routes and not st.problems:  # what zebra calls installed, in the kernel
                fib = _kernel_routes(pids["zebra"])
                st.problems += [f"no route to {p} in the kernel" for p in node.expect_routes
                                if p not in fib]  # fmt: skip
        if bgp:
            st.bgp = bgp_sessions(json.dumps(_vty_json(st.namespace, "bgpd", _SHOW_BGP)))
            established = {s["neighbor"] for s in st.bgp if s["state"] == "Established"}
            st.problems += [
                f"BGP {a} not Established" for a in node.expect_bgp if a not in established
            ]
        return st

    def wait_converged(self, timeout: float, progress: Progress = _quiet) -> LabStatus:
        """Poll until every expected adjacency and session is up; raise ONR-LAB-004 on timeout.

        Converged: on every router an IS-IS adjacency Up on each core interface, an IS-IS
        route installed to every other router's loopback, and every iBGP session to (or, on
        a reflector, from) its peer groups Established; on every other node its daemons
        running (and sshd on routers). Only the nodes not
        there yet are asked again (a 100-router lab converges on the cores its polling
        uses); the answer is one status of every node, taken once all looked converged."""
        deadline = time.monotonic() + timeout
        last = ""
        waiting = list(self.topo.nodes.values())
        while True:
            status = self.status(waiting)
            waiting = [self.topo.nodes[n.name] for n in status.nodes if n.problems]
            if not waiting:
                status = self.status()
                if status.converged:
                    return status
                waiting = [self.topo.nodes[n.name] for n in status.nodes if n.problems]
            pending = sum(len(n.problems) for n in status.nodes)
            if f"{pending}" != last:
                progress(f"converging: {pending} adjacencies/sessions still down")
                last = f"{pending}"
            if time.monotonic() > deadline:
                problems = "; ".join(
                    f"{n.name}: {', '.join(n.problems)}" for n in status.nodes if n.problems
                )
                raise OnrampError("ONR-LAB-004", f"not converged after {timeout:.0f}s: {problems}")
            time.sleep(0.2)


_SHOW_ISIS = "show isis neighbor json"
_SHOW_ISIS_ROUTES = "show ip route isis json"
_SHOW_BGP = "show bgp vrf all summary json"


def vty(ns: str, daemon: str, command: str, timeout: float = 10.0) -> str:
    """One command's output, asked on a daemon's own vty socket as vtysh asks it: the
    command and a NUL; the answer ends in three NULs and the command's status byte."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(str(FRR_RUN / ns / f"{daemon}.vty"))
        conn.sendall(command.encode() + b"\0")
        answer = bytearray()
        while answer[-4:-1] != b"\0\0\0":
            chunk = conn.recv(1 << 16)
            if not chunk:
                raise ConnectionError(f"{daemon} of {ns} closed its vty mid-answer")
            answer += chunk
    return answer[:-4].decode()


def _kernel_routes(pidfile: Path) -> set[str]:
    """The prefixes the kernel forwards to (its main table) in the namespace of the process
    `pidfile` names, read from its /proc/<pid>/net/route: no process to start, a 100-router
    lab is asked while it converges. Zebra's RIB is not enough after a link was deleted: the
    kernel flushes every multipath route through the device and tells no one, and zebra
    calls them installed until the IGP's next SPF (measured with the relay's TAP: 0.8-0.9 s
    without a route to any far loopback)."""
    try:
        lines = Path(f"/proc/{pidfile.read_text().split()[0]}/net/route").read_text()
    except (OSError, IndexError):
        return set()
    out = set()
    for line in lines.splitlines()[1:]:  # Iface Destination Gateway Flags ... Mask ...
        f = line.split()
        dst, mask = (int.from_bytes(bytes.fromhex(x), "little") for x in (f[1], f[7]))
        out.add(str(IPv4Network((dst, mask.bit_count()))))
    return out


def _vty_json(ns: str, daemon: str, command: str) -> Any:
    """A `... json` command's answer; {} while the daemon does not answer yet (starting)."""
    try:
        out = vty(ns, daemon, command).strip()
    except OSError:
        return {}
    return json.loads(out) if out else {}


# what a customer-config for FRR puts on a CE, to take it off again
_CE_INTERFACE = re.compile(r"^interface (\S+)$", re.M)
_CE_BGP = re.compile(r"^router bgp (\d+)$", re.M)
_CE_NEIGHBOR = re.compile(r"^ neighbor (\S+) remote-as ", re.M)
_CE_POLICY = re.compile(r"^(route-map|ip prefix-list) (\S+) ", re.M)


def _ce_removal(config: str) -> str:
    """The FRR lines that take a customer-config's neighbors and policies off (its
    interfaces go with their devices: Lab.apply_ce_config)."""
    lines = [f"router bgp {asn}" for asn in _CE_BGP.findall(config)[:1]]
    lines += [f" no neighbor {n}" for n in _CE_NEIGHBOR.findall(config)]
    lines += ["exit"] if lines else []
    lines += [f"no {kind} {name}" for kind, name in dict.fromkeys(_CE_POLICY.findall(config))]
    return "\n".join(lines) + "\n"


def _alive(pidfile: Path) -> bool:
    try:
        os.kill(int(pidfile.read_text().split()[0]), 0)
    except (OSError, ValueError, IndexError):
        return False
    return True


def _isis_adjacencies(data: Any) -> list[dict[str, Any]]:
    return [
        {
            "interface": c["interface"],
            "neighbor": c["adj"],
            "level": c.get("level"),
            "state": c["state"],
        }
        for area in data.get("areas", [])
        for c in area.get("circuits", [])
        if "adj" in c
    ]


@dataclass(frozen=True)
class Ping:
    target: str
    sent: int
    received: int
    avg_ms: float | None

    @property
    def text(self) -> str:
        rtt = f", {self.avg_ms} ms average" if self.avg_ms is not None else ""
        return f"{self.target}: {self.received}/{self.sent} replies{rtt}"


@dataclass
class NodeStatus:
    name: str
    kind: str
    namespace: str
    mgmt: str | None
    present: bool
    asn: int | None = None
    expected: dict[str, int] = field(default_factory=dict)  # adjacencies/sessions that must be up
    daemons: dict[str, str] = field(default_factory=dict)
    isis: list[dict[str, Any]] = field(default_factory=list)
    bgp: list[BgpSession] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class LabStatus:
    lab: str
    running: bool
    nodes: list[NodeStatus]

    @property
    def converged(self) -> bool:
        return self.running and not any(n.problems for n in self.nodes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab,
            "running": self.running,
            "converged": self.converged,
            "nodes": [vars(n) for n in self.nodes],
        }


# ---------------------------------------------------------------- down


@dataclass
class DownReport:
    namespaces: int = 0
    processes: int = 0
    links: int = 0
    dirs: int = 0

    @property
    def nothing(self) -> bool:
        return not (self.namespaces or self.processes or self.links or self.dirs)


def down(lab: str, state_dir: Path) -> DownReport:
    """Remove every namespace, process, link and file of lab `lab`. Safe to run twice."""
    report = DownReport()
    nss = namespaces(lab)
    pids = _pids_in(nss)
    report.processes = len(pids)
    _kill(pids)
    # one `ip` for all (-force: go on past one already gone), not one per namespace
    sh("ip", "-force", "-batch", "-", stdin="".join(f"netns del {ns}\n" for ns in nss),
       check=False)  # fmt: skip
    report.namespaces = len(nss)
    links = root_links(lab)  # the mgmt bridge, and any veth left in the root namespace
    sh("ip", "-force", "-batch", "-", stdin="".join(f"link del {lk}\n" for lk in links),
       check=False)  # fmt: skip
    report.links = len(links)
    for d in [*FRR_ETC.glob(f"{lab}-*"), *FRR_RUN.glob(f"{lab}-*"), state_dir / lab]:
        if d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
            report.dirs += 1
    return report


def _pids_in(nss: list[str]) -> set[int]:
    """The processes in any of the network namespaces `nss`, found as `ip netns pids` finds
    them (/proc/PID/ns/net is the namespace's file) in one pass over /proc for them all."""
    wanted = set()
    for ns in nss:
        with suppress(OSError):
            st = os.stat(NETNS_DIR / ns)
            wanted.add((st.st_dev, st.st_ino))
    pids = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                st = os.stat(f"/proc/{entry.name}/ns/net")
            except OSError:  # gone meanwhile
                continue
            if (st.st_dev, st.st_ino) in wanted:
                pids.add(int(entry.name))
    return pids


def _kill(pids: set[int], grace: float = 3.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            pids = {p for p in pids if Path(f"/proc/{p}").exists() and not _zombie(p)}
            if not pids:
                return
            time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """A `kill` during `up` unwinds like Ctrl-C, so the cleanup in `up` runs."""

    def raise_interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, raise_interrupt)
    except ValueError:  # not the main thread: leave signal handling alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
