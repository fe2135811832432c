"""The edge choice, what-if and the drain's dry run on a real store with a topology
recorded from the ted lab (tests/validation/recorded/isis/default): nothing reads a router."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from onramp.core.errors import OnrampError
from onramp.core.model import LinkRequest, State
from onramp.core.secrets import Vault
from onramp.core.settings import EdgeWeights, Settings, TopologySettings, load_settings
from onramp.core.shapes import TopologyView
from onramp.core.store import ConnectorRow, KpiSampleRow, Store
from onramp.flow import allocate as al
from onramp.flow import topology
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service
from onramp.network.inventory import Backbone
from onramp.runbooks import drain

from ..flow import recorded
from .test_allocation import req
from .test_intended import set_state

RRS = ["p1-fra", "p1-par"]


def edge(topo: TopologyView | None = None) -> al.EdgeContext:
    return al.EdgeContext(topo or recorded.topology("default", RRS), EdgeWeights(), RRS, [])


def ent_lon(store: Store, backbone: Backbone, vault: Vault, e: al.EdgeContext) -> str:
    made = al.create_connector(store, backbone, req("ent", onramp="ent-lon"), vault, edge=e)
    (a,) = made["attachments"]
    return a["router"]


def test_orders_at_one_onramp_share_its_pes(store: Store, backbone: Backbone, vault: Vault) -> None:
    """All healthy: ent-lon's orders alternate between pe1-lon and pe2-lon. The tenant's
    Connectors at the same on-ramp are no far end to be near: counted as such, the IGP term
    (0 to the PE itself) piled them onto the first one's PE (3 to 1 in the ted lab)."""
    e = edge()
    routers = [ent_lon(store, backbone, vault, e) for _ in range(4)]
    assert routers == ["pe1-lon", "pe2-lon", "pe1-lon", "pe2-lon"]


def test_far_ends_still_pull(store: Store, backbone: Backbone, vault: Vault) -> None:
    """The tenant's Connector at another on-ramp counts: its PE's IGP cost is in the score."""
    al.create_connector(store, backbone, req("ent"), vault)  # ent-par, on pe1-par
    e = edge()
    ent_lon(store, backbone, vault, e)
    assert {c["router"]: c["terms"]["igp"] for c in e.explain} == {"pe1-lon": 40.0, "pe2-lon": 40.0}


def linked(store: Store, backbone: Backbone, vault: Vault) -> dict[str, Any]:
    """acme: an Azure pair (pe1-lon + pe2-lon) and an AWS Connector (pe1-par), joined by a
    gold Link (eu-west/eu-west: 10 ms); and an ent-lon Connector (pe1-lon)."""
    azure = al.create_connector(store, backbone, req("azure"), vault)
    aws = al.create_connector(store, backbone, req("aws"), vault)
    site = al.create_connector(store, backbone, req("ent", onramp="ent-lon"), vault)
    body = LinkRequest(tenant="acme", a=aws["id"], b=azure["id"], bandwidth_mbps=500,
                       sla_class="gold")  # fmt: skip
    link = al.create_link(store, backbone, body)
    return {"azure": azure["id"], "aws": aws["id"], "site": site["id"], "link": link["id"]}


def what_if(store: Store, backbone: Backbone, fail: str) -> Any:
    return topology.what_if(recorded.topology("default", RRS), store, backbone, fail, 0.1)


