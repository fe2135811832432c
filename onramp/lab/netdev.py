#!/usr/bin/env python3
"""The lab's stand-in for a router OS's VLAN subinterfaces and VRFs (stdlib only).

The kernel here has no 802.1Q and no VRF device (../shared/design/LAB.md). So:

- a VLAN subinterface `eth1.100` (QinQ: `eth1.100.7`) is a VXLAN device over the
  port's veth, VNI = the tag (QinQ: S-tag * 4096 + C-tag), sent to a link-local
  multicast group. Each side creates its own end; the two only talk when both chose
  the same tags, exactly like a VLAN on a trunk: a wrong VLAN is a dead session.
- a VRF is a network namespace under the router's private /run/netns, which FRR's
  zebra (started with -n) turns into a netns-VRF, forwarding on.
- no MPLS either, so VPN routes imported into a VRF never resolve. A Link's segment
  `vpn<N>` (onramp renders one per Link on the `frr` platform) stands in for the label
  path: a veth in each VRF on the Link, bridged in the router's namespace with a VXLAN
  device `vxs<N>` (VNI N, UDP 4790) that floods to the other routers' loopbacks named in
  the interface's description (`... vtep 10.255.0.3 10.255.0.4`), across the IS-IS core.

- a guaranteed rate is zebra's `bandwidth N` (Mb/s) on a subinterface's or segment's
  stanza (onramp's `qos` feature): a tc htb shaper on the device's egress, N Mbit/s rate
  and ceiling, changed in place (`tc class replace`, no queue reset) when N changes. The
  kernel here has htb and tbf, not the police action: a subinterface is shaped both ways,
  what comes in from the cloud through an ifb device it is redirected to (u32 + mirred).

On a router, `frr-netdev prepare|finish CONFIG` (installed on its PATH by the lab) makes
the kernel match the FRR config being loaded: what a real router's OS (or ifupdown) does for
its subinterfaces; `frr-netdev rates` prints what every device is shaped to now (JSON,
"<vrf> <device>" -> Mb/s: the read-back a bandwidth change's gate judges). A lab fault,
the file FREEZE on the router's disk, makes `finish` leave the shapers as they are (a
device that ignored its new rate). The NAPALM FRR driver runs it after every configuration change,
including the revert timer's. The cloud-side edges use `ensure` from the lab code.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

NETNS_DIR = Path("/run/netns")
STAGE = Path("/var/tmp/frr-netdev/vrf")  # where add_vrf makes a VRF's namespace (router's disk)
GROUP = "ff02::4242"  # link-local multicast: reaches exactly the other end of the port
DSTPORT = "4789"
DEFAULT_MTU = 1500
SEGMENT_PORT = "4790"
SEGMENT_MTU = 1500  # the lab's core links are jumbo: room for VXLAN's 50 bytes
SEGMENT = re.compile(r"^vpn(?P<n>\d{1,7})$")
ANY_MAC = "00:00:00:00:00:00"  # a VXLAN fdb entry for it floods: head-end replication
# what onramp names a subinterface: <parent>.<vlan> or <parent>.<s-tag>.<c-tag>
SUBIF = re.compile(r"^(?P<parent>[a-z][a-z0-9]*)\.(?P<s>\d{1,4})(?:\.(?P<c>\d{1,4}))?$")
_VRF = re.compile(r"^vrf (\S+)$", re.M)
_BGP_VRF = re.compile(r"^router bgp \d+ vrf (\S+)$", re.M)
_IFACE = re.compile(r"^interface (\S+)(?: vrf (\S+))?$", re.M)
_STANZA = re.compile(r"^interface (vpn\d+) vrf (\S+)\n((?: .*\n)*?)exit$", re.M)
_VTEPS = re.compile(r"^ description .* vtep((?: [\d.]+)*)$", re.M)
_ANY_STANZA = re.compile(r"^interface (\S+) vrf (\S+)\n((?: .*\n)*?)exit$", re.M)
_BANDWIDTH = re.compile(r"^ bandwidth (\d+)$", re.M)
SHAPER = "1:1"  # the one htb class every packet of a shaped device goes through
_HTB_RATE = re.compile(r"^class htb 1:1 .*? rate (\d+)(bit|Kbit|Mbit|Gbit) ", re.M)
_UNIT = {"bit": 1, "Kbit": 1_000, "Mbit": 1_000_000, "Gbit": 1_000_000_000}
FREEZE = Path("/var/tmp/frr-netdev.freeze")  # lab fault: shapers stay as they are
IFB_QUEUE = "1000"  # packets
BURST_S = 0.005  # 5 ms at the rate: htb's default burst (one MTU) undershoots a fast rate


def vni(name: str) -> int:
    m = SUBIF.match(name)
    if not m:
        raise ValueError(f"{name} is not a subinterface name (<parent>.<vlan>[.<inner>])")
    s, c = int(m["s"]), m["c"]
    return s if c is None else s * 4096 + int(c)


def ip(*args: str, netns: str | None = None, check: bool = True, stdin: str | None = None) -> str:
    cmd = ["ip", *(["-n", netns] if netns else []), *args]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {proc.stderr.strip()}")
    return proc.stdout


def ensure(
    name: str, netns: str | None = None, mtu: int = DEFAULT_MTU, base: str | None = None
) -> bool:
    """Create subinterface `name` beside its parent (in namespace `base`), moved into VRF
    namespace `netns` if given, unless it is there already. True if it made one."""
    m = SUBIF.match(name)
    if not m:
        raise ValueError(f"{name} is not a subinterface name")
    where = netns or base
    if ip("link", "show", name, netns=where, check=False):
        return False
    # the VXLAN socket stays in the parent's namespace when the device moves into the VRF;
    # made and moved by one process (each is ~3 ms of a commit's path). Its MTU is set
    # after: given to `link add`, the kernel takes the parent's less VXLAN's 70 bytes
    made = (f"link add {name} type vxlan id {vni(name)} group {GROUP} "
            f"dev {m['parent']} dstport {DSTPORT}\n")  # fmt: skip
    moved = f"link set {name} netns {netns}\n" if netns else ""
    ip("-batch", "-", netns=base, stdin=made + moved)
    ip("link", "set", name, "mtu", str(mtu), "up", netns=where)
    return True


def _links(kind: str, netns: str | None = None) -> list[str]:
    links = json.loads(ip("-j", "link", "show", "type", kind, netns=netns) or "[]")
    return [link["ifname"] for link in links]


def _subifs(netns: str | None) -> list[str]:
    return [n for n in _links("vxlan", netns) if SUBIF.match(n)]


def _segments(config: str) -> dict[tuple[str, str], list[str]]:
    """(segment interface, VRF) -> the other routers' loopbacks it floods to."""
    out: dict[tuple[str, str], list[str]] = {}
    for name, vrf, body in _STANZA.findall(config):
        m = _VTEPS.search(body)
        # the qos feature's stanza of the same segment carries no description: it adds none
        out.setdefault((name, vrf), []).extend(m[1].split() if m else [])
    return out


