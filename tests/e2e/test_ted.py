"""The edge choice reads the network (issue 24): IS-IS overload bit, core links down and a
dead bgpd on pe1-lon each exclude it with the reason shown; healthy PEs share the load;
an Azure pair never lands both legs on one PE. A lab of its own ("ted", 172.20.68.0/24)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from onramp.core.errors import OnrampError
from onramp.core.shapes import IgpDatabase
from onramp.flow.edges import graph, reaches
from onramp.flow.service import Service
from onramp.lab.run import FRR_RUN, Lab, sh
from onramp.validation.parsers.frr import ShowIsisDatabase

from ..flow.recorded import database
from .conftest import module_lab

RRS = ["p1-par", "p1-fra"]  # the route reflectors
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


def overloaded(lab: Lab, router: str) -> None:
    """Set `router`'s overload bit and wait until both route reflectors hold its LSP with
    it: the read can come sooner than the router makes its new LSP (lsp-gen-interval)."""
    vtysh_conf(lab, router, "router isis core", "set-overload-bit")
    for rr in ("p1-par", "p1-fra"):
        until(
            f"{rr} holds {router}'s LSP with OL",
            lambda rr=rr: lsp_line(lab, rr, router).endswith("0/0/1"),
        )


def test_overload_bit_moves_the_order_to_pe2_lon(ted: tuple[Lab, Service]) -> None:
    lab, svc = ted
    assert plan(svc, ENT_LON)["attachments"][0]["router"] == "pe1-lon"  # emptiest, by name
    overloaded(lab, "pe1-lon")
    try:
        view = plan(svc, ENT_LON)
        assert view["attachments"][0]["router"] == "pe2-lon"
        assert edges_of(view)["pe1-lon"] == "overloaded: IS-IS overload bit set"
        chosen = [e for e in view["explain"] if e["chosen"]]
        assert [(e["router"], e["score"] is not None) for e in chosen] == [("pe2-lon", True)]
    finally:
        vtysh_conf(lab, "pe1-lon", "router isis core", "no set-overload-bit")
        until(
            "the bit cleared everywhere",
            lambda: lsp_line(lab, "p1-fra", "pe1-lon").endswith("0/0/0"),
        )


def lsp_line(lab: Lab, node: str, of: str) -> str:
    """`of`'s LSP header (fragment 0) in `node`'s copy of the database."""
    db = lab.vtysh(node, "show isis database")
    return next((ln for ln in db.splitlines() if ln.startswith(f"{of}.00-00")), "")


def until(what: str, ok: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Wait for the network to reach the state a test sets up (not a timed assertion)."""
    deadline = time.monotonic() + timeout_s
    while not ok():
        assert time.monotonic() < deadline, f"not reached in {timeout_s:g}s: {what}"
        time.sleep(0.2)


def test_core_links_down_isolate_pe1_lon(ted: tuple[Lab, Service], tmp_path: Path) -> None:
    """pe1-lon's core links go down while the route reflectors still hold an LSP of it with
    the overload bit (set, then cleared after the links went: the clearing cannot flood).
    Excluded as isolated, not as overloaded: the route reflectors' SPF no longer reaches
    it, and its own copy, the newest, has the bit cleared."""
    lab, svc = ted
    ns = lab.ns("pe1-lon")
    vtysh_conf(lab, "pe1-lon", "router isis core", "set-overload-bit")
    until(
        "p1-par holds pe1-lon's LSP with OL",
        lambda: lsp_line(lab, "p1-par", "pe1-lon").endswith("0/0/1"),
    )
    for dev in ("eth1", "eth2"):
        sh("ip", "link", "set", dev, "down", ns=ns)
    vtysh_conf(lab, "pe1-lon", "router isis core", "no set-overload-bit")
    try:
        until("pe1-lon's own LSP without OL and p1-par's without pe1-lon", lambda: (
            lsp_line(lab, "pe1-lon", "pe1-lon").endswith("0/0/0")
            and "pe1-lon" not in lab.vtysh("p1-par", "show isis neighbor")
            and "pe1-lon" not in lab.vtysh("p1-fra", "show isis neighbor")))  # fmt: skip
        assert lsp_line(lab, "p1-par", "pe1-lon").endswith("0/0/1")  # the stale copy stays
        # p1-par drops pe1-lon from its own LSP only at its next one (lsp-gen-interval):
        # until then its copy still joins pe1-lon both ways, which is not the case recorded
        until("p1-par's copy no longer joins pe1-lon to a route reflector", lambda: not reaches(
            graph(copy_of(lab, "p1-par")["nodes"]), "pe1-lon", RRS))  # fmt: skip
        got = record(lab, tmp_path, "isolated", "p1-par", "pe1-lon")
        # what tests/flow/test_edges.py reads in the recorded case holds in this recording
        stale = got["p1-par"]["nodes"]
        assert stale["pe1-lon"]["overload"] and not reaches(graph(stale), "pe1-lon", RRS)
        assert not got["pe1-lon"]["nodes"]["pe1-lon"]["overload"]
        view = plan(svc, ENT_LON)
        assert view["attachments"][0]["router"] == "pe2-lon"
        assert edges_of(view)["pe1-lon"] == "isolated: no IGP path to a route reflector"
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
    overloaded(lab, "pe2-lon")
    try:  # the secondary's only PE is out: refused, not both legs on pe1-lon
        with pytest.raises(OnrampError) as err:
            plan(svc, AZURE)
        assert err.value.code == "ONR-ALLOC-001"
        assert "pe2-lon: overloaded" in err.value.reason
    finally:
        vtysh_conf(lab, "pe2-lon", "router isis core", "no set-overload-bit")
        until(
            "the bit cleared everywhere",
            lambda: lsp_line(lab, "p1-fra", "pe2-lon").endswith("0/0/0"),
        )


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


