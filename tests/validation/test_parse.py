"""Parse-back round trips: for every feature x platform, the config rendered from intent
parses back to the same intent (validation.parse vs validation.project); and a running
config recorded from a real FRR router gives back the Connector it carries."""

from __future__ import annotations

from pathlib import Path

import pytest

from onramp.network import intent
from onramp.network.inventory import Backbone
from onramp.network.templates import SERVICE_FEATURES, render
from onramp.validation.golden import PLATFORM_NAMES, ROUTER, case
from onramp.validation.parse import ENCRYPTED, parse, project

from ..napalm_frr.recorded import DATA, file_name
from ..templates.test_golden import bb  # noqa: F401  (fixture)


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_backbone_round_trip(bb: Backbone, platform: str) -> None:  # noqa: F811
    data = intent.backbone(bb, ROUTER[platform])
    parsed = parse("backbone", platform, render("backbone", platform, data))
    assert parsed == project("backbone", data)
    assert parsed["ibgp"] and parsed["interfaces"]  # not an empty match


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
@pytest.mark.parametrize("feature", SERVICE_FEATURES)
@pytest.mark.parametrize("inner", [None, 7], ids=["vlan", "qinq"])
def test_service_round_trip(bb: Backbone, platform: str, feature: str, inner: int | None) -> None:  # noqa: F811
    data = case(bb, platform, inner=inner)
    assert parse(feature, platform, render(feature, platform, data)) == project(feature, data)


def test_a_changed_line_shows_in_the_parse(bb: Backbone) -> None:  # noqa: F811
    data = case(bb, "iosxr")
    text = render("bgp_neighbor", "iosxr", data).replace("remote-as 64512", "remote-as 64999")
    assert parse("bgp_neighbor", "iosxr", text) != project("bgp_neighbor", data)


def test_recorded_frr_running_config_gives_back_the_connector() -> None:
    """pe1-par's `show running-config`, recorded from the lab with an AWS Connector on it
    (tests/napalm_frr/mocked_data/pe-vrf-session-up): what FRR shows, merged and reordered."""
    text = (DATA / "pe-vrf-session-up" / file_name("vtysh -c 'show running-config'")).read_text()
    assert parse("vrf", "frr", text) == {
        "name": "c1",
        "rd": "10.255.0.1:1",
        "router_id": "10.255.0.1",
        "route_targets": [],
    }
    (iface,) = parse("onramp_interface", "frr", text)["interfaces"]
    assert (iface["vlan"], iface["address"], iface["vrf"]) == (2, "169.254.64.1/30", "c1")
    bgp = parse("bgp_neighbor", "frr", text)
    (n,) = bgp["neighbors"]
    assert (n["address"], n["remote_as"], n["hold"], n["max_prefix"]) == (
        "169.254.64.2",
        64512,
        30,
        100,
    )
    assert n["password"] == "RecordedLabKeyNotASecret"
    assert bgp["allowed"] == {"c1-in": [("10.100.0.0/24", 32)], "c1-out": []}
    backbone = parse("backbone", "frr", text)
    assert backbone["hostname"] == "pe1-par" and backbone["asn"] == 65000
    assert backbone["ibgp"] == ["10.255.0.11", "10.255.0.12"]


RECORDED = Path(__file__).parent / "recorded"


@pytest.mark.parametrize(
    ("platform", "text_file", "inner"),
    [("iosxr", "iosxr-pe2.txt", None), ("junos", "junos-pe3.txt", 7)],
)
def test_device_shaped_outputs_give_back_the_connector(
    bb: Backbone,  # noqa: F811
    platform: str,
    text_file: str,
    inner: int | None,
) -> None:
    """Outputs in the devices' own shape (IOS-XR `show running-config` with masks and an
    encrypted key; Junos `show configuration | display set` with its order, split
    vlan-tags and a $9$ key), among unrelated config: the Connector's intent comes back."""
    text = (RECORDED / text_file).read_text()
    data = case(bb, platform, inner=inner)
    for feature in SERVICE_FEATURES:
        want = project(feature, data)
        for n in want.get("neighbors", []):
            n["password"] = ENCRYPTED
        assert parse(feature, platform, text) == want, feature
    backbone = parse("backbone", platform, text)
    assert backbone["hostname"] == ROUTER[platform] and backbone["asn"] == 65000
    assert backbone["ibgp"] == ["10.255.0.11", "10.255.0.12"]