def rates(config: str) -> dict[tuple[str, str], int]:
    """(interface, VRF) -> its guaranteed rate in Mb/s, from the `bandwidth` lines.

    >>> rates("interface eth1.7 vrf c1\\n bandwidth 100\\nexit\\n")
    {('eth1.7', 'c1'): 100}
    """
    out = {}
    for name, vrf, body in _ANY_STANZA.findall(config):
        if m := _BANDWIDTH.search(body):
            out[(name, vrf)] = int(m[1])
    return out


def tc(*args: str, netns: str | None = None, stdin: str | None = None) -> str:
    cmd = ["tc", *(["-n", netns] if netns else []), *args]
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {proc.stderr.strip()}")
    return proc.stdout


def shaped_mbps(name: str, netns: str | None) -> int | None:
    """The rate device `name` is shaped to now (None: not shaped)."""
    # tc of Debian 12 prints htb classes as text even with -j
    m = _HTB_RATE.search(tc("class", "show", "dev", name, netns=netns))
    return None if m is None else int(m[1]) * _UNIT[m[2]] // 1_000_000


def shaped_now(names: list[str], netns: str | None) -> dict[str, int | None]:
    """The rate each of devices `names` is shaped to now, in two tc processes whatever
    their number (a process per device, for every Connector of the router, on every
    commit, before): which have an htb root (one JSON read), then their classes in one
    batch, one line each; a device with other classes than the one shaper, read alone."""
    out: dict[str, int | None] = dict.fromkeys(names)
    qdiscs = json.loads(tc("-j", "qdisc", "show", netns=netns) or "[]")
    htb = sorted({q["dev"] for q in qdiscs if q.get("kind") == "htb" and q.get("root")} & {*names})
    if not htb:
        return out
    script = "".join(f"class show dev {d}\n" for d in htb)
    lines = [x for x in tc("-batch", "-", netns=netns, stdin=script).splitlines() if x.strip()]
    found = [_HTB_RATE.match(x) for x in lines]
    if len(lines) != len(htb):  # tc names no device in its lines: each must have one
        return out | {d: shaped_mbps(d, netns) for d in htb}
    for device, m in zip(htb, found, strict=True):
        out[device] = None if m is None else int(m[1]) * _UNIT[m[2]] // 1_000_000
    return out


