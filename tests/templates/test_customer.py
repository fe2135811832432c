"""The customer's router config (`templates/customer/<platform>.j2`, onramp.network.customer):
one computed shape rendered per platform; the golden files are kept by test_golden.py
(`customer/<platform>[.qinq].txt`). Here: every platform says the facts the customer
needs, FRR's own parser takes the FRR one, wrong input is refused with a code."""

from __future__ import annotations

import shutil
from typing import get_args

import pytest

from onramp.core.errors import OnrampError
from onramp.core.shapes import CustomerPlatformName
from onramp.flow import offline
from onramp.network import customer
from onramp.validation import golden


def test_the_platforms_are_the_declared_names() -> None:
    assert list(customer.CUSTOMER_PLATFORMS) == list(get_args(CustomerPlatformName))


@pytest.mark.parametrize("platform", list(customer.CUSTOMER_PLATFORMS))
@pytest.mark.parametrize("inner", [None, 7])
def test_every_platform_carries_what_the_customer_must_configure(
    platform: str, inner: int | None
) -> None:
    data = golden.customer_case(platform, inner)
    text = customer.render(data)
    for fact in ("120", "100.64.0.7", "100.64.0.6", "65101", "65000", "1500", "10.1.0.0/16",
                 "192.0.2.7/32", golden.KEY):  # fmt: skip
        assert fact in text, (platform, fact)
    c_tag = {"ios": "second-dot1q 7", "iosxr": "second-dot1q 7", "junos": "outer 120 inner 7",
             "frr": "interface eth1.120.7"}[platform]  # fmt: skip
    assert (c_tag in text) == (inner is not None)
    (a,) = data["attachments"]
    assert (a["vlan"], a["inner_vlan"], a["neighbor"]) == (120, inner, "100.64.0.6")


def test_no_key_no_password_line() -> None:
    for platform in customer.CUSTOMER_PLATFORMS:
        data = {**golden.customer_case(platform), "password": None}
        text = customer.render(data)  # type: ignore[arg-type]
        assert "password" not in text and "authentication-key" not in text


@pytest.mark.skipif(shutil.which("vtysh") is None, reason="FRR not installed")
@pytest.mark.parametrize("inner", [None, 7])
def test_frr_takes_the_frr_config(inner: int | None) -> None:
    text = customer.render(golden.customer_case("frr", inner))
    assert offline.frr_syntax({"config": text}) == [], text


def test_another_port_name_and_refusals() -> None:
    view = golden.customer_case("ios")
    assert view["attachments"][0]["interface"] == "GigabitEthernet0/0/1.120"
    data = golden.customer_case("frr", 7)
    assert data["attachments"][0]["interface"] == "eth1.120.7"
    with pytest.raises(OnrampError) as e:
        customer.platform_of("eos")
    assert (e.value.code, e.value.field) == ("ONR-REQ-008", "platform")
    with pytest.raises(OnrampError) as e:
        golden_view = golden.customer_case("ios")  # a port name that would break a config line
        customer.customer_config(
            {"id": golden_view["connector"], "tenant": "acme", "onramp": "ent-par",
             "kind": "enterprise", "state": "allocated", "bandwidth_mbps": 100, "vrf": "c1",
             "local_asn": 65000, "peer_asn": 65101, "mtu": 1500, "md5_key": None,
             "attachments": [], "request": {}, "created_at": None, "csp_resource": None,
             "reason": None},
            "ios", password=None, max_prefixes=100, port="Gi0/1\n router bgp 1",
        )  # fmt: skip
    assert (e.value.code, e.value.field) == ("ONR-REQ-008", "interface")
