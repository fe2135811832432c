"""Benchmark: request -> active through the embedded worker, against the floor (issue 23
item 1), in one run on one lab (name `t2s`, 172.20.76.0/24; removed at the end, even on
failure).

- floor: the same eBGP + MD5 session configured by hand on two bare lab routers (pe1-par
  and the AWS cloud edge cabled to it, in the PE's default VRF on a VLAN of its own): the
  edge first (a provider's side is up before ours), then the PE; the time from the PE's
  config returning to the session Established with its first prefix received, read with
  `vtysh` inside the PE every few milliseconds. Its subinterface is made and its config
  loaded before that clock, while a Connector's time includes its own (its commit makes
  its VRF, subinterface and shapers): `floor_with_setup_s` adds the PE's setup to the
  floor, and each ratio is given to it as well (the goal's ratio stays to the floor);
- connector: an AWS hosted VIF (the simulator's customer accepts at 0 s) from
  `create_connector` to `active`, the embedded worker doing every step;
- link: a Link between two active Connectors (that AWS one and an Azure ExpressRoute
  pair), from `create_link` to `active`, the same worker.

Each is the median of `--runs`, with its ratio to the floor (goal <= 1.3x) and to 2 s;
then the time per state from the transition rows and, with `--profile`, where the
worker's steps spend it (wall time of each part: SSH connect, vtysh reads, commit,
the gate's polls, aetest, confirm; summed per run, median).

    .venv/bin/python bench/to_active.py [--runs 5] [--profile] [--json]
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from labkit import lab_service, unwind_on_sigterm
from report import report, split

from onramp import worker
from onramp.core.settings import CspSettings
from onramp.csp import registry
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service
from onramp.lab import netdev
from onramp.lab.attach import LabAttachment
from onramp.lab.run import Lab, down, sh
from onramp.lab.topology import cloud_lans

LAB, OCTET = "t2s", 76
AWS: dict[str, Any] = {"tenant": "bench", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
                       "bandwidth_mbps": 100, "aws_account": "123456789012"}  # fmt: skip
FLOOR_VLAN, FLOOR_NET, FLOOR_KEY = 4001, "169.254.254.", "floor-md5-key"


def setup(tmp: Path) -> tuple[Lab, Service]:
    return lab_service(
        tmp, LAB, OCTET,
        # the worker's own figures: no monitoring or compliance rounds meanwhile
        worker={"broker_url": f"sqla+sqlite:///{tmp / 'broker.db'}", "poll_s": 0.3,
                "sweep_s": 30, "revert_in_s": 60, "check_timeout_s": 20},
        monitor={"interval_s": 0}, compliance={"interval_s": 0},
    )  # fmt: skip


# ---------------------------------------------------------------- the floor
def floor_once(lab: Lab, svc: Service) -> tuple[float, float, float]:
    """Seconds from both ends configured to Established, and to a prefix received; and
    the PE's own setup before that clock (its subinterface made, its config loaded), which
    a Connector's time includes (its commit makes its VRF and subinterface)."""
    pe = "pe1-par"
    port = next(p for p in svc.backbone.routers[pe].onramp_ports if p.onramp == "aws-dx-par")
    ifname = lab.topo.nodes[pe].ifnames.get(port.name, port.name)
    edge, ns = lab.topo.edge_of(pe, port.name), lab.ns(pe)
    subif, peer = f"{ifname}.{FLOOR_VLAN}", f"{FLOOR_NET}2"
    edge_as = lab.topo.nodes[edge].asn
    lab.cloud_peering(edge, vlan=FLOOR_VLAN, inner_vlan=None, address=f"{peer}/30",
                      neighbor=f"{FLOOR_NET}1", remote_as=svc.backbone.asn,
                      password=FLOOR_KEY)  # fmt: skip
    t_setup = time.perf_counter()
    netdev.ensure(subif, base=ns)
    config = f"""interface {subif}
 ip address {FLOOR_NET}1/30
exit
ip prefix-list FLOOR-IN seq 5 permit 0.0.0.0/0 le 32
ip prefix-list FLOOR-OUT seq 5 deny any
router bgp {svc.backbone.asn}
 neighbor {peer} remote-as {edge_as}
 neighbor {peer} password {FLOOR_KEY}
 neighbor {peer} timers 10 30
 address-family ipv4 unicast
  neighbor {peer} activate
  neighbor {peer} prefix-list FLOOR-IN in
  neighbor {peer} prefix-list FLOOR-OUT out
 exit-address-family
exit
"""
    path = lab.node_dir(pe) / "floor.conf"
    path.write_text(config)
    sh("vtysh", "-N", ns, "-f", str(path), ns=ns)
    t0 = time.perf_counter()
    setup, up = t0 - t_setup, None
    try:
        while True:
            peers = json.loads(lab.vtysh(pe, "show bgp summary json") or "{}")
            s = peers.get("ipv4Unicast", {}).get("peers", {}).get(peer, {})
            if s.get("state") == "Established" and up is None:
                up = time.perf_counter() - t0
            if up is not None and s.get("pfxRcd", 0) >= 1:
                return up, time.perf_counter() - t0, setup
            if time.perf_counter() - t0 > 60:
                raise RuntimeError(f"floor session {pe} {peer}: {s}")
            time.sleep(0.005)
    finally:
        path.write_text(f"router bgp {svc.backbone.asn}\n no neighbor {peer}\nexit\n"
                        "no ip prefix-list FLOOR-IN\nno ip prefix-list FLOOR-OUT\n")  # fmt: skip
        sh("vtysh", "-N", ns, "-f", str(path), ns=ns)
        netdev.ip("link", "del", subif, netns=ns, check=False)
        # FRR drops an interface's stanza only once zebra has seen the device go
        while not re.search(r"is down|Can't find", lab.vtysh(pe, f"show interface {subif}")):
            time.sleep(0.05)
        sh("vtysh", "-N", ns, "-c", "configure terminal", "-c", f"no interface {subif}", ns=ns)
        assert subif not in lab.vtysh(pe, "show running-config"), "the floor left its trace"
        lab.cloud_peering(edge, vlan=FLOOR_VLAN, inner_vlan=None, address=f"{peer}/30",
                          neighbor=f"{FLOOR_NET}1", remote_as=svc.backbone.asn,
                          password=FLOOR_KEY, remove=True)  # fmt: skip


