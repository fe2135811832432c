"""CSP constraints as data: one `constraints.yaml` per provider, beside its adapter.

Validation and allocation read these; no code branches on the provider's name.
"""

from __future__ import annotations

from functools import cache
from ipaddress import IPv4Network
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

CSP_DIR = Path(__file__).resolve().parent
Fact = Literal["aws_account", "azure_service_key", "gcp_pairing_key", "customer_asn", "prefixes"]


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


class Kind(Strict):
    requires: list[Fact] = []


class Constraints(Strict):
    provider: str
    asn: int | None = None  # the provider's edge ASN (the lab's cloud-side router uses it)
    kinds: dict[str, Kind]
    vlan: VlanRule
    peering: PeeringRule
    bgp: AsnRule
    key: KeyRule
    mtu: list[int]
    bandwidth_mbps: list[int]
    max_prefixes: int = Field(default=100, ge=1)  # per BGP session, the CSP's own limit or ours


@cache
def load(provider: str) -> Constraints:
    path = CSP_DIR / provider / "constraints.yaml"
    return Constraints.model_validate(yaml.safe_load(path.read_text()))


def for_provider(provider: str) -> Constraints:
    """A provider's constraints; providers without an adapter yet go through tickets (manual)."""
    return load(provider if (CSP_DIR / provider / "constraints.yaml").exists() else "manual")


def check_pools() -> list[str]:
    """Pools of different providers must be the same pool or not overlap at all."""
    pools = {(length, pool) for p in providers() for length, pool in load(p).peering.pools.items()}
    return [
        f"/{la} pool {a} overlaps /{lb} pool {b}"
        for la, a in pools
        for lb, b in pools
        if (la, a) < (lb, b) and a.overlaps(b)
    ]


def providers() -> list[str]:
    return sorted(p.parent.name for p in CSP_DIR.glob("*/constraints.yaml"))


def for_kind(kind: str) -> Constraints:
    """The constraints of the provider that offers Connector kind `kind`."""
    for provider in providers():
        c = load(provider)
        if kind in c.kinds:
            return c
    raise KeyError(kind)