def _devices(netns: str | None) -> dict[str, tuple[str, int]]:
    """Every device of `netns`: name -> (kind, ifindex), read by one process."""
    links = json.loads(ip("-d", "-j", "link", "show", netns=netns) or "[]")
    return {x["ifname"]: (x.get("linkinfo", {}).get("info_kind", ""), x["ifindex"]) for x in links}


def shape(name: str, netns: str | None, mbps: int | None) -> str | None:
    """Device `name` shaped to `mbps` (None: unshaped); what changed, or None."""
    return _shape(name, netns, mbps, shaped_mbps(name, netns))


def _shape(name: str, netns: str | None, mbps: int | None, now: int | None) -> str | None:
    """`shape`, the device's rate now (`now`) read already."""
    change, script = _shaper(name, mbps, now)
    if script:
        tc("-batch", "-", netns=netns, stdin=script)
    return change


def _shaper(name: str, mbps: int | None, now: int | None) -> tuple[str | None, str]:
    """What shaping device `name` to `mbps` (from `now`) changes, and the `tc -batch` lines
    that do it: one tc process for them all (a process each was ~3 ms of a commit's path)."""
    if now == mbps:
        return None, ""
    if mbps is None:
        return f"-shaper {name}", f"qdisc del dev {name} root\n"
    burst = max(int(mbps * 1_000_000 / 8 * BURST_S), 10 * 1518)
    root = "" if now is not None else f"qdisc replace dev {name} root handle 1: htb default 1\n"
    # replace changes the class in place: the queue and its packets stay
    return f"shaper {name} {mbps}M", root + (
        f"class replace dev {name} parent 1: classid {SHAPER} htb rate {mbps}mbit "
        f"ceil {mbps}mbit burst {burst} cburst {burst}\n"
    )


def shape_inbound(name: str, netns: str | None, mbps: int | None) -> str | None:
    """What comes in on device `name` (from the cloud or site) shaped to `mbps` too (None:
    not); what changed, or None. The kernel here has no police action: the ingress is
    redirected (u32 + mirred) to an ifb device, shaped on its egress like `shape`."""
    devices = _devices(netns)
    ifb = _ifb(name, devices)
    return _shape_inbound(
        name, netns, mbps, devices, shaped_mbps(ifb, netns) if ifb in devices else None
    )


def _ifb(name: str, devices: dict[str, tuple[str, int]]) -> str:
    """The ifb device that carries what comes in on `name`: named by its ifindex, so a
    15-character subinterface name still fits and a stale one can be told apart."""
    return f"ifb{devices[name][1]}"


def _shape_inbound(
    name: str,
    netns: str | None,
    mbps: int | None,
    devices: dict[str, tuple[str, int]],
    now: int | None,
) -> str | None:
    """`shape_inbound`, with the namespace's `devices` and its ifb's rate `now` read already."""
    ifb = _ifb(name, devices)
    exists = ifb in devices
    if mbps is None:
        if not exists:
            return None
        tc("qdisc", "del", "dev", name, "ingress", netns=netns)
        ip("link", "del", ifb, netns=netns)
        return f"-inbound shaper {name}"
    if not exists:
        # ifb's default queue is 32 packets, htb's leaf takes it: too short to ride out a
        # burst at the rate (measured 93 of 100 delivered); 1000 as a veth's
        ip("-batch", "-", netns=netns,
           stdin=f"link add {ifb} type ifb\nlink set {ifb} txqueuelen {IFB_QUEUE} up\n")  # fmt: skip
    changed, script = _shaper(ifb, mbps, now)
    if not exists:  # the redirect after the ifb's shaper, as one tc process
        script += (f"qdisc add dev {name} handle ffff: ingress\n"
                   f"filter add dev {name} parent ffff: protocol all u32 match u32 0 0 "
                   f"action mirred egress redirect dev {ifb}\n")  # fmt: skip
    if script:
        tc("-batch", "-", netns=netns, stdin=script)
    return f"inbound shaper {name} {mbps}M" if changed else None


