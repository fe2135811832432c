"""`onramp demo` as an engineer runs it (a process of its own, on a lab of its own): the
seed's story ends with both Connectors and the Link active, the provider's resources
made, and the VPC host reaching the VNet host across the backbone with full-size packets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from onramp.lab.run import down

from .conftest import default_inventory_in, lab_settings, leftovers, write_config

# each way on a lab of its own: (lab name, management subnet octet)
LABS = {"cli": ("tdm", 52), "api": ("tda", 54)}


@pytest.mark.parametrize("via", ["cli", "api"])
def test_demo_tells_the_story_and_the_clouds_reach_each_other(tmp_path: Path, via: str) -> None:
    """`via=api`: the orders go through /v1 with onramp.client and acme's key."""
    name, octet = LABS[via]
    settings = lab_settings(name, tmp_path, octet)
    default_inventory_in(octet, tmp_path / "inventory")
    config = write_config(tmp_path / "config.yaml", settings, tmp_path / "inventory")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "onramp.cli", "--config", str(config), "demo", "--via", via,
             "--json"],
            capture_output=True, text=True, timeout=600,
            env={**os.environ, "COLUMNS": "160"},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        result = json.loads(done.stdout)
    finally:
        down(settings.name, settings.state_dir)
    assert leftovers(settings.name) == []
    assert {n: c["state"] for n, c in result["connectors"].items()} == {
        "aws": "active",
        "azure": "active",
    }
    assert result["link"]["state"] == "active"
    assert [v["virtualInterfaceState"] for v in result["aws_vifs"]] == ["available"]
    (peering,) = result["azure_peerings"]
    assert peering["properties"]["state"] == "Enabled"
    # primary and secondary: the Azure Connector has a leg on each London PE
    routers = {a["router"] for a in result["connectors"]["azure"]["attachments"]}
    assert routers == {"pe1-lon", "pe2-lon"}
    ping = result["ping"]
    assert ping["sent"] == 5 and ping["received"] >= 4, ping  # 1472 bytes + headers = 1500
    steps = [h["to"] for h in result["history"]["aws"]]
    assert steps[-3:] == ["configuring", "verifying", "active"]
    if via == "api":  # the workers did the steps the API asked for
        assert all(h["actor"].startswith("worker:") for h in result["history"]["aws"][3:])
