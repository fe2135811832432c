"""The edge choice reads the network (issue 24): IS-IS overload bit, core links down and a
dead bgpd on pe1-lon each exclude it with the reason shown; healthy PEs share the load;
an Azure pair never lands both legs on one PE. A lab of its own ("ted", 172.20.68.0/24)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onramp.core.errors import OnrampError
from onramp.flow.service import Service
from onramp.lab.run import FRR_RUN, Lab, sh

from .conftest import module_lab

ENT_LON = {"tenant": "acme", "onramp": "ent-lon", "kind": "enterprise", "bandwidth_mbps": 100,
           "customer_asn": 65101, "prefixes": ["10.100.5.0/24"]}  # fmt: skip
AZURE = {"tenant": "acme", "onramp": "azure-er-lon", "kind": "azure-expressroute",
         "bandwidth_mbps": 1000, "azure_service_key": "5d2f9c1e-1111-4222-8333-444455556666",
         "prefixes": ["10.100.1.0/24"]}  # fmt: skip


@pytest.fixture(scope="module")
def ted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Service]]:
    tmp = tmp_path_factory.mktemp("ted")
    # every plan reads the network again: each test changes it just before
    with module_lab(tmp, "ted", 68, topology={"source": "isis-ssh", "max_age_s": 0}) as (
        lab,
        svc,
        _,
    ):
        yield lab, svc


def plan(svc: Service, order: dict[str, Any]) -> dict[str, Any]:
    return dict(svc.plan_connector(svc.connector_request(order)))


def edges_of(view: dict[str, Any]) -> dict[str, str]:
    return {e["router"]: e["excluded"] or "usable" for e in view["explain"]}


def vtysh_conf(lab: Lab, node: str, *lines: str) -> None:
    ns = lab.ns(node)
    sh(
        "vtysh",
        "-N",
        ns,
        "-c",
        "configure terminal",
        *[a for ln in lines for a in ("-c", ln)],
        ns=ns,
    )


def test_overload_bit_moves_the_order_to_pe2_lon(ted: tuple[Lab, Service]) -> None:
    lab, svc = ted
    assert plan(svc, ENT_LON)["attachments"][0]["router"] == "pe1-lon"  # emptiest, by name
    vtysh_conf(lab, "pe1-lon", "router isis core", "set-overload-bit")
    try:
        view = plan(svc, ENT_LON)
        assert view["attachments"][0]["router"] == "pe2-lon"
        assert edges_of(view)["pe1-lon"] == "overloaded: IS-IS overload bit set"
        chosen = [e for e in view["explain"] if e["chosen"]]
        assert [(e["router"], e["score"] is not None) for e in chosen] == [("pe2-lon", True)]
    finally:
        vtysh_conf(lab, "pe1-lon", "router isis core", "no set-overload-bit")


def test_core_links_down_isolate_pe1_lon(ted: tuple[Lab, Service]) -> None:
    lab, svc = ted
    ns = lab.ns("pe1-lon")
    for dev in ("eth1", "eth2"):
        sh("ip", "link", "set", dev, "down", ns=ns)
    try:
        view = plan(svc, ENT_LON)
        assert view["attachments"][0]["router"] == "pe2-lon"
        assert edges_of(view)["pe1-lon"].startswith("isolated:")
    finally:
        for dev in ("eth1", "eth2"):
            sh("ip", "link", "set", dev, "up", ns=ns)
        lab.wait_converged(60)


def test_healthy_pes_share_the_load(ted: tuple[Lab, Service]) -> None:
    _, svc = ted
    made = [svc.create_connector(svc.connector_request(ENT_LON)) for _ in range(4)]
    routers = [c["attachments"][0]["router"] for c in made]
    assert sorted(routers) == ["pe1-lon", "pe1-lon", "pe2-lon", "pe2-lon"]
    for c in made:
        svc.delete_connector(c["id"])


def test_azure_pair_never_on_one_pe(ted: tuple[Lab, Service]) -> None:
    lab, svc = ted
    view = plan(svc, AZURE)
    assert {a["router"] for a in view["attachments"]} == {"pe1-lon", "pe2-lon"}
    vtysh_conf(lab, "pe2-lon", "router isis core", "set-overload-bit")
    try:  # the secondary's only PE is out: refused, not both legs on pe1-lon
        with pytest.raises(OnrampError) as err:
            plan(svc, AZURE)
        assert err.value.code == "ONR-ALLOC-001"
        assert "pe2-lon: overloaded" in err.value.reason
    finally:
        vtysh_conf(lab, "pe2-lon", "router isis core", "no set-overload-bit")


def test_dead_bgpd_makes_pe1_lon_unhealthy(ted: tuple[Lab, Service]) -> None:
    lab, svc = ted
    ns = lab.ns("pe1-lon")
    pid = int((FRR_RUN / ns / "bgpd.pid").read_text().split()[0])
    subprocess.run(["kill", "-9", str(pid)], check=True)
    try:
        view = plan(svc, ENT_LON)
        assert view["attachments"][0]["router"] == "pe2-lon"
        assert edges_of(view)["pe1-lon"] == "unhealthy: bgpd down"
    finally:
        for cmd in lab.frr_start("pe1-lon"):  # bgpd again, then its config
            if "/bgpd " in cmd or " -b" in cmd:
                sh("sh", "-c", cmd, ns=ns)
        lab.wait_converged(90)


def test_record_outputs(ted: tuple[Lab, Service]) -> None:
    """Keep the parser's recorded cases true to this FRR: the default lab, healthy and with
    pe1-lon's overload bit set (tests/validation/test_isis.py reads them)."""
    lab, _ = ted
    root = Path(__file__).parent.parent / "validation" / "recorded" / "isis"

    def record(case: str) -> None:
        (root / case).mkdir(parents=True, exist_ok=True)
        (root / case / "database.txt").write_text(lab.vtysh("p1-par", "show isis database detail"))
        (root / case / "hostname.txt").write_text(lab.vtysh("p1-par", "show isis hostname"))

    record("default")
    vtysh_conf(lab, "pe1-lon", "router isis core", "set-overload-bit")
    try:
        for _ in range(50):  # the new LSP floods within a moment
            if "0/0/1" in lab.vtysh("p1-par", "show isis database"):
                break
            time.sleep(0.1)
        record("overload")
    finally:
        vtysh_conf(lab, "pe1-lon", "router isis core", "no set-overload-bit")
