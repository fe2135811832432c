"""napalm_frr offline, against outputs recorded from lab routers (mocked_data/<case>/):
the getters' results equal the recorded expectations, follow NAPALM's own models, and
say what a network engineer reads in them."""

from __future__ import annotations

import json
from typing import Any, get_type_hints

import napalm
import pytest
from napalm.base import models

from napalm_frr import FRRDriver

from .recorded import DATA, OWN, RecordedFRR, cases, expected


def run(case: str, name: str, **kwargs: Any) -> Any:
    """A getter's result on a recorded case: `name` a getter or one of our own calls."""
    method, args = OWN.get(name, (name, {}))
    result = getattr(RecordedFRR(case=DATA / case), method)(**{**args, **kwargs})
    return json.loads(json.dumps(result))  # int keys of get_bgp_neighbors_detail as JSON has them


def conforms(value: dict[str, Any], model: Any) -> None:
    """Every key of the TypedDict present, with a value of its type (NAPALM's test_model)."""
    hints = get_type_hints(model)
    assert set(value) == set(hints), f"{model.__name__}: {set(value) ^ set(hints)}"
    for key, kind in hints.items():
        origin = getattr(kind, "__origin__", kind)
        if origin in (int, float, str, bool, dict, list):
            allowed = (int, float) if origin is float else origin
            assert isinstance(value[key], allowed), f"{model.__name__}.{key}: {value[key]!r}"


def test_napalm_finds_the_driver() -> None:
    assert napalm.get_network_driver("frr") is FRRDriver


@pytest.mark.parametrize(
    ("case", "name"), [(c, n) for n in OWN for c in cases(n)], ids=lambda x: str(x)
)
def test_our_own_calls_replay_the_recorded_result(case: str, name: str) -> None:
    """napalm's suite covers its own calls (test_napalm_suite.py); these are ours."""
    result = run(case, name)
    assert result == expected(case, name)
    if "success" in result:
        conforms(result["success"], models.PingDict)
        for probe in result["success"]["results"]:
            conforms(probe, models.PingResultDictEntry)


def test_established_ebgp_session_inside_the_customer_vrf() -> None:
    bgp = run("pe-vrf-session-up", "get_bgp_neighbors")
    peer = bgp["c1"]["peers"]["169.254.64.2"]
    assert peer["is_up"] and peer["remote_as"] == 64512 and peer["local_as"] == 65000
    assert peer["address_family"]["ipv4"]["received_prefixes"] == 1  # the cloud's LAN
    assert set(bgp["global"]["peers"]) == {"10.255.0.11", "10.255.0.12"}  # the two RRs
    assert all(p["is_up"] for p in bgp["global"]["peers"].values())
    assert "169.254.64.2" not in bgp["global"]["peers"]


def test_session_down_is_reported_down() -> None:
    peer = run("pe-vrf-session-down", "get_bgp_neighbors")["c1"]["peers"]["169.254.64.2"]
    assert not peer["is_up"] and peer["is_enabled"]
    detail = run("pe-vrf-session-down", "get_bgp_neighbors_detail")["c1"]["64512"][0]
    assert detail["connection_state"] in ("Active", "Connect", "Idle")
    assert detail["routing_table"] == "c1"


def test_sanitized_config_has_no_key() -> None:
    running = run("pe-vrf-session-up", "get_config", sanitized=True)["running"]
    assert "neighbor 169.254.64.2 password <removed>" in running
    assert "RecordedLabKey" not in running
    assert not running.startswith("Building configuration")


def test_ping_in_a_vrf_and_unreachable() -> None:
    ok = run("pe-vrf-session-up", "ping_vrf")["success"]
    assert ok["probes_sent"] == 3 and ok["packet_loss"] == 0 and len(ok["results"]) == 3
    assert ok["rtt_min"] <= ok["rtt_avg"] <= ok["rtt_max"]
    assert "error" in run("pe-vrf-session-down", "ping_unreachable")


def test_unrecorded_command_fails_loudly() -> None:
    with pytest.raises(AssertionError, match="no recorded output"):
        RecordedFRR(case=DATA / "pe-vrf-session-down").get_facts()


