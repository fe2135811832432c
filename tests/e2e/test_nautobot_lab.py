"""The lab built from Nautobot: the example backbone loaded into a real Nautobot, then
`onramp lab up` with config.yaml naming OnrampNautobotInventory converges as from YAML."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from onramp.cli.main import app
from onramp.lab.run import down
from onramp.lab.topology import build

from ..conftest import pg_server
from ..nautobot_server import nautobot_server
from .conftest import default_inventory_in, lab_settings, leftovers, write_config

LAB, OCTET = "tnb", 71


def test_lab_up_from_nautobot_converges_as_from_yaml(tmp_path: Path) -> None:
    bb = default_inventory_in(OCTET, tmp_path / "inventory")
    settings = lab_settings(LAB, tmp_path, OCTET)
    config = write_config(tmp_path / "config.yaml", settings, tmp_path / "inventory")
    data = yaml.safe_load(config.read_text())
    runner = CliRunner()
    with pg_server() as pg, nautobot_server(pg.base / "sock") as nb:
        env = {"NAUTOBOT_TOKEN": nb.token}
        loaded = runner.invoke(app, ["inventory", "export", "--to", "nautobot", nb.url,
                                     str(tmp_path / "inventory"), "--json"], env=env)  # fmt: skip
        assert loaded.exit_code == 0, loaded.output
        data["nornir"]["inventory"] = {"plugin": "OnrampNautobotInventory", "options": {
            "nautobot_url": nb.url, "directory": str(tmp_path / "inventory")}}  # fmt: skip
        data |= {"store_url": f"sqlite:///{tmp_path / 'onramp.db'}",
                 "secret_key_file": str(tmp_path / "k")}  # fmt: skip
        config.write_text(yaml.safe_dump(data))
        cli = ["--config", str(config), "lab"]
        down(LAB, settings.state_dir)
        try:
            plan = runner.invoke(app, [*cli, "up", "--dry-run", "--json"], env=env)
            assert json.loads(plan.output) == json.loads(json.dumps(build(bb, settings).as_dict()))
            up = runner.invoke(app, [*cli, "up", "--json"], env=env)
            assert up.exit_code == 0, up.output
            status = runner.invoke(app, [*cli, "status", "--json"], env=env)
            assert status.exit_code == 0, status.output  # every daemon, adjacency, session up
            # a plan from it: the Connector's diff against the lab's running pe1-par
            base = ["--config", str(config)]
            runner.invoke(app, [*base, "tenant", "add", "acme", "ACME"], env=env)
            made = runner.invoke(app, [*base, "connector", "create", "--tenant", "acme",
                                       "--onramp", "ent-par", "--kind", "enterprise",
                                       "--bandwidth", "100", "--customer-asn", "65101",
                                       "--prefix", "192.0.2.0/24", "--json"], env=env)  # fmt: skip
            assert made.exit_code == 0, made.output
            ident = json.loads(made.output)["id"]
            plan = runner.invoke(app, [*base, "plan", "connector", ident, "--json"], env=env)
            assert plan.exit_code == 0, plan.output
            planned = json.loads(plan.output)
            assert planned["state"] == "planned" and list(planned["devices"]) == ["pe1-par"]
            assert "192.0.2.0/24" in json.dumps(planned["devices"]["pe1-par"])
        finally:
            runner.invoke(app, [*cli, "down"], env=env)
            down(LAB, settings.state_dir)
    assert leftovers(LAB) == []
