"""Lab fixtures: real FRR routers in network namespaces, removed again even on failure."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
import yaml

from onramp.core.settings import LabSettings, load_settings
from onramp.flow.service import Service
from onramp.lab.run import FRR_ETC, FRR_RUN, NEEDED, Lab, down, namespaces, root_links
from onramp.lab.topology import EDGE_PORT, Topology, build, cloud_lans
from onramp.network.inventory import Backbone, load
from onramp.tasks.config import canonical

from ..browser import until
from ..conftest import copy_default_inventory

if os.geteuid() != 0:
    pytest.skip("lab tests need root (network namespaces)", allow_module_level=True)
if missing := [str(p) for p in NEEDED if not p.exists()]:
    pytest.skip(
        f"lab tests need FRR and sshd ({missing}): run `make deps`", allow_module_level=True
    )


# an AWS Paris hosted VIF for acme: the order most lab tests start from
AWS_ORDER = {"tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
             "bandwidth_mbps": 100, "aws_account": "123456789012",
             "prefixes": ["10.100.0.0/24"]}  # fmt: skip


def running(lab: Lab, router: str) -> str:
    """A router's running config, canonical: equal when the config is (stanza order aside)."""
    return canonical(lab.vtysh(router, "show running-config"))


def unanswered(report: str) -> tuple[int, list[int]]:
    """(probes sent, those unanswered) of a `ping -n` stopped by SIGINT, the last one sent
    not counted: ping counts a probe still in flight at the signal as lost (7 stops in 10
    at 90 ms round trips every 200 ms, measured), so `received == sent` failed about one
    stop in 50 ms / round trip for no loss at all."""
    m = re.search(r"(\d+) packets transmitted", report)
    assert m, report
    sent = int(m[1])
    answered = {int(s) for s in re.findall(r"icmp_seq=(\d+)", report)}
    return sent, [s for s in range(1, sent) if s not in answered]


def lab_settings(name: str, tmp: Path, third_octet: int) -> LabSettings:
    """A lab of its own: its own name and management subnet, so labs can run side by side."""
    return LabSettings(
        name=name,
        mgmt_subnet=IPv4Network(f"172.20.{third_octet}.0/24"),
        state_dir=tmp / "state",
        converge_timeout_s=30,
    )


def default_inventory_in(subnet_octet: int, directory: Path) -> Backbone:
    """The default inventory, copied, with the routers' management addresses moved."""
    inv = copy_default_inventory(directory)
    for h in inv.data["hosts"].values():
        a, b, _, d = h["hostname"].split(".")
        h["hostname"] = f"{a}.{b}.{subnet_octet}.{d}"
    return load(inv.write())


def write_config(path: Path, settings: LabSettings, inventory: Path) -> Path:
    """A config.yaml for the CLI that points at this lab and inventory."""
    path.write_text(
        yaml.safe_dump(
            {
                "nornir": {
                    "inventory": {
                        "plugin": "OnrampInventory",
                        "options": {"directory": str(inventory)},
                    },
                    "logging": {"enabled": False},
                },
                "lab": {**settings.model_dump(mode="json"), "state_dir": str(settings.state_dir)},
            }
        )
    )
    return path


def leftovers(lab: str) -> list[str]:
    """Everything a lab could leave behind, by name."""
    left = namespaces(lab) + root_links(lab)
    left += [str(p) for p in (*FRR_ETC.glob(f"{lab}-*"), *FRR_RUN.glob(f"{lab}-*"))]
    procs = subprocess.run(["pgrep", "-af", f"-N {lab}-"], capture_output=True, text=True).stdout
    return left + procs.splitlines()


@dataclass(frozen=True)
class SharedLab:
    lab: Lab
    topo: Topology
    bb: Backbone
    config: Path  # config.yaml for the CLI


