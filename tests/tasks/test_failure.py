"""A failed connection is one line with a code, whatever the platform's library: the
real NAPALM drivers (FRR over paramiko, IOS-XR over Netmiko, Junos over NETCONF) against
a port nobody listens on and one that accepts and never answers; and the CLI prints that
line, no traceback, no Netmiko advice."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from napalm import get_network_driver

from onramp.core.settings import ROOT, local_config
from onramp.tasks.failure import failure

from ..conftest import copy_default_inventory

TRANSPORT = {"frr": "SSH", "iosxr": "SSH", "junos": "NETCONF"}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """Accepts connections and says nothing (a hung agent, a firewall that half-answers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield int(s.getsockname()[1])


def open_error(platform: str, port: int) -> BaseException:
    args = {"port": port} if platform != "junos" else {"port": port, "auto_probe": 0}
    driver = get_network_driver(platform)("127.0.0.1", "u", "p", timeout=2, optional_args=args)
    with pytest.raises(Exception) as got:
        driver.open()
    return got.value


@pytest.mark.parametrize("platform", ["frr", "iosxr", "junos"])
def test_a_refused_connection(platform: str) -> None:
    code, line = failure(open_error(platform, closed_port()), "ONR-DEPLOY-002")
    assert code == "ONR-DEPLOY-001" and "\n" not in line
    assert line.startswith(f"{TRANSPORT[platform]}: connection refused"), line


@pytest.mark.parametrize("platform", ["frr", "iosxr", "junos"])
def test_a_silent_agent_times_out(platform: str, silent_port: int) -> None:
    code, line = failure(open_error(platform, silent_port), "ONR-DEPLOY-002")
    assert code == "ONR-DEPLOY-001" and "\n" not in line
    assert line.startswith(f"{TRANSPORT[platform]}: "), line
    assert "timed out" in line or "connection failed" in line, line


def test_the_cli_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    inv = copy_default_inventory(tmp_path / "inventory")
    inv.hosts["pe1-par"]["hostname"] = "127.0.0.1"
    inv.hosts["pe1-par"]["port"] = closed_port()
    config = local_config(tmp_path, inv.write())
    done = subprocess.run([sys.executable, "-m", "onramp.cli", "--config", str(config), "plan",
                           "router", "pe1-par"], capture_output=True, text=True, cwd=ROOT,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "Common causes" not in done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith("ONR-DEPLOY-001: pe1-par: SSH: connection refused"), done.stderr
