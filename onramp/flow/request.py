"""Check a request against the on-ramp catalogue and its provider's constraints.

Every refusal is an OnrampError with a code, the field and what to do. Nothing here
writes; allocation runs only on what passed.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from onramp.core.errors import OnrampError
from onramp.core.model import SAFE_TEXT, ConnectorRequest, LinkRequest
from onramp.csp.constraints import Constraints, for_provider
from onramp.network.intent import SEGMENT_POOL
from onramp.network.inventory import Backbone

M = TypeVar("M", bound=BaseModel)
# ASNs no BGP speaker may use (RFC 7300, RFC 6793 AS_TRANS, RFC 5398 documentation).
RESERVED_ASNS = ((0, 0), (23456, 23456), (64496, 64511), (65535, 65551), (4294967295, 4294967295))


def parse(model: type[M], data: dict[str, Any]) -> M:
    """Pydantic validation, with the first problem as ONR-REQ-008 naming its field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "-"
        msg = first["msg"]
        if first["type"] == "string_pattern_mismatch" and first["ctx"].get("pattern") == SAFE_TEXT:
            msg = (
                f"{first['input']!r} holds a newline or characters a router config would interpret"
            )
        raise refused(field, msg) from exc


def refused(field: str, msg: str) -> OnrampError:
    """ONR-REQ-008 for `field`, its hint the field's own description where the request
    models give one (a provider's id: its digits and where to read it), else the
    catalogue's (text that reaches a router). The API's body errors say the same."""
    described = ConnectorRequest.model_fields.get(field)
    hint = (
        f"give {field} as {described.description}" if described and described.description else None
    )
    return OnrampError("ONR-REQ-008", f"{field}: {msg}", hint=hint, field=field)


def connector(req: ConnectorRequest, bb: Backbone) -> Constraints:
    """The provider constraints the request satisfies, or the first refusal."""
    onramp = bb.catalogue.onramps.get(req.onramp)
    if onramp is None:
        raise OnrampError(
            "ONR-REQ-001",
            f"'{req.onramp}' (known: {', '.join(bb.catalogue.onramps)})",
            field="onramp",
        )
    c = for_provider(onramp.provider)
    if req.kind not in c.kinds:
        raise OnrampError(
            "ONR-REQ-002",
            f"{req.kind} at {req.onramp}; offered there: {', '.join(c.kinds)}",
            field="kind",
        )
    for fact in c.kinds[req.kind].requires:
        if getattr(req, fact) in (None, []):
            raise OnrampError("ONR-REQ-003", f"{req.kind} needs {fact}", field=fact)
    _bandwidth(req, bb, c)
    _asn(req, bb, c)
    if req.vlan is not None:
        lo, hi = (c.vlan.inner_min, c.vlan.inner_max) if c.vlan.qinq else (c.vlan.min, c.vlan.max)
        if not lo <= req.vlan <= hi:
            raise OnrampError(
                "ONR-REQ-006", f"VLAN {req.vlan} outside {lo}-{hi} for {c.provider}", field="vlan"
            )
    if req.prefix_length is not None and req.prefix_length not in c.peering.pools:
        raise OnrampError(
            "ONR-REQ-007",
            f"/{req.prefix_length}; {c.provider} accepts {sorted(c.peering.pools)}",
            field="prefix_length",
        )
    if req.mtu is not None and req.mtu not in c.mtu:
        raise OnrampError(
            "ONR-REQ-009", f"MTU {req.mtu}; {c.provider} accepts {c.mtu}", field="mtu"
        )
    check_prefixes(req.prefixes, c)
    return c