def _root_end(name: str, vrf: str) -> str:
    """The router-side end of VRF `vrf`'s veth on segment `name`: c12-s7 for vpn7 in c12."""
    return f"{vrf}-s{name[3:]}"


def ensure_segment(name: str, vrf: str, vteps: list[str]) -> list[str]:
    """Segment `name` (vpn<N>) reaches into VRF `vrf` and floods to `vteps`."""
    n = name[3:]
    bridge, vxlan, end = f"seg{n}", f"vxs{n}", _root_end(name, vrf)
    done = []
    if not ip("link", "show", bridge, check=False):
        ip("link", "add", bridge, "mtu", str(SEGMENT_MTU), "type", "bridge")
        ip("link", "set", bridge, "up")
        done.append(f"+{bridge}")
    if not ip("link", "show", vxlan, check=False):
        ip("link", "add", vxlan, "mtu", str(SEGMENT_MTU), "type", "vxlan", "id", n,
           "dstport", SEGMENT_PORT)  # fmt: skip
        ip("link", "set", vxlan, "master", bridge, "up")
    fdb = json.loads(_bridge("-j", "fdb", "show", "dev", vxlan) or "[]")
    have = {e["dst"] for e in fdb if e.get("mac") == ANY_MAC and "dst" in e}
    for dst in sorted(set(vteps) - have):
        _bridge("fdb", "append", ANY_MAC, "dev", vxlan, "dst", dst)
    for dst in sorted(have - set(vteps)):
        _bridge("fdb", "del", ANY_MAC, "dev", vxlan, "dst", dst)
    if not ip("link", "show", name, netns=vrf, check=False):
        ip("link", "add", end, "mtu", str(SEGMENT_MTU), "type", "veth", "peer", "name", name,
           "netns", vrf, "mtu", str(SEGMENT_MTU))  # fmt: skip
        ip("link", "set", end, "master", bridge, "up")
        ip("link", "set", name, "up", netns=vrf)
        done.append(f"+{name} vrf {vrf}")
    return done


def _bridge(*args: str) -> str:
    return subprocess.run(["bridge", *args], capture_output=True, text=True, check=True).stdout


def _vrfs() -> set[str]:
    return {p.name for p in NETNS_DIR.iterdir()} if NETNS_DIR.is_dir() else set()


def _wanted(config: str) -> tuple[set[str], dict[str, str | None]]:
    """The VRFs and subinterfaces an FRR config uses."""
    subifs = {n: v or None for n, v in _IFACE.findall(config) if SUBIF.match(n)}
    vrfs = set(_VRF.findall(config)) | set(_BGP_VRF.findall(config))
    return vrfs | {v for v in subifs.values() if v}, subifs


