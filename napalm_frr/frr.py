"""NAPALM driver for FRR: SSH to the router, `vtysh` for FRR, `ip -j` for the kernel.

Configuration goes through FRR's own `frr-reload.py`: `--test` is the diff, `--reload`
applies it. commit_config(revert_in=N) leaves a timer process on the router itself
(setsid, detached from the SSH session): unless confirm_commit removes the pending mark
within N seconds, the router restores its previous running config on its own, even if
the caller died.
"""

from __future__ import annotations

import fcntl
import json
import logging
import re
import secrets
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

import paramiko
from napalm.base import NetworkDriver, models
from napalm.base.exceptions import (
    CommandErrorException,
    CommitError,
    ConnectionException,
    MergeConfigException,
    ReplaceConfigException,
)
from paramiko.hostkeys import HostKeyEntry, HostKeys

# Lines of `show running-config` that are not configuration.
_HEADER = re.compile(r"^(Building configuration\.\.\.|Current configuration:|!\s*$|end\s*$)")
# BGP/IS-IS/OSPF secrets in FRR syntax: masked when a sanitized config is asked for.
_SECRETS = re.compile(
    r"^(\s*(?:neighbor \S+ password|area-password|domain-password|.*authentication-key|.*message-digest-key \d+ md5)\s+)(\S+.*)$",
    re.M,
)
_OS_VRF = re.compile(r"^vrf \S+\n netns \S+\nexit-vrf\n?", re.M)
_PING = re.compile(r"(\d+) packets transmitted, (\d+) received")
_RTT = re.compile(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms")
# strict: only keys already in known_hosts; accept-new: also record unknown hosts' keys on
# first contact (OpenSSH's StrictHostKeyChecking=accept-new). Neither takes a changed key
HOST_KEY_POLICIES = ("strict", "accept-new")

log = logging.getLogger(__name__)


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

    def _run(self, command: str, stdin: str | None = None, check: bool = True) -> str:
        """One shell command on the router, over the open SSH connection."""
        if self.client is None:
            raise ConnectionException("not connected: call open() first")
        chan_in, chan_out, chan_err = self.client.exec_command(command, timeout=self.timeout)
        if stdin is not None:
            chan_in.write(stdin)
            chan_in.channel.shutdown_write()
        try:
            out = chan_out.read().decode()
            err = chan_err.read().decode()
            self._last_status = chan_out.channel.recv_exit_status()
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
        return {c: self._vtysh(c) for c in commands}

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
        parts = ["ip -s -j link show"] + [
            f"{self.vrf_exec.format(vrf=shlex.quote(v))} ip -s -j link show" for v in vrfs
        ]
        text = self._run(" ; echo ',' ; ".join(parts))
        out: dict[str, models.InterfaceCounterDict] = {}
        for link in json.loads(f"[{text}]") if text.strip() else []:
            for one in link:
                if one["ifname"] in out:
                    continue  # each VRF namespace has its own `lo`: the router's is the one
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

    def get_lldp_neighbors(self) -> dict[str, list[models.LLDPNeighborDict]]:
        return {}  # FRR runs no LLDP; the lab has none either

    def get_config(
        self,
        retrieve: str = "all",
        full: bool = False,
        sanitized: bool = False,
        format: str = "text",
    ) -> models.ConfigDict:
        running = (
            _strip(self._vtysh("show running-config")) if retrieve in ("all", "running") else ""
        )
        candidate = (self.candidate or "") if retrieve in ("all", "candidate") else ""
        if sanitized:
            running, candidate = (_SECRETS.sub(r"\g<1><removed>", x) for x in (running, candidate))
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

    def _target(self) -> str:
        """The whole config the router should end with: the candidate, or running + candidate."""
        if self.candidate is None:
            raise CommitError("no candidate loaded")
        if not self.merge:
            return self.candidate
        return _strip(self._vtysh("show running-config")) + "\n" + self.candidate

    @property
    def _dir(self) -> str:
        return f"{self.state_dir}/$(hostname)"

    def _stage(self, name: str, text: str) -> str:
        path = f"{self._dir}/{name}"
        self._run(f"mkdir -p {self._dir} && umask 077 && cat > {path}", stdin=text)
        return path

    def _loadable(self, path: str) -> tuple[str, str]:
        """(shell, file): make `file`, what frr-reload is given for the config in `path`.

        With netns-based VRFs (zebra -n) a VRF's `netns` line belongs to the OS, not to
        the config we render: the VRF stanzas the router has are carried into what is
        loaded, so that frr-reload never detaches a VRF from its namespace.
        """
        load = f"{path}.load"
        return (
            f"cp {path} {load} && vtysh -c 'show running-config' | awk '/^vrf /{{v=$0}} "
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
        )
        if self._last_status != 0 or "ERROR" in log:
            raise error(f"{self.hostname}: frr-reload failed: {log.strip()[-800:]}")

    def compare_config(self) -> str:
        if self.candidate is None:
            return ""
        # one SSH round trip: stage, add the OS's VRF stanzas, frr-reload --test
        path = f"{self._dir}/candidate.conf"
        make, load = self._loadable(path)
        out = self._run(
            f"mkdir -p {self._dir} && umask 077 && cat > {path} && {make} "
            f"&& {self.frr_reload} --test {load} 2>&1",
            stdin=self._target(),
            check=False,
        )
        if self._last_status != 0:
            raise CommandErrorException(f"{self.hostname}: frr-reload --test: {out.strip()[-800:]}")
        return _reload_diff(out)

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        if self.has_pending_commit():
            raise CommitError(
                f"{self.hostname}: a commit waits for confirmation: confirm_commit() or rollback()"
            )
        target = self._target()
        self._stage("rollback.conf", _strip(self._vtysh("show running-config")))
        path = self._stage("candidate.conf", target)
        if revert_in:
            # The timer lives on the router (setsid -f: its own session, no link to this SSH
            # connection or its caller). It writes the `pending` mark itself, with its token
            # and pid, so a mark never exists without its timer (a caller killed between
            # the two left one that blocked every commit); it reverts unless `pending`
            # still holds that mark when it wakes (confirm_commit removes it).
            token = secrets.token_hex(8)
            pending = f"{self._dir}/pending"
            revert = (
                f'echo "{token} $$" >{pending}.new && mv {pending}.new {pending}; '
                f"sleep {int(revert_in)}; "
                f'[ "$(cat {pending} 2>/dev/null)" = "{token} $$" ] || exit 0; '
                f"{self._reload_command(self._dir + '/rollback.conf')}; "
                f"rm -f {pending}"
            )
            self._run(
                f"setsid -f sh -c {shlex.quote(revert)} </dev/null >/dev/null 2>&1; "
                f"for i in $(seq 100); do grep -qs {token} {pending} && exit 0; sleep 0.05; "
                "done; exit 1",
                check=False,
            )
            if self._last_status != 0:
                raise CommitError(f"{self.hostname}: the confirm timer did not start")
        try:
            self._reload(path, CommitError)
        except CommitError:
            self.rollback()  # a half-applied reload must not stay
            raise
        self.candidate, self.merge = None, False

    def has_pending_commit(self) -> bool:
        return self._run(f"cat {self._dir}/pending 2>/dev/null", check=False).strip() != ""

    def has_orphaned_commit(self) -> bool:
        """A commit waits for confirmation but no timer will ever revert it: its timer
        process is gone (killed, the router restarted) or never started (a mark of an
        older driver, written before its timer). Only a rollback ends it."""
        mark = self._run(f"cat {self._dir}/pending 2>/dev/null", check=False).split()
        if not mark:
            return False
        if len(mark) != 2 or not mark[1].isdigit():
            return True
        # the pid alone could be reused: its command line holds the token
        self._run(f"grep -qs {shlex.quote(mark[0])} /proc/{mark[1]}/cmdline", check=False)
        return self._last_status != 0

    def confirm_commit(self) -> None:
        if not self.has_pending_commit():
            raise CommitError(f"{self.hostname}: no commit waits for confirmation")
        self._run(f"rm -f {self._dir}/pending")

    def rollback(self) -> None:
        """Back to the config before the last commit (confirmed or not)."""
        self._run(f"test -e {self._dir}/rollback.conf", check=False)
        if self._last_status != 0:
            raise CommitError(f"{self.hostname}: nothing to roll back to")
        self._run(f"rm -f {self._dir}/pending")  # disarm the timer: we roll back now
        self._reload(f"{self._dir}/rollback.conf", CommitError)


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
