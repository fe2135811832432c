"""Nautobot as the inventory: read through nornir-nautobot, write with pynautobot.

Where each part of onramp's inventory lives in Nautobot (the loader writes it so, the
reader reads it so; `onramp inventory export --to nautobot` is the reference):

| onramp                          | Nautobot                                                  |
|---------------------------------|-----------------------------------------------------------|
| router, `hostname`              | Device, its primary IPv4 (on interface `mgmt`)            |
| `platform`                      | Platform: name and network_driver = onramp's platform     |
| group `pe` / `p` (`role`)       | the Device's Role                                         |
| `pop`                           | the Device's Location (type `PoP`)                        |
| `loopback`                      | the IP address on interface `lo`                          |
| `isis_net`                      | Device custom field `isis_net`                            |
| core interface, `peer`          | Interface with a Cable to another router's Interface      |
| its `ip`, `isis_metric`         | the IP address on it; Interface custom field `isis_metric`|
| on-ramp port                    | Interface with custom field `onramp` (and `vlan_range`,   |
|                                 | `speed_mbps`, `redundancy_role`, `csp_connection`)        |
| any other host data             | the Device's local config context, key `onramp`           |
| PoPs, on-ramps, SLAs, groups,   | the config context `onramp` (key `onramp`): `backbone`,   |
| defaults; the order of routers, | `groups`, `defaults`; `order` (Nautobot sorts JSON keys)  |
| PoPs, on-ramps, SLAs            |                                                           |

The reader returns the shape every source gives (`checks.check_raw`), so the YAML
inventory's checks and codes judge it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from ipaddress import IPv4Interface, ip_interface
from pathlib import Path
from typing import Any

import pynautobot
import requests
from nornir.core.inventory import Inventory
from nornir_nautobot.plugins.inventory.nautobot import NautobotInventory

from onramp.core.errors import OnrampError
from onramp.network.inventory.checks import InventoryError, check_raw
from onramp.network.inventory.plugin import nornir_inventory

Raw = dict[str, dict[str, Any]]
CONTEXT = "onramp"  # the config context's name and the key its data sits under
MGMT, LOOPBACK = "mgmt", "lo"
CORE_FIELDS = ("isis_metric",)
PORT_FIELDS = ("onramp", "vlan_range", "speed_mbps", "redundancy_role", "csp_connection")
# Nautobot keeps JSON data with its keys sorted (PostgreSQL jsonb), but order is meaning
# here: the lab numbers on-ramps in catalogue order, findings name the later router of two.
# The loader writes each mapping's order beside it (`order`), the reader restores it.
ORDERED = ("pops", "onramps", "slas")
NATIVE = ("pop", "loopback", "isis_net", "core_interfaces", "onramp_ports", "role")
INTERFACE_FIELDS = (*CORE_FIELDS, *PORT_FIELDS)  # unset ones are written None: a port may move
# custom fields the loader makes: key -> (type, the models that carry it)
CUSTOM_FIELDS: dict[str, tuple[str, str]] = {
    "isis_net": ("text", "dcim.device"),
    "isis_metric": ("integer", "dcim.interface"),
    "onramp": ("text", "dcim.interface"),
    "vlan_range": ("json", "dcim.interface"),
    "speed_mbps": ("integer", "dcim.interface"),
    "redundancy_role": ("text", "dcim.interface"),
    "csp_connection": ("text", "dcim.interface"),
}


@contextmanager
def answers(url: str | None) -> Iterator[None]:
    """Nautobot unreachable, or refusing a request (token, permissions, a bad value): one
    error with a code, naming the URL (never the token)."""
    try:
        yield
    except pynautobot.RequestError as exc:
        raise OnrampError("ONR-INV-013", f"{url}: {exc}"[:500]) from exc
    except requests.RequestException as exc:
        raise OnrampError("ONR-INV-013", f"{url}: {type(exc).__name__}: {exc}"[:500]) from exc


def _id(ref: Any) -> str:
    """A related object's id, whether nested (a pynautobot Record, or a dict) or not."""
    return str(ref["id"] if isinstance(ref, dict) else getattr(ref, "id", ref))


