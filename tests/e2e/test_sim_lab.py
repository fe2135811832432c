"""`onramp sim aws --lab` on a backbone with names of its own (tests/renamed.py): the
simulator, started from that backbone's config.yaml as an engineer starts it, brings the
cloud side of a hosted VIF up on the lab's CSP edge behind the renamed port, and our
side's deploy on the renamed PE then brings BGP up."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from onramp.core.settings import load_settings
from onramp.core.store import ConnectorRow
from onramp.csp import registry
from onramp.csp.adapter import CspState, wait
from onramp.flow.apply import apply_plan
from onramp.flow.plan import make_plan
from onramp.flow.service import Service
from onramp.lab.run import Lab, down
from onramp.lab.topology import build
from onramp.network.inventory import load
from tests.renamed import PLACES, renamed

from .conftest import lab_settings, write_config

LAB, OCTET = "tsi", 44


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Path]]:
    """The renamed backbone's lab, up, and a config.yaml pointing at both."""
    tmp = tmp_path_factory.mktemp("sim-lab")
    settings = lab_settings(LAB, tmp, OCTET)
    inventory = renamed(tmp / "inventory", mgmt_octet=OCTET)
    running = Lab(build(load(inventory), settings), settings.state_dir)
    down(settings.name, settings.state_dir)
    try:
        running.up(converge_timeout=settings.converge_timeout_s)
        config = write_config(tmp / "config.yaml", settings, inventory)
        data = yaml.safe_load(config.read_text())
        data |= {"store_url": f"sqlite:///{tmp / 'onramp.db'}", "secret_key_file": str(tmp / "k")}
        config.write_text(yaml.safe_dump(data))
        yield running, config
    finally:
        down(settings.name, settings.state_dir)


@pytest.fixture
def aws_sim(lab: tuple[Lab, Path]) -> Iterator[str]:
    """`onramp --config <the renamed backbone's> sim aws --lab`, in its own process."""
    _, config = lab
    proc = subprocess.Popen(
        [sys.executable, "-m", "onramp.cli", "--config", str(config), "sim", "aws", "--lab",
         "--json", "--accept-after", "0.2", "--provisioning", "0.2"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        assert ready["ports"] == ["dxcon-fh6ayh1d"]
        yield str(ready["url"])
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


def test_sim_lab_brings_the_renamed_port_s_cloud_peer_up(
    lab: tuple[Lab, Path], aws_sim: str
) -> None:
    running, config = lab
    data = yaml.safe_load(config.read_text())
    data["csp"] = {"aws": {"endpoint_url": aws_sim, "region": PLACES["aws-ams-1"][0]}}
    config.write_text(yaml.safe_dump(data))
    svc = Service.open(load_settings(config))
    svc.add_tenant("acme", "Acme")
    adapter = registry.adapters(svc.settings.csp, svc.backbone, svc.store, svc.vault)["aws"]
    c = svc.create_connector(svc.connector_request({
        "tenant": "acme", "onramp": "aws-ams-1", "kind": "aws-hosted-vif",
        "bandwidth_mbps": 100, "aws_account": "123456789012", "prefixes": ["10.100.0.0/24"],
    }))  # fmt: skip
    (a,) = c["attachments"]
    assert (a["router"], a["port"]) == ("ams-edge-a", "eth7")
    vif = adapter.request(registry.peering_request(c, md5_key(svc, c["id"])))
    assert wait(adapter, vif.resource_id, timeout_s=20, poll_s=0.1).state == CspState.READY
    ours = a["local_address"].split("/")[0]
    edge = running.vtysh(running.topo.edge_of("ams-edge-a", "eth7"), "show running-config")
    assert f"neighbor {ours} remote-as {c['local_asn']}" in edge
    plan = make_plan(svc, "connector", c["id"])
    assert apply_plan(svc, plan["id"], revert_in=60, check_timeout=30)["state"] == "applied"
    theirs = a["peer_address"].split("/")[0]
    out = running.vtysh_json("ams-edge-a", f"show bgp vrf {c['vrf']} neighbors {theirs} json")
    assert out[theirs]["bgpState"] == "Established"


def md5_key(svc: Service, connector_id: str) -> str:
    with svc.store.session() as s:
        row = s.get(ConnectorRow, connector_id)
        assert row is not None and row.md5_key is not None
        return svc.vault.decrypt(row.md5_key)
