"""Monitoring on the lab: an AWS Paris Connector linked to an enterprise site in Frankfurt
(pe1-par to pe1-fra across the core), measured from inside the customer's VRF with
NAPALM's ping through nornir-napalm; loss injected on pe1-par's core links (nftables)
shows in the next window and opens an SLA breach, removing it closes the breach; the
cloud side shutting its BGP session shows as an event at the next poll; the workers'
schedule measures by itself."""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from ipaddress import ip_network
from pathlib import Path
from typing import Any

import pytest

from onramp.core.store import now
from onramp.csp.simulator import Behaviour
from onramp.flow import monitor
from onramp.lab.attach import LabAttachment
from onramp.lab.faults import bgp_shutdown, core_interfaces, delay, loss
from onramp.lab.topology import cloud_lans
from onramp.network.inventory.plugin import init_nornir

from .conftest import module_lab
from .test_orchestrate import ENT_FRA, Env, linked_to_aws, orchestrator

OCTET = 56


def binomial_bounds(n: int, p: float, tail: float = 1e-6) -> tuple[int, int]:
    """The fewest and most of `n` probes lost at a drop rate `p`, each end cut where less
    than `tail` of the chance lies beyond it: a random drop of 5 % loses 20 of 400 on
    average but 12 or fewer, or 29 or more, one poll in twenty (the old 3-7 % bounds,
    which failed a clean-clone run with 30 lost)."""
    pmf = [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]
    low, below = 0, 0.0
    while below + pmf[low] < tail:
        below, low = below + pmf[low], low + 1
    high, above = n, 0.0
    while above + pmf[high] < tail:
        above, high = above + pmf[high], high - 1
    return low, high


def test_the_loss_bounds_hold_a_fair_drop_and_refuse_none_or_all() -> None:
    assert binomial_bounds(400, 0.05) == (3, 44)  # 0.75-11 %: 0 and the 0.5 % SLA excluded
    assert sum(math.comb(400, k) * 0.05**k * 0.95 ** (400 - k) for k in range(12, 29)) < 0.96


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    with module_lab(tmp_path_factory.mktemp("monitor"), "tmo", OCTET) as (lab, svc, _):
        yield Env(lab, svc, LabAttachment(lab, svc.backbone))


