"""Generate a valid backbone inventory of any size, for scale tests and benchmarks.

Shape: one P router per PoP (at least two), P routers in a ring, every PE dual-homed
to its PoP's P and the next one. Each PoP gets an enterprise on-ramp; the first PoPs
get AWS, Azure (primary/secondary on two PEs) and Google when they have the PEs for it.
`reflectors` of the P routers (2 by default, spread around the ring) are the iBGP route
reflectors and every other router is a client of each: the redundant pair a backbone of a
few hundred routers runs (RFC 4456's clients of two reflectors), not a full mesh of every P,
whose sessions grow as P x routers (1,790 at 100 routers against 197).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

import yaml

from onramp.core.errors import OnrampError
from onramp.network.platforms import PLATFORMS

# per provider, the (csp_region, csp_location) of a generated on-ramp: values its simulator
# and API accept; an operator's own inventory names its real ones
CSP_PLACES = {"aws": ("eu-west-3", "EqPA2"), "azure": ("uksouth", "London"),
              "gcp": ("europe-west3", "fra-zone1-4")}  # fmt: skip
# how NAPALM reaches generated routers: host keys checked against known_hosts beside the
# inventory (`onramp lab up` writes its routers' keys there), as the default inventory does
NAPALM_ARGS = {"known_hosts": "known_hosts", "host_key_policy": "strict",
               "netdev": "frr-netdev", "vrf_exec": "ip netns exec {vrf}"}  # fmt: skip


def generate(
    count: int,
    mgmt_subnet: str = "172.20.20.0/24",
    platforms: list[str] | None = None,
    reflectors: int = 2,
) -> dict[str, Any]:
    # a request a person typed (`onramp inventory generate`): each mistake named, coded
    if count < 3:
        raise OnrampError("ONR-INV-001", f"{count} routers: a backbone needs at least 3 "
                          "routers (2 P + 1 PE)", "ask for 3 routers or more", field="routers")  # fmt: skip
    platforms = platforms or ["frr"]
    unknown = [p for p in platforms if p not in PLATFORMS]
    if unknown:
        raise OnrampError("ONR-INV-006", f"unknown platform {', '.join(unknown)}",
                          f"use some of {', '.join(sorted(PLATFORMS))}", field="platforms")  # fmt: skip
    n_p = max(2, count // 5)
    if not 1 <= reflectors <= n_p:
        raise OnrampError("ONR-INV-001", f"{count} routers have {n_p} P routers: 1 to {n_p} "
                          "route reflectors", f"ask for 1 to {n_p}", field="reflectors")  # fmt: skip
    try:
        subnet = IPv4Network(mgmt_subnet)
    except ValueError as exc:
        raise OnrampError("ONR-INV-001", f"management subnet {mgmt_subnet}: {exc}",
                          "give an IPv4 network such as 172.20.20.0/24", field="mgmt_subnet") from exc  # fmt: skip
    rrs = {f"p{i * n_p // reflectors + 1}" for i in range(reflectors)}
    pes = [f"pe{i + 1}" for i in range(count - n_p)]
    ps = [f"p{i + 1}" for i in range(n_p)]
    pops = [f"pop{i + 1}" for i in range(n_p)]
    mgmt = list(subnet.hosts())[10:]
    if len(mgmt) < count:
        raise OnrampError("ONR-INV-001", f"{mgmt_subnet} is too small for {count} routers",
                          f"give a subnet with at least {count + 10} host addresses",
                          field="mgmt_subnet")  # fmt: skip
    hosts: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(ps + pes):
        role = "p" if name in ps else "pe"
        pop = pops[i % n_p] if role == "p" else pops[pes.index(name) % n_p]
        platform = "frr" if role == "p" else platforms[pes.index(name) % len(platforms)]
        hosts[name] = {
            "hostname": str(mgmt[i]),
            "platform": platform,
            "groups": [role],
            "data": {
                "pop": pop,
                "loopback": f"{IPv4Address('10.255.0.1') + i}/32",
                "isis_net": f"49.0001.0000.0000.{i + 1:04x}.00",
                "core_interfaces": [],
            },
        }
        if role == "p":
            hosts[name]["data"]["route_reflector"] = name in rrs
    links = [(pe, ps[pops.index(hosts[pe]["data"]["pop"])]) for pe in pes]
    links += [(pe, ps[(pops.index(hosts[pe]["data"]["pop"]) + 1) % n_p]) for pe in pes]
    links += [(ps[i], ps[(i + 1) % n_p]) for i in range(n_p if n_p > 2 else 1)]
    core = IPv4Network("10.0.0.0/16").subnets(new_prefix=31)
    for a, b in links:
        net = next(core)
        ia, ib = _next_if(hosts[a]), _next_if(hosts[b])
        for (h, ifname, addr), (peer, peer_if) in (
            ((a, ia, net[0]), (b, ib)),
            ((b, ib, net[1]), (a, ia)),
        ):
            hosts[h]["data"]["core_interfaces"].append(
                {"name": ifname, "ip": f"{addr}/31", "peer": {"host": peer, "interface": peer_if}}
            )
    onramps: dict[str, Any] = {}
    for j, pop in enumerate(pops):
        local = [h for h in pes if hosts[h]["data"]["pop"] == pop]
        wanted: list[tuple[str, str, list[str], list[str] | None]] = [
            ("ent", "enterprise", local[:1], None)
        ]
        if j == 0:
            wanted.append(("aws", "aws", local[:1], None))
        if j == 1:
            wanted.append(("gcp", "gcp", local[:1], None))
        # one redundant (Azure) on-ramp, at the first PoP with two PEs
        if len(local) >= 2 and not any(o.get("redundant") for o in onramps.values()):
            wanted.append(("azure", "azure", local[:2], ["primary", "secondary"]))
        for prefix, provider, on, roles in wanted:
            if not on:
                continue
            oid = f"{prefix}-{pop}"
            onramps[oid] = {
                "provider": provider,
                "pop": pop,
                "description": f"{provider} on-ramp at {pop}",
            }
            if provider in CSP_PLACES:  # where the provider's side is (its simulator reads it)
                onramps[oid]["csp_region"], onramps[oid]["csp_location"] = CSP_PLACES[provider]
            if roles:
                onramps[oid]["redundant"] = True
            for k, h in enumerate(on):
                port = {
                    "name": _next_if(hosts[h]),
                    "onramp": oid,
                    "vlan_range": [2, 4093],
                    "speed_mbps": 10000,
                }
                if roles:
                    port["redundancy_role"] = roles[k]
                if provider in CSP_PLACES:  # the provider's name for our port there
                    port["csp_connection"] = f"{oid}-{h}-{port['name']}".lower().replace("/", "-")
                hosts[h]["data"].setdefault("onramp_ports", []).append(port)
    return {
        "hosts": hosts,
        "groups": {"pe": {"data": {"role": "pe"}}, "p": {"data": {"role": "p"}}},
        "defaults": {
            "username": "root",
            "data": {"asn": 65000},
            "connection_options": {"napalm": {"extras": {"optional_args": NAPALM_ARGS}}},
        },
        "backbone": {
            "pops": {p: {"city": p.capitalize(), "country": "FR", "region": "eu"} for p in pops},
            "onramps": onramps,
        },
    }


def _next_if(host: dict[str, Any]) -> str:
    data = host["data"]
    used = len(data["core_interfaces"]) + len(data.get("onramp_ports", []))
    return PLATFORMS[host["platform"]].numbered_interface.format(used + 1)


def write(files: dict[str, Any], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / f"{name}.yaml").write_text(yaml.safe_dump(content, sort_keys=False))
