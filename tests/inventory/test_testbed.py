"""`onramp inventory testbed`: a pyATS testbed Genie loads, without a secret in it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from onramp.cli.main import app
from onramp.core.settings import local_config
from onramp.network.inventory.generate import generate, write


def test_genie_loads_the_testbed_of_a_mixed_inventory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory = tmp_path / "inventory"
    write(generate(6, "172.20.20.0/24", ["frr", "iosxr", "junos"]), inventory)
    config = local_config(tmp_path, inventory)
    result = CliRunner().invoke(app, ["--config", str(config), "inventory", "testbed"])
    assert result.exit_code == 0, result.output
    text = result.output
    hosts = yaml.safe_load((inventory / "hosts.yaml").read_text())
    assert "%ENV{ONRAMP_SSH_PASSWORD}" in text  # the file names the variable, never a value

    from genie.testbed import load

    monkeypatch.setenv("ONRAMP_SSH_USERNAME", "netops")
    monkeypatch.setenv("ONRAMP_SSH_PASSWORD", "s3cret-not-in-file")
    (tmp_path / "testbed.yaml").write_text(text)
    tb = load(str(tmp_path / "testbed.yaml"))
    genie_os = {"frr": "linux", "iosxr": "iosxr", "junos": "junos"}
    assert set(tb.devices) == set(hosts)
    for name, host in hosts.items():
        device = tb.devices[name]
        assert device.os == genie_os[host["platform"]]
        assert str(device.connections.cli.ip) == host["hostname"]
        assert device.connections.cli.protocol == "ssh"
    assert {h["platform"] for h in hosts.values()} == set(genie_os)
    assert tb.credentials.default.username == "netops"
    assert tb.credentials.default.password.plaintext == "s3cret-not-in-file"
    assert "s3cret" not in text
