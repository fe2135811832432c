"""The operator's path, walked as a stranger walks it (issue 18): a generated backbone with
names of its own (PoPs, routers, ports, on-ramps, the providers' port names) and an IOS-XR
PE among the FRR ones; `onramp sim aws|azure|gcp --lab` and `onramp worker --beat` as
processes; orders only through `onramp connector create|delete|customer-config`, with the
worker's settings at their defaults (lease, sweep) as a new user has them.

- AWS, Azure, Google and enterprise Connectors go active from `connector create` alone
  (the enterprise CE configured from `customer-config --platform frr`, as its customer
  would); the same AWS order driven by the state machine in this process is the baseline.
- a worker killed (SIGKILL) in `verifying`: a new worker takes the Connector to active.
- `connector delete` of an active Connector: off the router and the provider first, the
  allocation released after.
- an order on the IOS-XR PE refused by `connector plan` with ONR-PLAT-001, nothing held.

Each figure (seconds) is written to $ONRAMP_FIGURES when set: `bench/operator.py` runs
this module and prints them as ratios; the test asserts outcomes, not times.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from onramp.core.settings import load_settings
from onramp.core.store import AllocationRow
from onramp.csp import registry
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service
from onramp.lab.run import Lab, down
from onramp.lab.topology import EDGE_PORT, build, cloud_lans
from onramp.network.inventory import load
from onramp.network.inventory.generate import generate, write
from onramp.network.platforms import PLATFORMS

from .conftest import lab_settings, running, write_config

LAB, OCTET = "top", 63
XR = "xc-pop1-xr"  # an enterprise on-ramp on the IOS-XR PE
ACCOUNTS = {"aws": "", "azure": "7c1e0f3a-5b2d-4e6f-8a9b-0c1d2e3f4a5b", "gcp": "ops-net-7"}


@dataclass
class Env:
    lab: Lab
    config: Path
    svc: Service
    sims: dict[str, str]  # provider -> its URL
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)

    def cli(self, *args: str, code: int = 0) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "onramp.cli", "--config", str(self.config), *args, "--json"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == code, (args, done.stdout[-2000:], done.stderr[-2000:])
        return json.loads(done.stdout) if done.stdout.strip() else None

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = (self.config.parent / f"worker-{time.time_ns()}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "onramp.cli", "--config", str(self.config), "worker",
             "--beat"], stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        self.workers.append(proc)
        return proc

    def state(self, ident: str) -> str:
        return str(self.svc.connector(ident)["state"])

    def until(self, ident: str, wanted: set[str], timeout_s: float = 180) -> str:
        deadline = time.monotonic() + timeout_s
        while (now := self.state(ident)) not in wanted | {"failed"}:
            assert time.monotonic() < deadline, (now, self.svc.history("connector", ident))
            time.sleep(0.1)
        return now


def backbone(directory: Path) -> Path:
    """12 routers (2 P, 10 PE, every 5th PE an IOS-XR one), PoPs pop1/pop2, and one more
    enterprise on-ramp on an IOS-XR PE: names onramp's default inventory never uses."""
    files = generate(12, f"172.20.{OCTET}.0/24", platforms=["frr", "frr", "frr", "frr", "iosxr"])
    hosts, onramps = files["hosts"], files["backbone"]["onramps"]
    (xr,) = [h for h, v in hosts.items() if v["platform"] == "iosxr" and v["data"]["pop"] == "pop1"]
    data = hosts[xr]["data"]
    n = len(data["core_interfaces"]) + len(data.get("onramp_ports", [])) + 1
    port = PLATFORMS["iosxr"].numbered_interface.format(n)
    data.setdefault("onramp_ports", []).append(
        {"name": port, "onramp": XR, "vlan_range": [100, 999], "speed_mbps": 1000}
    )
    onramps[XR] = {"provider": "enterprise", "pop": "pop1", "description": "IOS-XR cross-connects"}
    write(files, directory)
    return directory


