"""Read the inventory files, validate them and return a typed Backbone or every finding.

`check()` never raises on bad data: it returns what it found, so that
`onramp inventory check` can list every problem at once. `load()` is the strict
version used wherever the inventory is consumed (Nornir plugin, lab, allocation).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from netutils.interface import canonical_interface_name
from pydantic import ValidationError

from onramp.core.errors import CATALOGUE, Code, OnrampError
from onramp.network.inventory.schema import Catalogue, Router
from onramp.network.platforms import PLATFORMS

FILES = ("hosts.yaml", "groups.yaml", "defaults.yaml", "backbone.yaml")
# Nornir host attributes beside `data:`; the schema needs only the first two.
HOST_ATTRS = ("hostname", "platform", "username", "password", "port", "connection_options")
SCHEMA_ATTRS = ("hostname", "platform")
# the NAPALM driver's options the inventory validates and the lab needs (schema.HostKeys)
HOST_KEY_ARGS = ("known_hosts", "host_key_policy")


@dataclass(frozen=True)
class Finding:
    code: Code
    host: str
    field: str
    reason: str

    @property
    def hint(self) -> str:
        return CATALOGUE[self.code].hint

    def as_dict(self) -> dict[str, str]:
        return {**asdict(self), "hint": self.hint}

    def __str__(self) -> str:
        return f"{self.code} {self.host} {self.field}: {self.reason} -> {self.hint}"


class InventoryError(OnrampError):
    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        first = findings[0]
        more = (
            f" (and {len(findings) - 1} more: run 'onramp inventory check')"
            if len(findings) > 1
            else ""
        )
        super().__init__(
            first.code, f"{first.host} {first.field}: {first.reason}{more}", first.hint
        )


@dataclass(frozen=True)
class Backbone:
    """The validated inventory: routers by name plus the PoP/on-ramp catalogue."""

    directory: Path
    routers: dict[str, Router]
    catalogue: Catalogue

    @property
    def asn(self) -> int:
        return next(iter(self.routers.values())).asn

    @cached_property
    def loopbacks(self) -> dict[str, str]:
        """Each router's loopback address as text (its router ID, the first half of its
        RDs), written once: every attachment of an API page shows one (issue 23)."""
        return {name: str(r.loopback.ip) for name, r in self.routers.items()}

    def known_hosts(self, router: str) -> Path | None:
        """The known_hosts file a router's inventory names, relative paths resolved against
        the inventory directory (what the Nornir plugin hands the driver)."""
        name = self.routers[router].host_keys.known_hosts
        return None if name is None else inventory_path(self.directory, name)

    def ports_of(self, onramp: str) -> list[tuple[Router, str]]:
        return [
            (r, p.name) for r in self.routers.values() for p in r.onramp_ports if p.onramp == onramp
        ]


class _UniqueKeyLoader(yaml.CSafeLoader):
    """safe_load that also notes every mapping key written twice (PyYAML keeps the last
    one silently; YAML says keys are unique; a host written twice would lose its first)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.twice: list[tuple[str, int, int]] = []  # (key, its line, the first one's line)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[str, int] = {}
        for key, _ in node.value:  # before merge keys (<<) are flattened in: they may repeat
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                line = key.start_mark.line + 1
                if key.value in first:
                    self.twice.append((key.value, line, first[key.value]))
                first.setdefault(key.value, line)
        return super().construct_mapping(node, deep)


def _read_yaml(name: str, text: str) -> tuple[Any, list[Finding]]:
    loader = _UniqueKeyLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    return data, [
        Finding("ONR-INV-012", name, key, f"line {line}: '{key}' is written twice "
                f"(first at line {was}); YAML would keep only the last")
        for key, line, was in loader.twice
    ]  # fmt: skip


def read_files(directory: Path) -> tuple[dict[str, dict[str, Any]], list[Finding]]:
    raw: dict[str, dict[str, Any]] = {}
    findings: list[Finding] = []
    for name in FILES:
        path = directory / name
        try:
            data, twice = _read_yaml(name, path.read_text())
            data = data or {}
            findings += twice
        except (OSError, yaml.YAMLError) as exc:
            findings.append(Finding("ONR-INV-000", name, "-", str(exc).replace("\n", " ")))
            data = {}
        if not isinstance(data, dict):
            findings.append(Finding("ONR-INV-000", name, "-", "top level must be a mapping"))
            data = {}
        raw[name.removesuffix(".yaml")] = data
    return raw, findings