def read(nb: NautobotInventory) -> Raw:
    """The inventory in the shape of `checks.check_raw`, from the devices nornir-nautobot
    finds (its filter applies) and their interfaces, cables and addresses."""
    api = nb.pynautobot_obj
    context = api.extras.config_contexts.get(name=CONTEXT)
    shared = ((context.data if context else None) or {}).get(CONTEXT, {})
    devices = {str(d.id): d for d in nb.devices}
    # the rest by the devices' ids, split as the loader splits its filters (hundreds of ids
    # in one URL outgrow a server's header limit), at depth 0: nornir-nautobot asks every
    # request for depth 1 (each related object whole), 3-5x the bytes and Nautobot's time,
    # and these need only the related objects' ids
    flat = {"depth": 0}
    ifaces = {str(i["id"]): i for i in _listed(api.dcim.interfaces, "device_id", devices, **flat)}
    address = {str(a["id"]): str(a["address"])
               for a in _listed(api.ipam.ip_addresses, "device_id", devices, **flat)}  # fmt: skip
    addr: dict[str, list[str]] = {}  # interface id -> its addresses
    for link in _listed(api.ipam.ip_address_to_interface, "interface", ifaces, **flat):
        # an address assigned between these two reads is in the next read
        if (ip := address.get(_id(link["ip_address"]))) is not None:
            addr.setdefault(_id(link["interface"]), []).append(ip)
    peer: dict[str, tuple[str, str]] = {}  # interface id -> (router, interface) at the far end
    for cable in _listed(api.dcim.cables, "device_id", devices, **flat):
        a, b = str(cable["termination_a_id"]), str(cable["termination_b_id"])
        if a in ifaces and b in ifaces:
            for here, there in ((a, b), (b, a)):
                far = ifaces[there]
                peer[here] = (devices[_id(far["device"])].name, far["name"])
    hosts: dict[str, Any] = {}
    # the inventory's own order (the loader's `order`; others after it, by name): which of
    # two routers a finding names and how the lab numbers them follow it, as from YAML
    order: dict[str, list[str]] = shared.get("order") or {}
    ranked = _ordered({d.name or i: (i, d) for i, d in devices.items()}, order.get("hosts"))
    for dev_id, dev in ranked.values():
        data: dict[str, Any] = dict(((dev.local_config_context_data or {}).get(CONTEXT)) or {})
        if dev.location:
            data["pop"] = dev.location.name
        if net := (dev.custom_fields or {}).get("isis_net"):
            data["isis_net"] = net
        core: list[dict[str, Any]] = []
        ports: list[dict[str, Any]] = []
        for iid, i in ifaces.items():
            if _id(i["device"]) != dev_id:
                continue
            cf = i.get("custom_fields") or {}
            if i["name"] == LOOPBACK and addr.get(iid):
                data["loopback"] = addr[iid][0]
            elif iid in peer:
                far_host, far_if = peer[iid]
                entry = {"name": i["name"], "ip": next(iter(addr.get(iid) or []), None),
                         "peer": {"host": far_host, "interface": far_if}}  # fmt: skip
                core.append(entry | {k: cf[k] for k in CORE_FIELDS if cf.get(k) is not None})
            elif cf.get("onramp"):
                ports.append(
                    {"name": i["name"]} | {k: cf[k] for k in PORT_FIELDS if cf.get(k) is not None}
                )
        if core:
            data["core_interfaces"] = core
        if ports:
            data["onramp_ports"] = ports
        host: dict[str, Any] = {"data": data}
        if dev.primary_ip4:
            host["hostname"] = str(ip_interface(dev.primary_ip4.address).ip)
        if dev.platform:
            host["platform"] = dev.platform.network_driver or dev.platform.name
        if dev.role:
            host["groups"] = [dev.role.name]
        hosts[dev.name or dev_id] = host
    backbone = dict(shared.get("backbone") or {})
    for key in ORDERED:
        if isinstance(backbone.get(key), dict):
            backbone[key] = _ordered(backbone[key], order.get(key))
    return {"hosts": hosts, "groups": shared.get("groups") or {},
            "defaults": shared.get("defaults") or {}, "backbone": backbone}  # fmt: skip