def cli(svc: Service, *args: str) -> Any:
    """`onramp ... --json` as an engineer runs it: another process, this lab's config."""
    proc = subprocess.run([sys.executable, "-m", "onramp.cli", "--config", str(svc.settings.path),
                           *args, "--json"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)


def test_topology_show_and_what_if_read_the_lab(ted: tuple[Lab, Service]) -> None:
    """`topology show --fresh` reads the six routers' IS-IS and health over SSH; failing
    pe1-lon takes the Connector there down; failing one of its core links changes nothing
    for it (the other one carries it) and isolates nobody."""
    _, svc = ted
    made = svc.create_connector(svc.connector_request(ENT_LON))
    try:
        topo = cli(svc, "topology", "show", "--fresh")
        assert sorted(topo["nodes"]) == sorted(svc.backbone.routers)
        assert all(h["reachable"] for h in topo["health"].values())
        assert topo["nodes"]["pe1-lon"]["neighbors"] == {"p1-par": 30, "p1-fra": 50}
        (router,) = [a["router"] for a in made["attachments"]]
        report = cli(svc, "topology", "what-if", "--fail", router)
        assert made["id"] in report["connectors_down"]  # with the earlier tests' ones there
        assert report["calibration"]["source"] == "config"  # no KPI probe in this lab
        report = cli(svc, "topology", "what-if", "--fail", f"{router}--p1-fra")
        assert (report["connectors_down"], report["isolated"]) == ([], [])
    finally:
        svc.delete_connector(made["id"])


RECORDED = Path(__file__).parent.parent / "validation" / "recorded"


def copy_of(lab: Lab, node: str) -> IgpDatabase:
    """`node`'s copy of the IS-IS database, parsed as the edge choice reads it."""
    db: IgpDatabase = ShowIsisDatabase(device=None).parse(
        output=lab.vtysh(node, "show isis database detail"),
        hostnames=lab.vtysh(node, "show isis hostname"),
    )
    return db


def record(lab: Lab, tmp: Path, case: str, *copies: str) -> dict[str, IgpDatabase]:
    """Each router's copy of the IS-IS database, as tests/validation/test_isis.py and
    tests/flow/test_edges.py read them (several copies: isis-copies/<case>/<router>/).
    Into `tmp`, parsed back there: the recorded cases in the tree change only when an
    engineer asks (ONRAMP_RECORD=1), never under a test run whose unit tests read them."""
    root = RECORDED if os.environ.get("ONRAMP_RECORD") == "1" else tmp
    out = {}
    for node in copies:
        d = root / "isis" / case if len(copies) == 1 else root / "isis-copies" / case / node
        d.mkdir(parents=True, exist_ok=True)
        (d / "database.txt").write_text(lab.vtysh(node, "show isis database detail"))
        (d / "hostname.txt").write_text(lab.vtysh(node, "show isis hostname"))
        out[node] = database(d)
    return out


def test_record_outputs(ted: tuple[Lab, Service], tmp_path: Path) -> None:
    """The default lab, healthy and with pe1-lon's overload bit set, as p1-par sees it."""
    lab, _ = ted
    record(lab, tmp_path, "default", "p1-par")
    vtysh_conf(lab, "pe1-lon", "router isis core", "set-overload-bit")
    try:
        until(
            "p1-par holds pe1-lon's LSP with OL",
            lambda: lsp_line(lab, "p1-par", "pe1-lon").endswith("0/0/1"),
        )
        record(lab, tmp_path, "overload", "p1-par")
    finally:
        vtysh_conf(lab, "pe1-lon", "router isis core", "no set-overload-bit")
        until(
            "the bit cleared everywhere",
            lambda: lsp_line(lab, "p1-fra", "pe1-lon").endswith("0/0/0"),
        )
