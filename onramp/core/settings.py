"""config.yaml: Nornir's settings plus onramp's own; the environment overrides any of them.

Which file: `--config`, then $ONRAMP_CONFIG, then ./config.yaml or the nearest parent folder
that has one (as git finds its repository), then the user's config folder
(~/.config/onramp/config.yaml). Relative paths in the file are relative to the file, so
commands work from any folder of the project. Every setting also comes from the
environment as ONRAMP_<SECTION>__<KEY> (ONRAMP_LAB__NAME, ONRAMP_STORE_URL), for containers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cache
from ipaddress import IPv4Network
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from onramp.core.errors import OnrampError

if TYPE_CHECKING:
    from pydantic_settings import PydanticBaseSettingsSource

PACKAGE = Path(__file__).resolve().parent.parent  # onramp/: the built-in data ships inside it
EXAMPLE = PACKAGE / "example"  # the example project `onramp init` copies: config + inventory
# The checkout, for tests and benchmarks only: an installed onramp reads nothing through it
ROOT = PACKAGE.parent
CONFIG_NAME = "config.yaml"
ENV_PREFIX = "ONRAMP_"


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
    poll_s: float = 2.0  # a waiting Connector asks again at most this far apart (sooner at first)
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
    # a round's Links in this many tasks, each on whichever worker takes it (its own SSH
    # connections: MaxSessions caps one connection's parallel pings); 1: one task
    parts: int = Field(default=1, ge=1, le=64)


class ComplianceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    interval_s: float = 3600.0  # the workers' schedule: a compliance run; 0: not scheduled


class WebhookSettings(BaseModel):
    """Deliveries of tenants' webhooks (onramp.flow.webhooks), sent by the workers."""

    model_config = ConfigDict(extra="forbid")

    interval_s: float = 1.0  # how often the workers look for deliveries due; 0: never
    timeout_s: float = Field(default=10.0, gt=0)  # one POST: connect + answer
    # a failed try is retried after base * 2^(n-1) s, at most cap apart, up to retry_max
    # tries (about 3 days with these); then the delivery is `failed` (given up)
    retry_base_s: float = Field(default=10.0, ge=0)
    retry_cap_s: float = Field(default=3600.0, ge=0)
    retry_max: int = Field(default=80, ge=1)
    lease_s: float = Field(default=60.0, gt=0)  # a claimed delivery's owner; then another's
    # SSRF guards: receivers are on the internet. Tests and labs may allow http:// to
    # loopback, or private ranges (a customer's receiver inside our own network)
    allow_http_loopback: bool = False
    allow_private: bool = False


class EdgeWeights(BaseModel):
    """How an edge is scored among the usable ones (lower wins): each term times its weight."""

    igp: float = 1.0  # per unit of IGP cost to the PEs of the tenant's other Connectors
    load: float = 10.0  # per Connector already on the router (balance across PEs)
    headroom: float = 100.0  # times the port's used share after this order (0..1)
    shared_failure: float = 1000.0  # a secondary that fails with the primary's one core router


class TopologySettings(BaseModel):
    """The backbone read from the network (onramp.flow.topology) for the edge choice."""

    source: Literal["isis-ssh", "bgp-ls", "off"] = (
        "off"  # off: inventory and store only (config.yaml: on)
    )
    cache_file: Path = Path("var/topology.json")  # relative: to this file
    max_age_s: float = 300.0  # older: read again before a plan
    refresh_s: float = 60.0  # the workers' schedule; 0: not scheduled
    ms_per_metric: float = 0.1  # latency per IGP metric unit when no KPI calibrates it
    weights: EdgeWeights = EdgeWeights()


class Settings(BaseModel):
    """The settings, validated as pydantic-settings' BaseSettings validates them (its
    config); `load_settings` reads the environment over the file through pydantic-settings
    itself (`_environment`) when a variable names a setting, and only then imports it."""

    model_config = ConfigDict(extra="forbid", validate_default=True, arbitrary_types_allowed=True)

    path: Path
    nornir: dict[str, Any]
    store_url: str = "sqlite:///var/onramp.db"  # a relative SQLite path is relative to this file
    secret_key_file: Path = Path("var/secret.key")  # Fernet key for BGP keys at rest
    lab: LabSettings = LabSettings()
    csp: dict[str, CspSettings] = {}  # provider -> where its API is
    worker: WorkerSettings = WorkerSettings()
    monitor: MonitorSettings = MonitorSettings()
    compliance: ComplianceSettings = ComplianceSettings()
    webhooks: WebhookSettings = WebhookSettings()
    topology: TopologySettings = TopologySettings()
    # the project's own templates (<feature>/<platform>.j2), looked up before the built-in ones
    templates_dir: Path = Path("templates")
    _file: dict[str, Any] = PrivateAttr(default_factory=dict)  # what the file said: `explain`

    @property
    def template_overrides(self) -> Path | None:
        """The project's templates/ folder, if it overrides any template (none: the
        commands that render nothing need not load the renderer)."""
        found = self.path.parent / self.templates_dir
        return found if any(found.rglob("*.j2")) else None

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
    directory: Path, inventory: Path = EXAMPLE / "inventory", db: str = "onramp.db", **more: Any
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