def _ordered(mapping: dict[str, Any], names: list[str] | None) -> dict[str, Any]:
    """`mapping` in the inventory's own order (`names`), keys not named after, by name."""
    rank = {n: i for i, n in enumerate(names or [])}
    return {k: mapping[k] for k in sorted(mapping, key=lambda k: (rank.get(k, len(rank)), k))}


class OnrampNautobotInventory:
    """Nornir inventory plugin: nornir-nautobot's NautobotInventory, refused at load time
    when the YAML inventory's checks find anything. Options as NautobotInventory's (URL and
    token default to $NAUTOBOT_URL, $NAUTOBOT_TOKEN: keep the token out of config.yaml) and
    `directory`, what relative paths in the data (known_hosts) are relative to."""

    def __init__(self, directory: str = ".", **options: Any) -> None:
        options.setdefault("nautobot_url", None)
        options.setdefault("nautobot_token", None)
        self.source = NautobotInventory(**options)
        self.directory = Path(directory)

    def raw(self) -> Raw:
        with answers(self.source.nautobot_url):
            return read(self.source)

    def load(self) -> Inventory:
        raw = self.raw()
        _, findings = check_raw(raw, self.directory)
        if findings:
            raise InventoryError(findings)
        return nornir_inventory(raw, self.directory)


# ------------------------------------------------------------------ the loader

Obj = dict[str, Any]  # an object as Nautobot's API answers it (a pynautobot Record, as a dict)
Want = dict[Any, tuple[Obj, Obj]]  # key -> (the fields that make it, the fields kept equal)
PAGE = 1000  # objects a list request asks for (Nautobot's default MAX_PAGE_SIZE)
URL_BYTES = 2000  # of filter values in one request: uWSGI refuses headers over 4096 bytes
# objects in one bulk write: Nautobot makes a bulk POST or PATCH in one database
# transaction, and a whole inventory's interfaces in one request would run as long as a
# proxy in front of it lets a request run (often 60 s); a batch is a few seconds at most
BATCH = 500


def _batches(items: list[Obj]) -> list[list[Obj]]:
    """`items` in runs of BATCH, in order."""
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def _listed(endpoint: Any, by: str = "", values: Iterable[str] = (), **filters: Any) -> list[Obj]:
    """The objects matching `filters` and, when `by` names a filter, one of `values`: one
    request a page, `values` split so that no URL outgrows URL_BYTES (none, none asked)."""
    if not by:
        return [dict(o) for o in endpoint.filter(limit=PAGE, **filters)]
    runs: list[list[str]] = [[]]
    size = 0  # of the last run's `by=value&` parts
    for value in dict.fromkeys(values):
        part = len(by) + len(value) + 2
        if runs[-1] and size + part > URL_BYTES:
            runs.append([])
            size = 0
        runs[-1].append(value)
        size += part
    return [
        dict(o) for run in runs if run for o in endpoint.filter(limit=PAGE, **filters, **{by: run})
    ]


def _named(endpoint: Any, field: str, values: Iterable[str], **filters: Any) -> dict[str, Obj]:
    """The objects whose `field` (a filter of the same name) is one of `values`, by it."""
    return {str(o[field]): o for o in _listed(endpoint, field, values, **filters)}


def _sync(tally: Counter[str], endpoint: Any, have: dict[Any, Obj], want: Want) -> dict[Any, Obj]:
    """The wanted objects by key, once the missing ones are made (bulk POSTs of BATCH) and
    those that differ (`_same`) brought to `want` (bulk PATCHes): what makes a load
    idempotent."""
    missing = [k for k in want if k not in have]
    changes = []
    for k, (_, fields) in want.items():
        diff = {f: v for f, v in fields.items() if k in have and not _same(have[k].get(f), v)}
        if diff:
            changes.append({"id": have[k]["id"], **diff})
    if missing:
        wanted = [want[k][0] | want[k][1] for k in missing]
        made = [o for batch in _batches(wanted) for o in endpoint.create(batch)]
        have = have | {k: dict(o) for k, o in zip(missing, made, strict=True)}
    for batch in _batches(changes):
        endpoint.update(batch)
    tally["created"] += len(missing)
    tally["updated"] += len(changes)
    return {k: have[k] for k in want}


