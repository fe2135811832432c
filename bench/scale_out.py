"""Benchmark: scale-out (issue 23 item 5), as production runs it.

PostgreSQL + RabbitMQ of their own (the test suite's throw-away servers), 2 API processes
on one port (`onramp api serve --workers 2`), 4 worker processes (`onramp worker`, one
with `--beat`), the AWS, Azure and Google simulators driving a lab of its own (`tso`,
172.20.80.0/24, under the lab lock while it exists). N Connectors (AWS, Azure, Google,
enterprise in turn; each enterprise site's CE configured as its customer does, from
customer-config, once its Connector is allocated) ordered at once through the API by 5
tenants (a key's burst is 40). Prints:

- orders accepted per second (202s over the wall time of all POSTs);
- request -> active p50/p99 (POST sent -> the `active` transition's time);
- all active, none duplicated (Connectors per order, VIFs, circuits' peerings, Google
  attachments, VLANs on a port);
- worker utilisation: each worker's CPU seconds (the process and its pool) over the wall
  time from the first order to the last active, and how many Connectors' steps it did.

    .venv/bin/python bench/scale_out.py [--connectors 100] [--workers 4] [--api 2] [--json]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from labkit import lab_service, unwind_on_sigterm
from report import report
from sqlalchemy import func, or_, select

from onramp.api import keys as apikeys
from onramp.core.errors import OnrampError
from onramp.core.settings import ROOT
from onramp.core.store import ConnectorRow, KpiSampleRow, LinkRow, RouterLockRow, move
from onramp.csp import registry
from onramp.csp.gcp.simulator import PARTNER_PROJECT
from onramp.csp.simulator import Behaviour
from onramp.flow.orchestrate import Orchestrator
from onramp.lab.attach import LabAttachment
from onramp.lab.run import down
from onramp.lab.topology import cloud_lans
from onramp.network.inventory import load

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.conftest import new_postgres_db, pg_server, rabbitmq_node

LOCK, NAME, OCTET, TENANTS = "/tmp/onramp-lab.lock", "tso", 80, 5
TICK = os.sysconf("SC_CLK_TCK")


@contextmanager
def lab_lock() -> Iterator[None]:
    """The lab tests' global lock: labs share names and the 2 cores."""
    with open(LOCK, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine_busy_s() -> float:
    """CPU seconds the whole machine has been busy (all processes: the routers' sshd, ip and
    ping too), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq = map(
        int, Path("/proc/stat").read_text().split()[1:8]
    )
    return (user + nice + system + irq + softirq) / TICK


def arp_table() -> tuple[int, int]:
    """The machine's one IPv4 neighbour table (every namespace's entries): its entries now
    and how often it refused a new one since boot (table_fulls, summed over the CPUs)."""
    rows = [line.split() for line in Path("/proc/net/stat/arp_cache").read_text().splitlines()[1:]]
    return int(rows[0][0], 16), sum(int(r[12], 16) for r in rows)


def cpu_s(pid: int) -> float:
    """CPU seconds of a process and its children (a worker's pool), alive ones."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK + sum(cpu_s(int(k)) for k in kids)


def orders(n: int, sims: dict[str, Any], lans: dict[str, Any], asn: int) -> list[dict[str, Any]]:
    """AWS, Azure, Google, enterprise in turn; what the customer makes first made first.
    `asn`: the lab's CE's (its edge runs one BGP instance: a site's order names it). A
    site's prefix is the one its CE announces (its LAN): the gate wants at least one on the
    session, and a prefix the CE does not have (192.168.<i>.0/24 until this stop) left
    every enterprise session empty: the gate failed each order whose plan changed pe1-par."""
    out = []
    for i in range(n):
        kind = ("aws", "azure", "gcp", "ent")[i % 4]
        # clouds: their smallest step; a site: 10 Mb/s
        base = {"bandwidth_mbps": 10 if kind == "ent" else 50, "tenant": f"t{i % TENANTS}"}
        if kind == "aws":
            out.append(base | {"onramp": "aws-dx-par", "kind": "aws-hosted-vif",
                               "aws_account": "123456789012",
                               "prefixes": [str(lans["aws-dx-par"])]})  # fmt: skip
        elif kind == "azure":
            key = sims["azure"].create_circuit(bandwidth_mbps=50)
            s_tag = sims["azure"].cross_connections[key]["properties"]["sTag"]
            out.append(base | {"onramp": "azure-er-lon", "kind": "azure-expressroute",
                               "azure_service_key": key, "s_tag": s_tag,
                               "prefixes": [str(lans["azure-er-lon"])]})  # fmt: skip
        elif kind == "gcp":
            out.append(base | {"onramp": "gcp-pi-fra", "kind": "gcp-partner",
                               "gcp_pairing_key": sims["gcp"].customer_attachment(),
                               "prefixes": [str(lans["gcp-pi-fra"])]})  # fmt: skip
        else:
            out.append(base | {"onramp": "ent-par", "kind": "enterprise", "customer_asn": asn,
                               "prefixes": [str(lans["ent-par"])]})  # fmt: skip
    return out


def links(svc: Any, n: int) -> list[str]:
    """n Links made active in the store, sharing Connectors (the model allows a Connector
    in several Links): ceil(n / 20) sites in Paris, 20 in Frankfurt, each pair a Link."""
    ends: dict[str, list[str]] = {}
    for onramp, count in (("ent-par", -(-n // 20)), ("ent-fra", min(n, 20))):
        for k in range(count):
            order = {"tenant": "bench", "onramp": onramp, "kind": "enterprise",
                     "bandwidth_mbps": 10, "customer_asn": 65101,
                     "prefixes": [f"192.168.{k}.0/24"]}  # fmt: skip
            c = svc.create_connector(svc.connector_request(order))
            svc.store.transact(
                lambda s, i=c["id"]: move(s, s.get(ConnectorRow, i), "active", "bench")
            )
            ends.setdefault(onramp, []).append(c["id"])
    made = []
    for a_end in ends["ent-par"]:
        for b_end in ends["ent-fra"]:
            if len(made) == n:
                break
            link = svc.create_link(svc.link_request({"tenant": "bench", "a": a_end, "b": b_end,
                                                     "bandwidth_mbps": 1}))  # fmt: skip
            svc.store.transact(
                lambda s, i=link["id"]: move(s, s.get(LinkRow, i), "active", "bench")
            )
            made.append(link["id"])
    return made


def samples_since(svc: Any, t: float, lossy: bool = False) -> int:
    """Samples stored for rounds started after t (`lossy`: those that lost a probe)."""
    since = datetime.fromtimestamp(t, UTC)
    with svc.store.session() as s:
        q = select(func.count()).select_from(KpiSampleRow).where(KpiSampleRow.at >= since)
        if lossy:
            q = q.where(or_(KpiSampleRow.received < KpiSampleRow.sent, KpiSampleRow.sent == 0))
        return int(s.scalar(q) or 0)


def kpi_round(svc: Any, workers: list[Any], n: int, probes: int, rounds: int = 2) -> dict[str, Any]:
    """n Links deployed on pe1-par and pe1-fra in one commit each (bench/monitor_poll.py's
    way: the per-Link gates are not what is measured), then one monitoring round sent to the
    workers (monitor.parts parts) against the same round in one process, as one task does it."""
    from monitor_poll import deploy

    from onramp import worker
    from onramp.flow import monitor
    from onramp.network.inventory.plugin import init_nornir

    out: dict[str, Any] = {"links": len(links(svc, n))}
    nr = init_nornir(svc.settings)
    out["links deploy s"] = round(deploy(svc, nr, timeout_s=1800), 1)
    worker.configure(svc.settings)
    full0 = arp_table()[1]
    fits = []
    # the warm-up: the segments' first ARP, SSH opened; then `rounds` rounds, each measured
    for label in ("warm-up", *(f"round {i + 1}" for i in range(rounds))):
        cpu0 = {w.pid: cpu_s(w.pid) for w in workers}
        busy0 = machine_busy_s()
        watch = Watch(worker.app)
        watch.start()
        t = time.time()
        worker.kpis.delay()
        while samples_since(svc, t) < out["links"] and time.time() - t < 300:
            time.sleep(0.25)
        took = time.time() - t
        watch.stop.set()
        watch.join()
        out[f"KPI {label}: tasks (worker, task, from..to s, seen every ~0.5-1 s)"] = watch.parts(t)
        out[f"KPI {label} over the workers s ({svc.settings.monitor.parts} parts)"] = round(took, 1)
        out[f"  Links with loss or an error ({label})"] = samples_since(svc, t, lossy=True)
        if label != "warm-up":
            fits.append(took < 60)
    out["KPI rounds that fit 60 s"] = f"{sum(fits)} of {len(fits)}"
    entries, full = arp_table()
    out["machine's neighbour table: entries, new ones refused in the rounds"] = (
        f"{entries}, {full - full0}"
    )
    out["machine CPU busy during the round, cores (of 2; every engineer's)"] = round(
        (machine_busy_s() - busy0) / took, 2
    )
    out["worker CPU s / KPI round (each)"] = ", ".join(
        f"{(cpu_s(w.pid) - cpu0[w.pid]) / took:.2f}" for w in workers
    )
    # where one task's round goes: the store's read of the probe paths, the pings (SSH), the
    # store's write of the samples (the functions poll calls, timed where they are looked up)
    spent: dict[str, float] = {}

    def timed(name: str, fn: Any) -> Any:
        def run(*args: Any, **kw: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kw)
            finally:
                spent[name] = time.perf_counter() - t

        return run

    from napalm_frr.frr import FRRDriver

    took_ping: list[float] = []  # each ping's wall time (SSH exec and ping) in the round

    def ping_timed(self: Any, *args: Any, **kw: Any) -> Any:
        t = time.perf_counter()
        try:
            return ping_(self, *args, **kw)
        finally:
            took_ping.append(time.perf_counter() - t)

    probes_, record_, ping_ = monitor.probes, monitor.record, FRRDriver.ping
    monitor.probes, monitor.record = timed("read", probes_), timed("write", record_)
    FRRDriver.ping = ping_timed
    busy0 = machine_busy_s()
    t = time.time()
    try:
        got = monitor.poll(svc, nr, probes)
    finally:
        monitor.probes, monitor.record = probes_, record_
        FRRDriver.ping = ping_
    one = time.time() - t
    out["machine CPU busy during the one-task round, cores"] = round(
        (machine_busy_s() - busy0) / one, 2
    )
    out["KPI round in one process s (as one task)"] = round(one, 1)
    out["  of which: read probe paths / pings / write samples s"] = (
        f"{spent['read']:.1f} / {one - spent['read'] - spent['write']:.1f} / {spent['write']:.1f}"
    )
    if took_ping:
        out["  one ping in the one-task round s (p50/p90/max; 8 at a time per PE)"] = (
            f"{statistics.median(took_ping):.2f}/{pct(took_ping, 0.9):.2f}/{max(took_ping):.2f}"
        )
    bad = [w for w in got if w["loss_pct"] > 0 or w["error"]]
    out["  Links with loss or an error (one task)"] = len(bad)
    out["  what they said (3 most common)"] = Counter(
        str(w["error"])[:120] if w["error"] else f"loss {w['loss_pct']:.0f} %" for w in bad
    ).most_common(3)
    if bad:  # where the silent Links are: their Paris site (a-end) and the Frankfurt one
        with svc.store.session() as s:
            ends = [(s.get(LinkRow, w["link"]).a_id[:8], s.get(LinkRow, w["link"]).b_id[:8])
                    for w in bad]  # fmt: skip
        out["  silent Links: a-ends, b-ends (distinct), first"] = (
            f"{len({a for a, _ in ends})}, {len({b for _, b in ends})}, {ends[0]}"
        )
    out["  one probe's parts on pe1-par, s (median of 5)"] = probe_cost(svc, nr, probes)
    out["ratio one task / spread"] = round(one / took, 1)
    nr.close_connections()
    return out


def sessions_up(lab: Any, conns: list[dict[str, Any]]) -> int:
    """How many of these Connectors have every BGP session Established with a prefix, as
    the PEs say: a Connector whose config another order's plan already carried is made
    active by an unchanged plan without the gate (found this stop), so `active` alone is
    not the proof."""
    routers = {a["router"] for c in conns for a in c["attachments"]}
    said = {r: lab.vtysh_json(r, "show bgp vrf all summary json") for r in routers}

    def peer(c: dict[str, Any], a: dict[str, Any]) -> dict[str, Any]:
        peers = said[a["router"]].get(c["vrf"], {}).get("ipv4Unicast", {}).get("peers", {})
        return dict(peers.get(str(a["peer_address"]).split("/")[0], {}))

    return sum(
        all(
            (p := peer(c, a)).get("state") == "Established" and p.get("pfxRcd", 0) > 0
            for a in c["attachments"]
        )
        for c in conns
    )


ENDED = ("active", "failed", "deleted")
# how far along a Connector is: the customers configure the furthest first (its gate waits)
ALONG = {"verifying": 0, "configuring": 1, "awaiting_customer": 2, "csp_requested": 2}


class Customers(threading.Thread):
    """The enterprise sites' customers: each configures its CE from customer-config as soon
    as its Connector is allocated (the addresses are known only then), on a thread of their
    own, the one furthest along first. Done in the bench's polling loop, after all the
    orders were sent and 0.5 s apart, an early order's gate could time out before its CE was
    configured (1 of 100 failed so at the last stop)."""

    def __init__(self, lab: Any, svc: Any) -> None:
        super().__init__(daemon=True)
        self.lab, self.svc = lab, svc
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.waited: list[float] = []  # seen allocated -> CE configured, per site

    def run(self) -> None:
        from tests.e2e.conftest import ce_side  # the customer's CE, as the lab tests make it

        seen: dict[str, float] = {}
        done: set[str] = set()
        while not self.stop.is_set():
            ready = [c for c in self.svc.connectors() if c["kind"] == "enterprise"
                     and c["attachments"] and c["id"] not in done and c["state"] not in ENDED]  # fmt: skip
            for c in ready:
                seen.setdefault(c["id"], time.time())
            if not ready:
                self.stop.wait(0.2)
                continue
            c = min(ready, key=lambda c: ALONG.get(c["state"], 3))  # one, then look again
            for attempt in range(3):  # vtysh may not reach a loaded bgpd at once
                try:
                    ce_side(self.lab, self.svc, dict(c))
                    break
                except OnrampError as exc:
                    self.errors.append(f"{str(exc)[:160]}")
                    time.sleep(1 + attempt)
            done.add(c["id"])
            self.waited.append(time.time() - seen[c["id"]])


def probe_cost(svc: Any, nr: Any, count: int) -> str:
    """Where one Link's probe goes, on an idle pe1-par: an SSH exec that does nothing, the
    same entering the Link's VRF (`ip netns exec`: netns-based VRFs), and the whole ping."""
    from onramp.flow import monitor
    from onramp.tasks.config import device

    probe = next(p for p in monitor.probes(svc) if p.router == "pe1-par")
    parts: dict[str, list[float]] = {"ssh exec": [], "+ enter the VRF": [], "ping": []}

    def run(task: Any) -> None:
        dev = device(task)
        for _ in range(5):
            for name, cmd in (("ssh exec", "true"),
                              ("+ enter the VRF", f"ip netns exec {probe.vrf} true")):  # fmt: skip
                t = time.perf_counter()
                dev._run(cmd)  # a bench: the driver's one SSH exec
                parts[name].append(time.perf_counter() - t)
            t = time.perf_counter()
            dev.ping(probe.destination, source=probe.source, vrf=probe.vrf, count=count, timeout=1)
            parts["ping"].append(time.perf_counter() - t)

    nr.filter(filter_func=lambda h: h.name == "pe1-par").run(task=run)
    return ", ".join(f"{k} {statistics.median(v):.3f}" for k, v in parts.items() if v)


class Watch(threading.Thread):
    """What each worker runs during a round, asked every 0.5 s over the broker (Celery's
    inspect): per task, its worker, when it started and when it was last seen running."""

    def __init__(self, app: Any) -> None:
        super().__init__(daemon=True)
        self.app, self.stop = app, threading.Event()
        self.seen: dict[str, dict[str, Any]] = {}

    def run(self) -> None:
        while not self.stop.is_set():
            active = self.app.control.inspect(timeout=0.5).active() or {}
            for worker, tasks in active.items():
                for task in tasks:
                    entry = self.seen.setdefault(task["id"], {
                        "worker": worker.split("@")[0], "name": task["name"],
                        "start": task.get("time_start") or time.time()})  # fmt: skip
                    entry["last"] = time.time()
            self.stop.wait(0.5)

    def parts(self, t0: float) -> str:
        """Each task of the round: worker, name's tail, start after t0 .. last seen, s."""
        rows = sorted(self.seen.values(), key=lambda e: e["start"])
        return "; ".join(f"{e['worker'][-5:]} {e['name'].rsplit('.', 1)[-1]} "
                         f"{e['start'] - t0:.0f}..{e['last'] - t0:.0f}" for e in rows)  # fmt: skip


def pct(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]


def main() -> int:
    unwind_on_sigterm()
    ap = argparse.ArgumentParser()
    ap.add_argument("--connectors", type=int, default=100)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--api", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--links", type=int, default=500)  # 0: no KPI round
    ap.add_argument("--probes", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2)  # KPI rounds over the workers, each timed
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    figures: dict[str, Any] = {"connectors": a.connectors, "api processes": a.api,
                               "worker processes": a.workers}  # fmt: skip
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        pg = stack.enter_context(pg_server())
        rabbit = stack.enter_context(rabbitmq_node())
        customer = Behaviour(accept_after_s=0.0, provisioning_s=0.2)  # the customer's wait at 0
        sims, urls = {}, {}
        ports = load(ROOT / "inventory")  # the lab's backbone: the simulators know its ports
        for p in ("aws", "azure", "gcp"):
            module = registry.simulator(p)
            urls[p], sims[p] = stack.enter_context(module.serve(module.from_inventory(ports)))
            sims[p].behaviour = customer
        config = {
            "store_url": new_postgres_db(pg.url),
            "csp": {"aws": {"endpoint_url": urls["aws"], "region": "eu-west-3"},
                    "azure": {"endpoint_url": urls["azure"], "account": sims["azure"].subscription},
                    "gcp": {"endpoint_url": urls["gcp"], "account": PARTNER_PROJECT}},
            # rounds sent by hand (kpi_round), shared by the workers
            "monitor": {"interval_s": 0, "parts": a.workers, "probes": a.probes},
            "worker": {"broker_url": rabbit.url, "poll_s": 0.3, "sweep_s": 5.0,
                       "lease_s": 120.0, "revert_in_s": 120, "check_timeout_s": 20},
        }  # fmt: skip
        stack.enter_context(lab_lock())  # held from here to the lab's removal
        stack.callback(down, NAME, tmp / "state")
        lab, svc = lab_service(tmp, NAME, OCTET, **config)
        for sim in sims.values():
            sim.hook = LabAttachment(lab, svc.backbone)
        keys = {}
        for t in range(TENANTS):
            svc.add_tenant(f"t{t}", f"Tenant {t}")
            keys[f"t{t}"] = apikeys.issue(svc.store, f"t{t}", "bench")
        run = {**os.environ, "ONRAMP_CONFIG": str(svc.settings.path)}
        port = free_port()
        procs = [subprocess.Popen([sys.executable, "-m", "onramp.cli", "api", "serve", "--port",
                                   str(port), "--workers", str(a.api)], env=run)]  # fmt: skip
        workers = [subprocess.Popen([sys.executable, "-m", "onramp.cli", "worker",
                                     "--concurrency", "1", *(["--beat"] if i == 0 else [])],
                                    env=run, stdout=subprocess.DEVNULL,
                                    stderr=(tmp / f"worker{i}.log").open("wb"))
                   for i in range(a.workers)]  # fmt: skip

        def stop() -> None:
            for p in procs + workers:
                p.terminate()
            for p in procs + workers:
                p.wait(timeout=60)

        stack.callback(stop)
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                requests.get(url + "/v1/openapi.json", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        todo = orders(a.connectors, sims, cloud_lans(lab.topo), svc.settings.lab.enterprise_asn)
        time.sleep(3)  # the workers connected to the broker
        http = requests.Session()
        http.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))

        def post(order: dict[str, Any]) -> tuple[float, requests.Response]:
            sent = time.time()
            body = {k: v for k, v in order.items() if k != "tenant"}
            return sent, http.post(url + "/v1/connectors", json=body, timeout=120,
                                   headers={"X-API-Key": keys[order["tenant"]]})  # fmt: skip

        customers = Customers(lab, svc)
        customers.start()
        cpu0 = {w.pid: cpu_s(w.pid) for w in workers}
        t0 = time.time()
        with ThreadPoolExecutor(32) as pool:
            answers = list(pool.map(post, todo))
        accepted_s = time.time() - t0
        codes = Counter(r.status_code for _, r in answers)
        made = {r.json()["id"]: (sent, o) for (sent, r), o in zip(answers, todo, strict=True)
                if r.status_code == 202}  # fmt: skip
        figures["orders accepted"] = f"{codes[202]} of {len(todo)} ({dict(codes)})"
        figures["orders accepted per s"] = round(codes[202] / accepted_s, 1)

        orch = Orchestrator(svc, {}, "bench")
        ends: dict[str, str] = {}
        deadline = time.time() + a.timeout
        while len(ends) < len(made) and time.time() < deadline:
            for c in svc.connectors():
                if c["id"] in made and c["id"] not in ends and c["state"] in ENDED:
                    ends[c["id"]] = c["state"]
            time.sleep(0.5)
        wall = time.time() - t0
        customers.stop.set()
        customers.join(timeout=60)
        cpu = {w.pid: cpu_s(w.pid) - cpu0[w.pid] for w in workers}

        took, steps = [], Counter()
        for ident, (sent, _) in made.items():
            history = orch.history("connector", ident)
            steps.update({h["actor"].rsplit(":", 1)[-1] for h in history
                          if h["actor"].startswith("worker:")})  # fmt: skip
            active = [h["at"] for h in history if h["to"] == "active"]
            if active:
                at = (
                    active[0]
                    if isinstance(active[0], datetime)
                    else datetime.fromisoformat(active[0])
                )
                took.append(at.timestamp() - sent)
        states = Counter(ends.values())
        figures["ended"] = dict(states) | {"still under way": len(made) - len(ends)}
        if took:
            figures["request -> active p50/p99 s"] = (
                f"{statistics.median(took):.1f}/{pct(took, 0.99):.1f}"
            )
        figures["first order -> last ended s"] = round(wall, 1)
        legs = [(x["router"], x["port"], x["vlan"]) for c in svc.connectors()
                for x in c["attachments"] if c["id"] in made]  # fmt: skip
        vifs = [v["virtualInterfaceName"] for v in sims["aws"].vifs.values()
                if v["virtualInterfaceState"] != "deleted"]  # fmt: skip
        figures["duplicates (legs, VIFs)"] = (
            f"{sum(n - 1 for n in Counter(legs).values())}, "
            f"{sum(n - 1 for n in Counter(vifs).values())}"
        )
        active = [c for c in svc.connectors() if c["id"] in made and c["state"] == "active"]
        figures["active with every session Established and a prefix (PEs' word)"] = (
            f"{sessions_up(lab, active)} of {len(active)}"
        )
        figures["Connectors stored per order"] = round(len(svc.connectors()) / len(todo), 2)
        figures["worker CPU s / wall (each)"] = ", ".join(
            f"{cpu[w.pid] / wall:.2f}" for w in workers
        )
        figures["Connectors with steps by each worker"] = dict(steps.most_common())
        bad = {i: svc.connector(i)["reason"] for i, s in ends.items() if s != "active"}
        figures["not active, why (first 3)"] = list(bad.items())[:3]
        figures["CE configs retried"] = f"{len(customers.errors)}: {customers.errors[:1]}"
        if customers.waited:
            figures["CE configured after allocation s (p50/max)"] = (
                f"{statistics.median(customers.waited):.1f}/{max(customers.waited):.1f}"
            )
        report(figures, a.json)  # the orders' figures now: the KPI part is long
        figures = {}
        if a.links:
            with svc.store.session() as s:  # the orders' last rollbacks let go of the PEs
                until = time.time() + 120
                while s.scalar(select(func.count()).select_from(RouterLockRow)) and (
                    time.time() < until
                ):
                    time.sleep(1)
            try:
                figures |= kpi_round(svc, workers, a.links, a.probes, a.rounds)
            except SystemExit as exc:  # monitor_poll.deploy's refusal
                figures["KPI round"] = f"not measured: {exc}"
    report(figures, a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
