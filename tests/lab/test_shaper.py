"""frr-netdev's shaper on the real kernel, measured with iperf3: a sender, a "PE" that
forwards and shapes (what frr-netdev does to a Connector's subinterface), a receiver; all
namespaces of their own (tbw-*, 10.69.x), no FRR. Offered 300 Mb/s into 100 delivers
within 5 % of 100; two shaped 100s on one port each get >= 95; a change to 200 in place
delivers within 5 % of 200 and a ping every 50 ms across the change loses nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from onramp.lab import netdev

if os.geteuid() != 0 or not shutil.which("iperf3"):
    pytest.skip("needs root (namespaces) and iperf3 (make deps)", allow_module_level=True)

NS = ("tbw-a", "tbw-pe", "tbw-b")


def sh(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def ns(name: str, *cmd: str) -> str:
    return sh("ip", "netns", "exec", name, *cmd)


@pytest.fixture(scope="module")
def wire() -> Iterator[None]:
    """tbw-a (10.69.n.1) -- tbw-pe -- tbw-b (10.69.10n.1), two "Connectors" n = 1, 2 whose
    PE-side devices toward b (pe-b1, pe-b2) share b's end as one port would."""
    for n in NS:
        subprocess.run(["ip", "netns", "del", n], capture_output=True, check=False)
        sh("ip", "netns", "add", n)
        sh("ip", "-n", n, "link", "set", "lo", "up")
    ns("tbw-pe", "sysctl", "-qw", "net.ipv4.ip_forward=1")
    for k in (1, 2):
        for side, host, net in (("a", "tbw-a", k), ("b", "tbw-b", 100 + k)):
            pe, far = f"pe-{side}{k}", f"{side}{k}"
            sh(
                "ip",
                "-n",
                "tbw-pe",
                "link",
                "add",
                pe,
                "type",
                "veth",
                "peer",
                "name",
                far,
                "netns",
                host,
            )
            sh("ip", "-n", "tbw-pe", "addr", "add", f"10.69.{net}.2/24", "dev", pe)
            sh("ip", "-n", host, "addr", "add", f"10.69.{net}.1/24", "dev", far)
            sh("ip", "-n", "tbw-pe", "link", "set", pe, "up")
            sh("ip", "-n", host, "link", "set", far, "up")
        sh("ip", "-n", "tbw-a", "route", "add", f"10.69.{100 + k}.0/24", "via", f"10.69.{k}.2")
        sh("ip", "-n", "tbw-b", "route", "add", f"10.69.{k}.0/24", "via", f"10.69.{100 + k}.2")
    try:
        yield
    finally:
        for n in NS:
            subprocess.run(["ip", "netns", "del", n], capture_output=True, check=False)


def udp_mbps(k: int, offered: int, seconds: int = 4, port: int = 5201) -> float:
    """Mb/s that arrive at b over Connector k when a offers `offered` Mb/s of UDP."""
    server = subprocess.Popen(
        [
            "ip",
            "netns",
            "exec",
            "tbw-b",
            "iperf3",
            "-s",
            "-1",
            "-J",
            "-B",
            f"10.69.{100 + k}.1",
            "-p",
            str(port),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.3)  # the server listens
    ns(
        "tbw-a",
        "iperf3",
        "-c",
        f"10.69.{100 + k}.1",
        "-p",
        str(port),
        "-u",
        "-b",
        f"{offered}M",
        "-l",
        "1400",
        "-t",
        str(seconds),
        "-J",
    )
    out, _ = server.communicate(timeout=30)
    return float(json.loads(out)["end"]["sum_received"]["bits_per_second"]) / 1e6


def test_rates_come_from_the_bandwidth_lines_and_segments_keep_their_vteps() -> None:
    config = (
        "interface vpn7 vrf c42\n description onramp link 0000 vtep 10.255.0.2\n"
        " ip address 100.96.0.57/29\nexit\n!\n"
        "interface eth3.120 vrf c42\n bandwidth 100\nexit\n!\n"
        "interface vpn7 vrf c42\n bandwidth 200\nexit\n!\n"
    )
    assert netdev.rates(config) == {("eth3.120", "c42"): 100, ("vpn7", "c42"): 200}
    # the qos stanza of vpn7 (no description) must not empty the segment's flood list
    assert netdev._segments(config) == {("vpn7", "c42"): ["10.255.0.2"]}


def test_a_connector_carries_at_most_its_rate(wire: None) -> None:
    assert netdev.shape("pe-b1", "tbw-pe", 100) == "shaper pe-b1 100M"
    got = udp_mbps(1, offered=300)
    print(f"offered 300 Mb/s into a 100 Mb/s Connector: {got:.1f} delivered")
    assert abs(got - 100) <= 5


def test_two_connectors_on_one_port_each_get_their_share(wire: None) -> None:
    netdev.shape("pe-b1", "tbw-pe", 100)
    netdev.shape("pe-b2", "tbw-pe", 100)
    results: dict[int, float] = {}
    servers = {
        k: subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                "tbw-b",
                "iperf3",
                "-s",
                "-1",
                "-J",
                "-B",
                f"10.69.{100 + k}.1",
                "-p",
                str(5300 + k),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in (1, 2)
    }
    time.sleep(0.3)
    clients = [
        subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                "tbw-a",
                "iperf3",
                "-c",
                f"10.69.{100 + k}.1",
                "-p",
                str(5300 + k),
                "-u",
                "-b",
                "300M",
                "-l",
                "1400",
                "-t",
                "4",
            ],
            stdout=subprocess.DEVNULL,
        )
        for k in (1, 2)
    ]
    for c in clients:
        c.wait(timeout=30)
    for k, s in servers.items():
        out, _ = s.communicate(timeout=30)
        results[k] = float(json.loads(out)["end"]["sum_received"]["bits_per_second"]) / 1e6
    print(f"two 100 Mb/s Connectors, each offered 300: {results[1]:.1f} and {results[2]:.1f}")
    assert min(results.values()) >= 95


def test_a_change_in_place_loses_no_ping_and_takes_effect(wire: None) -> None:
    netdev.shape("pe-b1", "tbw-pe", 100)
    ping = subprocess.Popen(
        ["ip", "netns", "exec", "tbw-a", "ping", "-i", "0.05", "-c", "60", "10.69.101.1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)
    assert netdev.shape("pe-b1", "tbw-pe", 200) == "shaper pe-b1 200M"
    out, _ = ping.communicate(timeout=30)
    assert " 0% packet loss" in out, out
    assert netdev.shaped_mbps("pe-b1", "tbw-pe") == 200
    got = udp_mbps(1, offered=300)
    print(f"after a change to 200 Mb/s: {got:.1f} delivered; 60 pings at 50 ms: 0 lost")
    assert abs(got - 200) <= 10
