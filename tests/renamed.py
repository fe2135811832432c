"""A backbone whose every name a provider sees differs from the default inventory's:
PoPs, routers, on-ramp ports, on-ramps, the providers' port names, regions and locations
(what a hand-written backbone of another operator looks like to onramp)."""

from __future__ import annotations

from pathlib import Path

import yaml

from onramp.core.settings import ROOT

POPS = {"par": "ams", "lon": "dub", "fra": "waw"}
ROUTERS = {"pe1-par": "ams-edge-a", "pe1-lon": "dub-edge-a", "pe2-lon": "dub-edge-b",
           "pe1-fra": "waw-edge-a", "p1-par": "ams-core", "p1-fra": "waw-core"}  # fmt: skip
PORTS = {"eth3": "eth7", "eth4": "eth8", "eth5": "eth9"}  # the on-ramp ports
ONRAMPS = {"aws-dx-par": "aws-ams-1", "azure-er-lon": "er-dub-1", "gcp-pi-fra": "gcp-waw-1",
           "ent-par": "xc-ams", "ent-lon": "xc-dub", "ent-fra": "xc-waw",
           "ibm-dl-fra": "dl-waw-1", "alibaba-ec-lon": "ec-dub-1"}  # fmt: skip
CONNECTIONS = {"dxcon-onramp01": "dxcon-fh6ayh1d", "onramp-lon-er-pri": "bb2-dub-er-a",
               "onramp-lon-er-sec": "bb2-dub-er-b", "onramp-fra-ic1": "bb2-waw-ic7",
               "3a6d2c4e-8b1f-4d7a-9c0e-5f2b7a1d9e01": "9e0c7d21-5b4a-4f3e-8a1d-2c6b0f9e7a55",
               "pc-gw8onramplon0001": "pc-2ze9bb2dub0007"}  # fmt: skip
PLACES = {  # csp_region, csp_location
    "aws-ams-1": ("eu-central-1", "EqAM2"),
    "er-dub-1": ("northeurope", "Dublin"),
    "gcp-waw-1": ("europe-central2", "waw-zone1-2"),
    "dl-waw-1": ("eu-de", "fra02"),
    "ec-dub-1": ("eu-central-1", "ap-de-fra-eq"),
}


def renamed(directory: Path, mgmt_octet: int | None = None) -> Path:
    """The default inventory with every name the providers see changed (and the routers'
    management addresses moved to 172.20.<mgmt_octet>.0/24, for a lab of a test's own)."""
    source = ROOT / "inventory"
    hosts = yaml.safe_load((source / "hosts.yaml").read_text())
    backbone = yaml.safe_load((source / "backbone.yaml").read_text())
    for host in hosts.values():
        if mgmt_octet is not None:
            a, b, _, d = host["hostname"].split(".")
            host["hostname"] = f"{a}.{b}.{mgmt_octet}.{d}"
        data = host["data"]
        data["pop"] = POPS[data["pop"]]
        for link in data["core_interfaces"]:
            link["peer"]["host"] = ROUTERS[link["peer"]["host"]]
        for port in data.get("onramp_ports", []):
            port["name"], port["onramp"] = PORTS[port["name"]], ONRAMPS[port["onramp"]]
            if "csp_connection" in port:
                port["csp_connection"] = CONNECTIONS[port["csp_connection"]]
    backbone["pops"] = {POPS[k]: v for k, v in backbone["pops"].items()}
    onramps = {}
    for old, onramp in backbone["onramps"].items():
        new = ONRAMPS[old]
        onramp["pop"] = POPS[onramp["pop"]]
        if new in PLACES:
            onramp["csp_region"], onramp["csp_location"] = PLACES[new]
        onramps[new] = onramp
    backbone["onramps"] = onramps
    directory.mkdir()
    (directory / "hosts.yaml").write_text(yaml.safe_dump({ROUTERS[k]: v for k, v in hosts.items()}))
    (directory / "backbone.yaml").write_text(yaml.safe_dump(backbone))
    for name in ("groups.yaml", "defaults.yaml"):
        (directory / name).write_text((source / name).read_text())
    return directory
