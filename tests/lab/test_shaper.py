"""frr-netdev's shaper on the real kernel, measured with iperf3 (onramp.lab.iperf): a sender,
a "PE" that forwards and shapes (what frr-netdev does to a Connector's subinterface), a
receiver; all namespaces of their own (shp-*, 10.69.x), no FRR. Offered 300 Mb/s into 100
delivers 100, both ways through the device; two shaped 100s on one port each get their 100;
a change to 200 in place delivers 200 and a ping every 50 ms across the change loses nothing.
"Delivers R": more than the next lower step lets through, no more than R does
(`iperf.ceiling`: a shaper's figure falls short only by what a busy machine loses)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from onramp.lab import iperf, netdev

if os.geteuid() != 0 or not shutil.which("iperf3"):
    pytest.skip("needs root (namespaces) and iperf3 (make deps)", allow_module_level=True)


@pytest.fixture(scope="module")
def wire() -> Iterator[None]:
    with iperf.bare_pe():
        yield


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
    assert netdev.shape("pe-b1", "shp-pe", 100) == "shaper pe-b1 100M"
    got = iperf.one(iperf.to_b(1, 300))
    print(f"offered 300 Mb/s into a 100 Mb/s Connector: {got}")
    assert iperf.ceiling(50) < got.received_mbps <= iperf.ceiling(100), got


def test_what_comes_in_from_the_cloud_is_shaped_too(wire: None) -> None:
    """A Connector's own rate holds for what its cloud sends, whatever Links carry it on:
    frr-netdev shapes the subinterface's ingress as well (ifb), not only its egress."""
    netdev.shape("pe-b1", "shp-pe", 100)
    assert netdev.shape_inbound("pe-b1", "shp-pe", 100) == "inbound shaper pe-b1 100M"
    got = iperf.one(iperf.from_b(1, 300))
    print(f"offered 300 Mb/s from the cloud of a 100 Mb/s Connector: {got}")
    assert iperf.ceiling(50) < got.received_mbps <= iperf.ceiling(100), got
    assert netdev.shape_inbound("pe-b1", "shp-pe", 200) == "inbound shaper pe-b1 200M"
    assert netdev.shape_inbound("pe-b1", "shp-pe", 200) is None  # nothing to change
    assert netdev.shape_inbound("pe-b1", "shp-pe", None) == "-inbound shaper pe-b1"
    links = ["ip", "-n", "shp-pe", "-br", "link"]
    assert "ifb" not in subprocess.run(links, capture_output=True, text=True, check=True).stdout


def test_two_connectors_on_one_port_each_get_their_share(wire: None) -> None:
    netdev.shape("pe-b1", "shp-pe", 100)
    netdev.shape("pe-b2", "shp-pe", 100)
    one, two = iperf.udp([iperf.to_b(1, 300, port=5301), iperf.to_b(2, 300, port=5302)])
    print(f"two 100 Mb/s Connectors, each offered 300: {one} and {two}")
    for m in (one, two):
        assert iperf.ceiling(50) < m.received_mbps <= iperf.ceiling(100), (one, two)


def test_a_change_in_place_loses_no_ping_and_takes_effect(wire: None) -> None:
    netdev.shape("pe-b1", "shp-pe", 100)
    ping = subprocess.Popen(
        ["ip", "netns", "exec", "shp-a", "ping", "-i", "0.05", "-c", "60", "10.69.101.1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)
    assert netdev.shape("pe-b1", "shp-pe", 200) == "shaper pe-b1 200M"
    out, _ = ping.communicate(timeout=30)
    assert " 0% packet loss" in out, out
    assert netdev.shaped_mbps("pe-b1", "shp-pe") == 200
    got = iperf.one(iperf.to_b(1, 300))
    print(f"after a change to 200 Mb/s: {got}; 60 pings at 50 ms: 0 lost")
    assert iperf.ceiling(100) < got.received_mbps <= iperf.ceiling(200), got
