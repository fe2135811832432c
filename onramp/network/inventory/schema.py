"""The inventory's schema: what a router, a PoP and an on-ramp must say.

Field-level rules live here (pydantic); rules that span routers (duplicates, both
ends of a link, redundancy) live in `checks.py`. VLAN ranges and platforms are plain
types here on purpose: they get their own error codes from the checks.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# ISO NET for IS-IS: area 49.xxxx, 6-byte system-id in three groups, selector 00.
NET_RE = r"^49(\.[0-9a-fA-F]{4})+\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.00$"
NAME_RE = r"^[a-z][a-z0-9-]{0,30}$"
ASN = Field(ge=1, le=4294967295)


class Strict(BaseModel):
    # typos in an inventory (`lopback:`) must be errors, not silently ignored data
    model_config = ConfigDict(extra="forbid", frozen=True)


class PeerRef(Strict):
    host: str
    interface: str


class CoreInterface(Strict):
    name: str
    ip: IPv4Interface
    peer: PeerRef
    isis_metric: int = Field(default=10, ge=1, le=16777215)


class OnrampPort(Strict):
    name: str
    onramp: str
    vlan_range: tuple[int, int] = (2, 4094)
    speed_mbps: int = Field(gt=0)
    redundancy_role: Literal["primary", "secondary"] | None = None
    # the provider's name for this port: AWS interconnect id, ExpressRoute port, GCP
    # interconnect, a ticketed provider's port; CSP adapters address the port by it
    csp_connection: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:-]{1,64}$")


class Timers(Strict):
    """Backbone protocol timers (seconds): fast enough to converge a PoP in seconds."""

    isis_lsp_gen_interval: int = Field(default=1, ge=1, le=120)
    isis_spf_interval: int = Field(default=1, ge=1, le=120)
    bgp_keepalive: int = Field(default=10, ge=1, le=3600)
    bgp_hold: int = Field(default=30, ge=3, le=65535)
    bgp_connect_retry: int = Field(default=5, ge=1, le=65535)


class HostKeys(Strict):
    """How the NAPALM driver trusts the router's SSH host key: the known_hosts file (relative
    to the inventory directory) and the policy for hosts not in it (napalm_frr)."""

    known_hosts: str | None = None
    host_key_policy: Literal["strict", "accept-new"] = "strict"


class Router(Strict):
    """A backbone router as its resolved Nornir host (defaults <- groups <- host)."""

    name: str = Field(pattern=NAME_RE)
    hostname: IPv4Address  # management address
    platform: str
    role: Literal["pe", "p"]
    # an iBGP route reflector (every other router is a client of each); unset: a P router
    # is one, a PE is not (the default inventory's rule). A large backbone names a few.
    route_reflector: bool = False
    pop: str
    asn: int = ASN
    loopback: IPv4Interface
    isis_net: str = Field(pattern=NET_RE)
    state: Literal["in-service", "drained"] = "in-service"
    timers: Timers = Timers()
    core_interfaces: list[CoreInterface] = []
    onramp_ports: list[OnrampPort] = []
    # from connection_options.napalm.extras.optional_args, as Nornir resolves them
    host_keys: HostKeys = HostKeys()

    @model_validator(mode="before")
    @classmethod
    def _reflector_by_role(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("route_reflector") is None:
            return {**data, "route_reflector": data.get("role") == "p"}
        return data

    @field_validator("loopback")
    @classmethod
    def _host_route(cls, v: IPv4Interface) -> IPv4Interface:
        if v.network.prefixlen != 32:
            raise ValueError("loopback must be a /32")
        return v

    @property
    def system_id(self) -> str:
        return ".".join(self.isis_net.split(".")[-4:-1]).lower()


class Pop(Strict):
    city: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    region: str


class Onramp(Strict):
    """An attachment point customers can order on: a CSP on-ramp or an enterprise PoP."""

    provider: Literal["aws", "azure", "gcp", "ibm", "alibaba", "enterprise"]
    pop: str
    description: str = Field(pattern=r"^[^\n\r]{1,120}$")
    redundant: bool = False  # primary + secondary ports on two PEs (Azure ExpressRoute)
    # where the provider places this on-ramp, in its own words (its simulator answers with
    # them; the ports' own names are their `csp_connection`): AWS region and Direct Connect
    # location code, Azure region and ExpressRoute peering location, Google region of the
    # attachments and interconnect location
    csp_region: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{1,40}$")
    csp_location: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$")


class Sla(Strict):
    """What a Link of one class promises, per measuring window: at most this loss, this
    jitter, and this average latency between the regions of its two ends ("a/b" in either
    order; "*" for any pair not named)."""

    loss_pct: float = Field(ge=0, le=100)
    jitter_ms: float = Field(gt=0)
    latency_ms: dict[str, float]

    @field_validator("latency_ms")
    @classmethod
    def _has_default(cls, v: dict[str, float]) -> dict[str, float]:
        if "*" not in v:
            raise ValueError("latency_ms needs a '*' entry for region pairs not named")
        return v

    def latency_for(self, a: str, b: str) -> float:
        return (
            self.latency_ms.get(f"{a}/{b}")
            or self.latency_ms.get(f"{b}/{a}")
            or self.latency_ms["*"]
        )


class Catalogue(Strict):
    """inventory/backbone.yaml: the PoPs and on-ramps the routers refer to, and the SLA of
    each Link class."""

    pops: dict[str, Pop]
    onramps: dict[str, Onramp]
    slas: dict[Literal["gold", "silver", "bronze"], Sla] = {}
