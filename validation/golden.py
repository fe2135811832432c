"""Golden files: every feature x platform rendered for one fixed case and kept in
validation/golden/<feature>/<platform>[.qinq][.remove].txt (and the customer's router's
config per its platform: customer/<platform>[.qinq].txt), so that any change to a
template or to the intent data shows in review. `tests/templates/test_golden.py` and
`onramp validate` both compare; `UPDATE_GOLDEN=1 .venv/bin/pytest tests/templates`
rewrites the files after a deliberate change (review their diff before committing).
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from onramp.core.model import Attachment, Connector
from onramp.core.shapes import ConnectorIntent, ConnectorView, CustomerConfig
from onramp.network import customer, intent
from onramp.network.inventory import Backbone, load
from onramp.network.inventory.generate import generate, write
from onramp.network.platforms import PLATFORMS
from onramp.network.templates import SERVICE_FEATURES, render

GOLDEN = Path(__file__).parent / "golden"
PLATFORM_NAMES = tuple(PLATFORMS)
# generate(platforms=PLATFORM_NAMES) gives its PEs pe1, pe2, ... the platforms in that order
ROUTER = {p: f"pe{i}" for i, p in enumerate(PLATFORM_NAMES, start=1)}
KEY = "GoldenCaseKey23456789abc"  # a fixed fake MD5 key


def backbone() -> Backbone:
    """The golden cases' inventory: generated, 6 routers, a PE of each platform."""
    with tempfile.TemporaryDirectory() as d:
        write(generate(6, platforms=list(PLATFORM_NAMES)), Path(d))
        return load(Path(d))


def case(bb: Backbone, platform: str, inner: int | None = None) -> ConnectorIntent:
    """The intent data of the golden Connector on the platform's PE."""
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
    segments = [intent.segment(bb, "00000000-0000-4000-8000-0000000011c7", 7, members, members[0],
                               bandwidth_mbps=200)]  # fmt: skip
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


def customer_case(platform: str, inner: int | None = None) -> CustomerConfig:
    """The customer's side of a golden enterprise Connector (no backbone needed: the view
    is what the store would show)."""
    view: ConnectorView = {
        "id": "00000000-0000-4000-8000-00000000ce01",
        "tenant": "acme",
        "onramp": "ent-par",
        "kind": "enterprise",
        "state": "allocated",
        "bandwidth_mbps": 500,
        "vrf": "c42",
        "local_asn": 65000,
        "peer_asn": 65101,
        "mtu": 1500,
        "md5_key": "set",
        "attachments": [{"role": "single", "router": "pe1-par", "port": "eth4",
                         "interface": "eth4.120", "vlan": 120, "inner_vlan": inner,
                         "rd": "10.255.0.1:42", "subnet": "100.64.0.6/31",
                         "local_address": "100.64.0.6/31", "peer_address": "100.64.0.7/31"}],
        "request": {"prefixes": ["10.1.0.0/16", "192.0.2.7/32"], "customer_asn": 65101},
        "created_at": None,
        "csp_resource": None,
        "reason": None,
        "change": None,
    }  # fmt: skip
    return customer.customer_config(view, platform, password=KEY, max_prefixes=100)


def rendered(bb: Backbone) -> dict[str, str]:
    """{golden file name: what the templates render for it now}."""
    out: dict[str, str] = {}
    for platform in PLATFORM_NAMES:
        out[f"backbone/{platform}.txt"] = render("backbone", platform,
                                                 intent.backbone(bb, ROUTER[platform]))  # fmt: skip
        for feature in SERVICE_FEATURES:
            for remove in (False, True):
                name = f"{feature}/{platform}{'.remove' if remove else ''}.txt"
                out[name] = render(feature, platform, case(bb, platform), remove=remove)
        if PLATFORMS[platform].bgp_ls:  # on a route reflector: the graph's source
            out[f"bgp_ls/{platform}.txt"] = render("bgp_ls", platform,
                                                   intent.bgp_ls(bb, "p1", platform))  # fmt: skip
        out[f"onramp_interface/{platform}.qinq.txt"] = render(
            "onramp_interface", platform, case(bb, platform, inner=7)
        )
    for name in customer.CUSTOMER_PLATFORMS:  # the customer's router (ios: no PE of ours)
        out[f"customer/{name}.txt"] = customer.render(customer_case(name))
        out[f"customer/{name}.qinq.txt"] = customer.render(customer_case(name, inner=7))
    return out


def changed(bb: Backbone | None = None) -> list[str]:
    """The golden files the templates no longer render (missing ones included)."""
    now = rendered(bb or backbone())
    return sorted(n for n, text in now.items()
                  if not (GOLDEN / n).exists() or (GOLDEN / n).read_text() != text)  # fmt: skip