def _group_chain(groups: dict[str, Any], names: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Groups in Nornir's resolution order: each group, then its own parents, depth first."""
    for name in names:
        group = groups.get(name) or {}
        yield group
        yield from _group_chain(groups, group.get("groups") or [])


def resolve_host(name: str, raw: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One host as Nornir sees it: host, then its groups, then defaults (first one wins)."""
    host = raw["hosts"].get(name) or {}
    layers = [host, *_group_chain(raw["groups"], host.get("groups") or []), raw["defaults"]]
    out: dict[str, Any] = {"name": name}
    for layer in reversed(layers):
        out.update({k: v for k, v in layer.items() if k in SCHEMA_ATTRS and v is not None})
        out.update(layer.get("data") or {})
    unknown = set(host) - {*HOST_ATTRS, "groups", "data"}
    out.update({k: host[k] for k in unknown})  # let the schema reject them by name
    out["name"] = name  # the key in hosts.yaml is the name, whatever `data:` says
    args = napalm_args(layers)
    out["host_keys"] = {k: args[k] for k in HOST_KEY_ARGS if k in args}
    return out


def napalm_args(layers: list[dict[str, Any]]) -> dict[str, Any]:
    """The NAPALM optional_args a host gets: Nornir takes `extras` whole from the first of
    host, groups, defaults that has it (no merge)."""
    for layer in layers:
        options = layer.get("connection_options")
        napalm = options.get("napalm") if isinstance(options, dict) else None
        extras = napalm.get("extras") if isinstance(napalm, dict) else None
        if extras is not None:
            args = extras.get("optional_args") if isinstance(extras, dict) else None
            return args if isinstance(args, dict) else {}
    return {}


def inventory_path(directory: Path, name: str) -> Path:
    """A path the inventory names: `~` expanded, relative to the inventory directory, `..`
    folded (as people read it; symlinks kept)."""
    return Path(os.path.abspath(directory / Path(name).expanduser()))


def _shape(raw: dict[str, dict[str, Any]]) -> Iterator[Finding]:
    """Mappings where Nornir expects mappings and group lists that name groups: what
    resolve_host relies on. Reported alone, as a half-understood file would mislead."""
    for file in ("hosts", "groups"):
        for name, entry in raw[file].items():
            where = name if file == "hosts" else f"groups.yaml:{name}"
            if entry is None:
                continue
            if not isinstance(entry, dict):
                yield Finding(
                    "ONR-INV-001", where, "-", f"must be a mapping, not a {type(entry).__name__}"
                )
                continue
            if not isinstance(entry.get("data") or {}, dict):
                yield Finding("ONR-INV-001", where, "data", "must be a mapping of key: value")
            groups = entry.get("groups") or []
            if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
                yield Finding(
                    "ONR-INV-001", where, "groups", f"must be a list of group names, not {groups!r}"
                )
            else:
                for g in groups:
                    if g not in raw["groups"]:
                        yield Finding(
                            "ONR-INV-008",
                            where,
                            "groups",
                            f"unknown group '{g}' (known: {sorted(raw['groups'])})",
                        )
    if not isinstance(raw["defaults"].get("data") or {}, dict):
        yield Finding("ONR-INV-001", "defaults.yaml", "data", "must be a mapping of key: value")


def _schema_findings(name: str, exc: ValidationError) -> list[Finding]:
    return [
        Finding("ONR-INV-001", name, ".".join(str(p) for p in e["loc"]) or "-", e["msg"])
        for e in exc.errors()
    ]


def _parse(
    raw: dict[str, dict[str, Any]],
) -> tuple[dict[str, Router], Catalogue | None, list[Finding]]:
    findings: list[Finding] = []
    routers: dict[str, Router] = {}
    for name in raw["hosts"]:
        try:
            routers[name] = Router.model_validate(resolve_host(name, raw))
        except ValidationError as exc:
            findings += _schema_findings(name, exc)
    catalogue = None
    try:
        catalogue = Catalogue.model_validate(raw["backbone"])
    except ValidationError as exc:
        findings += _schema_findings("backbone.yaml", exc)
    return routers, catalogue, findings


def _duplicates(routers: dict[str, Router]) -> Iterator[Finding]:
    seen: dict[tuple[str, str], str] = {}
    for r in routers.values():
        unique: tuple[tuple[Code, str, str], ...] = (
            ("ONR-INV-002", "loopback", str(r.loopback.ip)),
            ("ONR-INV-003", "isis_net", r.system_id),
            ("ONR-INV-009", "hostname", str(r.hostname)),
        )
        for code, fld, value in unique:
            other = seen.setdefault((fld, value), r.name)
            if other != r.name:
                yield Finding(code, r.name, fld, f"{value} is already used by {other}")
        for i, p in enumerate(r.onramp_ports):  # a CSP adapter finds our port by this name
            if p.csp_connection is None:
                continue
            where = f"{r.name} {p.name}"
            other = seen.setdefault(("csp_connection", p.csp_connection), where)
            if other != where:
                yield Finding("ONR-INV-005", r.name, f"onramp_ports.{i}.csp_connection",
                              f"{p.csp_connection} is already used by {other}")  # fmt: skip


def _platform_and_ports(r: Router) -> Iterator[Finding]:
    platform = PLATFORMS.get(r.platform)
    if platform is None:
        yield Finding(
            "ONR-INV-006", r.name, "platform", f"'{r.platform}' is not one of {sorted(PLATFORMS)}"
        )
    used: dict[str, tuple[str, str]] = {}
    named = [(f"core_interfaces.{i}", c.name) for i, c in enumerate(r.core_interfaces)]
    named += [(f"onramp_ports.{i}", p.name) for i, p in enumerate(r.onramp_ports)]
    for fld, ifname in named:
        if platform and not platform.valid_interface(ifname):
            yield Finding(
                "ONR-INV-001",
                r.name,
                f"{fld}.name",
                f"'{ifname}' is not a {r.platform} interface name",
            )
        # one port has a long and short name (TenGigE0/0/0/7 = TenGigabitEthernet0/0/0/7)
        port = canonical_interface_name(ifname)
        first, first_name = used.setdefault(port, (fld, ifname))
        if first != fld:
            same = "" if first_name == ifname else f" ({first_name}: the same port)"
            yield Finding(
                "ONR-INV-005", r.name, f"{fld}.name", f"{ifname} is already used by {first}{same}"
            )
    for i, p in enumerate(r.onramp_ports):
        low, high = p.vlan_range
        if not 1 <= low <= high <= 4094:
            yield Finding(
                "ONR-INV-007",
                r.name,
                f"onramp_ports.{i}.vlan_range",
                f"[{low}, {high}] on {p.name}",
            )
        if r.role == "p":
            yield Finding(
                "ONR-INV-011",
                r.name,
                f"onramp_ports.{i}",
                f"{p.name} ({p.onramp}) is on a P router",
            )


def _core_links(routers: dict[str, Router], invalid: set[str]) -> Iterator[Finding]:
    """Both ends of each core link agree; `invalid`: routers that failed their schema (the
    finding on them is the cause: their neighbours' links to them are not judged)."""
    for r in routers.values():
        for i, c in enumerate(r.core_interfaces):
            fld = f"core_interfaces.{i}"
            here = f"{r.name}:{c.name}"
            there = f"{c.peer.host}:{c.peer.interface}"
            if c.peer.host in invalid:
                continue
            peer = routers.get(c.peer.host)
            far = (
                next((x for x in peer.core_interfaces if x.name == c.peer.interface), None)
                if peer
                else None
            )
            if far is None:
                yield Finding(
                    "ONR-INV-004",
                    r.name,
                    f"{fld}.peer",
                    f"{here} points at {there}, which is not a core interface",
                )
                continue
            if (far.peer.host, far.peer.interface) != (r.name, c.name):
                yield Finding(
                    "ONR-INV-004",
                    r.name,
                    f"{fld}.peer",
                    f"{here} points at {there}, which points at {far.peer.host}:{far.peer.interface}",
                )
                continue
            if here > there:
                continue  # both ends agree on each other: judge the pair once
            if c.ip.network != far.ip.network or c.ip.ip == far.ip.ip:
                yield Finding(
                    "ONR-INV-004",
                    r.name,
                    f"{fld}.ip",
                    f"{here} has {c.ip} but {there} has {far.ip}",
                )
            elif c.ip.network.prefixlen not in (30, 31):
                yield Finding("ONR-INV-004", r.name, f"{fld}.ip", f"{c.ip} is not a /30 or /31")
            elif c.isis_metric != far.isis_metric:
                yield Finding(
                    "ONR-INV-004",
                    r.name,
                    f"{fld}.isis_metric",
                    f"{here} has metric {c.isis_metric}, {there} has {far.isis_metric}",
                )


def _onramps_named(host: dict[str, Any]) -> set[str]:
    """The on-ramps a router that failed its schema names in its ports, as far as it does."""
    ports = host.get("onramp_ports")
    ports = ports if isinstance(ports, list) else []
    return {str(p.get("onramp")) for p in ports if isinstance(p, dict)}


def _references(
    routers: dict[str, Router], cat: Catalogue, unjudged: set[str]
) -> Iterator[Finding]:
    """PoPs and on-ramps named exist and match; redundant on-ramps have their two ports.
    `unjudged`: on-ramps with a port on a router that failed its schema (counting their
    ports without it would report its error again as a missing one)."""
    for oid, o in cat.onramps.items():
        if o.pop not in cat.pops:
            yield Finding(
                "ONR-INV-008", "backbone.yaml", f"onramps.{oid}.pop", f"unknown PoP '{o.pop}'"
            )
    roles: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for r in routers.values():
        if r.pop not in cat.pops:
            yield Finding(
                "ONR-INV-008", r.name, "pop", f"unknown PoP '{r.pop}' (known: {sorted(cat.pops)})"
            )
        for i, p in enumerate(r.onramp_ports):
            onramp = cat.onramps.get(p.onramp)
            if onramp is None:
                yield Finding(
                    "ONR-INV-008",
                    r.name,
                    f"onramp_ports.{i}.onramp",
                    f"unknown on-ramp '{p.onramp}'",
                )
            elif onramp.pop != r.pop:
                yield Finding(
                    "ONR-INV-008",
                    r.name,
                    f"onramp_ports.{i}.onramp",
                    f"{p.onramp} is in {onramp.pop}, {r.name} in {r.pop}",
                )
            else:
                roles[p.onramp].append((r.name, p.redundancy_role))
    for oid, o in cat.onramps.items():
        if oid in unjudged:
            continue
        ports = roles.get(oid, [])
        if o.redundant:
            by_role = {role: host for host, role in ports}
            if sorted(role or "-" for _, role in ports) != ["primary", "secondary"]:
                yield Finding(
                    "ONR-INV-010",
                    "backbone.yaml",
                    f"onramps.{oid}",
                    f"needs one primary and one secondary port, has {[r for _, r in ports]}",
                )
            elif by_role["primary"] == by_role["secondary"]:
                yield Finding(
                    "ONR-INV-010",
                    by_role["primary"],
                    f"onramps.{oid}",
                    "primary and secondary are on the same router",
                )
        elif any(role for _, role in ports):
            yield Finding(
                "ONR-INV-010",
                "backbone.yaml",
                f"onramps.{oid}",
                "redundancy_role set on a port of a non-redundant on-ramp",
            )


def check(directory: Path) -> tuple[Backbone | None, list[Finding]]:
    """Every problem in the inventory at `directory`, and the Backbone when there is none."""
    raw, findings = read_files(directory)
    return check_raw(raw, directory, findings)


def check_raw(
    raw: dict[str, dict[str, Any]], directory: Path, findings: Iterable[Finding] = ()
) -> tuple[Backbone | None, list[Finding]]:
    """Every problem in an inventory of any source, in the one shape every source gives:
    Nornir's SimpleInventory files as mappings (`hosts`, `groups`, `defaults`) plus
    `backbone` (PoPs, on-ramps, SLAs). `directory`: what relative paths in it are relative
    to; `findings`: what the source found while reading (reported alone)."""
    findings = list(findings) or list(_shape(raw))
    if findings:
        return None, findings  # judging half-read files would only add noise
    routers, catalogue, schema = _parse(raw)
    findings += schema
    findings += _duplicates(routers)
    for r in routers.values():
        findings += _platform_and_ports(r)
    # a router that failed its schema is reported once, by its own findings: what
    # refers to it (core links, redundant on-ramps) is not judged against its absence
    invalid = set(raw["hosts"]) - set(routers)
    unjudged = {o for name in invalid for o in _onramps_named(resolve_host(name, raw))}
    findings += _core_links(routers, invalid)
    if catalogue is not None:
        findings += _references(routers, catalogue, unjudged)
    if not routers and not findings:
        findings.append(Finding("ONR-INV-001", "hosts.yaml", "-", "no routers defined"))
    elif routers and not invalid and not any(r.route_reflector for r in routers.values()):
        findings.append(Finding("ONR-INV-014", "hosts.yaml", "route_reflector", "no router is one"))
    if findings or catalogue is None:
        return None, findings
    return Backbone(directory, routers, catalogue), []


def load(directory: Path) -> Backbone:
    backbone, findings = check(directory)
    if backbone is None:
        raise InventoryError(findings)
    return backbone