def user_config() -> Path:
    """~/.config/onramp/config.yaml on Linux (platformdirs: the OS's own place)."""
    from platformdirs import user_config_path  # only when no project config was found

    return user_config_path("onramp") / CONFIG_NAME


def find_config(explicit: Path | None = None, cwd: Path | None = None) -> Path:
    """The config file a command uses, from where it stands (see the module's docstring)."""
    if explicit is not None:
        return explicit
    if named := os.environ.get("ONRAMP_CONFIG"):
        return Path(named)
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    if (user := user_config()).is_file():
        return user
    raise OnrampError("ONR-CFG-002", f"no {CONFIG_NAME} in {here} or a folder above it, nor {user}")


def load_settings(path: Path | None = None) -> Settings:
    """The settings of the config file `find_config` names, the environment over them;
    ONRAMP_INVENTORY (the inventory folder) is kept as a short name of
    ONRAMP_NORNIR__INVENTORY__OPTIONS__DIRECTORY."""
    path = find_config(path).resolve()
    try:
        data = yaml.load(path.read_text(), Loader=yaml.CSafeLoader) or {}
        if not isinstance(data, dict):
            raise ValueError("the file holds no mapping of settings")
        settings = validated({**data, "path": path})
    except (OSError, ValueError, yaml.YAMLError, ValidationError) as exc:
        raise OnrampError("ONR-CFG-001", f"{path}: {exc}".replace("\n", " ")) from exc
    settings.path = path  # whatever the environment says, paths are relative to this file
    settings._file = data
    if inventory := os.environ.get("ONRAMP_INVENTORY"):
        options = settings.nornir.setdefault("inventory", {}).setdefault("options", {})
        options["directory"] = str(Path(inventory).resolve())
    if not settings.lab.state_dir.is_absolute():
        settings.lab.state_dir = path.parent / settings.lab.state_dir
    return settings


def validated(values: dict[str, Any]) -> Settings:
    """The file's `values` with the environment over them, validated (ValidationError)."""
    return _environment()(**values) if _from_environment() else Settings(**values)


def _from_environment() -> bool:
    """Whether a variable may name a setting (ONRAMP_<FIELD>..., in any case, as
    pydantic-settings matches them): when none does, its environment source answers nothing
    and the file's values alone are the settings."""
    names = tuple(ENV_PREFIX + field.upper() for field in Settings.model_fields)
    return any(k.upper().startswith(names) for k in os.environ)


@cache
def _environment() -> type[Settings]:
    """Settings read by pydantic-settings (~20 ms of import, for a command that runs in
    loops: issue 23 item 6): the environment's ONRAMP_<SECTION>__<KEY> over the file's
    values, nested sections merged, complex values as JSON."""
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class FromEnvironment(Settings, BaseSettings):
        model_config = SettingsConfigDict(
            extra="forbid", env_prefix=ENV_PREFIX, env_nested_delimiter="__"
        )

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return env_settings, init_settings  # the file comes in as init: the environment wins

    return FromEnvironment


def _leaves(data: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from _leaves(value, (*prefix, str(key)))
    else:
        yield prefix, data


_SECRET_WORDS = ("password", "secret", "token", "api_key")


def _shown(key: tuple[str, ...], value: Any) -> Any:
    """A value as `config show` prints it: a URL's password and secret-named values masked
    (secret_key_file is a path: shown, its content never read)."""
    from onramp.core.secrets import MASK

    name = key[-1].lower()
    if name != "secret_key_file" and any(w in name for w in _SECRET_WORDS) and value:
        return MASK
    if isinstance(value, str) and "://" in value and "@" in value:
        from sqlalchemy.engine import make_url  # parses any scheme://user:password@host/x

        try:
            url = make_url(value)
        except Exception:  # not a URL after all: show nothing of what may be a password
            return MASK
        if url.password is not None:
            return url.render_as_string(hide_password=True)  # user:***@host
    return value


def _env_name(key: tuple[str, ...]) -> str | None:
    """The environment variable that set `key` (or a section above it, as JSON), if any."""
    upper = {k.upper(): k for k in os.environ}
    if key == ("nornir", "inventory", "options", "directory") and "ONRAMP_INVENTORY" in upper:
        return "ONRAMP_INVENTORY"
    for n in range(len(key), 0, -1):
        name = ENV_PREFIX + "__".join(key[:n]).upper()
        if name in upper:
            return upper[name]
    return None


def explain(settings: Settings) -> list[dict[str, Any]]:
    """Every effective setting: {key, value, source}; source is the environment variable,
    the config file, or `default`. Secrets masked."""
    in_file = {k for k, _ in _leaves(settings._file)}
    rows = []
    for key, value in _leaves(settings.model_dump(mode="json", exclude={"path"})):
        env = _env_name(key)
        source = f"env {env}" if env else str(settings.path) if key in in_file else "default"
        rows.append({"key": ".".join(key), "value": _shown(key, value), "source": source})
    return rows
