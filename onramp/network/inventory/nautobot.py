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
from collections.abc import Callable, Iterator
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
    """A related object's id, whether pynautobot nested it (depth 1) or not."""
    return str(getattr(ref, "id", ref))


def read(nb: NautobotInventory) -> Raw:
    """The inventory in the shape of `checks.check_raw`, from the devices nornir-nautobot
    finds (its filter applies) and their interfaces, cables and addresses."""
    api = nb.pynautobot_obj
    context = api.extras.config_contexts.get(name=CONTEXT)
    shared = ((context.data if context else None) or {}).get(CONTEXT, {})
    devices = {str(d.id): d for d in nb.devices}
    ifaces = {str(i.id): i for i in api.dcim.interfaces.filter(device_id=list(devices))}
    addr: dict[str, list[str]] = {}  # interface id -> its addresses
    for link in api.ipam.ip_address_to_interface.filter(interface=list(ifaces)):
        addr.setdefault(_id(link.interface), []).append(str(link.ip_address.address))
    peer: dict[str, tuple[str, str]] = {}  # interface id -> (router, interface) at the far end
    for cable in api.dcim.cables.filter(device_id=list(devices)):
        a, b = str(cable.termination_a_id), str(cable.termination_b_id)
        if a in ifaces and b in ifaces:
            for here, there in ((a, b), (b, a)):
                far = ifaces[there]
                peer[here] = (devices[_id(far.device)].name, far.name)
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
            if _id(i.device) != dev_id:
                continue
            cf = i.custom_fields or {}
            if i.name == LOOPBACK and addr.get(iid):
                data["loopback"] = addr[iid][0]
            elif iid in peer:
                far_host, far_if = peer[iid]
                entry = {"name": i.name, "ip": next(iter(addr.get(iid) or []), None),
                         "peer": {"host": far_host, "interface": far_if}}  # fmt: skip
                core.append(entry | {k: cf[k] for k in CORE_FIELDS if cf.get(k) is not None})
            elif cf.get("onramp"):
                ports.append(
                    {"name": i.name} | {k: cf[k] for k in PORT_FIELDS if cf.get(k) is not None}
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


def _ensure(
    tally: Counter[str],
    endpoint: Any,
    key: dict[str, Any],
    fields: dict[str, Any],
    listed: bool = False,
) -> Any:
    """The object with `key`, made or brought to `fields` (what makes the load idempotent).
    `listed`: the endpoint cannot filter on `key`; compare the whole (short) list."""
    if listed:
        obj = next((o for o in endpoint.all() if all(o[k] == v for k, v in key.items())), None)
    else:
        obj = endpoint.get(**key)
    if obj is None:
        tally["created"] += 1
        return endpoint.create(**key, **fields)
    current = dict(obj)
    changed = {k: v for k, v in fields.items() if not _same(current.get(k), v)}
    if changed:
        tally["updated"] += 1
        obj.update(changed)
    return obj


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
    nothing. Returns how many routers, interfaces and cables it holds."""
    with answers(api.base_url):
        return _export(raw, api, progress)


def _export(raw: Raw, api: Any, progress: Callable[[str], None]) -> dict[str, int]:
    tally: Counter[str] = Counter()  # objects created and updated: 0 and 0 when run again
    for key, (kind, model) in CUSTOM_FIELDS.items():
        _ensure(tally, api.extras.custom_fields, {"key": key},
                {"label": key, "type": kind, "content_types": [model]}, listed=True)  # fmt: skip
    _ensure(tally, api.extras.config_contexts, {"name": CONTEXT}, {"weight": 1000, "data": {CONTEXT: {
        "backbone": raw["backbone"], "groups": raw["groups"], "defaults": raw["defaults"],
        "order": {"hosts": list(raw["hosts"]),
                  **{k: list(raw["backbone"].get(k) or {}) for k in ORDERED}}}}})  # fmt: skip
    active = api.extras.statuses.get(name="Active").id
    connected = api.extras.statuses.get(name="Connected").id
    pop_type = _ensure(
        tally, api.dcim.location_types, {"name": "PoP"}, {"content_types": ["dcim.device"]}
    )
    maker = _ensure(tally, api.dcim.manufacturers, {"name": "onramp"}, {})
    namespace = api.ipam.namespaces.get(name="Global").id
    roles, platforms, types, pops = {}, {}, {}, {}
    ifaces: dict[tuple[str, str], Any] = {}
    cables: list[tuple[str, str, str, str]] = []
    for name, host in raw["hosts"].items():
        data = dict(host.get("data") or {})
        role = (host.get("groups") or ["-"])[0]
        platform = host["platform"]
        if role not in roles:
            roles[role] = _ensure(
                tally, api.extras.roles, {"name": role}, {"content_types": ["dcim.device"]}
            ).id
        if platform not in platforms:
            platforms[platform] = _ensure(tally, api.dcim.platforms, {"name": platform},
                                          {"network_driver": platform}).id  # fmt: skip
            types[platform] = _ensure(tally, api.dcim.device_types, {"model": f"{platform}-router"},
                                      {"manufacturer": maker.id}).id  # fmt: skip
        pop = data.pop("pop")
        if pop not in pops:
            pops[pop] = _ensure(tally, api.dcim.locations, {"name": pop},
                                {"location_type": pop_type.id, "status": active}).id  # fmt: skip
        local = {k: v for k, v in data.items() if k not in NATIVE}
        dev = _ensure(tally, api.dcim.devices, {"name": name}, {
            "role": roles[role], "platform": platforms[platform], "device_type": types[platform],
            "location": pops[pop], "status": active,
            "custom_fields": {"isis_net": data.get("isis_net")},
            "local_config_context_data": {CONTEXT: local} if local else None})  # fmt: skip
        wanted: list[tuple[str, str | None, dict[str, Any]]] = [
            (MGMT, f"{host['hostname']}/32", {}),
            (LOOPBACK, data.get("loopback"), {}),
        ]
        for c in data.get("core_interfaces") or []:
            wanted.append((c["name"], c.get("ip"), {k: c.get(k) for k in CORE_FIELDS}))
            cables.append((name, c["name"], c["peer"]["host"], c["peer"]["interface"]))
        for p in data.get("onramp_ports") or []:
            wanted.append((p["name"], None, {k: p.get(k) for k in PORT_FIELDS}))
        for ifname, address, cf in wanted:
            virtual = ifname in (MGMT, LOOPBACK)
            iface = _ensure(tally, api.dcim.interfaces, {"device_id": dev.id, "name": ifname}, {
                "device": dev.id, "type": "virtual" if virtual else "other", "status": active,
                "custom_fields": dict.fromkeys(INTERFACE_FIELDS) | cf})  # fmt: skip
            ifaces[(name, ifname)] = iface
            if address:
                ip = _address(tally, api, address, namespace, active)
                _ensure(tally, api.ipam.ip_address_to_interface,
                        {"ip_address": ip.id, "interface": iface.id}, {})  # fmt: skip
                if ifname == MGMT and _id(dev.primary_ip4) != str(ip.id):
                    tally["updated"] += 1
                    dev.update({"primary_ip4": ip.id})
        progress(f"{name}: {len(wanted)} interfaces")
    made = 0
    for a_host, a_if, b_host, b_if in cables:
        a, b = ifaces[(a_host, a_if)], ifaces[(b_host, b_if)]
        if (a_host, a_if) > (b_host, b_if):
            continue  # each link once, from the end that sorts first
        if api.dcim.cables.get(termination_a_id=a.id) or api.dcim.cables.get(termination_b_id=a.id):
            continue
        tally["created"] += 1
        api.dcim.cables.create(termination_a_type="dcim.interface", termination_a_id=a.id,
                               termination_b_type="dcim.interface", termination_b_id=b.id,
                               status=connected)  # fmt: skip
        made += 1
    return {"routers": len(raw["hosts"]), "interfaces": len(ifaces),
            "cables": len(api.dcim.cables.all()), "cables_made": made,
            "created": tally["created"], "updated": tally["updated"]}  # fmt: skip


def _address(tally: Counter[str], api: Any, address: str, namespace: str, status: str) -> Any:
    """The IP address, and a /24 (or its own network, when wider) to hold it: Nautobot
    keeps every address inside a prefix of its namespace."""
    ip = IPv4Interface(address)
    parent = ip.network if ip.network.prefixlen < 24 else IPv4Interface(f"{ip.ip}/24").network
    _ensure(
        tally,
        api.ipam.prefixes,
        {"prefix": str(parent), "namespace": namespace},
        {"status": status},
    )
    return _ensure(tally, api.ipam.ip_addresses, {"address": address, "namespace": namespace},
                   {"status": status})  # fmt: skip