def test_a_failed_pe_takes_single_legs_down_and_pairs_to_one_leg(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    ids = linked(store, backbone, vault)
    report = what_if(store, backbone, "pe1-lon")
    assert report["connectors_down"] == [ids["site"]]
    assert report["connectors_degraded"] == [ids["azure"]]
    assert report["isolated"] == []
    assert report["links"] == []  # the Link's traffic takes pe2-lon: the same cost, 40


def kpi(store: Store, link: str, latencies: list[float]) -> None:
    now = datetime.now(UTC)
    store.transact(lambda s: s.add_all(
        KpiSampleRow(link_id=link, at=now - timedelta(minutes=i), sent=5, received=5,
                     latency_avg_ms=ms, latency_p95_ms=ms, jitter_ms=0.1)
        for i, ms in enumerate(latencies)))  # fmt: skip


def test_a_failed_core_link_breaches_the_sla_by_the_probes_calibration(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    """pe1-par--p1-par down: the Link's cost goes 40 -> 90 (via p1-fra). No probe: the
    config's 0.1 ms per unit, 9 ms, within gold's 10. Probes at 8 ms over cost 40 fit
    0.2 ms per unit: 18 ms, breached; the output says which calibration it used."""
    ids = linked(store, backbone, vault)
    (impact,) = what_if(store, backbone, "pe1-par--p1-par")["links"]
    assert impact == {"link": ids["link"], "sla_class": "gold", "cost_before": 40.0,
                      "cost_after": 90.0, "latency_ms": 9.0, "limit_ms": 10.0, "breached": False}  # fmt: skip
    kpi(store, ids["link"], [7.5, 8.0, 8.5, 30.0, 8.0])  # the median: one bad window is no fit
    report = what_if(store, backbone, "p1-par--pe1-par")
    assert report["calibration"] == {
        "ms_per_metric": 0.2,
        "source": "kpi",
        "links": 1,
        "samples": 5,
    }
    (impact,) = report["links"]
    assert (impact["latency_ms"], impact["breached"]) == (18.0, True)


def test_what_if_names_only_what_the_topology_has(store: Store, backbone: Backbone) -> None:
    with pytest.raises(OnrampError) as err:
        what_if(store, backbone, "pe1-lon--pe2-lon")  # no such adjacency
    assert (err.value.code, err.value.field) == ("ONR-REQ-011", "fail")


def cached(tmp_path: Path, topo: TopologyView) -> Settings:
    """Settings with topology.source on and `topo` as the fresh cache: what a Service
    reads then is the recorded network, not the routers."""
    base = load_settings()
    settings = base.model_copy(update={"topology": TopologySettings(
        source="isis-ssh", cache_file=tmp_path / "topology.json", max_age_s=3600)})  # fmt: skip
    settings.topology_cache.write_text(
        json.dumps(topo | {"source": "isis-ssh", "read_at": datetime.now(UTC).isoformat()})
    )
    return settings


def test_drain_dry_run_moves_by_the_same_model(
    store: Store, backbone: Backbone, vault: Vault, tmp_path: Path
) -> None:
    """The dry run places each Connector as the edge choice would (its explanation kept):
    pe2-lon overloaded, the ent-lon Connector on pe1-lon cannot move, and says why."""
    site = al.create_connector(store, backbone, req("ent", onramp="ent-lon"), vault)
    set_state(store, ConnectorRow, site["id"], State.ACTIVE)
    topo = recorded.topology("default", RRS)

    def dry() -> Any:
        svc = Service(cached(tmp_path, topo), store, backbone, vault)
        (m,) = drain.drain_pe(svc, "pe1-lon", False, Orchestrator(svc, {}, "test"),
                              lambda _: None)["moves"]  # fmt: skip
        return m

    move = dry()
    assert move["to"][0].startswith("pe2-lon ") and move["blocked"] is None
    assert [(c["router"], c["chosen"]) for c in move["explain"]] == [("pe2-lon", True)]
    topo["nodes"]["pe2-lon"]["overload"] = True
    move = dry()
    assert move["to"] is None
    assert "pe2-lon: overloaded: IS-IS overload bit set" in move["blocked"]


def test_a_failed_read_falls_back_to_the_store_only_choice_and_says_why(
    store: Store, backbone: Backbone, vault: Vault, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """topology.source on (config.yaml's default) but the read cannot start: the order is
    placed as without it (the emptier PE, by name), no explanation, the reason logged."""
    settings = cached(tmp_path, recorded.topology("default", RRS))
    settings.topology_cache.unlink()  # nothing cached: a plan reads
    settings.nornir["inventory"] = {"plugin": "NoSuchInventory"}
    svc = Service(settings, store, backbone, vault)
    view = svc.plan_connector(req("ent", onramp="ent-lon"))
    assert [a["router"] for a in view["attachments"]] == ["pe1-lon"]
    assert "explain" not in view
    assert "edge choice by inventory and store: the topology read failed" in caplog.text
    assert "NoSuchInventory" in caplog.text


def test_topology_commands_on_the_cached_read(tmp_path: Path, backbone: Backbone) -> None:
    """`onramp topology show|what-if --json` as an engineer runs them, on a cache of the
    recorded lab (no router read): the routers with their state, and pe1-lon's failure."""
    from typer.testing import CliRunner

    from onramp.cli.main import app

    topo = recorded.topology("default", RRS)
    topo["nodes"]["pe2-lon"]["overload"] = True
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({
        "nornir": {"inventory": {"plugin": "OnrampInventory",
                                 "options": {"directory": str(backbone.directory)}}},
        "store_url": "sqlite:///onramp.db", "secret_key_file": "k",
        "topology": {"source": "isis-ssh", "cache_file": "topology.json", "max_age_s": 3600}}))  # fmt: skip
    (tmp_path / "topology.json").write_text(
        json.dumps(topo | {"source": "isis-ssh", "read_at": datetime.now(UTC).isoformat()})
    )
    svc = Service.open(load_settings(config))
    svc.add_tenant("acme", "Acme")
    site = svc.create_connector(req("ent", onramp="ent-lon"))
    assert [a["router"] for a in site["attachments"]] == ["pe1-lon"]  # pe2-lon overloaded

    def run(*args: str) -> Any:
        result = CliRunner().invoke(app, ["--config", str(config), "topology", *args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    shown = run("show")
    assert shown["nodes"]["pe2-lon"]["overload"] and shown["nodes"]["pe1-lon"]["neighbors"]
    assert shown["load"]["pe1-lon"]["connectors"] == 1
    # the marks the API's GET /v1/topology and the Portal show (topology.marked): one place
    assert shown["routers"]["pe2-lon"] == {
        "role": "pe", "pop": "lon", "state": "excluded",
        "why": shown["routers"]["pe2-lon"]["why"]}  # fmt: skip
    assert "overload" in shown["routers"]["pe2-lon"]["why"]
    report = run("what-if", "--fail", "pe1-lon")
    assert report["connectors_down"] == [site["id"]]
    assert report["calibration"]["source"] == "config"