@pytest.fixture(scope="module")
def linked(env: Env) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(AWS Connector, Link), active, for the module; the simulator stays up."""
    lans = cloud_lans(env.lab.topo)
    for orch, _ in orchestrator(env, env.attach, Behaviour(accept_after_s=0.2)):
        aws, _, link = linked_to_aws(env, orch, {**ENT_FRA, "prefixes": [str(lans["ent-fra"])]})
        yield aws, link


def test_injected_loss_is_measured_and_breaches_the_sla(
    env: Env, linked: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    _, link = linked
    nr = init_nornir(env.svc.settings)
    start = now()
    (clean,) = monitor.poll(env.svc, nr, count=20)
    assert (clean["sent"], clean["received"], clean["breaches"]) == (20, 20, [])
    assert 0 < clean["latency_avg_ms"] < 5 and clean["jitter_ms"] is not None

    with loss(env.lab, "pe1-par", 5.0):
        (lossy,) = monitor.poll(env.svc, nr, count=400)
    print(f"5 % injected on pe1-par's core links: {lossy['loss_pct']} % lost of 400")
    low, high = binomial_bounds(400, 0.05)
    assert low <= lossy["sent"] - lossy["received"] <= high, lossy
    assert lossy["breaches"] == ["loss"]  # silver: at most 0.5 %

    (after,) = monitor.poll(env.svc, nr, count=20)
    assert after["loss_pct"] == 0 and after["breaches"] == []

    seen = monitor.kpis(env.svc, link["id"], start - timedelta(seconds=1))
    assert [s["breaches"] for s in seen["samples"]] == [[], ["loss"], []]
    (breach,) = seen["breaches"]
    assert breach["metric"] == "loss" and breach["worst"] == lossy["loss_pct"]
    assert breach["started_at"] == seen["samples"][1]["at"]
    assert breach["ended_at"] == seen["samples"][2]["at"]  # the next clean window ends it
    assert seen["availability_pct"] == 100.0 and seen["sla_met_pct"] == pytest.approx(66.667)
    assert seen["sla"]["loss_pct"] == 0.5


def kernel_routes(env: Env, router: str) -> set[str]:
    """The prefixes `router`'s kernel forwards to (its main table), as the lab expects them."""
    out = subprocess.run(["ip", "-n", env.lab.ns(router), "-j", "route", "show"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    return {str(ip_network(r["dst"])) for r in json.loads(out) if r["dst"] != "default"}


def test_a_restored_link_leaves_every_route_in_the_kernel(env: Env) -> None:
    """delay() gives a link back converged where packets are forwarded, not only in
    zebra's RIB: deleting the relay's TAP flushes every multipath route through it from
    the kernel, which tells no one, and zebra calls them installed until IS-IS's next SPF
    (measured: pe1-par had no route to any far loopback for 0.8-0.9 s, up to 0.6 s of it
    after delay() had returned; the next window's probes were lost, and a clean clone's
    monitor test failed on a window of 20 probes all lost)."""
    first, _ = core_interfaces(env.lab, "pe1-par")
    with delay(env.lab, "pe1-par", 40.0, first) as (a, _, b, _):
        pass
    missing = {r: sorted(set(env.lab.topo.nodes[r].expect_routes) - kernel_routes(env, r))
               for r in (a, b)}  # fmt: skip
    assert missing == {a: [], b: []}


def test_injected_delay_is_measured_and_breaches_the_sla(
    env: Env, linked: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """40 ms held on pe1-par's core links, where the Link's traffic leaves it (relays):
    the next window's average round trip is 40 ms more (within 20 %), over silver's 30 ms
    for eu-west/eu-central; the links restored, the breach ends. Both links: pe1-par has
    two equal-cost paths to pe1-fra, and which one a segment's VXLAN packets take is the
    kernel's hash (seeded at boot) and a route the VXLAN device keeps cached (measured: its
    packets stayed on the other link after the route had moved)."""
    _, link = linked
    nr = init_nornir(env.svc.settings)
    start = now()
    (before,) = monitor.poll(env.svc, nr, count=20)
    first, second = core_interfaces(env.lab, "pe1-par")
    with (
        delay(env.lab, "pe1-par", 40.0, first) as (_, interface, peer, _),
        delay(env.lab, "pe1-par", 40.0, second),
    ):
        (slow,) = monitor.poll(env.svc, nr, count=40)
    print(f"40 ms held on pe1-par {interface} -> {peer} and {second}: average round trip "
          f"{slow['latency_avg_ms']} ms (p95 {slow['latency_p95_ms']}, jitter {slow['jitter_ms']})")  # fmt: skip
    added = slow["latency_avg_ms"] - before["latency_avg_ms"]
    assert 32.0 <= added <= 48.0, slow
    assert "latency" in slow["breaches"]
    (after,) = monitor.poll(env.svc, nr, count=20)  # every probe back: see the test above
    assert after["received"] == 20 and after["latency_avg_ms"] < 5 and not after["breaches"], after
    (breach,) = [b for b in monitor.kpis(env.svc, link["id"], start)["breaches"]
                 if b["metric"] == "latency"]  # fmt: skip
    assert breach["ended_at"] is not None and breach["worst"] == slow["latency_avg_ms"]


def test_cloud_side_bgp_teardown_is_an_event_at_the_next_poll(
    env: Env, linked: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    aws, _ = linked
    (leg,) = aws["attachments"]
    edge = env.lab.topo.edge_of(leg["router"], leg["port"])
    ours = leg["local_address"].split("/")[0]
    nr = init_nornir(env.svc.settings)
    monitor.poll_connectors(env.svc, nr)  # the state before
    start = now()
    try:
        bgp_shutdown(env.lab, edge, ours)
        time.sleep(1)  # the NOTIFICATION's way back: well inside any polling interval
        (down,) = [c for c in monitor.poll_connectors(env.svc, nr) if c["connector"] == aws["id"]]
        assert down["from"] == "Established" and down["to"] != "Established", down
    finally:
        bgp_shutdown(env.lab, edge, ours, shut=False)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(c["to"] == "Established" for c in monitor.poll_connectors(env.svc, nr)):
            break
        time.sleep(0.5)
    seen = monitor.traffic(env.svc, aws["id"], start)
    (event,) = seen["events"]
    assert event["from"] == "Established" and event["ended_at"] is not None
    assert event["session"] == f"{leg['router']} {aws['vrf']} {leg['peer_address'].split('/')[0]}"
    assert [b["state"] for b in seen["bgp"]] == ["Established"]


def test_the_workers_schedule_measures_by_itself(
    env: Env, linked: tuple[dict[str, Any], dict[str, Any]], tmp_path: Path
) -> None:
    """`monitor.interval_s` on the embedded worker: windows and traffic samples appear
    without anyone polling."""
    from onramp import worker

    _, link = linked
    settings = env.svc.settings.model_copy(deep=True)
    settings.worker.broker_url = f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    settings.worker.sweep_s, settings.monitor.interval_s, settings.monitor.probes = 30, 2, 5
    start = now()
    with worker.embedded(settings):
        deadline = time.monotonic() + 30
        while (
            time.monotonic() < deadline and monitor.kpis(env.svc, link["id"], start)["windows"] < 2
        ):
            time.sleep(0.5)
    got = monitor.kpis(env.svc, link["id"], start)
    assert got["windows"] >= 2 and all(s["sent"] == 5 for s in got["samples"]), got
