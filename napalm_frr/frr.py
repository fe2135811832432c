"""NAPALM driver for FRR: SSH to the router, `vtysh` for FRR, `ip -j` for the kernel.

Configuration goes through FRR's own `frr-reload.py`: `--test` is the diff; a commit
whose diff only adds lines applies those lines (`vtysh -f`), any other goes through
`--reload`, as does every revert. A commit refuses (ConfigChanged) when the running config
is no longer the one last read. commit_config(revert_in=N) leaves a timer process on the
router itself (setsid, detached from the SSH session): unless confirm_commit removes the
pending mark within N seconds, the router restores its previous running config on its
own, even if the caller died.
"""

from __future__ import annotations

import fcntl
import json
import logging
import re
import secrets
import shlex
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, NoReturn

import paramiko
from napalm.base import NetworkDriver, models
from napalm.base.exceptions import (
    CommandErrorException,
    CommandTimeoutException,
    CommitError,
    ConnectionException,
    MergeConfigException,
    ReplaceConfigException,
)
from paramiko.hostkeys import HostKeyEntry, HostKeys

from onramp.core.secrets import mask

# Lines of `show running-config` that are not configuration.
_HEADER = re.compile(r"^(Building configuration\.\.\.|Current configuration:|!\s*$|end\s*$)")
_OS_VRF = re.compile(r"^vrf \S+\n netns \S+\nexit-vrf\n?", re.M)
# `rd vpn export` inside `router bgp N vrf V`: the VRF's route distinguisher
_VRF_RD = re.compile(r"^router bgp \d+ vrf (\S+)\n(?:[ !].*\n)*?\s+rd vpn export (\S+)", re.M)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # frr-reload colours its log's level names
_PING = re.compile(r"(\d+) packets transmitted, (\d+) received")
_RTT = re.compile(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms")
# strict: only keys already in known_hosts; accept-new: also record unknown hosts' keys on
# first contact (OpenSSH's StrictHostKeyChecking=accept-new). Neither takes a changed key
HOST_KEY_POLICIES = ("strict", "accept-new")
REMOVED = "<removed>"  # what napalm's drivers put for a secret in a sanitized config

log = logging.getLogger(__name__)


class ConfigChanged(CommitError):  # type: ignore[misc]
    """The running config changed between its last read and the commit: nothing was
    applied, and nothing must be rolled back either (that would undo the other change)."""


class CommitPending(CommitError):  # type: ignore[misc]
    """Another commit waits for confirmation: nothing was applied, and nothing must be
    rolled back either (that would end the other commit)."""


class HostKeyError(ConnectionException):  # type: ignore[misc]
    """The router's SSH host key is not in known_hosts (`changed` False) or differs from the
    one there (`changed` True). Raised before any credential or command is sent."""

    def __init__(self, name: str, fingerprint: str, known_hosts: Path, changed: bool) -> None:
        self.name, self.fingerprint, self.changed = name, fingerprint, changed
        self.known_hosts = known_hosts
        if changed:
            reason = (
                f"{name}: SSH host key CHANGED: the router offers {fingerprint}, "
                f"{known_hosts} holds another"
            )
            self.hint = (
                "a reinstalled router or a man in the middle: compare the key out of band "
                "(on the router: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub); only if "
                f"it is the router's, replace it: ssh-keygen -R '{name}' -f {known_hosts}, "
                "then add the new one"
            )
        else:
            missing = "" if known_hosts.exists() else " (the file does not exist)"
            reason = f"{name}: SSH host key {fingerprint} unknown: not in {known_hosts}{missing}"
            port = re.fullmatch(r"\[(.*)\]:(\d+)", name)
            scan = f"-p {port[2]} {port[1]}" if port else name
            self.hint = (
                "compare the fingerprint with the router's own (out of band), then add it: "
                f"ssh-keyscan {scan} >> {known_hosts}; or set host_key_policy: accept-new "
                "in the inventory's napalm optional_args for first contact"
            )
        super().__init__(f"{reason} -> {self.hint}")
        self.reason = reason


def is_for(line: str, names: Iterable[str]) -> bool:
    """Whether a known_hosts line is for one of `names`, its names plain or hashed
    (`|1|salt|hash`, OpenSSH's HashKnownHosts). Comments and @-marker lines are for none."""
    fields = line.split()
    if not fields or fields[0].startswith(("#", "@")):
        return False
    return any(
        HostKeys.hash_host(n, h) == h if h.startswith("|1|") else h == n
        for h in fields[0].split(",")
        for n in names
    )


def known_keys(known_hosts: Path, name: str) -> list[paramiko.PKey]:
    """The keys known_hosts holds for one host. Only its lines are parsed: paramiko takes
    ~0.14 ms a line, 0.3 s a connection for a file of 2000 routers."""
    if not known_hosts.exists():
        return []
    entries = (
        HostKeyEntry.from_line(line) for line in known_hosts.read_text().splitlines()
        if is_for(line, [name])
    )  # fmt: skip
    return [e.key for e in entries if e is not None]


def _socket(hostname: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection for SSH that sends every write at once (TCP_NODELAY), as OpenSSH's
    client does. paramiko leaves Nagle on: a command with stdin (the dry run's candidate)
    or SSH's own handshake writes a few small packets in a row, and each one after the
    first waited for the router's delayed ACK, ~40 ms (on the lab: an exec with stdin 53 ms
    wall -> 6 ms, a connection 78 -> 28 ms)."""
    try:
        sock = socket.create_connection((hostname, port), timeout=timeout)
    except OSError as exc:
        failed = exc
    else:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    # which address and port did not answer, as paramiko's own connect said it; raised
    # outside the handler, so the one-line reason (tasks/failure.py) is this one's
    where = f"{failed.strerror or failed}: {hostname} port {port}"
    raise type(failed)(failed.errno, where) if failed.errno else type(failed)(where)


def known_hosts_name(hostname: str, port: int) -> str:
    """How known_hosts names a host: `host`, or `[host]:port` off port 22 (as OpenSSH)."""
    return hostname if port == 22 else f"[{hostname}]:{port}"


class _Refuse(paramiko.RejectPolicy):
    def __init__(self, known_hosts: Path) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> NoReturn:
        raise HostKeyError(hostname, key.fingerprint, self.known_hosts, changed=False)


class _AcceptNew(paramiko.MissingHostKeyPolicy):
    """Records an unknown host's key and goes on, loudly; paramiko itself refuses a key
    that differs from a recorded one before asking a policy."""

    def __init__(self, known_hosts: Path) -> None:
        self.known_hosts = known_hosts

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        append_host_key(self.known_hosts, hostname, key)
        log.warning(
            "%s: SSH host key %s accepted on first contact (host_key_policy: accept-new) "
            "and added to %s",
            hostname,
            key.fingerprint,
            self.known_hosts,
        )


def append_host_key(known_hosts: Path, name: str, key: paramiko.PKey) -> None:
    """One line appended under a lock: many connections (Nornir's threads, workers) may
    meet new hosts at once, and rewriting the whole file would lose their lines."""
    known_hosts.parent.mkdir(parents=True, exist_ok=True)
    with known_hosts.open("a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        text = f.read()
        lead = "\n" if text and not text.endswith("\n") else ""
        f.write(f"{lead}{name} {key.get_name()} {key.get_base64()}\n")


class FRRDriver(NetworkDriver):  # type: ignore[misc]
    """optional_args: port, key_file, known_hosts (default ~/.ssh/known_hosts),
    host_key_policy (strict | accept-new; default strict), state_dir (on the router),
    frr_reload, vrf_exec, netdev, ping_interval (seconds between a ping's probes; below 0.2
    needs root)."""

    platform = "frr"

    def __init__(
        self,
        hostname: str,
        username: str,
        password: str,
        timeout: int = 60,
        optional_args: dict[str, Any] | None = None,
    ) -> None:
        args = optional_args or {}
        self.hostname, self.username, self.password, self.timeout = (
            hostname,
            username,
            password,
            timeout,
        )
        self.port = int(args.get("port", 22))
        self.key_file = args.get("key_file")
        self.known_hosts = Path(args.get("known_hosts") or "~/.ssh/known_hosts").expanduser()
        self.host_key_policy = args.get("host_key_policy") or "strict"
        if self.host_key_policy not in HOST_KEY_POLICIES:
            raise ValueError(
                f"host_key_policy {self.host_key_policy!r}: use one of {HOST_KEY_POLICIES}"
            )
        self.state_dir = args.get("state_dir", "/var/tmp/napalm-frr")
        # FRR installs it outside PATH; a router (or the lab) may put a wrapper on PATH
        self.frr_reload = args.get(
            "frr_reload", "$(command -v frr-reload.py || echo /usr/lib/frr/frr-reload.py)"
        )
        self.vrf_exec = args.get("vrf_exec", "ip vrf exec {vrf}")
        self.ping_interval = float(args.get("ping_interval", 0.2))
        # the router's tool that makes the OS follow FRR's config (subinterfaces, VRFs):
        # `<netdev> prepare FILE` before a config is loaded, `<netdev> finish FILE` after. The lab's
        # routers have `frr-netdev` (lab/netdev.py); a real box its own, or none
        self.netdev: str | None = args.get("netdev")
        self._last_status = 0
        self.client: paramiko.SSHClient | None = None
        self.candidate: str | None = None
        self.merge = False
        # the running config (as get_config gives it) that the last compare_config diffed
        self.compared_running: str | None = None
        # the running config as last read (get_config): a commit applies against it, and
        # refuses if the router's is no longer that text
        self._seen: str | None = None
        self._counters_at: dict[str, float] = {}

    # ------------------------------------------------------------ session
    def open(self) -> None:
        client = paramiko.SSHClient()
        # only the named file: a key found elsewhere (~/.ssh) would not be the inventory's word
        name = known_hosts_name(self.hostname, self.port)
        for key in known_keys(self.known_hosts, name):
            client.get_host_keys().add(name, key.get_name(), key)
        policy = _AcceptNew if self.host_key_policy == "accept-new" else _Refuse
        client.set_missing_host_key_policy(policy(self.known_hosts))
        try:
            client.connect(
                self.hostname,
                port=self.port,
                sock=_socket(self.hostname, self.port, self.timeout),
                username=self.username,
                password=self.password or None,
                key_filename=self.key_file,
                look_for_keys=False,
                allow_agent=False,
                timeout=self.timeout,
            )
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyError(name, exc.key.fingerprint, self.known_hosts, changed=True) from exc
        except (paramiko.SSHException, OSError) as exc:
            client.close()
            raise ConnectionException(f"{self.hostname}: {exc}") from exc
        except HostKeyError:
            client.close()
            raise
        self.client = client

    def close(self) -> None:
        if self.client:
            self.client.close()
            self.client = None

    def is_alive(self) -> dict[str, bool]:
        transport = self.client.get_transport() if self.client else None
        return {"is_alive": bool(transport and transport.is_active())}

    def _run(
        self, command: str, stdin: str | None = None, check: bool = True, what: str = ""
    ) -> str:
        """One shell command on the router, over the open SSH connection (`what`: how a
        timeout names it, the command's start if not given)."""
        if self.client is None:
            raise ConnectionException("not connected: call open() first")
        chan_in, chan_out, chan_err = self.client.exec_command(command, timeout=self.timeout)
        try:
            if stdin is not None:
                chan_in.write(stdin)
                chan_in.channel.shutdown_write()
            out = chan_out.read().decode()
            err = chan_err.read().decode()
            self._last_status = chan_out.channel.recv_exit_status()
        except TimeoutError as exc:  # paramiko's socket.timeout() says nothing: say what waited
            raise CommandTimeoutException(
                f"{self.hostname}: {what or repr(command[:80])} gave no answer in "
                f"{self.timeout} s (the router may still be running it): give the driver a "
                "longer timeout (connection_options: napalm: extras: timeout) for work this large"
            ) from exc
        finally:
            # at once, not when collected: sshd allows 10 open sessions per connection
            # and the monitor runs several commands at a time on one
            chan_out.channel.close()
        if check and self._last_status != 0:
            raise CommandErrorException(f"{command!r} on {self.hostname}: {(err or out).strip()}")
        return out

    def _vtysh(self, *commands: str) -> str:
        return self._run("vtysh " + " ".join(f"-c {shlex.quote(c)}" for c in commands))

    def _json(self, command: str) -> Any:
        out = self._run(command).strip()
        return json.loads(out) if out else {}

    def cli(self, commands: list[str], encoding: str = "text") -> dict[str, str]:
        """Each command's output. Several go to one vtysh in one SSH exec (one session and
        one process on the router, not one of each per command: the topology read sends
        four to every router); `vtysh -E` echoes "<prompt><command>" before each output,
        which is where they are split. vtysh stops at a failing command: it raises naming
        that command, with vtysh's word, as it would alone."""
        if len(commands) < 2:
            return {c: self._vtysh(c) for c in commands}
        out = self._run(
            "vtysh -E " + " ".join(f"-c {shlex.quote(c)}" for c in commands) + " 2>&1",
            check=False,
        )
        first = out.find(f"# {commands[0]}\n")  # its prompt: the router's hostname and "# "
        prompt = out[out.rfind("\n", 0, first) + 1 : first + 2] if first >= 0 else None
        echoed: list[tuple[int, int]] = []  # per command run: its echo line's start and end
        for command in commands if prompt is not None else []:
            at = out.find(f"{prompt}{command}\n", echoed[-1][1] if echoed else 0)
            if at < 0:
                break  # vtysh stopped at the command before
            echoed.append((at, at + len(f"{prompt}{command}\n")))
        bounds = [*(at for at, _ in echoed[1:]), len(out)]
        # the commands vtysh ran are a prefix of `commands`: zip stops with them
        ran = zip(commands, echoed, bounds, strict=False)
        answers = {c: out[end:nxt] for c, (_, end), nxt in ran}
        if self._last_status != 0 or len(answers) != len(commands):
            failed = commands[max(0, len(answers) - 1)]
            said = answers.get(failed, out).strip()
            raise CommandErrorException(f"{failed!r} on {self.hostname}: {said}")
        return answers

    # ------------------------------------------------------------ getters
    def get_facts(self) -> models.FactsDict:
        version = self._vtysh("show version")
        uptime = float(self._run("cat /proc/uptime").split()[0])
        hostname = self._run("hostname").strip()
        links = self._json("ip -j link show")
        os_version = re.search(r"FRRouting (\S+)", version)
        return {
            "uptime": uptime,
            "vendor": "FRRouting",
            "os_version": os_version.group(1) if os_version else "",
            "serial_number": "",
            "model": "FRR",
            "hostname": hostname,
            "fqdn": hostname,
            "interface_list": sorted(link["ifname"] for link in links),
        }

    def get_interfaces(self) -> dict[str, models.InterfaceDict]:
        links = self._json("ip -j link show")
        frr = self._json("vtysh -c 'show interface json'")
        out: dict[str, models.InterfaceDict] = {}
        for link in links:
            name = link["ifname"]
            speed = self._run(
                f"cat /sys/class/net/{shlex.quote(name)}/speed 2>/dev/null || echo -1", check=False
            ).strip()
            out[name] = {
                "is_up": link.get("operstate") in ("UP", "UNKNOWN")
                and "LOWER_UP" in link.get("flags", []),
                "is_enabled": "UP" in link.get("flags", []),
                "description": frr.get(name, {}).get("description", ""),
                "last_flapped": -1.0,
                "speed": float(speed) if speed.lstrip("-").isdigit() and int(speed) > 0 else 0.0,
                "mtu": int(link.get("mtu", 0)),
                "mac_address": link.get("address", ""),
            }
        return out

    def get_interfaces_counters(self) -> dict[str, models.InterfaceCounterDict]:
        """The kernel's counters of every interface, those in VRFs too (with netns-based
        VRFs each VRF's interfaces live in its own namespace: one `ip -s -j link` each,
        in one SSH command)."""
        vrfs = re.findall(r"^vrf (\S+)", self._vtysh("show vrf"), re.M)
        # the router's clock around each namespace's read, inside it: an `ip netns exec`
        # under load starts a tenth of a second after the first read (counters_read_at)
        read = "date +%s.%N ; echo , ; ip -s -j link show ; echo , ; date +%s.%N"
        parts = [read] + [
            f"{self.vrf_exec.format(vrf=shlex.quote(v))} sh -c {shlex.quote(read)}" for v in vrfs
        ]
        got = json.loads("[" + self._run(" ; echo , ; ".join(parts)) + "]")
        self._counters_at = {}
        out: dict[str, models.InterfaceCounterDict] = {}
        for before, link, after in zip(got[::3], got[1::3], got[2::3], strict=True):
            for one in link:
                if one["ifname"] in out:
                    continue  # each VRF namespace has its own `lo`: the router's is the one
                self._counters_at[one["ifname"]] = (float(before) + float(after)) / 2
                stats = one.get("stats64") or one.get("stats") or {}
                rx, tx = stats.get("rx", {}), stats.get("tx", {})
                out[one["ifname"]] = {
                    "tx_errors": int(tx.get("errors", 0)),
                    "rx_errors": int(rx.get("errors", 0)),
                    "tx_discards": int(tx.get("dropped", 0)),
                    "rx_discards": int(rx.get("dropped", 0)),
                    "tx_octets": int(tx.get("bytes", 0)),
                    "rx_octets": int(rx.get("bytes", 0)),
                    # the kernel counts multicast received only; unicast is the rest
                    "tx_unicast_packets": int(tx.get("packets", 0)),
                    "rx_unicast_packets": int(rx.get("packets", 0)) - int(rx.get("multicast", 0)),
                    "tx_multicast_packets": 0,
                    "rx_multicast_packets": int(rx.get("multicast", 0)),
                    "tx_broadcast_packets": 0,
                    "rx_broadcast_packets": 0,
                }
        return out

    def get_interfaces_ip(self) -> dict[str, models.InterfacesIPDict]:
        out: dict[str, models.InterfacesIPDict] = {}
        for link in self._json("ip -j addr show"):
            for a in link.get("addr_info", []):
                family = {"inet": "ipv4", "inet6": "ipv6"}.get(a.get("family"))
                if family:
                    fam = out.setdefault(link["ifname"], {}).setdefault(family, {})
                    fam[a["local"]] = {"prefix_length": int(a["prefixlen"])}
        return out

    def _neighbors(self) -> dict[str, Any]:
        return self._json("vtysh -c 'show bgp vrf all neighbors json'")  # type: ignore[no-any-return]

    def _summary(self) -> dict[str, Any]:
        return self._json("vtysh -c 'show bgp vrf all summary json'")  # type: ignore[no-any-return]

    def get_bgp_neighbors(self) -> dict[str, models.BGPStateNeighborsPerVRFDict]:
        summary = self._summary()
        out: dict[str, models.BGPStateNeighborsPerVRFDict] = {}
        for vrf, data in self._neighbors().items():
            afis = summary.get(vrf, {})
            router_id = next(
                (
                    v.get("routerId")
                    for v in afis.values()
                    if isinstance(v, dict) and "routerId" in v
                ),
                "",
            )
            peers: dict[str, models.BGPStateNeighborDict] = {}
            for addr, n in data.items():
                if not isinstance(n, dict) or "remoteAs" not in n:
                    continue  # "vrfId"/"vrfName" keys beside the peers
                families = {}
                for afi_key, afi in (("ipv4Unicast", "ipv4"), ("ipv6Unicast", "ipv6")):
                    stats = n.get("addressFamilyInfo", {}).get(afi_key)
                    if stats is not None:
                        families[afi] = {
                            "received_prefixes": int(stats.get("acceptedPrefixCounter", 0)),
                            "accepted_prefixes": int(stats.get("acceptedPrefixCounter", 0)),
                            "sent_prefixes": int(stats.get("sentPrefixCounter", 0)),
                        }
                peers[addr] = {
                    "local_as": int(n.get("localAs", 0)),
                    "remote_as": int(n.get("remoteAs", 0)),
                    "remote_id": n.get("remoteRouterId", "0.0.0.0"),
                    "is_up": n.get("bgpState") == "Established",
                    "is_enabled": "Admin" not in n.get("bgpState", "")
                    and not n.get("adminShutDown", False),
                    "description": n.get("nbrDesc", ""),
                    "uptime": int(n.get("bgpTimerUpMsec", 0) // 1000),
                    "address_family": families,
                }
            out["global" if vrf == "default" else vrf] = {"router_id": router_id, "peers": peers}
        return out

    def get_bgp_neighbors_detail(
        self, neighbor_address: str = ""
    ) -> dict[str, dict[int, list[models.PeerDetailsDict]]]:
        out: dict[str, dict[int, list[models.PeerDetailsDict]]] = {}
        for vrf, data in self._neighbors().items():
            for addr, n in data.items():
                if (
                    not isinstance(n, dict)
                    or "remoteAs" not in n
                    or (neighbor_address and addr != neighbor_address)
                ):
                    continue
                msgs = n.get("messageStats", {})
                af = n.get("addressFamilyInfo", {}).get("ipv4Unicast", {})
                detail: models.PeerDetailsDict = {
                    "up": n.get("bgpState") == "Established",
                    "local_as": int(n.get("localAs", 0)),
                    "remote_as": int(n.get("remoteAs", 0)),
                    "router_id": n.get("localRouterId", ""),
                    "local_address": n.get("hostLocal", ""),
                    "routing_table": "global" if vrf == "default" else vrf,
                    "local_address_configured": bool(n.get("updateSource")),
                    "local_port": int(n.get("portLocal", 0)),
                    "remote_address": addr,
                    "remote_port": int(n.get("portForeign", 0)),
                    "multihop": n.get("externalBgpNbrMaxHopsAway", 1) > 1
                    if "externalBgpNbrMaxHopsAway" in n
                    else False,
                    "multipath": False,
                    "remove_private_as": bool(af.get("privateAsNumsRemovedInUpdatesToNbr")),
                    "import_policy": af.get("routeMapForIncomingAdvertisements", ""),
                    "export_policy": af.get("routeMapForOutgoingAdvertisements", ""),
                    "input_messages": int(msgs.get("totalRecv", 0)),
                    "output_messages": int(msgs.get("totalSent", 0)),
                    "input_updates": int(msgs.get("updatesRecv", 0)),
                    "output_updates": int(msgs.get("updatesSent", 0)),
                    "messages_queued_out": int(n.get("messageStats", {}).get("depthOutq", 0)),
                    "connection_state": n.get("bgpState", ""),
                    "previous_connection_state": n.get("lastResetDueTo", ""),
                    "last_event": n.get("lastResetDueTo", ""),
                    "suppress_4byte_as": False,
                    "local_as_prepend": False,
                    "holdtime": int(n.get("bgpTimerHoldTimeMsecs", 0) // 1000),
                    "configured_holdtime": int(n.get("bgpTimerConfiguredHoldTimeMsecs", 0) // 1000),
                    "keepalive": int(n.get("bgpTimerKeepAliveIntervalMsecs", 0) // 1000),
                    "configured_keepalive": int(
                        n.get("bgpTimerConfiguredKeepAliveIntervalMsecs", 0) // 1000
                    ),
                    "active_prefix_count": int(af.get("acceptedPrefixCounter", 0)),
                    "received_prefix_count": int(af.get("acceptedPrefixCounter", 0)),
                    "accepted_prefix_count": int(af.get("acceptedPrefixCounter", 0)),
                    "suppressed_prefix_count": 0,
                    "advertised_prefix_count": int(af.get("sentPrefixCounter", 0)),
                    "flap_count": int(n.get("connectionsDropped", 0)),
                }
                vrf_key = "global" if vrf == "default" else vrf
                out.setdefault(vrf_key, {}).setdefault(detail["remote_as"], []).append(detail)
        return out

    def get_network_instances(self, name: str = "") -> dict[str, models.NetworkInstanceDict]:
        """The default instance and every VRF zebra knows, with its interfaces (FRR's own
        view: either VRF backend) and its route distinguisher (`rd vpn export`)."""
        interfaces = self._json("vtysh -c 'show interface vrf all json'")
        rds = dict(_VRF_RD.findall(self._vtysh("show running-config")))
        vrfs = ["default", *re.findall(r"^vrf (\S+)", self._vtysh("show vrf"), re.M)]
        out: dict[str, models.NetworkInstanceDict] = {}
        for vrf in vrfs:
            if name and vrf != name:
                continue
            members: dict[str, dict[str, Any]] = {
                ifname: {}
                for ifname, data in _per_interface(interfaces).items()
                if data.get("vrfName", "default") == vrf
            }
            out[vrf] = {
                "name": vrf,
                "type": "DEFAULT_INSTANCE" if vrf == "default" else "L3VRF",
                "state": {"route_distinguisher": rds.get(vrf, "")},
                "interfaces": {"interface": members},
            }
        return out

    def get_route_to(
        self, destination: str = "", protocol: str = "", longer: bool = False
    ) -> dict[str, list[models.RouteDict]]:
        """zebra's routes to `destination` in every VRF (`show ip route vrf all`), one entry
        per next hop as NAPALM's drivers give them; BGP routes carry their path attributes."""
        if not destination:
            raise CommandErrorException("get_route_to: give a destination (a prefix or an address)")
        command = f"show ip route vrf all {destination}"
        if longer:
            command += " longer-prefixes"
        # `vrf all` prints one JSON object per VRF, one after the other (longer-prefixes)
        text = self._run(f"vtysh -c {shlex.quote(command + ' json')}")
        tables: list[dict[str, Any]] = []
        decoder, at = json.JSONDecoder(), 0
        while text[at:].strip():
            at = len(text) - len(text[at:].lstrip())
            table, at = decoder.raw_decode(text, at)
            tables.append(table)
        out: dict[str, list[models.RouteDict]] = {}
        for vrf, routes in ((v, r) for t in tables for v, r in _per_vrf(t).items()):
            for prefix, entries in routes.items():
                for entry in entries:
                    if protocol and entry.get("protocol") != protocol:
                        continue
                    attributes = (
                        self._bgp_attributes(vrf, prefix) if entry.get("protocol") == "bgp" else {}
                    )
                    for hop in entry.get("nexthops", []) or [{}]:
                        out.setdefault(prefix, []).append({
                            "protocol": entry.get("protocol", ""),
                            "current_active": bool(entry.get("selected")),
                            "last_active": bool(entry.get("selected")),
                            "age": _seconds(entry.get("uptime", "")),
                            "next_hop": hop.get("ip", ""),
                            "outgoing_interface": hop.get("interfaceName", ""),
                            "selected_next_hop": bool(hop.get("fib") or hop.get("active")),
                            "preference": int(entry.get("distance", 0)),
                            "inactive_reason": "" if entry.get("selected") else "not selected",
                            "routing_table": "global" if vrf == "default" else vrf,
                            "protocol_attributes": attributes,
                        })  # fmt: skip
        return out

    def _bgp_attributes(self, vrf: str, prefix: str) -> dict[str, Any]:
        """The best path's attributes, as NAPALM's drivers name them."""
        command = f"show bgp vrf {vrf} ipv4 unicast {prefix} json"
        paths = self._json(f"vtysh -c {shlex.quote(command)}").get("paths", [])
        best = next((p for p in paths if p.get("bestpath", {}).get("overall")), None)
        if best is None:
            return {}
        peer = best.get("peer", {})
        return {
            "as_path": best.get("aspath", {}).get("string", ""),
            "local_preference": int(best.get("locPrf", 100)),
            "metric": int(best.get("metric", 0)),
            "communities": best.get("community", {}).get("list", []),
            "peer_id": peer.get("routerId", ""),
            "remote_address": peer.get("peerId", ""),
        }

    def get_arp_table(self, vrf: str = "") -> list[models.ARPTableDict]:
        """The kernel's IPv4 neighbours (ARP), of one VRF or of all (`vrf` empty). `age`
        is the seconds since the entry was last confirmed reachable."""
        vrfs = (
            [vrf] if vrf else ["default", *re.findall(r"^vrf (\S+)", self._vtysh("show vrf"), re.M)]
        )
        parts = [
            "ip -4 -s -j neigh show" if v in ("default", "global")
            else f"{self.vrf_exec.format(vrf=shlex.quote(v))} ip -4 -s -j neigh show"
            for v in vrfs
        ]  # fmt: skip
        text = self._run(" ; echo ',' ; ".join(parts))
        out: list[models.ARPTableDict] = []
        for table in json.loads(f"[{text}]") if text.strip() else []:
            for n in table:
                if "lladdr" not in n or "FAILED" in n.get("state", []):
                    continue  # incomplete: no MAC learnt
                out.append({
                    "interface": n.get("dev", ""),
                    "mac": n["lladdr"].upper(),
                    "ip": n["dst"],
                    "age": float(n.get("confirmed", n.get("used", -1))),
                })  # fmt: skip
        return out

    def get_bgp_config(
        self, group: str = "", neighbor: str = ""
    ) -> dict[str, models.BGPConfigGroupDict]:
        """The default instance's BGP configuration from FRR's running config: a group per
        peer-group, "_" for the neighbours in none. Keys are never shown (masked).
        Sessions inside VRFs are the VRFs' (get_bgp_neighbors has them)."""
        config = _bgp_config(_strip(self._vtysh("show running-config")))
        if neighbor:
            config = {
                name: {**g, "neighbors": {a: n for a, n in g["neighbors"].items() if a == neighbor}}
                for name, g in config.items()
                if neighbor in g["neighbors"]
            }
        if group:
            config = {name: g for name, g in config.items() if name == group}
        return config

    def traceroute(
        self,
        destination: str,
        source: str = "",
        ttl: int = 255,
        timeout: int = 2,
        vrf: str = "",
    ) -> models.TracerouteResultDict:
        """Linux traceroute (UDP probes, 3 per hop, numeric); in a VRF through vrf_exec."""
        cmd = f"traceroute -n -q 3 -w {int(timeout)} -m {min(int(ttl), 255)}"
        if source:
            cmd += f" -s {shlex.quote(source)}"
        cmd += f" {shlex.quote(destination)}"
        if vrf:
            cmd = self.vrf_exec.format(vrf=shlex.quote(vrf)) + " " + cmd
        text = self._run(cmd + " 2>&1", check=False)
        hops = _traceroute(text)
        if self._last_status != 0 or not hops:
            return {"error": text.strip() or f"traceroute {destination} gave no answer"}
        return {"success": hops}

    def get_environment(self) -> models.EnvironmentDict:
        """What Linux tells: CPU use per core (two /proc/stat samples 0.5 s apart), memory
        (/proc/meminfo), temperatures (/sys/class/thermal). Fans and power supplies are not
        visible to Linux on a generic box: empty."""
        text = self._run(
            "grep '^cpu[0-9]' /proc/stat; sleep 0.5; echo --; grep '^cpu[0-9]' /proc/stat; "
            "echo --; grep -E '^(MemTotal|MemAvailable):' /proc/meminfo; echo --; "
            "for z in /sys/class/thermal/thermal_zone*; do [ -e $z/temp ] && "
            'echo "$(cat $z/type) $(cat $z/temp)"; done; true'
        )
        before, after, memory, thermal = [*text.split("--\n"), "", "", ""][:4]
        return {
            "fans": {},
            "power": {},
            "temperature": _temperatures(thermal),
            "cpu": _cpu_usage(before, after),
            "memory": _memory(memory),
        }

    def get_lldp_neighbors(self) -> dict[str, list[models.LLDPNeighborDict]]:
        # an empty answer would read as "no neighbours"; the truth is "not asked"
        raise NotImplementedError("FRR runs no LLDP daemon (lldpd would be a separate service)")

    def get_config(
        self,
        retrieve: str = "all",
        full: bool = False,
        sanitized: bool = False,
        format: str = "text",
    ) -> models.ConfigDict:
        running = ""
        if retrieve in ("all", "running"):
            self._seen = self._vtysh("show running-config")
            running = _strip(self._seen)
        candidate = (self.candidate or "") if retrieve in ("all", "candidate") else ""
        if sanitized:
            running, candidate = (mask(x, marker=REMOVED) for x in (running, candidate))
        return {"running": running, "startup": "", "candidate": candidate}

    def ping(
        self,
        destination: str,
        source: str = "",
        ttl: int = 255,
        timeout: int = 2,
        size: int = 100,
        count: int = 5,
        vrf: str = "",
        source_interface: str = "",
    ) -> models.PingResultDict:
        cmd = (f"ping -n -c {int(count)} -W {int(timeout)} -s {int(size)} -t {int(ttl)}"
               f" -i {self.ping_interval:g}")  # fmt: skip
        if source or source_interface:
            cmd += f" -I {shlex.quote(source or source_interface)}"
        cmd += f" {shlex.quote(destination)}"
        if vrf:
            cmd = self.vrf_exec.format(vrf=shlex.quote(vrf)) + " " + cmd
        text = self._run(cmd, check=False)
        sent_recv = _PING.search(text)
        if not sent_recv:
            return {"error": text.strip() or f"ping {destination} gave no answer"}
        sent, received = int(sent_recv.group(1)), int(sent_recv.group(2))
        rtt = _RTT.search(text)
        mn, avg, mx, mdev = (float(x) for x in rtt.groups()) if rtt else (0.0, 0.0, 0.0, 0.0)
        results = [
            {"ip_address": destination, "rtt": float(m)}
            for m in re.findall(r"time=([\d.]+) ms", text)
        ]
        return {
            "success": {
                "probes_sent": sent,
                "packet_loss": sent - received,
                "rtt_min": mn,
                "rtt_max": mx,
                "rtt_avg": avg,
                "rtt_stddev": mdev,
                "results": results,
            }
        }

    # ------------------------------------------------------------ configuration
    def load_replace_candidate(
        self, filename: str | None = None, config: str | None = None
    ) -> None:
        self.candidate, self.merge = _read(filename, config, ReplaceConfigException), False

    def load_merge_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        self.candidate, self.merge = _read(filename, config, MergeConfigException), True

    def discard_config(self) -> None:
        self.candidate, self.merge = None, False

    def _target(self, running: str | None = None) -> str:
        """The whole config the router should end with: the candidate, or running (as read
        now, or `running`) + candidate."""
        if self.candidate is None:
            raise CommitError("no candidate loaded")
        if not self.merge:
            return self.candidate
        if running is None:
            running = self._vtysh("show running-config")
        return _strip(running) + "\n" + self.candidate

    @property
    def _dir(self) -> str:
        return f"{self.state_dir}/$(hostname)"

    def _stage(self, name: str, text: str) -> str:
        path = f"{self._dir}/{name}"
        self._run(f"mkdir -p {self._dir} && umask 077 && cat > {path}", stdin=text)
        return path

    def _loadable(self, path: str, running: str | None = None) -> tuple[str, str]:
        """(shell, file): make `file`, what frr-reload is given for the config in `path`
        (`running`: a file that holds the running config already, read once by the caller).

        With netns-based VRFs (zebra -n) a VRF's `netns` line belongs to the OS, not to
        the config we render: the VRF stanzas the router has are carried into what is
        loaded, so that frr-reload never detaches a VRF from its namespace.
        """
        load = f"{path}.load"
        show = f"cat {running}" if running else "vtysh -c 'show running-config'"
        return (
            f"cp {path} {load} && {show} | awk '/^vrf /{{v=$0}} "
            f'/^ netns /{{print v; print $0; print "exit-vrf"}}\' >>{load}',
            load,
        )

    def _reload_command(self, path: str) -> str:
        """Apply a whole config file, with the OS following (subinterfaces, VRFs)."""
        make, load = self._loadable(path)
        steps = [make, f"{self.frr_reload} --reload {load}"]
        if self.netdev:
            steps = [f"{self.netdev} prepare {path}", *steps, f"{self.netdev} finish {path}"]
        log = f"{self._dir}/reload.log"
        return f": >{log}; " + " && ".join(f"{{ {step}; }} >>{log} 2>&1" for step in steps)

    def _reload(self, path: str, error: type[Exception]) -> None:
        log = self._run(
            f"{self._reload_command(path)}; rc=$?; cat {self._dir}/reload.log; exit $rc",
            check=False,
            what=f"frr-reload --reload {path}",
        )
        if self._last_status != 0 or "ERROR" in log:
            raise error(f"{self.hostname}: frr-reload failed: {log.strip()[-800:]}")

    def compare_config(self) -> str:
        self.compared_running = None
        if self.candidate is None:
            return ""
        # one SSH round trip: stage, read the running config once (for the OS's VRF
        # stanzas and as frr-reload's --input: each `show running-config` costs the
        # router ~70 ms of CPU, and a dry run of every PE at once is CPU-bound), --test.
        # That read comes back too, before a random mark (`compared_running`): a caller that
        # fingerprints the config it diffed needs no second read, and gets the very config
        # the diff was made against, not one read a moment apart.
        # The diff stays on the router under the hashes of the running config (as a commit
        # reads it: with vtysh's header) and the candidate it was made from (one file,
        # replaced whole): a commit of the same candidate on the same running config
        # applies it instead of computing it again (_commit_command).
        # The state directory is named once ($d): each `$(hostname)` in it is a subshell
        # and a process, ~1.5 ms of the router's CPU, and the paths below name it often.
        path, running, given = "$d/candidate.conf", "$d/compared.run", "$d/compared.input"
        make, load = self._loadable(path, given)
        split = f"--onramp-split-{secrets.token_hex(8)}--"
        out = self._run(
            f"d={self._dir} && mkdir -p $d && umask 077 && cat > {path} "
            f"&& vtysh -c 'show running-config' > {running} "
            # frr-reload's --input is the config without vtysh's two banner lines
            f"&& sed -e '/^Building configuration\\.\\.\\.$/d' "
            f"-e '/^Current configuration:$/d' {running} > {given} && {make} "
            f"&& cat {running} && echo {split} "
            f"&& {{ {self.frr_reload} {_premarked(given, load, split)} --test --input {given} "
            f"{load} >$d/compared.out 2>$d/compared.err; rc=$?; cat $d/compared.err $d/compared.out; "
            f"[ $rc = 0 ] || exit $rc; "
            f"{{ {_key(running, path)}; cat $d/compared.out; }} >$d/compared.new "
            f"&& mv $d/compared.new $d/compared; }}",
            stdin=self._target(),
            check=False,
            what=f"frr-reload --test {path}",
        )
        shown, _, report = out.rpartition(f"{split}\n")
        if self._last_status != 0 or not shown:
            # the report only: what came before the mark is the running config (secrets)
            raise CommandErrorException(
                f"{self.hostname}: frr-reload --test: {_reload_error(report or out)}"
            )
        self.compared_running = _strip(shown)
        # a commit that follows applies against the config this diff was made against (its
        # script refuses if the router's is no longer that text): a deploy after its dry
        # run reads no third copy of it (`diffed_running`)
        self._seen = shown
        return _reload_diff(report)

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        # the running config last read, so what a caller checked is what this commit
        # applies against (the router refuses below if it is no longer that text)
        seen, self._seen = self._seen, None
        if seen is None:
            seen = self._vtysh("show running-config")
        target = self._target(running=seen)
        # the state directory is named once, in $d (exported: the confirm timer's shell
        # names it too): each `$(hostname)` is a subshell and a process, and the script
        # named it 33 times before the router had the new config (~1.6 ms each on the lab)
        d, path, pending = "$d", "$d/candidate.conf", "$d/pending"
        # One round trip (every deploy waits for it): refuse while a commit waits for
        # confirmation; stage what was read, the rollback and the candidate (one stdin,
        # split at a random mark); refuse if the running config is no longer what was
        # read (a change made meanwhile must not be overwritten); start the confirm
        # timer; apply.
        split = f"--onramp-split-{secrets.token_hex(8)}--"
        script = [
            f"d={self._dir}; export d",
            f"if [ -s {pending} ]; then cat >/dev/null; exit 3; fi",  # stdin read: no broken pipe
            f"{{ mkdir -p {d} && umask 077 && : >{d}/seen.conf && : >{d}/rollback.next "
            f"&& : >{path} && awk -v m={split} -v a={d}/seen.conf -v b={d}/rollback.next "
            f"-v c={path} 'BEGIN {{f = a}} $0 == m {{f = (f == a) ? b : c; next}} "
            "{print > f}'; } || exit 6",
            f"vtysh -c 'show running-config' >{d}/now.conf || exit 6",
            f"cmp -s {d}/now.conf {d}/seen.conf || exit 5",
            f"mv {d}/rollback.next {d}/rollback.conf || exit 6",
        ]
        if revert_in:
            # The timer lives on the router (setsid -f: its own session, no link to this SSH
            # connection or its caller). It writes the `pending` mark itself, with its token
            # and pid, so a mark never exists without its timer (a caller killed between
            # the two left one that blocked every commit); it reverts unless `pending`
            # still holds that mark when it wakes (confirm_commit removes it). It looks
            # and reverts holding the lock a confirm takes too (_CLAIM): at the window's
            # very end one of them has the commit, and the other finds it gone.
            token = secrets.token_hex(8)
            revert = (
                f'echo "{token} $$" >{pending}.new && mv {pending}.new {pending}; '
                f"sleep {int(revert_in)}; {_CLAIM.format(d=d)}; "
                f'[ "$(cat {pending} 2>/dev/null)" = "{token} $$" ] || exit 0; '
                f"{self._reload_command(self._dir + '/rollback.conf')}; "
                f"rm -f {pending}"
            )
            script += [
                f"setsid -f sh -c {shlex.quote(revert)} </dev/null >/dev/null 2>&1",
                # the timer writes its mark within milliseconds (its shell's start, a mv):
                # a 50 ms nap here was most of what arming it cost every commit, a 10 ms
                # one still 10 ms of it; looked at every 2 ms (5 s at most, as before)
                f"i=0; until grep -qs {token} {pending}; do i=$((i+1)); "
                "[ $i -le 2500 ] || exit 4; sleep 0.002; done",
            ]
        script += [
            f"{self._commit_command(path, save=not revert_in)}; rc=$?; cat {d}/reload.log; exit $rc"
        ]
        # awk ends every line it writes with a newline: so must `seen`, to compare equal
        seen += "" if seen.endswith("\n") else "\n"
        stdin = f"{seen}{split}\n{_strip(seen)}{split}\n{target}"
        out = self._run("\n".join(script), stdin=stdin, check=False)
        self.candidate, self.merge = None, False
        if self._last_status == 3:
            raise CommitPending(
                f"{self.hostname}: a commit waits for confirmation: confirm_commit() or rollback()"
            )
        if self._last_status == 5:
            raise ConfigChanged(
                f"{self.hostname}: the running config changed since it was read: nothing "
                "applied; read it again (a new plan) and commit against it"
            )
        if self._last_status == 4:
            raise CommitError(f"{self.hostname}: the confirm timer did not start")
        if self._last_status == 6:
            raise CommitError(f"{self.hostname}: staging the commit failed: {out.strip()[-300:]}")
        if self._last_status != 0 or "ERROR" in out:
            self.rollback()  # a half-applied change must not stay
            raise CommitError(f"{self.hostname}: frr-reload failed: {out.strip()[-800:]}")

    def _commit_command(self, path: str, save: bool) -> str:
        """Apply the config in `path` as frr-reload would, cheaper when it only adds:
        frr-reload's own diff (`--test`, against the running config) applied as it is
        (`vtysh -f` of its "Lines To Add", then `write`: frr-reload's first pass). Any
        deletion goes through `frr-reload --reload` and its second pass, which puts back
        what a `no` took with it (`no ip prefix-list L seq 10 ...` after `ip prefix-list L
        seq 10 permit ...` drops both): a line to delete, or a `no` line among the adds
        that is not a line of the candidate (frr-reload moves some deletions there). The
        reload log names the way taken.

        `save`: the result becomes the startup config too (`write`). Not while it waits
        for confirmation: a router (or FRR) restarted before then must start from the
        config last confirmed, as the timer would have left it; confirm_commit saves it."""
        make, load = self._loadable(path)
        write = " && vtysh -c write >/dev/null" if save else ""
        reload = (
            f"{self.frr_reload} --reload {load}" if save else _unsaved_reload(self.frr_reload, load)
        )
        d = "$d"  # set by commit_config's script
        # the dry run's diff if it was made from this candidate and this running config
        # (now.conf: read before `prepare`, which only adds the OS's VRF stanzas to both
        # sides); else frr-reload's, now
        kept = (
            f"cp {d}/compared {d}/compared.mine 2>/dev/null && "
            f'[ "$(head -n 2 {d}/compared.mine)" = "$({_key(d + "/now.conf", path)})" ]'
        )
        # frr-reload's input (`make`: one more `show running-config`) is made only on the
        # way that runs frr-reload: a kept diff of additions never reads it, and that read
        # was on the way to BGP's config of every new Connector
        made = f'[ "$made" = 1 ] || {{ {make}; }} && made=1'
        diff = (
            f"if {kept}; then echo 'diff: kept from the dry run'; tail -n +3 {d}/compared.mine >{d}/delta; "
            f"else {made} && {self.frr_reload} --test {load} >{d}/delta; fi"
        )
        adds = "awk 'a && !/^=+$/ {print} /^Lines To Add$/ {a = 1}'"
        # exit 1 when an add is a deletion: a `no ...` line the candidate (`path`; the
        # VRF stanzas `make` adds to it hold no `no` line) does not have
        deletes = (
            'awk \'NR == FNR {sub(/^ +/, ""); mine[$0] = 1; next} '
            '{sub(/^ +/, "")} /^no / && !($0 in mine) {n++} END {exit (n > 0)}\''
        )
        steps = [
            "made=0",
            f"{diff} && {adds} {d}/delta >{d}/adds",
            f"if grep -q '^Lines To Delete' {d}/delta || ! {deletes} {path} {d}/adds; then "
            f"echo 'apply: frr-reload --reload'; {made} && {reload}; "
            "else echo 'apply: its additions (vtysh -f)'; "
            f"[ ! -s {d}/adds ] || {{ vtysh -f {d}/adds{write}; }}; fi",
        ]
        if self.netdev:
            steps = [f"{self.netdev} prepare {path}", *steps, f"{self.netdev} finish {path}"]
        log = f"{d}/reload.log"
        return f": >{log}; " + " && ".join(f"{{ {step}; }} >>{log} 2>&1" for step in steps)

    def has_pending_commit(self) -> bool:
        return self._run(f"cat {self._dir}/pending 2>/dev/null", check=False).strip() != ""

    def confirm_commit(self) -> None:
        # one round trip (it is on every deploy's path): the check, the save (the commit
        # left the startup config as it was: _commit_command) and the removal. Saved
        # before the mark goes: a failed save leaves the commit unconfirmed, to revert.
        # Checked again under the timer's lock (_CLAIM): a timer that woke first reverts
        # and removes the mark before this looks, and the caller learns it came too late
        pending = f"{self._dir}/pending"
        out = self._run(
            f"test -s {pending} || exit 3; {_CLAIM.format(d=self._dir)}; "
            f"test -s {pending} || exit 3; vtysh -c write || exit 4; rm -f {pending}",
            check=False,
        )
        if self._last_status == 3:
            raise CommitError(
                f"{self.hostname}: no commit waits for confirmation (a commit of ours was "
                "reverted by its timer: the confirm came after its window)"
            )
        if self._last_status != 0:
            raise CommitError(
                f"{self.hostname}: could not save the config (vtysh write: {out.strip()[-300:]}): "
                "the commit stays unconfirmed and its timer reverts it"
            )

    def rollback(self) -> None:
        """Back to the config before the last commit (confirmed or not)."""
        self._run(f"test -e {self._dir}/rollback.conf", check=False)
        if self._last_status != 0:
            raise CommitError(f"{self.hostname}: nothing to roll back to")
        self._seen = None
        # disarm the timer (we roll back now); after its revert if it has begun one
        self._run(f"{_CLAIM.format(d=self._dir)}; rm -f {self._dir}/pending")
        self._reload(f"{self._dir}/rollback.conf", CommitError)


def shaped_rates(dev: FRRDriver) -> dict[str, int]:
    """onramp's read-back of guaranteed rates (no NAPALM getter has one): "<vrf> <device>"
    -> the Mb/s it is shaped to now, as the router's `netdev` tool reads the kernel's
    qdiscs (`<netdev> rates`); {} without one (nothing is shaped then). A function, as
    has_orphaned_commit: napalm's driver contract allows no public method of its own."""
    if not dev.netdev:
        return {}
    return {str(k): int(v) for k, v in dev._json(f"{dev.netdev} rates").items()}


def commit_state(dev: FRRDriver) -> Literal["none", "pending", "orphaned"]:
    """Whether a commit waits for confirmation, read once ("none" costs one round trip):
    "pending", under its live timer; "orphaned", no timer will ever revert it (its timer
    process is gone: killed, the router restarted; or never started: a mark of an older
    driver, written before its timer), only a rollback ends it. A function, not a
    method: napalm's driver contract (BaseTestGetters) allows no public method of its own."""
    mark = dev._run(f"cat {dev._dir}/pending 2>/dev/null", check=False).split()
    if not mark:
        return "none"
    if len(mark) != 2 or not mark[1].isdigit():
        return "orphaned"
    # the pid alone could be reused: its command line holds the token
    dev._run(f"grep -qs {shlex.quote(mark[0])} /proc/{mark[1]}/cmdline", check=False)
    return "orphaned" if dev._last_status != 0 else "pending"


def applies_against(dev: FRRDriver) -> str | None:
    """The running config (as get_config gives it) the next commit applies against: the
    one last read (get_config) or diffed (compare_config), unless a commit or rollback
    came since; None: the commit reads it first. The commit's script refuses, changing
    nothing, if the router's is no longer that text (ConfigChanged). A function, as
    commit_state: napalm's driver contract allows no public method of its own."""
    return None if dev._seen is None else _strip(dev._seen)


def counters_read_at(dev: FRRDriver) -> dict[str, float]:
    """The router's clock (Unix seconds) when the last get_interfaces_counters read each
    interface's counters, as gNMI's notifications carry the target's timestamp: a rate
    divides by the time between two reads on the router, not between two SSH round trips
    coming back. Per interface: each VRF's namespace is read after its own `ip netns
    exec`, the middle of a `date` before and after its `ip`. Empty before the first read.
    A function, as commit_state."""
    return dict(dev._counters_at)


def has_orphaned_commit(dev: FRRDriver) -> bool:
    """A commit waits for confirmation but no timer will ever revert it (`commit_state`)."""
    return commit_state(dev) == "orphaned"


# Shell: hold the state directory's lock until the shell ends (flock(1) on an fd the
# shell keeps: the lock outlives the flock process). The confirm timer takes it to look at
# its mark and revert, confirm_commit and rollback to end the commit: never two at once.
_CLAIM = "exec 9>>{d}/lock && flock 9"


# frr-reload's `vtysh` (--bindir) when both its inputs were marked already: the marked copy
# of the file it is asked to mark (`vtysh [-N ns] -m -f FILE`: FILE is the last argument)
_PREMARKED = "$d/premarked-1"
_PREMARKED_VTYSH = '#!/bin/sh\\nfor f; do :; done\\nexec cat "$f.marked"\\n'


def _vtysh_shim(bindir: str, script: str) -> str:
    """Shell: make `bindir`/vtysh from `script` (printf's format) unless it is there: a
    `vtysh` that frr-reload's --bindir points at."""
    return (
        f"[ -x {bindir}/vtysh ] || {{ mkdir -p {bindir} "
        f"&& printf '{script}' >{bindir}/vtysh && chmod 700 {bindir}/vtysh; }}"
    )


def _premarked(running: str, candidate: str, split: str) -> str:
    """Shell: mark frr-reload's two inputs with one `vtysh -m` and print the `--bindir`
    option that has frr-reload read them (or nothing: frr-reload marks them itself).

    frr-reload --test runs `vtysh -m -f` once per input, and each vtysh start costs the
    router ~25 ms of CPU (it builds every daemon's command tree): with every PE diffed at
    once on shared cores, that CPU is what a dry run waits for. One vtysh marks both,
    split at a comment line (vtysh -m passes comments through); the running config ends
    at the top level (FRR closes every section with `exit`), so the candidate is marked
    exactly as alone. frr-reload's own --bindir then points at a `vtysh` that answers
    with those marked copies: frr-reload's diff, unchanged. If the marking fails (a line
    vtysh rejects), frr-reload marks them itself and reports the error as it always did."""
    mark, both = f"! {split}", "$d/premarked.conf"
    return (
        f"$({_vtysh_shim(_PREMARKED, _PREMARKED_VTYSH)} "
        f"&& awk -v m='{mark}' 'FNR == 1 && NR > 1 {{print m}} {{print}}' {running} {candidate} "
        f">{both} && vtysh -m -f {both} >{both}.marked 2>/dev/null "
        # vtysh -m ends its lines with CR; a part's own end is the `end` vtysh adds at EOF
        f"&& awk -v m='{mark}' -v a={running}.marked -v b={candidate}.marked "
        '\'BEGIN {f = a; printf "" >a; printf "" >b} '
        '{sub(/\\r$/, "")} $0 == m {print "end" >f; f = b; next} {print >f}\' '
        f"{both}.marked && echo --bindir {_PREMARKED})"
    )


# frr-reload's `vtysh` (--bindir) for a commit that waits for confirmation: the one it runs
# by default (its --bindir is /usr/bin), every call but its closing `write`
_UNSAVED = "$d/unsaved-1"
_UNSAVED_VTYSH = (
    '#!/bin/sh\\nfor a; do :; done\\n[ "$a" = write ] && exit 0\\nexec /usr/bin/vtysh "$@"\\n'
)


def _unsaved_reload(frr_reload: str, load: str) -> str:
    """Shell: frr-reload --reload of `load` that leaves the startup config as it is.
    frr-reload ends a reload with `vtysh -c write` (unless it loaded frr.conf itself) and
    has no option against it: its --bindir points at a `vtysh` that skips that one call."""
    return (
        f"{{ {_vtysh_shim(_UNSAVED, _UNSAVED_VTYSH)}; }} "
        f"&& {frr_reload} --bindir {_UNSAVED} --reload {load}"
    )


def _key(running: str, candidate: str) -> str:
    """Shell: what a kept dry-run diff is filed under, the hashes of its two inputs."""
    return f"sha256sum <{running}; sha256sum <{candidate}"


def _strip(running: str) -> str:
    """Configuration only: no banner lines, and no VRF stanza that only names the VRF's
    namespace (the OS's, with netns-based VRFs: see _loadable)."""
    text = "\n".join(line for line in running.splitlines() if not _HEADER.match(line))
    return _OS_VRF.sub("", text + "\n").strip() + "\n"


def _read(filename: str | None, config: str | None, error: type[Exception]) -> str:
    if config is None and filename is None:
        raise error("give filename or config")
    if config is None:
        with open(str(filename)) as f:
            config = f.read()
    return _strip(config)


def _reload_error(report: str) -> str:
    """What frr-reload said went wrong: each ERROR it logged with the line after it
    (vtysh's word: `line N: % Unknown command: ...`). Not the diff it prints anyway: with
    the candidate rejected that diff deletes every running line, secrets too, and its
    last 800 characters hid vtysh's word. The report's end if it logged no ERROR."""
    lines = _ANSI.sub("", report).splitlines()
    said = [x for i, line in enumerate(lines) if "ERROR" in line for x in lines[i : i + 2]]
    return ("\n".join(said) if said else report).strip()[-800:]


def _reload_diff(out: str) -> str:
    """frr-reload's --test report as a diff: '-' lines to delete, '+' lines to add.

    frr-reload repeats a line's whole context (`router bgp 65000 vrf c1`, ` address-family
    ...`) before every line it lists; each context line is shown once per run of lines
    sharing it, as a reader expects from a config diff. Context lines carry a space, not
    a sign, unless they are themselves added or deleted."""
    lines: list[str] = []
    sign = ""
    context: list[str] = []  # the lines seen at each indentation level
    entry: list[str] = []

    def flush() -> None:
        for depth, text in enumerate(entry):
            is_last = depth == len(entry) - 1
            if not is_last and depth < len(context) and context[depth] == text:
                continue
            del context[depth:]
            context.append(text)
            lines.append(f"{sign if is_last else ' '} {text}")
        entry.clear()

    for line in out.splitlines():
        if line.startswith(("Lines To Delete", "Lines To Add")):
            flush()
            sign, context[:] = ("-" if "Delete" in line else "+"), []
        elif sign and line.strip() and not line.startswith("==="):
            if not line.startswith(" "):
                flush()
            entry.append(line)
    flush()
    return "\n".join(lines)


def _per_interface(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`show interface vrf all json` is keyed by interface, or by VRF then interface
    (FRR's releases differ): interfaces, each with its `vrfName`."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()) \
                and "vrfName" not in value:  # fmt: skip
            for ifname, iface in value.items():
                out[ifname] = {"vrfName": key, **iface}
        elif isinstance(value, dict):
            out[key] = value
    return out


def _per_vrf(data: dict[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """`show ip route vrf all ... json`: {vrf: {prefix: [route]}}; a single table is
    {prefix: [route]} (the routes name their VRF)."""
    if all(isinstance(v, list) for v in data.values()):
        out: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for prefix, routes in data.items():
            for r in routes:
                out.setdefault(r.get("vrfName", "default"), {}).setdefault(prefix, []).append(r)
        return out
    return {vrf: t for vrf, t in data.items() if isinstance(t, dict)}


def _seconds(uptime: str) -> int:
    """FRR's route age (`01:02:03`, `1d02h03m`, `05w1d02h`) in seconds."""
    if re.fullmatch(r"\d+:\d+:\d+", uptime):
        h, m, s = (int(x) for x in uptime.split(":"))
        return h * 3600 + m * 60 + s
    units = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([wdhms])", uptime))


_NEIGHBOR = re.compile(r"^\s*neighbor (\S+) (.+?)\s*$")


def _bgp_config(running: str) -> dict[str, dict[str, Any]]:
    """Peer-groups and neighbours of the default `router bgp` block, as napalm's models."""
    block = re.search(r"^router bgp (\d+)\n((?:[ !].*\n)*)", running, re.M)
    if not block:
        return {}
    local_as = int(block.group(1))
    settings: dict[str, dict[str, str]] = {}
    for line in block.group(2).splitlines():
        m = _NEIGHBOR.match(line)
        if m:
            name, rest = m.groups()
            key, _, value = rest.partition(" ")
            slot = settings.setdefault(name, {})
            if key == "route-map":
                route_map, _, direction = value.rpartition(" ")
                slot[f"route-map {direction}"] = route_map
            else:
                slot[key] = value or "yes"
    groups = {n for n, s in settings.items() if s.get("peer-group") == "yes"}

    def limit(s: dict[str, str]) -> dict[str, Any]:
        n = s.get("maximum-prefix", "").split()
        return {"inet": {"unicast": {"limit": int(n[0])}}} if n else {}

    def remote_as(s: dict[str, str]) -> int:
        return int(s["remote-as"]) if s.get("remote-as", "").isdigit() else 0

    out: dict[str, dict[str, Any]] = {}
    for name in sorted(groups | {"_"}):
        g = settings.get(name, {}) if name != "_" else {}
        out[name] = {
            "type": "" if name == "_" else ("internal" if remote_as(g) == local_as else "external"),
            "description": g.get("description", ""),
            "apply_groups": [],
            "multihop_ttl": int(g.get("ebgp-multihop", "0").replace("yes", "255")),
            "multipath": False,
            "local_address": g.get("update-source", ""),
            "local_as": int(g.get("local-as", "0").split()[0]) or local_as,
            "remote_as": remote_as(g),
            "import_policy": g.get("route-map in", ""),
            "export_policy": g.get("route-map out", ""),
            "remove_private_as": "remove-private-AS" in g,
            "prefix_limit": limit(g),
            "neighbors": {},
        }
    for addr, s in settings.items():
        if addr in groups:
            continue
        group = s.get("peer-group", "_")
        inherited = settings.get(group, {}) if group != "_" else {}
        merged = {**inherited, **s}
        out.setdefault(group, out["_"] | {"neighbors": {}})["neighbors"][addr] = {
            "description": merged.get("description", ""),
            "import_policy": merged.get("route-map in", ""),
            "export_policy": merged.get("route-map out", ""),
            "local_address": merged.get("update-source", ""),
            "authentication_key": REMOVED if "password" in merged else "",
            "nhs": "next-hop-self" in merged,
            "route_reflector_client": "route-reflector-client" in merged,
            "local_as": int(merged.get("local-as", "0").split()[0]) or local_as,
            "remote_as": remote_as(merged),
            "prefix_limit": limit(merged),
        }
    if not out["_"]["neighbors"]:
        del out["_"]
    return out


def _traceroute(text: str) -> dict[int, models.TracerouteResultDictEntry]:
    """Linux `traceroute -n` output: hop -> probe (1-based) -> address and round trip."""
    hops: dict[int, models.TracerouteResultDictEntry] = {}
    for line in text.splitlines():
        m = re.match(r"^\s*(\d+)\s+(.*)$", line)
        if not m:
            continue
        probes: dict[int, models.TracerouteDict] = {}
        address = "*"
        for token in re.finditer(
            r"(\d+\.\d+\.\d+\.\d+|[0-9a-f:]*:[0-9a-f:]+)|([\d.]+) ms|(\*)", m[2]
        ):
            if token[1]:
                address = token[1]
            elif token[2] or token[3]:
                probes[len(probes) + 1] = {
                    "rtt": float(token[2]) if token[2] else 0.0,
                    "ip_address": address if token[2] else "*",
                    "host_name": address if token[2] else "*",
                }
        hops[int(m[1])] = {"probes": probes}
    return hops


def _cpu_usage(before: str, after: str) -> dict[int, models.CPUDict]:
    def sample(text: str) -> dict[int, tuple[int, int]]:
        out = {}
        for line in text.splitlines():
            name, *fields = line.split()
            values = [int(f) for f in fields]
            idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
            out[int(name[3:])] = (sum(values), idle)
        return out

    first, second = sample(before), sample(after)
    usage: dict[int, models.CPUDict] = {}
    for cpu, (total, idle) in second.items():
        d_total = total - first.get(cpu, (0, 0))[0]
        d_idle = idle - first.get(cpu, (0, 0))[1]
        usage[cpu] = {"%usage": round(100.0 * (d_total - d_idle) / d_total, 1) if d_total else 0.0}
    return usage


def _memory(text: str) -> models.MemoryDict:
    kib = {k: int(v) * 1024 for k, v in re.findall(r"^(\w+):\s+(\d+) kB", text, re.M)}
    total, available = kib.get("MemTotal", 0), kib.get("MemAvailable", 0)
    return {"available_ram": available, "used_ram": total - available}


def _temperatures(text: str) -> dict[str, models.TemperatureDict]:
    out: dict[str, models.TemperatureDict] = {}
    for line in text.splitlines():
        name, _, milli = line.rpartition(" ")
        if milli.lstrip("-").isdigit():
            out[name] = {"temperature": int(milli) / 1000, "is_alert": False, "is_critical": False}
    return out
