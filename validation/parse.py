"""Parse-back: router config text -> the intent it carries, per feature and platform.

TTP templates (templates/ttp/<feature>/<platform>.ttp) pick the lines; the functions here
normalize what they found into one shape per feature, the same for every platform, and
`project()` cuts the same shape out of the intent data a template was rendered from. So
`parse(f, p, render(f, p, data)) == project(f, data)` is the round trip, and a running
config read from a router says which intent it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from ipaddress import IPv4Interface
from typing import Any

from ttp import ttp

from onramp.core.settings import PACKAGE
from onramp.network.platforms import PLATFORMS

TTP = PACKAGE / "templates" / "ttp"
Shape = dict[str, Any]


@cache
def _template(feature: str, platform: str) -> str:
    return (TTP / feature / f"{platform}.ttp").read_text()


def _raw(feature: str, platform: str, text: str) -> dict[str, Any]:
    parser = ttp(data=text, template=_template(feature, platform))
    parser.parse()
    result = parser.result()[0]
    return result[0] if isinstance(result, list) else result  # type: ignore[no-any-return]


ENCRYPTED = "<encrypted>"  # a key the device shows only in its own encryption


def _address(text: str) -> str:
    """`a.b.c.d/len` from either `a.b.c.d/len` or `a.b.c.d m.m.m.m` (IOS-XR shows masks)."""
    return IPv4Interface(text.strip().replace(" ", "/")).with_prefixlen


def _password(n: dict[str, Any]) -> str | None:
    if n.get("password_encrypted") or str(n.get("password", "")).startswith("$9$"):
        return ENCRYPTED
    return n.get("password")


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _by(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """Merge the per-line groups TTP returns into one record per key."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        out.setdefault(str(item[key]), {}).update(item)
    return out


# ------------------------------------------------------------------ projections of intent


def project(feature: str, data: Mapping[str, Any]) -> Shape:
    """What `feature` renders of intent `data`, in parse()'s shape."""
    if feature == "backbone":
        ifaces = [(data["loopback"]["name"], data["loopback"]["address"])]
        ifaces += [(i["name"], i["address"]) for i in data["interfaces"]]
        return {
            "hostname": data["hostname"],
            "interfaces": sorted(ifaces),
            "net": data["isis"]["net"],
            "asn": data["bgp"]["asn"],
            "ibgp": sorted(m["address"] for g in data["bgp"]["peer_groups"] for m in g["members"]),
        }
    if feature == "vrf":
        v = data["vrf"]
        return {
            "name": v["name"],
            "rd": v["rd"],
            "router_id": v["router_id"],
            "route_targets": sorted(v["route_targets"]),
        }
    if feature == "onramp_interface":
        return {
            "interfaces": sorted(
                (
                    {
                        "vlan": i["vlan"],
                        "inner_vlan": i["inner_vlan"],
                        "address": i["address"],
                        "vrf": i["vrf"],
                        "description": i["description"],
                    }
                    for i in data["interfaces"]
                ),
                key=lambda x: x["vlan"],
            )
        }
    if feature == "qos":
        rates = [(f"vlan {i['vlan']}", i["qos"]["mbps"]) for i in data["interfaces"]]
        rates += [(g["name"], g["qos"]["mbps"]) for g in data.get("segments", [])]
        return {"rates": sorted(rates)}
    return {
        "neighbors": sorted(
            (
                {
                    "address": n["address"],
                    "remote_as": n["remote_as"],
                    "description": n["description"],
                    "password": n["password"],
                    "hold": n["hold"],
                    "max_prefix": n["max_prefix"],
                }
                for n in data["neighbors"]
            ),
            key=lambda x: x["address"],
        ),
        "allowed": {
            pl["name"]: sorted((e["prefix"], e["le"]) for e in pl["permits"])
            for pl in data["prefix_lists"]
        },
    }


# ------------------------------------------------------------------ parsers per platform


def _backbone(raw: dict[str, Any]) -> Shape:
    return {
        "hostname": raw.get("system", {}).get("hostname"),
        "interfaces": sorted(
            (i["name"], _address(i["address"]))
            for i in _list(raw.get("interfaces"))
            if "address" in i  # a port without an address of its own
        ),
        "net": raw.get("isis", {}).get("net"),
        "asn": raw.get("bgp", {}).get("asn"),
        "ibgp": sorted(n["address"] for n in _list(raw.get("ibgp"))),
    }


