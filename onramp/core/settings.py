"""config.yaml: Nornir's settings plus onramp's own; environment variables override.

Relative paths in the file are relative to the file, so commands work from any directory.
"""

from __future__ import annotations

import os
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from onramp.core.errors import OnrampError

ROOT = Path(__file__).resolve().parent.parent.parent  # the project: onramp/core/settings.py
DEFAULT_CONFIG = ROOT / "config.yaml"


class LabSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="onr", pattern=r"^[a-z][a-z0-9]{0,7}$")  # prefix of every netns/link
    mgmt_subnet: IPv4Network = IPv4Network("172.20.20.0/24")
    # the clouds' LANs behind the on-ramps: one /24 per on-ramp, in catalogue order
    cloud_pool: IPv4Network = IPv4Network("10.100.0.0/16")
    enterprise_asn: int = Field(default=65101, ge=64512, le=65534)  # the lab's customer CE
    state_dir: Path = Path("/run/onramp/lab")
    converge_timeout_s: float = 60.0


class CspSettings(BaseModel):
    """Where one provider's API is. Credentials are not here: each SDK reads its own
    environment (AWS_*, AZURE_*, GOOGLE_APPLICATION_CREDENTIALS)."""

    model_config = ConfigDict(extra="forbid")

    endpoint_url: str | None = None  # a simulator (`onramp sim <provider>`); unset: the real API
    region: str = ""  # AWS region
    account: str = ""  # our Azure subscription id / our GCP project


class WorkerSettings(BaseModel):
    """The workers that advance Connectors and Links (onramp.worker, Celery)."""

    model_config = ConfigDict(extra="forbid")

    # the embedded default needs no server: a SQLite file; scale-out: amqp://.../ (RabbitMQ)
    broker_url: str = "sqla+sqlite:///var/broker.db"  # relative SQLite paths: to this file
    poll_s: float = 2.0  # how often a waiting Connector asks its provider again
    # the safety net (orders reach the workers when stored): how often unfinished work
    # without a live lease is queued again; 0: never
    sweep_s: float = 5.0
    # a step's lease, renewed by a heartbeat every third of it while the step runs: a dead
    # worker's Connector is free this long after its last heartbeat (+ a sweep: resumed)
    lease_s: float = Field(default=15.0, gt=0)
    # a step failing with a transient error (provider or router unreachable) is tried again
    # after base * 2^(n-1) s (capped, the upper half of it at random: jitter), up to
    # retry_max tries; then the Connector or Link rolls back to failed with the last error
    retry_max: int = Field(default=8, ge=1)
    retry_base_s: float = Field(default=2.0, ge=0)
    retry_cap_s: float = Field(default=300.0, ge=0)
    awaiting_s: float = 7 * 24 * 3600.0  # the customer's (or the ticket's) time to answer
    revert_in_s: int = 120  # the routers' confirm timer
    check_timeout_s: float = 60.0  # how long the pyATS gate waits for BGP


class MonitorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    interval_s: float = 60.0  # one KPI window per Link per interval; 0: not scheduled
    probes: int = Field(default=20, ge=2, le=1000)  # pings per Link per window


class ComplianceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    interval_s: float = 3600.0  # the workers' schedule: a compliance run; 0: not scheduled


class EdgeWeights(BaseModel):
    """How an edge is scored among the usable ones (lower wins): each term times its weight."""

    igp: float = 1.0  # per unit of IGP cost to the PEs of the tenant's other Connectors
    load: float = 10.0  # per Connector already on the router (balance across PEs)
    headroom: float = 100.0  # times the port's used share after this order (0..1)
    shared_failure: float = 1000.0  # a secondary that fails with the primary's one core router


class TopologySettings(BaseModel):
    """The backbone read from the network (onramp.flow.topology) for the edge choice."""

    source: Literal["isis-ssh", "off"] = "off"  # off: inventory and store only (config.yaml: on)
    cache_file: Path = Path("var/topology.json")  # relative: to this file
    max_age_s: float = 300.0  # older: read again before a plan
    refresh_s: float = 60.0  # the workers' schedule; 0: not scheduled
    ms_per_metric: float = 0.1  # latency per IGP metric unit when no KPI calibrates it
    weights: EdgeWeights = EdgeWeights()


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path
    nornir: dict[str, Any]
    store_url: str = "sqlite:///var/onramp.db"  # a relative SQLite path is relative to this file
    secret_key_file: Path = Path("var/secret.key")  # Fernet key for BGP keys at rest
    lab: LabSettings = LabSettings()
    csp: dict[str, CspSettings] = {}  # provider -> where its API is
    worker: WorkerSettings = WorkerSettings()
    monitor: MonitorSettings = MonitorSettings()
    compliance: ComplianceSettings = ComplianceSettings()
    topology: TopologySettings = TopologySettings()

    def resolved_store_url(self) -> str:
        return self._beside(self.store_url, "sqlite:///")

    def resolved_broker_url(self) -> str:
        return self._beside(self.worker.broker_url, "sqla+sqlite:///")

    def _beside(self, url: str, prefix: str) -> str:
        """A relative SQLite path is relative to this file (its directory is made)."""
        if url.startswith(prefix) and not url.startswith(prefix + "/"):
            db = self.path.parent / url.removeprefix(prefix)
            db.parent.mkdir(parents=True, exist_ok=True)
            return prefix + str(db)
        return url

    @property
    def topology_cache(self) -> Path:
        return self.path.parent / self.topology.cache_file

    @property
    def secret_key_path(self) -> Path:
        return self.path.parent / self.secret_key_file

    @property
    def inventory_dir(self) -> Path:
        options = self.nornir.get("inventory", {}).get("options", {})
        return (self.path.parent / str(options.get("directory", "inventory"))).resolve()

    def nornir_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for nornir.InitNornir, with the inventory path made absolute."""
        kwargs = {k: dict(v) if isinstance(v, dict) else v for k, v in self.nornir.items()}
        inventory = dict(kwargs.get("inventory", {}))
        inventory["options"] = {
            **inventory.get("options", {}),
            "directory": str(self.inventory_dir),
        }
        kwargs["inventory"] = inventory
        return kwargs


def local_config(
    directory: Path, inventory: Path = ROOT / "inventory", db: str = "onramp.db", **more: Any
) -> Path:
    """A config.yaml in `directory` for a SQLite store and a key file there, and an
    inventory (tests, benchmarks, a scratch store); `more`: further top-level keys."""
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump({
        "nornir": {"inventory": {"plugin": "OnrampInventory",
                                 "options": {"directory": str(inventory)}}},
        "store_url": f"sqlite:///{directory / db}", "secret_key_file": str(directory / "k"),
        **more}))  # fmt: skip
    return path


def load_settings(path: Path | None = None) -> Settings:
    """Read config.yaml (or $ONRAMP_CONFIG); ONRAMP_INVENTORY and ONRAMP_STORE_URL override."""
    path = (path or Path(os.environ.get("ONRAMP_CONFIG", DEFAULT_CONFIG))).resolve()
    try:
        data = yaml.safe_load(path.read_text()) or {}
        settings = Settings.model_validate({**data, "path": path})
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise OnrampError("ONR-CFG-001", f"{path}: {exc}".replace("\n", " ")) from exc
    if url := os.environ.get("ONRAMP_STORE_URL"):
        settings.store_url = url
    if inventory := os.environ.get("ONRAMP_INVENTORY"):
        options = settings.nornir.setdefault("inventory", {}).setdefault("options", {})
        options["directory"] = str(Path(inventory).resolve())
    return settings