def simulator(stack: ExitStack, provider: str, config: Path) -> dict[str, Any]:
    """`onramp sim <provider> --lab` in its own process, as the README starts it."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "onramp.cli", "--config", str(config), "sim", provider, "--lab",
         "--json", "--accept-after", "0.2", "--provisioning", "0.2"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip

    def stop() -> None:
        proc.terminate()
        proc.wait(timeout=10)

    stack.callback(stop)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, f"onramp sim {provider} did not start (exit {proc.wait(timeout=10)})"
    return json.loads(line)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("operator")
    settings = lab_settings(LAB, tmp, OCTET)
    inventory = backbone(tmp / "inventory")
    lab = Lab(build(load(inventory), settings), settings.state_dir)
    down(settings.name, settings.state_dir)
    e: Env | None = None
    with ExitStack() as stack:
        try:
            lab.up(converge_timeout=settings.converge_timeout_s)
            config = write_config(tmp / "config.yaml", settings, inventory)
            data = yaml.safe_load(config.read_text())
            # the worker's lease and sweep at their defaults: what a new user runs
            data |= {"store_url": f"sqlite:///{tmp / 'onramp.db'}",
                     "secret_key_file": str(tmp / "secret.key"),
                     "worker": {"broker_url": f"sqla+sqlite:///{tmp / 'broker.db'}",
                                "revert_in_s": 40, "check_timeout_s": 20},
                     "csp": {p: {"account": a} for p, a in ACCOUNTS.items() if a}}  # fmt: skip
            config.write_text(yaml.safe_dump(data))
            ready = {p: simulator(stack, p, config) for p in ACCOUNTS}
            data["csp"] = {p: {"endpoint_url": r["url"], "region": _region(inventory, p)}
                           | ({"account": ACCOUNTS[p]} if ACCOUNTS[p] else {})
                           for p, r in ready.items()}  # fmt: skip
            config.write_text(yaml.safe_dump(data))
            e = Env(lab, config, Service.open(load_settings(config)),
                    {p: r["url"] for p, r in ready.items()})  # fmt: skip
            e.cli("tenant", "add", "acme", "Acme")
            yield e
        finally:
            for proc in e.workers if e else []:
                proc.kill()
                proc.wait(timeout=10)
            if (out := os.environ.get("ONRAMP_FIGURES")) and e is not None:
                Path(out).write_text(json.dumps(e.figures, indent=2))
            stack.close()
            down(settings.name, settings.state_dir)


def _region(inventory: Path, provider: str) -> str:
    onramps = yaml.safe_load((inventory / "backbone.yaml").read_text())["onramps"]
    return next(str(o["csp_region"]) for o in onramps.values() if o["provider"] == provider)


def post(url: str, data: dict[str, Any]) -> dict[str, Any]:
    asked = urllib.request.Request(url, data=json.dumps(data).encode(), method="POST")
    with urllib.request.urlopen(asked) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def sim_state(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/_sim/state") as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def order(env: Env, provider: str) -> list[str]:
    """The CLI options of one order, after the customer's own part at the provider."""
    onramp = next(o for o, v in env.svc.backbone.catalogue.onramps.items()
                  if v.provider == provider and o != XR)  # fmt: skip
    common = ["--tenant", "acme", "--onramp", onramp, "--bandwidth", "100"]
    lan = str(cloud_lans(env.lab.topo)[onramp])  # what the lab's cloud behind it announces
    if provider == "aws":
        return [*common, "--kind", "aws-hosted-vif", "--aws-account", "123456789012",
                "--prefix", lan]  # fmt: skip
    if provider == "azure":
        key = post(env.sims["azure"] + "/_sim/circuits", {"bandwidth_mbps": 100})["service_key"]
        s_tag = sim_state(env.sims["azure"])["cross_connections"][key]["properties"]["sTag"]
        return [*common, "--kind", "azure-expressroute", "--azure-service-key", key,
                "--s-tag", str(s_tag), "--prefix", lan]  # fmt: skip
    if provider == "gcp":
        key = post(env.sims["gcp"] + "/_sim/pairing-keys", {})["pairing_key"]
        return [*common, "--kind", "gcp-partner", "--gcp-pairing-key", key, "--prefix", lan]
    return [*common, "--kind", "enterprise", "--customer-asn", "65101", "--prefix", lan]


def customer_side(env: Env, ident: str) -> Callable[[], object]:
    """An enterprise CE configured with what `customer-config --platform frr` gives the
    customer, unchanged; returns how to take it off again."""
    c = env.svc.connector(ident)
    (a,) = c["attachments"]
    edge = env.lab.topo.edge_of(a["router"], a["port"])
    text = env.cli("connector", "customer-config", ident, "--platform", "frr",
                   "--interface", EDGE_PORT)["config"]  # fmt: skip
    env.lab.apply_ce_config(edge, text)
    return lambda: env.lab.apply_ce_config(edge, text, remove=True)


def held(env: Env, ident: str) -> int:
    with env.svc.store.session() as s:
        return int(s.scalar(select(func.count()).where(AllocationRow.owner == ident)) or 0)


def test_the_state_machine_in_process_is_the_baseline(env: Env) -> None:
    """The AWS order driven step by step in this process (no queue, no worker): what the
    CLI path is compared with. Then taken away the same way."""
    adapters = registry.adapters(env.svc.settings.csp, env.svc.backbone, env.svc.store,
                                 env.svc.vault)  # fmt: skip
    orch = Orchestrator.from_settings(env.svc, "test:baseline", adapters)
    for run in range(2):  # the first warms up (imports, SSH, the simulator)
        c = env.svc.create_connector(env.svc.connector_request(
            {"tenant": "acme", "onramp": "aws-pop1", "kind": "aws-hosted-vif",
             "bandwidth_mbps": 100, "aws_account": "123456789012",
             "prefixes": [str(cloud_lans(env.lab.topo)["aws-pop1"])]}))  # fmt: skip
        t = time.monotonic()
        assert orch.drive("connector", c["id"], poll_s=0.05) == "active"
        if run:
            env.figures["baseline_aws_s"] = round(time.monotonic() - t, 2)
        orch.decommission("connector", c["id"])
        assert orch.drive("connector", c["id"], poll_s=0.05) == "deleted"