# ---------------------------------------------------------------- the profile
class Spans:
    """Wall time of named parts of the worker's steps: functions wrapped where they are
    looked up, each call's (start, end) kept; summed per run afterwards."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, float]] = []
        self._lock = threading.Lock()
        self._undo: list[Callable[[], None]] = []

    def wrap(self, owner: Any, attr: str, label: str, detail: bool = False) -> None:
        """`detail`: the label gets the call's first argument (an SSH command's text)."""
        original = getattr(owner, attr)

        @functools.wraps(original)
        def timed(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                name = f"{label}: {str(a[1])[:60]}" if detail and len(a) > 1 else label
                with self._lock:
                    self.calls.append((name, t, time.perf_counter()))

        setattr(owner, attr, timed)
        self._undo.append(lambda: setattr(owner, attr, original))

    def restore(self) -> None:
        for undo in reversed(self._undo):
            undo()

    def between(self, t0: float, t1: float) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for label, a, b in self.calls:
            if t0 <= a and b <= t1:
                out[label] += b - a
        return out

    def timeline(self, t0: float, t1: float) -> list[str]:
        """Every call in [t0, t1], by start: "+start-end label" (seconds from t0)."""
        return [f"+{a - t0:.2f}-{b - t0:.2f} {label}"
                for label, a, b in sorted(self.calls, key=lambda c: c[1])
                if t0 <= a and b <= t1]  # fmt: skip


def profile() -> Spans:
    """The parts worth timing (where verifying's seconds could go)."""
    from napalm_frr import frr
    from onramp.flow import apply, orchestrate
    from onramp.tasks import config
    from onramp.validation import bgp_gate, collect

    spans = Spans()
    spans.wrap(frr.FRRDriver, "open", "ssh connect")
    spans.wrap(frr.FRRDriver, "_run", "ssh", detail=True)
    spans.wrap(frr.FRRDriver, "commit_config", "commit (frr-reload)")
    spans.wrap(frr.FRRDriver, "confirm_commit", "confirm")
    spans.wrap(orchestrate, "make_plan", "plan (render + diff)")
    spans.wrap(apply, "snapshot", "gate: before-snapshot")
    spans.wrap(collect, "_gather", "gate: one poll round (nornir run)")
    spans.wrap(bgp_gate.aetest, "main", "gate: aetest")
    spans.wrap(config, "deploy_config", "deploy task (per router)")
    # the provider's side: its calls, and the lab's cloud edge the simulator configures
    # inside the call that sees the VIF ready (a real provider's side comes up on its own)
    from onramp.csp.aws.adapter import AwsAdapter

    spans.wrap(AwsAdapter, "request", "provider: request")
    spans.wrap(AwsAdapter, "status", "provider: status")
    spans.wrap(LabAttachment, "_configure", "simulator: cloud edge configured (lab)")
    return spans


# ---------------------------------------------------------------- the runs
@contextmanager
def simulators(svc: Service, hook: LabAttachment) -> Iterator[tuple[dict[str, Any], Any]]:
    """AWS and Azure simulators driving the lab, their customers accepting at 0 s; the
    adapters found by name as config.yaml's csp: would find them."""
    with ExitStack() as stack:
        sims = {p: stack.enter_context(registry.simulator(p).serve(
            registry.simulator(p).from_inventory(svc.backbone))) for p in ("aws", "azure")}  # fmt: skip
        for _, state in sims.values():
            state.hook = hook
        where = {
            "aws": CspSettings(endpoint_url=sims["aws"][0], region="eu-west-3"),
            "azure": CspSettings(endpoint_url=sims["azure"][0],
                                 account=sims["azure"][1].subscription),
        }  # fmt: skip
        yield registry.adapters(where, svc.backbone, svc.store, svc.vault), sims["azure"][1]


def main() -> None:
    unwind_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    took: dict[str, list[float]] = {"floor": [], "connector": [], "link": []}
    established: list[float] = []  # the floor's first part
    setups: list[float] = []  # the floor's PE setup, before its clock
    splits: dict[str, list[dict[str, float]]] = {"connector": [], "link": []}
    parts: dict[str, list[dict[str, float]]] = {"connector": [], "link": []}
    lines: dict[str, list[str]] = {}  # the last run's calls, in order
    spans = profile() if args.profile else None
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        try:
            lab, svc = setup(tmp)
            hook = LabAttachment(lab, svc.backbone)
            with simulators(svc, hook) as (adapters, azure):
                svc.submit = worker.submit  # orders handed over when stored
                lans = cloud_lans(lab.topo)
                AWS["prefixes"] = [str(lans["aws-dx-par"])]
                orch = Orchestrator(svc, adapters, actor="bench")

                def settle(kind: str, ident: str, want: str) -> None:
                    got = orch.watch(kind, ident, poll_s=0.02, timeout_s=120)
                    assert got == want, (kind, ident, got, orch.history(kind, ident)[-1])

                def timed(kind: str, make: Callable[[], str]) -> str:
                    t0 = time.perf_counter()
                    ident = make()
                    settle(kind, ident, "active")
                    t1 = time.perf_counter()
                    took[kind].append(t1 - t0)
                    splits[kind].append(split(orch.history(kind, ident)))
                    if spans is not None:
                        parts[kind].append(spans.between(t0, t1))
                        lines[kind] = spans.timeline(t0, t1)
                    return ident

                def aws() -> str:
                    return str(svc.create_connector(svc.connector_request(AWS))["id"])

                def remove(kind: str, ident: str) -> None:
                    orch.decommission(kind, ident)
                    worker.submit(kind, ident)
                    settle(kind, ident, "deleted")

                with worker.embedded(svc.settings, adapters=adapters):
                    floor_once(lab, svc)  # warm-up: the edge's first session
                    remove("connector", timed("connector", aws))  # warm-up: imports, SSH keys
                    took["connector"].clear()
                    for kind in splits:
                        splits[kind].clear()
                        parts[kind].clear()
                    key = azure.create_circuit(bandwidth_mbps=1000)
                    s_tag = azure.cross_connections[key]["properties"]["sTag"]
                    er = svc.create_connector(svc.connector_request({
                        "tenant": "bench", "onramp": "azure-er-lon", "kind": "azure-expressroute",
                        "bandwidth_mbps": 1000, "azure_service_key": key, "s_tag": s_tag,
                        "prefixes": [str(lans["azure-er-lon"])]}))  # fmt: skip
                    settle("connector", er["id"], "active")
                    for _ in range(args.runs):
                        up, first, own = floor_once(lab, svc)
                        established.append(up)
                        took["floor"].append(first)
                        setups.append(own)
                        a = timed("connector", aws)
                        link = svc.create_link(svc.link_request(
                            {"tenant": "bench", "a": a, "b": er["id"], "bandwidth_mbps": 50}))  # fmt: skip
                        timed("link", lambda link=link: str(link["id"]))
                        remove("link", str(link["id"]))
                        remove("connector", a)
        finally:
            if spans is not None:
                spans.restore()
            down(LAB, tmp / "state")
    med = {k: statistics.median(v) for k, v in took.items()}
    figures: dict[str, Any] = {
        "runs": args.runs,
        "floor_s (hand-configured eBGP+MD5: Established + 1st prefix)": round(med["floor"], 2),
        "floor_runs_s": [round(x, 2) for x in took["floor"]],
        "floor_established_s (its first part)": round(statistics.median(established), 2),
        # what each side's time includes: the goal's floor starts once the PE is configured
        "includes": {
            "floor": "PE config returned -> Established + 1st prefix (its VLAN subinterface "
            "made and its BGP config loaded before the clock starts)",
            "floor_with_setup": "the floor + the PE's own setup: its subinterface made "
            "(netdev.ensure) and its config loaded (vtysh -f)",
            "connector": "create_connector -> active: every step, its commit included (which "
            "makes its VRF, subinterface and shapers: frr-netdev prepare)",
        },
        "floor_pe_setup_s (before the floor's clock)": round(statistics.median(setups), 3),
    }
    with_setup = statistics.median(f + s for f, s in zip(took["floor"], setups, strict=True))
    figures["floor_with_setup_s"] = round(with_setup, 2)
    for kind in ("connector", "link"):
        figures[f"{kind}_request_to_active_s"] = round(med[kind], 2)
        figures[f"{kind}_runs_s"] = [round(x, 2) for x in took[kind]]
        figures[f"{kind}_ratio_to_floor (goal <= 1.3)"] = round(med[kind] / med["floor"], 2)
        figures[f"{kind}_ratio_to_floor_with_setup"] = round(med[kind] / with_setup, 2)
        figures[f"{kind}_ratio_to_2s (goal <= 1)"] = round(med[kind] / 2.0, 2)
        steps = {s for sp in splits[kind] for s in sp}
        figures[f"{kind}_per_state_s"] = {
            s: round(statistics.median(sp.get(s, 0.0) for sp in splits[kind]), 3) for s in steps
        }
        if parts[kind]:
            labels = {p for run in parts[kind] for p in run}
            figures[f"{kind}_profile_s (summed wall per run, median)"] = {
                p: round(statistics.median(run.get(p, 0.0) for run in parts[kind]), 3)
                for p in sorted(labels)
            }
            figures[f"{kind}_timeline (last run)"] = lines.get(kind, [])
    report(figures, args.json)


if __name__ == "__main__":
    main()