def test_interfaces_and_addresses() -> None:
    ifaces = run("p-route-reflector", "get_interfaces")
    assert ifaces["eth1"]["is_up"] and ifaces["eth1"]["description"].startswith("core: ")
    ips = run("pe-vrf-session-up", "get_interfaces_ip")
    assert ips["lo"]["ipv4"]["10.255.0.1"] == {"prefix_length": 32}
    facts = run("p-route-reflector", "get_facts")
    assert facts["hostname"] == "p1-par" and facts["vendor"] == "FRRouting"
    assert facts["os_version"].startswith("8.")


def test_counters_include_the_interfaces_inside_vrfs() -> None:
    """pe1-par with an AWS Connector (VRF c1, eth3.2) linked across the core (vpn1): the
    attachment's counters come from the VRF's namespace; `lo` once."""
    counters = run("pe-linked-traffic", "get_interfaces_counters")
    assert {"eth1", "eth3", "eth3.2", "vpn1", "lo"} <= set(counters)
    vif = counters["eth3.2"]
    assert vif["rx_octets"] > 0 and vif["tx_octets"] > 0 and vif["rx_unicast_packets"] > 0
    state = run("pe-linked-traffic", "get_bgp_neighbors_detail")["c1"]["64512"][0]
    assert state["connection_state"] == "Established"


def test_the_customer_vrf_as_an_l3vpn_provider_reads_it() -> None:
    """pe1-par after the demo (an AWS Connector in VRF c1): the VRF, its attachment and
    its RD; the VPC's prefix learnt from AWS's AS inside it; the AWS peer in its ARP."""
    vrfs = run("pe-demo-aws", "get_network_instances")
    assert vrfs["c1"]["type"] == "L3VRF" and "eth3.2" in vrfs["c1"]["interfaces"]["interface"]
    assert vrfs["c1"]["state"]["route_distinguisher"] == "10.255.0.1:1"
    assert "eth3.2" not in vrfs["default"]["interfaces"]["interface"]
    (route,) = run("pe-demo-aws", "get_route_to", destination="10.100.0.0/24")["10.100.0.0/24"]
    assert route["routing_table"] == "c1" and route["next_hop"] == "169.254.64.2"
    assert route["protocol_attributes"]["as_path"] == "64512" and route["current_active"]
    arp = run("pe-demo-aws", "get_arp_table", vrf="c1")
    assert {"interface": "eth3.2", "ip": "169.254.64.2"}.items() <= next(
        a for a in arp if a["ip"] == "169.254.64.2"
    ).items()


def test_bgp_config_groups_and_reflector_clients() -> None:
    config = run("p-demo-rr", "get_bgp_config")
    assert all(n["route_reflector_client"] for n in config["RR-CLIENTS"]["neighbors"].values())
    assert (
        len(config["RR-CLIENTS"]["neighbors"]) == 4 and config["RR-CLIENTS"]["type"] == "internal"
    )
    assert not config["RR"]["neighbors"]["10.255.0.12"]["route_reflector_client"]
    only = run("p-demo-rr", "get_bgp_config", neighbor="10.255.0.12")
    assert list(only) == ["RR"] and list(only["RR"]["neighbors"]) == ["10.255.0.12"]


def test_counters_carry_the_routers_clock_at_each_namespaces_read() -> None:
    """The counters and the router's clock come from one command: a rate between two
    samples divides by the time between the reads on the router, not by when each SSH
    round trip happened to come back here (a tenth of a second apart under load). Each
    VRF's interfaces are read in its namespace after an `ip netns exec`, which under load
    starts well after the first read: each interface carries its own namespace's time,
    the middle of a `date` before and after its `ip` read."""
    from datetime import UTC, datetime

    from onramp.tasks.counters import read_counters

    dev = RecordedFRR(case=DATA / "pe-linked-traffic")
    counters, at = read_counters(dev)
    assert counters["eth3.2"]["tx_octets"] > 0
    # `date`s in the recording: 1796138491.000/.004 around the router's own namespace,
    # .180/.184 inside VRF c1's (eth3.2, the Connector's interface, lives there)
    assert at["eth1"] == datetime.fromtimestamp(1796138491.002, UTC)
    assert at["eth3.2"] == datetime.fromtimestamp(1796138491.182, UTC)
    assert at["lo"] == at["eth1"]  # each namespace has a `lo`: the router's is the one