def _bandwidth(req: ConnectorRequest, bb: Backbone, c: Constraints) -> None:
    if req.bandwidth_mbps not in c.bandwidth_mbps:
        raise OnrampError(
            "ONR-REQ-004",
            f"{req.bandwidth_mbps} Mb/s; {c.provider} offers {c.bandwidth_mbps}",
            field="bandwidth_mbps",
        )
    speeds = [
        p.speed_mbps
        for r, name in bb.ports_of(req.onramp)
        for p in r.onramp_ports
        if p.name == name
    ]
    if not speeds or req.bandwidth_mbps > max(speeds):
        raise OnrampError(
            "ONR-REQ-004",
            f"{req.bandwidth_mbps} Mb/s; the ports of {req.onramp} carry at most {max(speeds, default=0)}",
            field="bandwidth_mbps",
        )


def _asn(req: ConnectorRequest, bb: Backbone, c: Constraints) -> None:
    asn = req.customer_asn
    if asn is None:
        return
    if c.bgp.customer_asn == "none":
        raise OnrampError(
            "ONR-REQ-005",
            f"{c.provider} does not take a customer ASN (its side is AS {c.bgp.peer_asn})",
            field="customer_asn",
        )
    if any(lo <= asn <= hi for lo, hi in RESERVED_ASNS):
        raise OnrampError(
            "ONR-REQ-005", f"AS {asn} is reserved and cannot be used in BGP", field="customer_asn"
        )
    if asn == bb.asn or asn in c.bgp.reserved:
        raise OnrampError(
            "ONR-REQ-005",
            f"AS {asn} clashes with {c.provider}'s or our backbone's AS",
            field="customer_asn",
        )


def check_prefixes(prefixes: list[IPv4Network], c: Constraints) -> None:
    """What a customer may announce: the provider's limit, unicast, /31 or shorter, outside
    our address space, none overlapping another (ONR-REQ-012). At order time and on a change alike."""
    if len(prefixes) > c.max_prefixes:
        raise OnrampError(
            "ONR-REQ-012",
            f"{len(prefixes)} prefixes; {c.provider} takes at most {c.max_prefixes}",
            field="prefixes",
        )
    for i, p in enumerate(prefixes):
        bad = (
            "the default route"
            if p.prefixlen == 0
            # a permit's sequence number is its prefix's own (intent.prefix_seq): 32 bits
            # hold every prefix up to /31 but not the 2^32 host routes besides
            else "a host route: announce /31 or shorter"
            if p.prefixlen == 32
            else "not unicast"
            if p.is_multicast or p.is_reserved or p.is_loopback or p.is_link_local
            else "inside our peering space"
            if any(p.overlaps(pool) for pool in c.peering.pools.values())
            else f"inside the Links' segment space {SEGMENT_POOL}"
            if p.overlaps(SEGMENT_POOL)
            else None
        )
        if bad:
            raise OnrampError("ONR-REQ-012", f"{p} is {bad}", field=f"prefixes.{i}")
        if clash := next((q for q in prefixes[:i] if q.overlaps(p)), None):
            raise OnrampError(
                "ONR-REQ-012", f"{p} overlaps {clash}, given before it", field=f"prefixes.{i}"
            )


def link(req: LinkRequest, a: dict[str, Any] | None, b: dict[str, Any] | None) -> None:
    """`a`/`b`: the stored Connectors as {tenant, state, bandwidth_mbps} (None: not found)."""
    if req.a == req.b:
        raise OnrampError("ONR-REQ-011", "a Link joins two different Connectors", field="b")
    for field, conn in (("a", a), ("b", b)):
        if conn is None or conn["released"]:
            raise OnrampError(
                "ONR-REQ-011", f"Connector {getattr(req, field)} not found or deleted", field=field
            )
        if conn["tenant"] != req.tenant:
            raise OnrampError(
                "ONR-REQ-010",
                f"Connector {getattr(req, field)} belongs to another tenant",
                field=field,
            )
        if req.bandwidth_mbps > conn["bandwidth_mbps"]:
            raise OnrampError(
                "ONR-REQ-004",
                f"{req.bandwidth_mbps} Mb/s exceeds Connector {field}'s {conn['bandwidth_mbps']} Mb/s",
                field="bandwidth_mbps",
            )