@pytest.mark.parametrize("provider", ["aws", "azure", "gcp", "enterprise"])
def test_connector_create_and_a_worker_take_it_to_active(env: Env, provider: str) -> None:
    """`onramp connector create` hands the order to the workers in the transaction that
    stores it: a worker started beforehand takes it to active, with traffic-bearing BGP up."""
    if not env.workers:  # started, and warmed up by one order (imports, SSH): not timed
        env.start_worker()
        warm = env.cli("connector", "create", *order(env, "aws"))
        assert env.until(warm["id"], {"active"}) == "active"
        env.cli("connector", "delete", warm["id"])
        assert env.until(warm["id"], {"deleted"}) == "deleted"
    options = order(env, provider)
    t = time.monotonic()
    made = env.cli("connector", "create", *options)
    undo = None
    if provider == "enterprise":
        assert env.until(made["id"], {"configuring", "verifying", "active"}) != "failed"
        undo = customer_side(env, made["id"])
    try:
        assert env.until(made["id"], {"active"}) == "active", env.svc.history("connector",
                                                                               made["id"])  # fmt: skip
        env.figures[f"cli_{provider}_s"] = round(time.monotonic() - t, 2)
        env.cli("connector", "delete", made["id"])
        assert env.until(made["id"], {"deleted"}) == "deleted"
    finally:
        if undo is not None:
            undo()


def test_a_worker_killed_in_verifying_is_replaced(env: Env) -> None:
    """SIGKILL of the worker while the Connector is verifying (committed, the gate waiting):
    a new worker takes it to active; its router left nothing pending."""
    first = env.workers[-1] if env.workers else env.start_worker()
    made = env.cli("connector", "create", *order(env, "aws"))
    assert env.until(made["id"], {"verifying", "active"}) == "verifying"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    t = time.monotonic()
    env.start_worker()
    assert env.until(made["id"], {"active"}) == "active", env.svc.history("connector", made["id"])
    env.figures["worker_death_to_active_s"] = round(time.monotonic() - t, 2)
    env.cli("connector", "delete", made["id"])
    assert env.until(made["id"], {"deleted"}) == "deleted"


def test_delete_of_an_active_connector_decommissions_before_it_releases(env: Env) -> None:
    """`connector delete` of an active AWS Connector: its VRF off the PE and its VIF deleted
    at the provider while the allocation is still held; released only then."""
    if not env.workers or env.workers[-1].poll() is not None:
        env.start_worker()
    made = env.cli("connector", "create", *order(env, "aws"))
    assert env.until(made["id"], {"active"}) == "active"
    c = env.svc.connector(made["id"])
    (a,) = c["attachments"]
    assert f"vrf {c['vrf']}" in running(env.lab, a["router"])
    assert held(env, made["id"]) > 0
    gone = env.cli("connector", "delete", made["id"])
    assert gone["state"] == "decommissioning"
    assert env.until(made["id"], {"deleted"}) == "deleted"
    assert f"vrf {c['vrf']}" not in running(env.lab, a["router"])
    assert a["interface"] not in running(env.lab, a["router"])
    vif = sim_state(env.sims["aws"])["virtual_interfaces"][c["csp_resource"]]
    assert vif["virtualInterfaceState"] == "deleted"
    assert held(env, made["id"]) == 0
    steps = [h["to"] for h in env.svc.history("connector", made["id"])]
    assert steps[-3:] == ["active", "decommissioning", "deleted"]


def test_an_order_on_the_ios_xr_pe_is_refused_at_plan(env: Env) -> None:
    """NAPALM's IOS-XR driver cannot commit-confirm and the gate cannot read it: `plan`
    (and `create`) refuse the order with the code naming what is missing; nothing held."""
    ask = ["--tenant", "acme", "--onramp", XR, "--kind", "enterprise", "--bandwidth", "100",
           "--customer-asn", "65101", "--prefix", "192.168.20.0/24"]  # fmt: skip
    for command in ("plan", "create"):
        refused = env.cli("connector", command, *ask, code=2)["error"]
        assert refused["code"] == "ONR-PLAT-001", refused
        assert "iosxr" in refused["reason"] and "commit-confirm" in refused["reason"]
    assert [c for c in env.svc.connectors() if c["onramp"] == XR] == []
