"""iperf3 between network namespaces (the lab's hosts, or any two): UDP flows offered at a
rate, what arrives measured at the receiver. The one place tests and bench/ run iperf3.

UDP, not TCP: a shaper's figure is what gets through an offered load, not what a congestion
control settles on. 1400 B datagrams fit the lab's 1500 B paths with VXLAN's overhead.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

DATAGRAM = 1400  # bytes of UDP payload: no fragmentation on any lab path
# what of a shaped rate iperf3 counts: the shaper (htb) counts each datagram's Ethernet
# frame (+ UDP 8, IPv4 20, Ethernet 14 bytes), iperf3 its payload only: 97.09 %
PAYLOAD = DATAGRAM / (DATAGRAM + 8 + 20 + 14)
# what a shaper lets through above its rate: its bucket at the start (5 ms over a 4 s run,
# 0.13 %), measured +0.1 % (97.2 of 97.09, 194.2 of 194.17); 2 % leaves room for the clocks
OVER = 0.02
LISTEN_TIMEOUT_S = 5.0
# socket buffers (both ends: the client sends it to the server): a receiver short of CPU
# for a moment on a busy machine must not drop what the shaper delivered
WINDOW = "4M"


@dataclass(frozen=True)
class Flow:
    """`sender` (a namespace) offers `offered_mbps` of UDP to `address` in `receiver`."""

    sender: str
    receiver: str
    address: str
    offered_mbps: int
    port: int = 5201


@dataclass(frozen=True)
class Measured:
    """What one flow did: the sender's rate (below the offered one: the sender was short of
    CPU) and what arrived."""

    sent_mbps: float
    received_mbps: float
    lost_pct: float
    sender_cpu_pct: float  # iperf3's own figure for the sending host (all its threads)
    received_per_s: tuple[float, ...]  # what arrived in each second (Mb/s), in order


def ceiling(mbps: float) -> float:
    """The most iperf3 counts through a shaper at `mbps`. A figure can fall short of it by
    whatever a machine short of CPU loses (not chance: the shaper misses its turns), so a
    figure shows which rate shaped it as the lowest rate whose ceiling it is under: above
    `ceiling(100)` and under `ceiling(200)` is 200 among the providers' steps (50, 100, 200,
    ...). Bounds at +-5 % of the rate left 2 % below the 97 % iperf3 can see, and failed."""
    return mbps * PAYLOAD * (1 + OVER)


def _listening(netns: str, port: int) -> bool:
    out = subprocess.run(
        ["ip", "netns", "exec", netns, "ss", "-Hltn", f"sport = :{port}"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    return bool(out.strip())


def _server(flow: Flow) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        ["ip", "netns", "exec", flow.receiver, "iperf3", "-s", "-1", "-J", "-B", flow.address,
         "-p", str(flow.port)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + LISTEN_TIMEOUT_S
    while not _listening(flow.receiver, flow.port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"iperf3 server in {flow.receiver} on :{flow.port} did not listen")
        time.sleep(0.05)
    return proc


def _client(flow: Flow, seconds: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["ip", "netns", "exec", flow.sender, "iperf3", "-c", flow.address, "-p", str(flow.port),
         "-u", "-b", f"{flow.offered_mbps}M", "-l", str(DATAGRAM), "-t", str(seconds), "-J",
         "-w", WINDOW],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip


def udp(flows: list[Flow], seconds: int = 4, tries: int = 3) -> list[Measured]:
    """Every flow at once for `seconds`; what each delivered, in the order given.

    A run in which a sender fell short of its offer by more than 5 % was short of CPU (2
    cores shared by the whole lab and more): what got lost then is the machine's, not the
    shaper's. So was a run in which iperf3's own control connection gave up (seen once in
    a full `make test`, two flows at once: "unable to read from stream socket: Resource
    temporarily unavailable"). Either is measured again, up to `tries` runs; the last one
    counts, and a path that is really broken fails every run, the last one raising."""
    for _ in range(tries - 1):
        try:
            got = _run(flows, seconds)
        except RuntimeError:
            continue
        if all(m.sent_mbps >= 0.95 * f.offered_mbps for f, m in zip(flows, got, strict=True)):
            return got
    return _run(flows, seconds)


def _run(flows: list[Flow], seconds: int) -> list[Measured]:
    servers = [_server(f) for f in flows]
    clients = [_client(f, seconds) for f in flows]
    out = []
    try:
        for flow, client, server in zip(flows, clients, servers, strict=True):
            sent = json.loads(client.communicate(timeout=seconds + 30)[0])
            got = json.loads(server.communicate(timeout=30)[0])
            if "error" in sent or "error" in got:
                raise RuntimeError(f"iperf3 {flow}: {sent.get('error') or got.get('error')}")
            received = got["end"]["sum_received"]
            out.append(
                Measured(
                    sent_mbps=round(sent["end"]["sum"]["bits_per_second"] / 1e6, 1),
                    received_mbps=round(received["bits_per_second"] / 1e6, 1),
                    lost_pct=round(float(got["end"]["sum"].get("lost_percent", 0.0)), 1),
                    sender_cpu_pct=round(sent["end"]["cpu_utilization_percent"]["host_total"], 1),
                    received_per_s=tuple(
                        round(i["sum"]["bits_per_second"] / 1e6, 1) for i in got["intervals"]
                    ),
                )
            )
    finally:
        for p in (*clients, *servers):
            if p.poll() is None:
                p.kill()
                p.wait()
    return out


def one(flow: Flow, seconds: int = 4) -> Measured:
    """One flow alone."""
    (m,) = udp([flow], seconds)
    return m


# A shaper measured without FRR: shp-a (10.69.k.1) -- shp-pe -- shp-b (10.69.10k.1), two
# "Connectors" k = 1, 2, whose PE-side devices toward b (pe-b1, pe-b2) share b as one port's
# Connectors share its cloud; what frr-netdev does to a subinterface is done to pe-bk.
BARE = ("shp-a", "shp-pe", "shp-b")


def _sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True)


@contextmanager
def bare_pe() -> Iterator[None]:
    """The three namespaces of BARE, wired and routed; removed again even on failure."""
    for n in BARE:
        subprocess.run(["ip", "netns", "del", n], capture_output=True, check=False)
        _sh("ip", "netns", "add", n)
        _sh("ip", "-n", n, "link", "set", "lo", "up")
    try:
        _sh("ip", "netns", "exec", "shp-pe", "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for k in (1, 2):
            for side, host, net in (("a", "shp-a", k), ("b", "shp-b", 100 + k)):
                pe, far = f"pe-{side}{k}", f"{side}{k}"
                _sh("ip", "-n", "shp-pe", "link", "add", pe, "type", "veth", "peer", "name", far,
                    "netns", host)  # fmt: skip
                _sh("ip", "-n", "shp-pe", "addr", "add", f"10.69.{net}.2/24", "dev", pe)
                _sh("ip", "-n", host, "addr", "add", f"10.69.{net}.1/24", "dev", far)
                _sh("ip", "-n", "shp-pe", "link", "set", pe, "up")
                _sh("ip", "-n", host, "link", "set", far, "up")
            _sh("ip", "-n", "shp-a", "route", "add", f"10.69.{100 + k}.0/24", "via", f"10.69.{k}.2")
            _sh("ip", "-n", "shp-b", "route", "add", f"10.69.{k}.0/24", "via", f"10.69.{100 + k}.2")
        yield
    finally:
        for n in BARE:
            subprocess.run(["ip", "netns", "del", n], capture_output=True, check=False)


def to_b(k: int, offered_mbps: int, port: int = 5201) -> Flow:
    """On the bare PE: a offers over Connector k toward b (shaped leaving the PE on pe-bk)."""
    return Flow("shp-a", "shp-b", f"10.69.{100 + k}.1", offered_mbps, port)


def from_b(k: int, offered_mbps: int, port: int = 5201) -> Flow:
    """On the bare PE: b offers over Connector k toward a (coming into the PE on pe-bk)."""
    return Flow("shp-b", "shp-a", f"10.69.{k}.1", offered_mbps, port)