def _vrf_frr(raw: dict[str, Any]) -> Shape:
    (v,) = _list(raw.get("vrfs"))
    return {
        "name": v["name"],
        "rd": v.get("rd"),
        "router_id": v.get("router_id"),
        "route_targets": sorted(str(v.get("route_targets", "")).split()),
    }


def _vrf_iosxr(raw: dict[str, Any]) -> Shape:
    (v,) = _list(raw.get("vrfs"))
    (b,) = _list(raw.get("bgp", {}).get("vrfs"))
    return {
        "name": v["name"],
        "rd": b.get("rd"),
        "router_id": b.get("router_id"),
        # listed under import and under export: the same targets, once
        "route_targets": sorted({str(t["rt"]) for t in _list(raw.get("targets"))}),
    }


def _vrf_junos(raw: dict[str, Any]) -> Shape:
    (v,) = _list(raw.get("vrfs"))
    rid = next(r["router_id"] for r in _list(raw.get("router_ids")) if r["name"] == v["name"])
    return {
        "name": v["name"],
        "rd": v["rd"],
        "router_id": rid,
        "route_targets": sorted(t["rt"] for t in _list(raw.get("targets"))),
    }


def _iface_frr(raw: dict[str, Any]) -> Shape:
    out = []
    for i in _list(raw.get("interfaces")):
        tags = i["name"].split(".")[1:]
        out.append(
            {
                "vlan": int(tags[0]),
                "inner_vlan": int(tags[1]) if len(tags) > 1 else None,
                "address": i["address"],
                "vrf": i["vrf"],
                "description": i["description"],
            }
        )
    return {"interfaces": sorted(out, key=lambda x: x["vlan"])}


def _iface_iosxr(raw: dict[str, Any]) -> Shape:
    out = [
        {
            "vlan": i["vlan"],
            "inner_vlan": i.get("inner_vlan"),
            "address": _address(i["address"]),
            "vrf": i["vrf"],
            "description": i["description"],
        }
        for i in _list(raw.get("interfaces"))
    ]
    return {"interfaces": sorted(out, key=lambda x: x["vlan"])}


def _iface_junos(raw: dict[str, Any]) -> Shape:
    units: dict[tuple[str, int], dict[str, Any]] = {}
    for group in ("descriptions", "tags", "addresses", "members"):
        for item in _list(raw.get(group)):
            units.setdefault((item["parent"], item["vlan"]), {}).update(item)
    out = [
        {
            "vlan": u.get("outer", vlan),
            "inner_vlan": u.get("inner_vlan"),
            "address": u["address"],
            "vrf": u["vrf"],
            "description": u["description"],
        }
        for (_, vlan), u in units.items()
        if "vrf" in u  # on-ramp units only: lo0, fxp0 and core units are not in a VRF
    ]
    return {"interfaces": sorted(out, key=lambda x: x["vlan"])}


def _neighbor(n: dict[str, Any]) -> dict[str, Any]:
    return {
        "address": n["address"],
        "remote_as": n["remote_as"],
        "description": n["description"],
        "password": _password(n),
        "hold": n["hold"],
        "max_prefix": n["max_prefix"],
    }


def _bgp_frr(raw: dict[str, Any]) -> Shape:
    merged: list[dict[str, Any]] = []
    for group in ("neighbors", "descriptions", "passwords", "timers", "limits"):
        merged += _list(raw.get(group))
    # a Link segment's peers (`remote-as internal`, the lab's stand-in for the label
    # path) match no numeric remote-as: they are not the Connector's neighbors
    neighbors = [n for n in _by(merged, "address").values() if "remote_as" in n]
    allowed: dict[str, list[tuple[str, int | None]]] = {}
    for e in _list(raw.get("prefix_lists")):
        entries = allowed.setdefault(e["name"], [])
        if e["action"] == "permit":
            entries.append((e["prefix"], e.get("le")))
    return {
        "neighbors": sorted((_neighbor(n) for n in neighbors), key=lambda x: x["address"]),
        "allowed": {k: sorted(v) for k, v in allowed.items()},
    }


