"""Monitoring without a router: windows from NAPALM ping results recorded on the lab (loss,
latency avg/p95, jitter), the SLA of a Link's class per region pair, breaches opened,
worsened and closed as windows are stored, availability and SLA met, `onramp kpi show`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from onramp.cli.main import app
from onramp.core.settings import ROOT, load_settings, local_config
from onramp.core.store import ConnectorRow, LinkRow, move
from onramp.flow import monitor
from onramp.flow.service import Service

RECORDED = ROOT / "tests" / "napalm_frr" / "mocked_data"
AWS = {"tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
       "bandwidth_mbps": 100, "aws_account": "123456789012"}  # fmt: skip
ENT_FRA = {"tenant": "acme", "onramp": "ent-fra", "kind": "enterprise", "bandwidth_mbps": 100,
           "customer_asn": 65101, "prefixes": ["192.168.10.0/24"]}  # fmt: skip
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def recorded(case: str, getter: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(
        (RECORDED / getter / case / "expected_result.json").read_text()
    )
    return result


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return local_config(tmp_path)


@pytest.fixture
def svc(config: Path) -> Service:
    s = Service.open(load_settings(config))
    s.add_tenant("acme", "ACME")
    return s


def active_link(svc: Service, b_order: dict[str, Any], sla: str = "gold") -> str:
    ends = [svc.create_connector(svc.connector_request(o))["id"] for o in (AWS, b_order)]
    for c in ends:
        svc.store.transact(lambda s, i=c: move(s, s.get(ConnectorRow, i), "active", "test"))
    link = svc.create_link(svc.link_request({"tenant": "acme", "a": ends[0], "b": ends[1],
                                             "bandwidth_mbps": 100, "sla_class": sla}))  # fmt: skip
    svc.store.transact(lambda s: move(s, s.get(LinkRow, link["id"]), "active", "test"))
    return str(link["id"])


def test_a_window_from_a_recorded_ping() -> None:
    """Three replies 0.421, 0.080, 0.094 ms (pe1-par inside VRF c1, recorded)."""
    w = monitor.measure("L", recorded("pe-vrf-session-up", "ping_vrf"))
    assert (w.sent, w.received, w.loss_pct) == (3, 3, 0.0)
    assert w.latency_avg_ms == 0.198 and w.latency_p95_ms == 0.421
    assert w.jitter_ms == 0.177  # (|0.080 - 0.421| + |0.094 - 0.080|) / 2, not ping's mdev 0.157
    dead = monitor.measure("L", recorded("pe-vrf-session-down", "ping_unreachable"))
    assert dead.error and dead.loss_pct == 100.0 and dead.latency_avg_ms is None


def test_the_sla_depends_on_the_class_and_the_regions(svc: Service) -> None:
    gold = svc.backbone.catalogue.slas["gold"]
    assert gold.latency_for("eu-west", "eu-central") == 20
    assert gold.latency_for("eu-central", "eu-west") == 20  # either order
    assert gold.latency_for("eu-central", "us-east") == 150  # "*"
    w = monitor.Window("L", 100, 100, 25.0, 30.0, 1.0)
    assert monitor.broken(w, gold, ("eu-west", "eu-central")) == {"latency": 25.0}
    assert monitor.broken(w, gold, ("eu-central", "ap-south")) == {}
    lossy = monitor.Window("L", 1000, 998, 1.0, 1.0, 3.0)  # 0.2 % lost, 3 ms jitter
    assert monitor.broken(lossy, gold, ("eu-west", "eu-west")) == {"loss": 0.2, "jitter": 3.0}
    assert monitor.broken(monitor.Window("L", 0, 0, None, None, None, "unreachable"), gold,
                          ("eu-west", "eu-west")) == {"loss": 100.0}  # fmt: skip


def test_breaches_open_keep_the_worst_and_close(svc: Service) -> None:
    """AWS Paris (eu-west) to Frankfurt (eu-central), gold: loss <= 0.1 %."""
    link = active_link(svc, ENT_FRA)
    for n, lost in enumerate([0, 2, 7, 3, 0, 0]):
        monitor.record(svc, [monitor.Window(link, 100, 100 - lost, 1.0, 1.2, 0.1)],
                       T0 + timedelta(minutes=n))  # fmt: skip
    got = monitor.kpis(svc, link, T0, T0 + timedelta(hours=1))
    assert [s["breaches"] for s in got["samples"]] == [[], ["loss"], ["loss"], ["loss"], [], []]
    (breach,) = got["breaches"]
    assert breach == {"metric": "loss", "started_at": T0 + timedelta(minutes=1),
                      "ended_at": T0 + timedelta(minutes=4), "worst": 7.0}  # fmt: skip
    assert got["availability_pct"] == 100.0 and got["sla_met_pct"] == 50.0
    assert got["sla"] == {"loss_pct": 0.1, "jitter_ms": 2.0, "latency_ms": 20.0}
    # a window where nothing answered: not available, and a loss breach of 100 %
    monitor.record(svc, [monitor.Window(link, 20, 0, None, None, None)], T0 + timedelta(minutes=6))
    month = monitor.month(svc, link, 2026, 11)
    assert month["windows"] == 7 and month["availability_pct"] == pytest.approx(85.714)
    assert monitor.month(svc, link, 2026, 12)["windows"] == 0


def test_kpi_show_on_the_command_line(svc: Service, config: Path) -> None:
    link = active_link(svc, ENT_FRA, sla="silver")
    now = datetime.now(UTC)
    for n, lost in enumerate([0, 5]):
        monitor.record(svc, [monitor.Window(link, 20, 20 - lost, 0.3, 0.4, 0.02)],
                       now - timedelta(minutes=2 - n))  # fmt: skip

    def run(*args: str) -> Any:
        result = CliRunner().invoke(app, ["--config", str(config), "kpi", "show", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.output) if "--json" in args else result.output

    got = run(link[:8], "--json")
    assert [s["loss_pct"] for s in got["samples"]] == [0.0, 25.0]
    assert got["breaches"][0]["metric"] == "loss" and got["breaches"][0]["ended_at"] is None
    text = run(link[:8])
    assert "SLA silver" in text and "breach loss" in text and "now (open)" in text
    assert "availability 100 %" in run(link[:8], "--month", f"{now:%Y-%m}")
    bad = CliRunner().invoke(
        app, ["--config", str(config), "kpi", "show", link, "--month", "11/26"]
    )
    assert bad.exit_code != 0 and "ONR-REQ-008" in bad.output


def test_a_round_in_parts_covers_every_active_link_once(svc: Service) -> None:
    """monitor.parts (monitor.parts > 1: a round shared by the workers): every active Link
    in exactly one part, at most n parts; a part's poll probes its Links only."""
    links = [active_link(svc, ENT_FRA) for _ in range(5)]
    for n in (1, 2, 3, 8):
        shares = monitor.parts(svc, n)
        assert len(shares) == min(n, 5) and all(shares)
        assert sorted(i for p in shares for i in p) == sorted(links)
    part = monitor.parts(svc, 2)[0]
    assert sorted(p.link for p in monitor.probes(svc, part)) == sorted(part)