@pytest.fixture(scope="session")
def shared_lab(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[SharedLab]:
    """One converged default lab shared by every test that only reads it."""
    tmp = tmp_path_factory.mktemp("shared-lab")
    # one shared lab per pytest-xdist worker (gw0, gw1, ...): its own name and subnet
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    # ONRAMP_TEST_LAB / ONRAMP_TEST_OCTET: two test runs on one machine keep apart
    octet = int(os.environ.get("ONRAMP_TEST_OCTET", "60")) + worker
    settings = lab_settings(f"{os.environ.get('ONRAMP_TEST_LAB', 'tsh')}{worker}", tmp, octet)
    bb = default_inventory_in(octet, tmp / "inventory")
    topo = build(bb, settings)
    lab = Lab(topo, settings.state_dir)
    down(settings.name, settings.state_dir)  # a previous interrupted run
    try:
        lab.up(converge_timeout=settings.converge_timeout_s)
        yield SharedLab(
            lab, topo, bb, write_config(tmp / "config.yaml", settings, tmp / "inventory")
        )
    finally:
        down(settings.name, settings.state_dir)


@contextmanager
def module_lab(
    tmp: Path, name: str, octet: int, **config: Any
) -> Iterator[tuple[Lab, Service, Topology]]:
    """A lab of a test module's own, up, with a Service on its own SQLite store (or what
    `config` says: csp endpoints, worker settings, another store) and tenant acme; the
    lab is removed again even on failure."""
    settings = lab_settings(name, tmp, octet)
    topo = build(default_inventory_in(octet, tmp / "inventory"), settings)
    lab = Lab(topo, settings.state_dir)
    down(settings.name, settings.state_dir)
    try:
        lab.up(converge_timeout=settings.converge_timeout_s)
        path = write_config(tmp / "config.yaml", settings, tmp / "inventory")
        data = yaml.safe_load(path.read_text())
        data |= {"store_url": f"sqlite:///{tmp / 'onramp.db'}", "secret_key_file": str(tmp / "k")}
        path.write_text(yaml.safe_dump(data | config))
        svc = Service.open(load_settings(path))
        svc.add_tenant("acme", "Acme")
        yield lab, svc, topo
    finally:
        down(settings.name, settings.state_dir)


_CE_CONFIGS: dict[str, str] = {}  # Connector id -> the CE config applied (to take it off)


def ce_side(lab: Lab, svc: Service, c: dict[str, Any], remove: bool = False) -> None:
    """An enterprise site's CE (the lab's edge at the Connector's port), configured as its
    customer does: with what `customer-config --platform frr` gives (Service.customer_config,
    the CLI's and the API's call), applied unchanged; no provider API sets up that side."""
    (a,) = c["attachments"]
    edge = lab.topo.edge_of(a["router"], a["port"])
    if remove:
        if (config := _CE_CONFIGS.pop(c["id"], None)) is not None:
            lab.apply_ce_config(edge, config, remove=True)
        return
    config = svc.customer_config(c["id"], "frr", "test:ce", port=EDGE_PORT)["config"]
    lab.apply_ce_config(edge, config)
    _CE_CONFIGS[c["id"]] = config


def decommissioned(svc: Service, kind: str, ident: str) -> None:
    """Taken away the one way (`onramp connector|link delete`), then its decommission step run
    here, as a worker would: routers (left clean by the test: nothing to apply), the provider
    (none was recorded: the test asked it itself), then the allocation released."""
    from onramp.flow.orchestrate import Orchestrator

    orch = Orchestrator(svc, {}, actor="test")
    orch.decommission(kind, ident)
    assert orch.drive(kind, ident, poll_s=0.1, timeout_s=60) == "deleted"


SERVING = re.compile(r"serving: Portal (\S+)/ API \S+ key (onr_\S+)")
AZURE = re.compile(r"Azure ARM (http://\S+)")


@dataclass
class ServedDemo:
    """`onramp demo --via api --serve` up on a lab of its own: the Portal/API and a key."""

    url: str
    key: str
    log: Path  # the demo's stderr: its progress lines, the simulators' URLs
    lans: dict[str, IPv4Network]  # each cloud's and site's LAN
    topo: Topology
    settings: LabSettings
    process: subprocess.Popen[bytes]

    def azure_url(self) -> str:
        found = AZURE.search(self.log.read_text())
        assert found, self.log.read_text()[-2000:]
        return found.group(1)


@contextmanager
def served_demo(lab: str, tmp: Path, octet: int) -> Iterator[ServedDemo]:
    """The demo told through the API and left serving, as a customer's tools meet it; stopped
    (SIGTERM, then killed) and its lab removed when the block ends, even on failure."""
    settings = lab_settings(lab, tmp, octet)
    bb = default_inventory_in(octet, tmp / "inventory")
    config = write_config(tmp / "config.yaml", settings, tmp / "inventory")
    topo = build(bb, settings)
    log = tmp / "demo.log"
    with log.open("w") as sink:
        demo = subprocess.Popen(
            [sys.executable, "-m", "onramp.cli", "--config", str(config), "demo", "--via",
             "api", "--serve", "--json"],
            stdout=subprocess.DEVNULL, stderr=sink, env={**os.environ, "COLUMNS": "200"},
        )  # fmt: skip
    try:
        serving = until(lambda: SERVING.search(log.read_text()) or demo.poll() is not None, 600)
        assert demo.poll() is None, log.read_text()[-3000:]
        yield ServedDemo(serving.group(1), serving.group(2), log, cloud_lans(topo), topo,
                         settings, demo)  # fmt: skip
    finally:
        demo.send_signal(signal.SIGTERM)
        try:
            demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            demo.kill()
        down(settings.name, settings.state_dir)