def _bgp_iosxr(raw: dict[str, Any]) -> Shape:
    allowed = {}
    for s in _list(raw.get("prefix_sets")):
        entries = [e for e in _list(s.get("entries")) if e] or [s]
        allowed[s["name"]] = sorted((e["prefix"], e.get("le")) for e in entries if "prefix" in e)
    neighbors = [_neighbor(n) for n in _list(raw.get("neighbors"))]
    return {"neighbors": sorted(neighbors, key=lambda x: x["address"]), "allowed": allowed}


def _bgp_junos(raw: dict[str, Any]) -> Shape:
    merged: list[dict[str, Any]] = []
    for group in ("neighbors", "descriptions", "passwords", "holds", "limits"):
        merged += _list(raw.get(group))
    allowed: dict[str, list[tuple[str, int | None]]] = {}
    for f in _list(raw.get("filters")):
        allowed.setdefault(f["name"], []).append((f["prefix"], f.get("le")))
    return {
        "neighbors": sorted(
            (_neighbor(n) for n in _by(merged, "address").values()), key=lambda x: x["address"]
        ),
        "allowed": {k: sorted(v) for k, v in allowed.items()},
    }


def _rate(policed: int | None, shaped: int | None) -> int | str | None:
    """One rate where policer in and shaper out agree; both shown where they do not."""
    return policed if policed == shaped else f"in {policed} out {shaped}"


def _qos_frr(raw: dict[str, Any]) -> Shape:
    rates = []
    for r in _list(raw.get("rates")):
        name = r["name"]
        if "mbps" not in r or not (name.startswith("vpn") or "." in name):
            continue  # a stanza without a rate, or not an on-ramp's (lo, eth1)
        key = name if name.startswith("vpn") else f"vlan {int(name.split('.')[1])}"
        rates.append((key, r["mbps"]))
    return {"rates": sorted(rates)}


def _qos_iosxr(raw: dict[str, Any]) -> Shape:
    policies = _by(_list(raw.get("policies")), "name")
    rates = []
    for b in _list(raw.get("bindings")):
        if "input" in b or "output" in b:
            policed = policies.get(b.get("input", ""), {}).get("police")
            shaped = policies.get(b.get("output", ""), {}).get("shape")
            rates.append((f"vlan {int(b['name'].split('.')[1])}", _rate(policed, shaped)))
    return {"rates": sorted(rates)}


def _qos_junos(raw: dict[str, Any]) -> Shape:
    policers = {p["name"]: p["mbps"] for p in _list(raw.get("policers"))}
    shapers = {p["name"]: p["mbps"] for p in _list(raw.get("shapers"))}
    units: dict[tuple[str, int], dict[str, Any]] = {}
    for group in ("inputs", "outputs"):
        for item in _list(raw.get(group)):
            units.setdefault((item["parent"], item["vlan"]), {}).update(item)
    rates = [
        (
            f"vlan {vlan}",
            _rate(policers.get(u.get("policer", "")), shapers.get(u.get("shaper", ""))),
        )
        for (_, vlan), u in units.items()
    ]
    return {"rates": sorted(rates)}


PARSERS: dict[tuple[str, str], Callable[[dict[str, Any]], Shape]] = {
    **{("backbone", p): _backbone for p in PLATFORMS},  # one normalizer for every platform
    ("vrf", "frr"): _vrf_frr,
    ("vrf", "iosxr"): _vrf_iosxr,
    ("vrf", "junos"): _vrf_junos,
    ("onramp_interface", "frr"): _iface_frr,
    ("onramp_interface", "iosxr"): _iface_iosxr,
    ("onramp_interface", "junos"): _iface_junos,
    ("qos", "frr"): _qos_frr,
    ("qos", "iosxr"): _qos_iosxr,
    ("qos", "junos"): _qos_junos,
    ("bgp_neighbor", "frr"): _bgp_frr,
    ("bgp_neighbor", "iosxr"): _bgp_iosxr,
    ("bgp_neighbor", "junos"): _bgp_junos,
}


def parse(feature: str, platform: str, text: str) -> Shape:
    """The intent of `feature` found in config `text` of `platform`, in project()'s shape."""
    return PARSERS[(feature, platform)](_raw(feature, platform, text))
