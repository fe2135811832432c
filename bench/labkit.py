"""What the lab benchmarks share: a lab of their own (its name and management subnet)
with a Service on a store in a temporary directory, tenant "bench"."""

from __future__ import annotations

import signal
import sys
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import yaml

from onramp.core.settings import ROOT, LabSettings, load_settings
from onramp.flow.service import Service
from onramp.lab.run import Lab, down
from onramp.lab.topology import build
from onramp.network.inventory import load


def unwind_on_sigterm() -> None:
    """SIGTERM (`kill`, a CI's timeout) unwinds as Ctrl-C does: the bench's `with` blocks
    run, so its lab, PostgreSQL and RabbitMQ go with it (Python's default for SIGTERM is to
    die at once: scale_out.py left both servers running)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def moved_inventory(tmp: Path, octet: int) -> Path:
    """The default inventory copied to `tmp`/inventory, its routers moved to
    172.20.<octet>.0/24 (a lab's hostnames must lie in its management subnet)."""
    inv = tmp / "inventory"
    inv.mkdir()
    for f in (ROOT / "inventory").glob("*.yaml"):
        text = f.read_text()
        if f.name == "hosts.yaml":
            text = text.replace("172.20.20.", f"172.20.{octet}.")
        (inv / f.name).write_text(text)
    return inv


def lab_service(tmp: Path, name: str, octet: int, **config: Any) -> tuple[Lab, Service]:
    """Copy the default inventory moved to 172.20.<octet>.0/24, bring the lab up, open a
    Service on it (`config`: extra config.yaml keys). The caller runs `down(name, tmp /
    "state")` when done, even on failure."""
    inv = moved_inventory(tmp, octet)
    settings = LabSettings(
        name=name, mgmt_subnet=IPv4Network(f"172.20.{octet}.0/24"), state_dir=tmp / "state"
    )
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump({
        "nornir": {"inventory": {"plugin": "OnrampInventory", "options": {"directory": str(inv)}},
                   "runner": {"plugin": "threaded", "options": {"num_workers": 20}},
                   "logging": {"enabled": False}},
        "store_url": f"sqlite:///{tmp / 'bench.db'}",
        "secret_key_file": str(tmp / "secret.key"),
        "lab": {**settings.model_dump(mode="json"), "state_dir": str(settings.state_dir)},
        **config,
    }))  # fmt: skip
    lab = Lab(build(load(inv), settings), settings.state_dir)
    down(name, settings.state_dir)
    lab.up(converge_timeout=60)
    svc = Service.open(load_settings(path))
    svc.add_tenant("bench", "Bench")
    return lab, svc
