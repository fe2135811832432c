"""`onramp sim <provider>` follows the inventory config.yaml points at: on a backbone whose
PoPs, routers, ports, on-ramps, provider port names, regions and locations are all other
than the default's, and with our own Azure subscription and Google project in `csp:`, a
Connector on each of AWS, Azure and Google gets its provider side ready through the real
SDKs, the adapters config.yaml's `csp:` builds, and the simulators as engineers run them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml

from onramp.core.model import ConnectorRequest, State
from onramp.core.secrets import Vault
from onramp.core.settings import load_settings, local_config
from onramp.core.store import Store, TenantRow
from onramp.csp import registry
from onramp.flow import allocate
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service
from onramp.network.inventory import load
from tests.renamed import PLACES, renamed

# a Connector's states until its provider side is ready
BEFORE_READY = {State.REQUESTED, State.VALIDATED, State.ALLOCATED, State.CSP_REQUESTED,
                State.AWAITING_CUSTOMER}  # fmt: skip
ACCOUNTS = {"aws": "", "azure": "0d6f2c1e-7b3a-4c5d-9e8f-a1b2c3d4e5f6", "gcp": "bb2-netops"}
ONRAMP = {"aws": "aws-ams-1", "azure": "er-dub-1", "gcp": "gcp-waw-1"}
PROVIDER_PORTS = {"aws": ["dxcon-fh6ayh1d"], "azure": ["bb2-dub-er-a", "bb2-dub-er-b"],
                  "gcp": ["bb2-waw-ic7"]}  # fmt: skip


def post(url: str, data: dict[str, Any]) -> dict[str, Any]:
    asked = urllib.request.Request(url, data=json.dumps(data).encode(), method="POST")
    with urllib.request.urlopen(asked) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def state(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/_sim/state") as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]


def simulator(stack: ExitStack, provider: str, config: Path) -> dict[str, Any]:
    """`onramp --config <config> sim <provider>` in its own process; its ready line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "onramp.cli", "--config", str(config), "sim", provider, "--json",
         "--accept-after", "0", "--provisioning", "0"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip

    def stop() -> None:
        proc.terminate()
        assert proc.wait(timeout=10) == 0

    stack.callback(stop)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, f"onramp sim {provider} did not start (exit {proc.wait(timeout=10)})"
    ready: dict[str, Any] = json.loads(line)
    return ready


@pytest.fixture
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Service, str]]:
    """`onramp sim <provider>` started from the renamed backbone's config (our Azure
    subscription and Google project in its `csp:`), and a Service whose config.yaml points
    `csp:` at it as the README says."""
    provider, account = request.param, ACCOUNTS[request.param]
    inventory = renamed(tmp_path / "inventory")
    before = local_config(tmp_path, inventory, csp={provider: {"account": account}})
    with ExitStack() as stack:
        ready = simulator(stack, provider, before)
        assert ready["account"] == account and ready["ports"] == PROVIDER_PORTS[provider]
        where = {"endpoint_url": ready["url"], "region": PLACES[ONRAMP[provider]][0]}
        csp = {provider: where | {"account": account}}
        settings = load_settings(local_config(tmp_path, inventory, csp=csp))
        store = Store(settings.resolved_store_url())
        store.migrate()
        with store.session() as s:
            s.add(TenantRow(id="acme", name="Acme"))
        yield Service(settings, store, load(inventory), Vault(tmp_path / "k")), ready["url"]


def order(provider: str, url: str) -> dict[str, Any]:
    """What the customer asks for, after doing their part at the provider (the simulators
    make the circuit and the pairing key where our renamed on-ramps are)."""
    if provider == "aws":
        return {"onramp": "aws-ams-1", "kind": "aws-hosted-vif", "aws_account": "123456789012"}
    if provider == "azure":
        key = post(url + "/_sim/circuits", {"bandwidth_mbps": 1000})["service_key"]
        xc = state(url)["cross_connections"][key]
        assert (xc["location"], xc["properties"]["peeringLocation"]) == ("northeurope", "Dublin")
        s_tag = xc["properties"]["sTag"]
        return {"onramp": "er-dub-1", "kind": "azure-expressroute", "azure_service_key": key,
                "s_tag": s_tag}  # fmt: skip
    key = post(url + "/_sim/pairing-keys", {})["pairing_key"]
    assert key.split("/")[1] == "europe-central2"  # the region of our renamed interconnect
    return {"onramp": "gcp-waw-1", "kind": "gcp-partner", "gcp_pairing_key": key}


@pytest.mark.parametrize("served", list(ACCOUNTS), indirect=True)
def test_a_connector_gets_ready_on_a_renamed_backbone(served: tuple[Service, str]) -> None:
    svc, url = served
    (provider,) = svc.settings.csp
    adapters = registry.adapters(svc.settings.csp, svc.backbone, svc.store, svc.vault)
    worker = Orchestrator(svc, adapters, "worker:test")
    asked = {"tenant": "acme", "bandwidth_mbps": 1000, "prefixes": ["10.100.7.0/24"]}
    request = ConnectorRequest.model_validate(asked | order(provider, url))
    c = allocate.create_connector(svc.store, svc.backbone, request, svc.vault)
    deadline = time.monotonic() + 60
    while (now := worker.advance("connector", c["id"])) in BEFORE_READY:
        assert time.monotonic() < deadline, worker.history("connector", c["id"])
        time.sleep(0.1)
    # the provider's part is done: the next step is our routers (no lab here)
    steps = [(h["to"], h["reason"]) for h in worker.history("connector", c["id"])]
    assert now == State.CONFIGURING, steps
    held = state(url)
    if provider == "aws":
        (vif,) = held["virtual_interfaces"].values()
        assert (vif["connectionId"], vif["region"], vif["location"]) == (
            "dxcon-fh6ayh1d", "eu-central-1", "EqAM2")  # fmt: skip
        assert vif["virtualInterfaceState"] == "available"
    if provider == "gcp":
        (attachment,) = held["attachments"].values()
        assert attachment["interconnect"].endswith("/bb2-netops/global/interconnects/bb2-waw-ic7")
        assert attachment["state"] == "ACTIVE"


def test_sim_names_the_inventory_field_it_lacks(tmp_path: Path) -> None:
    """A provider fact the inventory does not give is refused at start, naming the field,
    not guessed: here the Direct Connect location of an AWS on-ramp."""
    inventory = renamed(tmp_path / "inventory")
    backbone = yaml.safe_load((inventory / "backbone.yaml").read_text())
    del backbone["onramps"]["aws-ams-1"]["csp_location"]
    (inventory / "backbone.yaml").write_text(yaml.safe_dump(backbone))
    done = subprocess.run(
        [sys.executable, "-m", "onramp.cli", "sim", "aws", "--inventory", str(inventory),
         "--json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    error = json.loads(done.stdout)["error"]
    assert (error["code"], error["field"]) == ("ONR-INV-001", "onramps.aws-ams-1.csp_location")
    assert "backbone.yaml" in error["hint"]
