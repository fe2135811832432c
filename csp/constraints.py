"""CSP constraints as data: one `constraints.yaml` per provider, beside its adapter.

Validation and allocation read these, and the registry finds a provider's adapter from its
`adapter:` section; no code branches on the provider's name.
"""

from __future__ import annotations

from functools import cache
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from onramp.core.errors import OnrampError

CSP_DIR = Path(__file__).resolve().parent
Fact = Literal[
    "aws_account",
    "azure_service_key",
    "gcp_pairing_key",
    "ibm_account",
    "alibaba_uid",
    "customer_asn",
    "prefixes",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class VlanRule(Strict):
    min: int = Field(ge=1, le=4094)
    max: int = Field(ge=1, le=4094)
    qinq: bool = False  # S-tag per circuit on the port, C-tag inside it (Azure)
    inner_min: int = Field(default=1, ge=1, le=4094)
    inner_max: int = Field(default=4094, ge=1, le=4094)


class PeeringRule(Strict):
    # One pool per subnet size, so that subnets of different sizes never overlap and each
    # pool is a plain numbered sequence (subnet #n of the pool): see onramp.flow.allocate.
    pools: dict[int, IPv4Network]  # prefix length -> pool
    default_prefix_length: int
    # router: a subnet is unique on its PE; global: unique across the backbone (Azure wants
    # its primary and secondary /30s to differ, and they sit on two PEs)
    scope: Literal["router", "global"] = "router"
    sessions: Literal[1, 2]  # 2: primary and secondary, each its own subnet and BGP session
    local_host: int = Field(ge=0)  # index in subnet.hosts() of our address (0 = first usable)
    peer_host: int = Field(ge=0)

    @model_validator(mode="after")
    def _sizes(self) -> PeeringRule:
        if self.default_prefix_length not in self.pools:
            raise ValueError("default_prefix_length must be one of the pools' prefix lengths")
        for length, pool in self.pools.items():
            if not 16 <= length <= 31 or pool.prefixlen > length:
                raise ValueError(f"pool {pool} cannot hold /{length} subnets")
            hosts = 2 if length == 31 else 2 ** (32 - length) - 2
            if max(self.local_host, self.peer_host) >= hosts:
                raise ValueError(f"a /{length} has no host #{max(self.local_host, self.peer_host)}")
        return self


class AsnRule(Strict):
    peer_asn: int | None  # the provider's fixed ASN; None: the customer's (customer_asn)
    peer_asn_overridable: bool = False  # AWS: the customer's VGW/DX gateway may use another ASN
    customer_asn: Literal["required", "optional", "none"]
    reserved: list[int] = []  # refused as a customer ASN: they would clash with the provider's
    local_asn: Literal["backbone", "allocate"] = "backbone"  # allocate: a private ASN per Connector
    local_asn_range: tuple[int, int] | None = None


class KeyRule(Strict):
    md5: Literal["required", "optional", "none"]
    min_length: int = Field(default=6, ge=1)
    max_length: int = Field(default=80, le=80)


class ChangeRule(Strict):
    """What the provider's API allows of a live attachment's bandwidth (a PATCH,
    onramp.flow.change): the steps are `bandwidth_mbps`, the same as for an order."""

    in_place: bool = True  # False: refused (ONR-CHG-001), `why` says what to do instead
    lower: bool = True  # False: raised only (an Azure circuit is never lowered in place)
    # the package's change_bandwidth(context, delegation, resource, mbps) runs first
    provider_side: bool = False
    why: str = ""  # the provider's own reason, quoted when refused


class Kind(Strict):
    change: ChangeRule = ChangeRule()
    requires: list[Fact] = []
    adapter: str | None = None  # which of the package's ADAPTERS serves it; None: its only one
    # the customer makes the provider's attachment on what we allocated (an AWS VIF on a
    # hosted connection): `connector vif-parameters` gives its parameters, the key revealed
    customer_attachment: bool = False
    # with the tenant's delegation, onramp makes what the order would name (Azure: the
    # circuit, its service key and S-tag) before allocating: csp/<package>.delegated_order
    delegation_orders: bool = False
    # the BGP peer is the customer's own router (not a provider's that its API or a ticket
    # sets up): `connector customer-config` tells the customer what to configure on it
    customer_router: bool = False


class SimulatorRule(Strict):
    """`onramp sim <provider>`: onramp.csp.<package>.simulator serves a copy of the API."""

    admin: str  # its admin route that makes a customer, as `onramp sim` shows it
    credentials: str = ""  # what it accepts as our credentials, as `onramp sim` shows it
    # the provider's API says a resource's BGP state (AWS's VIF `down`, IBM's bgp_status):
    # `onramp sim --bgp-down` has it reported down until our side is up
    reports_bgp: bool = False


class AdapterRule(Strict):
    """Who answers for the provider: the package whose `build(context)` makes its adapter
    (found by name, as napalm finds a driver), and how that adapter reaches the provider."""

    calls: Literal["api", "ticket", "none"]  # none: nobody to ask (a cross-connect at a PoP)
    package: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")  # onramp.csp.<it>
    simulator: SimulatorRule | None = None
    # without a `csp.<provider>` section in config.yaml: refuse (ONR-CSP-001), or an
    # engineer's ticket (csp/manual) for a provider whose API is there but not configured
    unconfigured: Literal["refuse", "tickets"] = "refuse"

    @field_validator("package")
    @classmethod
    def _known(cls, package: str | None) -> str | None:
        # a folder of csp/ (not imported here: that would load every provider's SDK)
        if package is not None and not (CSP_DIR / package / "__init__.py").is_file():
            raise ValueError(f"no adapter package onramp.csp.{package} (csp/{package}/)")
        return package

    @model_validator(mode="after")
    def _reached(self) -> AdapterRule:
        if (self.calls == "none") != (self.package is None):
            raise ValueError("a package builds the adapter exactly when a provider is called")
        if self.simulator and not (CSP_DIR / str(self.package) / "simulator.py").is_file():
            raise ValueError(f"no simulator in csp/{self.package}/")
        return self


class Constraints(Strict):
    provider: str
    serves: list[str] = []  # catalogue providers without a file of their own, described here
    adapter: AdapterRule
    asn: int | None = None  # the provider's edge ASN (the lab's cloud-side router uses it)
    kinds: dict[str, Kind]
    vlan: VlanRule
    peering: PeeringRule
    bgp: AsnRule
    key: KeyRule
    mtu: list[int]
    bandwidth_mbps: list[int]
    max_prefixes: int = Field(default=100, ge=1)  # per BGP session, the CSP's own limit or ours

    @property
    def variant(self) -> str | None:
        """The provider's first kind's adapter (None: the package's only one): the adapter
        the flow holds under the provider's own name."""
        return next(iter(self.kinds.values())).adapter if self.kinds else None

    def variants(self) -> list[str | None]:
        """Every adapter the provider's kinds name, the default first, each once."""
        return list(dict.fromkeys(k.adapter for k in self.kinds.values()))


def parse(data: Any, where: str) -> Constraints:
    """A provider's description, checked; what is wrong in it is ONR-CSP-008."""
    try:
        return Constraints.model_validate(data)
    except ValidationError as exc:
        raise OnrampError("ONR-CSP-008", f"{where}: {exc}".replace("\n", " ")) from exc


@cache
def load(provider: str) -> Constraints:
    path = CSP_DIR / provider / "constraints.yaml"
    return parse(yaml.load(path.read_text(), Loader=yaml.CSafeLoader), str(path))


def for_provider(provider: str) -> Constraints:
    """A provider's constraints: its own file, or the one that serves it (tickets for the
    providers whose adapters do not exist yet). ONR-CSP-001 for a provider none describes."""
    for name in providers():
        described = load(name)
        if provider in (described.provider, *described.serves):
            return described
    raise OnrampError("ONR-CSP-001", f"no adapter for provider {provider}")


def simulated() -> dict[str, SimulatorRule]:
    """The providers whose API has a simulator (`onramp sim <provider>`), and how to drive it."""
    return {p: s for p in providers() if (s := load(p).adapter.simulator) is not None}


def check_pools() -> list[str]:
    """Pools of different providers must be the same pool or not overlap at all."""
    pools = {(length, pool) for p in providers() for length, pool in load(p).peering.pools.items()}
    return [
        f"/{la} pool {a} overlaps /{lb} pool {b}"
        for la, a in pools
        for lb, b in pools
        if (la, a) < (lb, b) and a.overlaps(b)
    ]


@cache
def providers() -> tuple[str, ...]:
    """The providers described here, read once (as `load` reads each): a glob of the
    package on every order cost eight directory scans per create."""
    return tuple(sorted(p.parent.name for p in CSP_DIR.glob("*/constraints.yaml")))


def for_kind(kind: str) -> Constraints:
    """The constraints of the provider that offers Connector kind `kind`."""
    for provider in providers():
        c = load(provider)
        if kind in c.kinds:
            return c
    raise KeyError(kind)