def prepare(config: str) -> list[str]:
    """Before FRR loads `config`: its VRFs and subinterfaces exist, others' are gone.
    Their shapers are `finish`'s: nothing FRR loads waits for them, and done here they
    were on the way to every new session (BGP needs a second more before traffic flows).

    VRFs first: bgpd sets a neighbor's MD5 key on the VRF's listening socket only if the
    VRF is up when the neighbor is configured. Unused subinterfaces go before FRR drops
    their stanzas: FRR deletes only interfaces the kernel no longer has.
    """
    vrfs, wanted = _wanted(config)
    segments = _segments(config)
    have = _vrfs()
    done: list[str] = []
    gone: list[tuple[str, str | None]] = []
    for vrf in sorted(vrfs - have):
        add_vrf(vrf)
        done.append(f"+vrf {vrf}")
    # each namespace's devices read once (a process per device and per kind, for every
    # VRF of the router, was most of what a commit of one new Connector spent here)
    listed = {ns: _devices(ns) for ns in [None, *sorted(have)]}
    for ns, devices in listed.items():
        for name, (kind, _) in devices.items():
            if kind == "vxlan" and SUBIF.match(name) and wanted.get(name, "-") != ns:
                ip("link", "del", name, netns=ns)
                gone.append((name, ns))
                done.append(f"-{name}")
    for ns in sorted(have):
        for name, (kind, _) in listed[ns].items():
            if kind == "veth" and SEGMENT.match(name) and (name, ns) not in segments:
                ip("link", "del", name, netns=ns)  # takes its router-side end with it
                gone.append((name, ns))
                done.append(f"-{name} vrf {ns}")
    used = {name[3:] for name, _ in segments}
    for bridge, (kind, _) in listed[None].items():
        if kind == "bridge" and bridge.startswith("seg") and bridge[3:] not in used:
            ip("link", "del", f"vxs{bridge[3:]}", check=False)
            ip("link", "del", bridge)
            done.append(f"-{bridge}")
    there = {(name, ns) for ns, devices in listed.items() for name in devices} - set(gone)
    for name, in_vrf in sorted(wanted.items()):
        if (name, in_vrf) not in there and ensure(name, in_vrf):
            done.append(f"+{name}" + (f" vrf {in_vrf}" if in_vrf else ""))
    for (name, vrf), vteps in sorted(segments.items()):
        done += ensure_segment(name, vrf, vteps)
    # a VRF made before was waited for then (or zebra read it at its start)
    wait_zebra(vrfs - have, gone)
    # FRR can neither drop the address of a device that is gone nor delete a device that
    # is there: the stanza of a gone one goes whole, before frr-reload walks it line by line
    for name, ns in gone:
        vtysh("configure terminal", f"no interface {name}" + (f" vrf {ns}" if ns else ""))
    return done


def _shape_all(config: str) -> list[str]:
    """Every subinterface and segment of `config`'s VRFs shaped to its `bandwidth` (both
    ways), unshaped without one; ifb devices whose subinterface is gone removed."""
    vrfs, wanted = _wanted(config)
    segments = _segments(config)
    done: list[str] = []
    wanted_rates = rates(config)
    frozen = FREEZE.exists()  # the lab's fault: the device ignores its rates
    for ns in sorted(vrfs | {vrf for _, vrf in segments}):
        devices = _devices(ns)  # as they are now: made, deleted
        indexes = {str(index) for _, index in devices.values()}
        # an ifb whose subinterface is gone (deleted with its stanza)
        for ifb, (kind, _) in devices.items():
            if kind == "ifb" and ifb[3:] not in indexes:
                ip("link", "del", ifb, netns=ns)
                done.append(f"-{ifb} vrf {ns}")
        if frozen:
            continue
        subifs = sorted(name for name, in_vrf in wanted.items() if in_vrf == ns)
        segs = sorted(name for name, vrf in segments if vrf == ns)
        ifbs = [i for i in (_ifb(name, devices) for name in subifs) if i in devices]
        now = shaped_now([*subifs, *segs, *ifbs], ns)
        for name in subifs:
            # both ways: toward the cloud (egress) and from it (a Connector with several
            # Links would otherwise send each Link's rate out of its cloud, not its own)
            mbps, ifb = wanted_rates.get((name, ns)), _ifb(name, devices)
            for change in (
                _shape(name, ns, mbps, now[name]),
                _shape_inbound(name, ns, mbps, devices, now.get(ifb)),
            ):
                if change:
                    done.append(change)
        for name in segs:
            if change := _shape(name, ns, wanted_rates.get((name, ns)), now[name]):
                done.append(change)
    return done


def shaped() -> dict[str, int]:
    """ "<vrf> <device>" -> the rate it is shaped to now, for every shaped device in a VRF."""
    out = {}
    for vrf in sorted(_vrfs()):
        for link in json.loads(ip("-j", "link", "show", netns=vrf) or "[]"):
            if (mbps := shaped_mbps(link["ifname"], vrf)) is not None:
                out[f"{vrf} {link['ifname']}"] = mbps
    return out