def _same(have: Any, want: Any) -> bool:
    """Whether Nautobot's value is the one we write, in the shapes its API answers in."""
    if isinstance(have, dict) and not isinstance(want, dict):
        if "id" in have:
            return str(have["id"]) == str(want)  # a related object, given by id
        if "value" in have:
            return bool(have["value"] == want)  # a choice: {"value": ..., "label": ...}
    if isinstance(have, dict) and isinstance(want, dict):
        # custom fields come back all of them, the operator's own too: ours must match
        return all(have.get(k) == v for k, v in want.items())
    return bool(have == want)


def export(raw: Raw, api: Any, progress: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Load a checked inventory into Nautobot (pynautobot `api`); running it again changes
    nothing. Returns how many routers, interfaces and cables it holds. Each collection is
    read once and written in bulk, so the requests do not grow with the routers."""
    with answers(api.base_url):
        return _export(raw, api, progress)


def _parent(address: str) -> str:
    """The prefix that holds `address`: its /24, or its own network when wider (Nautobot
    keeps every address inside a prefix of its namespace)."""
    ip = IPv4Interface(address)
    return str(ip.network if ip.network.prefixlen < 24 else IPv4Interface(f"{ip.ip}/24").network)


def _export(raw: Raw, api: Any, progress: Callable[[str], None]) -> dict[str, int]:
    tally: Counter[str] = Counter()  # objects created and updated: 0 and 0 when run again
    extras, dcim, ipam = api.extras, api.dcim, api.ipam
    _sync(tally, extras.custom_fields, {o["key"]: o for o in _listed(extras.custom_fields)}, {
        key: ({"key": key}, {"label": key, "type": kind, "content_types": [model]})
        for key, (kind, model) in CUSTOM_FIELDS.items()})  # fmt: skip
    _sync(tally, extras.config_contexts, _named(extras.config_contexts, "name", [CONTEXT]), {
        CONTEXT: ({"name": CONTEXT}, {"weight": 1000, "data": {CONTEXT: {
            "backbone": raw["backbone"], "groups": raw["groups"], "defaults": raw["defaults"],
            "order": {"hosts": list(raw["hosts"]),
                      **{k: list(raw["backbone"].get(k) or {}) for k in ORDERED}}}}})})  # fmt: skip
    statuses = _named(extras.statuses, "name", ["Active", "Connected"])
    active, connected = statuses["Active"]["id"], statuses["Connected"]["id"]
    namespace = _named(ipam.namespaces, "name", ["Global"])["Global"]["id"]
    pop_type = _sync(tally, dcim.location_types, _named(dcim.location_types, "name", ["PoP"]),
                     {"PoP": ({"name": "PoP"}, {"content_types": ["dcim.device"]})})["PoP"]  # fmt: skip
    maker = _sync(tally, dcim.manufacturers, _named(dcim.manufacturers, "name", ["onramp"]),
                  {"onramp": ({"name": "onramp"}, {})})["onramp"]  # fmt: skip
    data = {name: dict(host.get("data") or {}) for name, host in raw["hosts"].items()}
    role = {name: (host.get("groups") or ["-"])[0] for name, host in raw["hosts"].items()}
    platform = {name: host["platform"] for name, host in raw["hosts"].items()}
    pop = {name: d.pop("pop") for name, d in data.items()}
    roles = _sync(tally, extras.roles, _named(extras.roles, "name", role.values()), {
        r: ({"name": r}, {"content_types": ["dcim.device"]}) for r in role.values()})  # fmt: skip
    platforms = _sync(tally, dcim.platforms, _named(dcim.platforms, "name", platform.values()), {
        p: ({"name": p}, {"network_driver": p}) for p in platform.values()})  # fmt: skip
    models = {p: f"{p}-router" for p in platform.values()}
    types = _sync(tally, dcim.device_types, _named(dcim.device_types, "model", models.values()), {
        m: ({"model": m}, {"manufacturer": maker["id"]}) for m in models.values()})  # fmt: skip
    pops = _sync(tally, dcim.locations, _named(dcim.locations, "name", pop.values()), {
        p: ({"name": p}, {"location_type": pop_type["id"], "status": active})
        for p in pop.values()})  # fmt: skip
    local = {n: {k: v for k, v in d.items() if k not in NATIVE} for n, d in data.items()}
    devices = _sync(tally, dcim.devices, _named(dcim.devices, "name", raw["hosts"]), {
        n: ({"name": n}, {
            "role": roles[role[n]]["id"], "platform": platforms[platform[n]]["id"],
            "device_type": types[models[platform[n]]]["id"], "location": pops[pop[n]]["id"],
            "status": active, "custom_fields": {"isis_net": d.get("isis_net")},
            "local_config_context_data": {CONTEXT: local[n]} if local[n] else None})
        for n, d in data.items()})  # fmt: skip
    progress(f"{len(devices)} routers")
    # (router, interface) -> its address (or None) and custom fields
    wanted: dict[tuple[str, str], tuple[str | None, dict[str, Any]]] = {}
    cables: list[tuple[tuple[str, str], tuple[str, str]]] = []
    for name, host in raw["hosts"].items():
        wanted[(name, MGMT)] = (f"{host['hostname']}/32", {})
        wanted[(name, LOOPBACK)] = (data[name].get("loopback"), {})
        for c in data[name].get("core_interfaces") or []:
            wanted[(name, c["name"])] = (c.get("ip"), {k: c.get(k) for k in CORE_FIELDS})
            cables.append(((name, c["name"]), (c["peer"]["host"], c["peer"]["interface"])))
        for p in data[name].get("onramp_ports") or []:
            wanted[(name, p["name"])] = (None, {k: p.get(k) for k in PORT_FIELDS})
    dev_ids = {n: str(d["id"]) for n, d in devices.items()}
    by_id = {i: n for n, i in dev_ids.items()}
    ifaces = _sync(tally, dcim.interfaces, {
        (by_id[_id(o["device"])], o["name"]): o
        for o in _listed(dcim.interfaces, "device_id", dev_ids.values())}, {
        (n, i): ({"name": i}, {
            "device": dev_ids[n], "type": "virtual" if i in (MGMT, LOOPBACK) else "other",
            "status": active, "custom_fields": dict.fromkeys(INTERFACE_FIELDS) | cf})
        for (n, i), (_, cf) in wanted.items()})  # fmt: skip
    progress(f"{len(ifaces)} interfaces")
    addresses = {key: a for key, (a, _) in wanted.items() if a}
    parents = {_parent(a) for a in addresses.values()}
    _sync(tally, ipam.prefixes, _named(ipam.prefixes, "prefix", parents, namespace=namespace), {
        p: ({"prefix": p, "namespace": namespace}, {"status": active}) for p in parents})  # fmt: skip
    # with their interfaces (exclude_m2m: an api may leave them out), the mappings' state
    held = {o["address"]: o for o in _listed(ipam.ip_addresses, "prefix", parents,
                                             namespace=namespace, exclude_m2m=False)}  # fmt: skip
    ips = _sync(tally, ipam.ip_addresses, held, {
        a: ({"address": a, "namespace": namespace}, {"status": active})
        for a in addresses.values()})  # fmt: skip
    mapped = {(str(o["id"]), _id(i)) for o in ips.values() for i in o.get("interfaces") or []}
    pairs = {(str(ips[a]["id"]), str(ifaces[key]["id"])) for key, a in addresses.items()}
    _sync(tally, ipam.ip_address_to_interface, {pair: {} for pair in mapped},
          {(ip, i): ({"ip_address": ip, "interface": i}, {}) for ip, i in pairs})  # fmt: skip
    _sync(tally, dcim.devices, devices, {
        n: ({}, {"primary_ip4": ips[addresses[(n, MGMT)]]["id"]}) for n in devices})  # fmt: skip
    made = [
        {"termination_a_type": "dcim.interface", "termination_a_id": ifaces[a]["id"],
         "termination_b_type": "dcim.interface", "termination_b_id": ifaces[b]["id"],
         "status": connected}
        for a, b in cables
        if a < b and not ifaces[a].get("cable")  # each link once, from the end that sorts first
    ]  # fmt: skip
    for batch in _batches(made):
        dcim.cables.create(batch)
    tally["created"] += len(made)
    return {"routers": len(raw["hosts"]), "interfaces": len(ifaces),
            "cables": dcim.cables.count(), "cables_made": len(made),
            "created": tally["created"], "updated": tally["updated"]}  # fmt: skip
