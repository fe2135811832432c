"""An enterprise Connector goes active with the user's tools alone (issue 18, item 6):
ordered with the CLI, its customer's router configuration fetched with the CLI
(`connector customer-config --platform frr`), applied unchanged on the lab's CE; the
workers' part then takes it through the pyATS gate (BGP Established, with MD5) to active.
Without that configuration the same order fails at the gate, as it did before."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from onramp.flow.orchestrate import Orchestrator, Timings
from onramp.flow.service import Service
from onramp.lab.run import Lab
from onramp.lab.topology import EDGE_PORT, cloud_lans

from .conftest import module_lab, running

OCTET = 53


@dataclass
class Env:
    lab: Lab
    svc: Service
    config: Path

    def cli(self, *args: str) -> Any:
        """`onramp ... --json` as a user runs it: another process, this lab's config."""
        proc = subprocess.run([sys.executable, "-m", "onramp.cli", "--config", str(self.config),
                               *args, "--json"], capture_output=True, text=True, timeout=120)  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("customer")
    with module_lab(tmp, "tcc", OCTET) as (lab, svc, _):
        yield Env(lab, svc, tmp / "config.yaml")


def order(env: Env) -> dict[str, Any]:
    lan = str(cloud_lans(env.lab.topo)["ent-par"])
    made: dict[str, Any] = env.cli("connector", "create", "--tenant", "acme", "--onramp",
                                   "ent-par", "--kind", "enterprise", "--bandwidth", "100",
                                   "--customer-asn", "65101", "--prefix", lan)  # fmt: skip
    return made


def test_an_enterprise_connector_goes_active_with_the_customer_config(env: Env) -> None:
    orch = Orchestrator(env.svc, {}, actor="test", timings=Timings(revert_in_s=60,
                                                                   check_timeout_s=15))  # fmt: skip
    c = order(env)
    (a,) = c["attachments"]
    edge = env.lab.topo.edge_of(a["router"], a["port"])
    before = running(env.lab, edge)
    got = env.cli("connector", "customer-config", c["id"][:8], "--platform", "frr",
                  "--interface", EDGE_PORT)  # fmt: skip
    assert got["password"] and f"password {got['password']}" in got["config"]
    env.lab.apply_ce_config(edge, got["config"])
    try:
        assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "active"
        assert [h["to"] for h in orch.history("connector", c["id"])][-3:] == [
            "configuring", "verifying", "active"]  # fmt: skip
        peer = a["local_address"].split("/")[0]
        ce = env.lab.vtysh_json(edge, "show bgp summary json")["ipv4Unicast"]["peers"][peer]
        assert ce["state"] == "Established" and ce["pfxRcd"] == 0  # nothing linked yet
        (seen,) = env.svc.reveals(c["id"])
        assert seen["actor"].startswith("cli:") and seen["platform"] == "frr"
        orch.decommission("connector", c["id"])
        assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "deleted"
    finally:
        env.lab.apply_ce_config(edge, got["config"], remove=True)
    assert running(env.lab, edge) == before  # the CE as it was


def test_without_it_the_gate_fails_as_before(env: Env) -> None:
    orch = Orchestrator(env.svc, {}, actor="test", timings=Timings(revert_in_s=60,
                                                                   check_timeout_s=4))  # fmt: skip
    c = order(env)
    assert orch.drive("connector", c["id"], poll_s=0.1, timeout_s=120) == "failed"
    reason = orch.history("connector", c["id"])[-1]["reason"]
    assert "ONR-DEPLOY-003" in reason and "not Established" in reason, reason