def finish(config: str) -> list[str]:
    """After FRR loaded `config`: VRF namespaces it no longer uses are removed (zebra then
    forgets the VRF; removing a VRF FRR still has config for can crash zebra 8.4), and
    every device shaped to its rate (`_shape_all`)."""
    vrfs, _ = _wanted(config)
    done = []
    for vrf in sorted(_vrfs() - vrfs):
        if not _subifs(vrf):
            ip("netns", "del", vrf)  # unmounts what the link points to, removes the link
            (STAGE / vrf).unlink(missing_ok=True)
            done.append(f"-vrf {vrf}")
    return done + _shape_all(config)


def add_vrf(vrf: str) -> None:
    """VRF namespace `vrf`, up and forwarding, there for zebra at its first look.

    zebra (FRR 8.4 zebra_netns_notify.c) looks at a new file of /run/netns at once, and
    if it is not a namespace yet, again only 1000 ms later. `ip netns add` creates the
    file before it mounts the namespace on it, so zebra's first look failed and every
    commit that adds a VRF waited a second. The namespace is made on a file of its own
    (STAGE), then linked into /run/netns: what appears there is a namespace already.
    zebra shows the VRF with the staged path (`netns /var/tmp/...`); `ip -n`, `ip netns
    exec|del` follow the link.

    zebra and bgpd run as user frr and resolve the link themselves: if they cannot search
    every directory on its way, zebra logs `Invalid pathname` and never looks again. So
    the staging directories are 0755 whatever the caller's umask (the driver's commit
    runs this under umask 077: the VRF never came up, its BGP session stayed Idle)."""
    for d in (STAGE.parent, STAGE):
        d.mkdir(exist_ok=True)
        d.chmod(0o755)  # mkdir's mode is masked by the umask; chmod's is not
    staged = STAGE / vrf
    if os.path.ismount(staged):  # left by a prepare that died before linking it
        subprocess.run(["umount", str(staged)], check=True)
    staged.touch()
    for cmd in (
        ["unshare", f"--net={staged}", "true"],
        ["nsenter", f"--net={staged}", "ip", "link", "set", "lo", "up"],
        # a new namespace does not forward: a VRF must, between its cloud and its segments
        ["nsenter", f"--net={staged}", "sysctl", "-qw", "net.ipv4.ip_forward=1"],
    ):
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {proc.stderr.strip()}")
    (NETNS_DIR / vrf).symlink_to(staged)


def wait_zebra(vrfs: set[str], gone: list[tuple[str, str | None]], timeout: float = 10.0) -> None:
    """Until zebra has seen the change: every VRF namespace picked up (it watches
    /run/netns), every deleted subinterface down (FRR refuses to drop an up one). Nothing
    to wait for: no vtysh (~30 ms of a commit's path)."""
    if not vrfs and not gone:
        return
    deadline = time.monotonic() + timeout
    while True:
        active = set(re.findall(r"^vrf (\S+) id \d+", vtysh("show vrf"), re.M))
        up = [
            n + (f" vrf {v}" if v else "")
            for n, v in gone
            if not re.search(
                r"is down|Can't find", vtysh(f"show interface {n}" + (f" vrf {v}" if v else ""))
            )
        ]
        if vrfs <= active and not up:
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    # loading on would leave the VRF inactive in FRR, and the Connector would fail at its
    # gate with an Idle session 20 s later, far from the cause
    raise RuntimeError(
        f"zebra has not taken VRF {sorted(vrfs - active)} nor seen {up} go down in"
        f" {timeout:.0f} s -> read zebra's log (`log file`): it says why"
    )


def vtysh(*commands: str) -> str:
    args = [x for c in commands for x in ("-c", c)]
    return subprocess.run(["vtysh", *args], capture_output=True, text=True, check=False).stdout


def main(argv: list[str]) -> int:
    """`prepare FILE` before FRR loads FILE, `finish FILE` after (FILE: the whole config);
    `rates`: what each device is shaped to now, as JSON."""
    if argv == ["rates"]:
        print(json.dumps(shaped(), sort_keys=True))
        return 0
    if len(argv) != 2 or argv[0] not in ("prepare", "finish"):
        print("usage: frr-netdev prepare|finish CONFIG-FILE | rates", file=sys.stderr)
        return 2
    config = Path(argv[1]).read_text()
    changes = prepare(config) if argv[0] == "prepare" else finish(config)
    for line in changes:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