def counters(svc: Service, connector: str, mbps: list[float], at: datetime = T0) -> None:
    """Samples a minute apart on pe1-par eth3.2 whose differences are `mbps` out (toward
    the cloud) and a tenth of it in, as poll_connectors stores them."""
    from onramp.core.store import TrafficSampleRow

    tx = rx = 0
    rows = [TrafficSampleRow(connector_id=connector, at=at, router="pe1-par",
                             interface="eth3.2", rx_octets=0, tx_octets=0)]  # fmt: skip
    for n, m in enumerate(mbps, start=1):
        tx, rx = tx + int(m * 1e6 * 60 / 8), rx + int(m * 1e6 * 6 / 8)
        rows.append(TrafficSampleRow(connector_id=connector, at=at + timedelta(minutes=n),
                                     router="pe1-par", interface="eth3.2", rx_octets=rx,
                                     tx_octets=tx))  # fmt: skip
    svc.store.transact(lambda s: s.add_all(rows))


def test_the_configured_rate_beside_the_measured_bitrate(svc: Service) -> None:
    """A 100 Mb/s Connector at 97, 98, 99 Mb/s in its last three samples is at its limit
    (the API's traffic and /metrics say so); one that touched 99 once among 60s is not;
    each shows its rate and the bitrate of its last interval; a Link shows its rate."""
    link = active_link(svc, ENT_FRA)
    a, b = (svc.link(link)[k] for k in ("a", "b"))
    counters(svc, a, [40, 97, 98, 99])
    counters(svc, b, [60, 99, 60, 60])
    busy = monitor.traffic(svc, a, T0, T0 + timedelta(hours=1))
    assert busy["rate_mbps"] == 100 and busy["at_limit"] is True
    assert [r["out_bps"] for r in busy["rates"]] == [40e6, 97e6, 98e6, 99e6]
    calm = monitor.traffic(svc, b, T0, T0 + timedelta(hours=1))
    assert calm["rate_mbps"] == 100 and calm["at_limit"] is False

    text = monitor.exposition(svc)[0].decode()
    leg = 'interface="eth3.2",router="pe1-par",tenant="acme"'
    assert f'onramp_connector_rate_bps{{connector="{a}",tenant="acme"}} 1e+08' in text
    assert f'onramp_connector_bitrate_bps{{connector="{a}",direction="out",{leg}}} 9.9e+07' in text
    assert f'onramp_connector_bitrate_bps{{connector="{a}",direction="in",{leg}}} 9.9e+06' in text
    assert f'onramp_connector_at_limit{{connector="{a}",tenant="acme"}} 1.0' in text
    assert f'onramp_connector_at_limit{{connector="{b}",tenant="acme"}} 0.0' in text
    assert f'onramp_link_rate_bps{{link="{link}",sla_class="gold",tenant="acme"}} 1e+08' in text
