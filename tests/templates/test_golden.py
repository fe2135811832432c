"""Golden files: every feature x platform rendered for one fixed case, compared with
tests/templates/golden/<feature>/<platform>[.qinq][.remove].txt, so that any change to
a template or to the intent data shows in review.

After a deliberate change: `UPDATE_GOLDEN=1 .venv/bin/pytest tests/templates` rewrites
the files; review their diff before committing.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import jinja2
import pytest

from onramp import intent
from onramp.intended import SERVICE_FEATURES
from onramp.inventory import Backbone, load
from onramp.inventory.generate import generate, write
from onramp.model import Attachment, Connector
from onramp.platforms import PLATFORMS
from onramp.render import render

GOLDEN = Path(__file__).parent / "golden"
ROUTER = {"frr": "pe1", "iosxr": "pe2", "junos": "pe3"}  # generate(): one PE per platform
KEY = "GoldenCaseKey23456789abc"  # a fixed fake MD5 key


@pytest.fixture(scope="module")
def bb(tmp_path_factory: pytest.TempPathFactory) -> Backbone:
    directory = tmp_path_factory.mktemp("golden-inventory")
    write(generate(6, platforms=["frr", "iosxr", "junos"]), directory)
    return load(directory)


def case(bb: Backbone, platform: str, inner: int | None = None) -> dict[str, Any]:
    router = bb.routers[ROUTER[platform]]
    port = router.onramp_ports[0]
    conn = Connector(
        id=uuid.UUID("00000000-0000-4000-8000-00000000c0de"),
        tenant="acme",
        onramp=port.onramp,
        kind="aws-hosted-vif",
        state="active",
        bandwidth_mbps=500,
        vrf="c42",
        local_asn=bb.asn,
        peer_asn=64512,
        mtu=1500,
        md5_key="set",
        request={"prefixes": ["10.1.0.0/16", "192.0.2.7/32"]},
        created_at=None,
        attachments=[
            Attachment(
                role="single",
                router=router.name,
                port=port.name,
                interface=f"{port.name}.120",
                vlan=120,
                inner_vlan=inner,
                rd=f"{router.loopback.ip}:42",
                subnet="169.254.64.0/30",
                local_address="169.254.64.1/30",
                peer_address="169.254.64.2/30",
            )
        ],
    )
    # Link 7 joins c42 here to c43 on two other PEs (a redundant on-ramp); segments are
    # rendered on the platforms without MPLS forwarding only
    members = [("c42", router.name), ("c43", "pe2"), ("c43", "pe4")]
    segments = [intent.segment(bb, "00000000-0000-4000-8000-0000000011c7", 7, members, members[0])]
    return intent.connector(
        bb,
        conn,
        router.name,
        md5_key=KEY,
        route_targets=["65000:7", "65000:9"],
        remote_prefixes=["172.16.0.0/12"],
        max_prefixes=100,
        segments=segments if PLATFORMS[platform].vpn_segments else [],
    )


def compare(rendered: str, name: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rendered)
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1 and review it"
    assert rendered == path.read_text(), f"{name} changed: review, then UPDATE_GOLDEN=1"


PLATFORM_NAMES = ["frr", "iosxr", "junos"]


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_backbone(bb: Backbone, platform: str) -> None:
    data = intent.backbone(bb, ROUTER[platform])
    compare(render("backbone", platform, data), f"backbone/{platform}.txt")


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
@pytest.mark.parametrize("feature", SERVICE_FEATURES)
@pytest.mark.parametrize("remove", [False, True], ids=["add", "remove"])
def test_service_feature(bb: Backbone, platform: str, feature: str, remove: bool) -> None:
    rendered = render(feature, platform, case(bb, platform), remove=remove)
    compare(rendered, f"{feature}/{platform}{'.remove' if remove else ''}.txt")


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
def test_qinq_subinterface(bb: Backbone, platform: str) -> None:
    rendered = render("onramp_interface", platform, case(bb, platform, inner=7))
    compare(rendered, f"onramp_interface/{platform}.qinq.txt")
    assert "7" in rendered.split("120", 1)[1]  # the C-tag follows the S-tag


@pytest.mark.parametrize("platform", PLATFORM_NAMES)
@pytest.mark.parametrize("feature", ["backbone", *SERVICE_FEATURES])
def test_a_missing_value_is_an_error_not_an_empty_line(
    bb: Backbone, platform: str, feature: str
) -> None:
    data = intent.backbone(bb, ROUTER[platform]) if feature == "backbone" else case(bb, platform)
    needed = {"backbone": "isis", "vrf": "vrf", "onramp_interface": "interfaces"}
    broken = {k: v for k, v in data.items() if k != needed.get(feature, "neighbors")}
    with pytest.raises(jinja2.UndefinedError):
        render(feature, platform, broken)
