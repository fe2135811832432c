"""Every rendered FRR config passes FRR's own parser (`vtysh -C -f`: the lab's binaries,
no daemon needed): each router's whole config with every kind of Connector on it, and the
removal snippets. That FRR also keeps every line as rendered is shown in the lab
(tests/e2e/test_deploy.py: a plan right after an apply diffs empty)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from onramp.core.model import Attachment, Connector
from onramp.core.settings import ROOT
from onramp.flow import offline
from onramp.network import intent
from onramp.network.inventory import Backbone, load
from onramp.network.templates import RouterServices, feature_config, router_config

pytestmark = pytest.mark.skipif(shutil.which("vtysh") is None, reason="FRR not installed")


@pytest.fixture(scope="module")
def bb() -> Backbone:
    return load(ROOT / "inventory")


def connector(bb: Backbone, router: str, port: str, inner: int | None, local_as: int) -> Connector:
    return Connector(
        id=uuid.UUID(int=7),
        tenant="acme",
        onramp=next(p.onramp for p in bb.routers[router].onramp_ports if p.name == port),
        kind="aws-hosted-vif",
        state="active",
        bandwidth_mbps=100,
        vrf="c7",
        local_asn=local_as,
        peer_asn=64512,
        mtu=1500,
        md5_key="set",
        request={"prefixes": ["10.1.0.0/16", "192.0.2.1/32"]},
        created_at=None,
        attachments=[
            Attachment(
                role="single",
                router=router,
                port=port,
                interface=f"{port}.100",
                vlan=100,
                inner_vlan=inner,
                rd=f"{bb.routers[router].loopback.ip}:7",
                subnet="169.254.0.0/30",
                local_address="169.254.0.1/30",
                peer_address="169.254.0.2/30",
            )
        ],
    )


def check(config: str, tmp_path: Path) -> None:
    """What `onramp validate` runs: no finding."""
    assert offline.frr_syntax({"config": config}) == [], f"FRR refused:\n---\n{config}"


def test_every_routers_backbone_config_parses(bb: Backbone, tmp_path: Path) -> None:
    for name in bb.routers:
        check(router_config(bb, name, RouterServices(name)), tmp_path)


@pytest.mark.parametrize(
    ("inner", "local_as", "rts"),
    [(None, 65000, []), (7, 65000, ["65000:1", "65000:2"]), (None, 4200000001, ["65000:3"])],
    ids=["single-vlan", "qinq-two-links", "own-private-asn"],
)
def test_router_config_with_a_connector_and_its_removal_parse(
    bb: Backbone, tmp_path: Path, inner: int | None, local_as: int, rts: list[str]
) -> None:
    for router in (r for r in bb.routers.values() if r.onramp_ports):
        port = router.onramp_ports[0].name
        data = intent.connector(
            bb,
            connector(bb, router.name, port, inner, local_as),
            router.name,
            md5_key="Abcdefghijkmnopq23456789",
            route_targets=rts,
            remote_prefixes=["10.2.0.0/16"],
            max_prefixes=100,
        )
        whole = router_config(bb, router.name, RouterServices(router.name, [data]))
        check(whole, tmp_path)
        check(feature_config("frr", data, remove=True), tmp_path)


def test_the_parser_refuses_what_frr_does_not_know(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="Unknown command"):
        check("router bgp 65000\n neighbor 192.0.2.1 remote-az 1\n", tmp_path)
