"""A pyATS testbed from the Nornir inventory, so engineers run their own pyATS jobs
against the routers onramp knows (`onramp inventory testbed > testbed.yaml`)."""

from __future__ import annotations

from typing import Any

from nornir.core.inventory import Inventory

from onramp.network.platforms import PLATFORMS

# pyATS reads these when it loads the testbed: no secret is ever written into the file
USERNAME_ENV, PASSWORD_ENV = "ONRAMP_SSH_USERNAME", "ONRAMP_SSH_PASSWORD"


def testbed(inv: Inventory, name: str = "onramp") -> dict[str, Any]:
    """The testbed: one device per router, `os` per platform (Genie's names), SSH to the
    management address with the key and known_hosts the NAPALM driver uses."""
    devices: dict[str, Any] = {}
    for host in inv.hosts.values():
        platform = PLATFORMS.get(host.platform or "")
        args = host.get_connection_parameters("napalm").extras or {}
        optional = args.get("optional_args") or {}
        ssh = [f"-i {optional['key_file']}"] if optional.get("key_file") else []
        if optional.get("known_hosts"):
            ssh += [f"-o UserKnownHostsFile={optional['known_hosts']}",
                    "-o StrictHostKeyChecking=yes"]  # fmt: skip
        cli: dict[str, Any] = {"protocol": "ssh", "ip": host.hostname, "port": host.port or 22}
        if ssh:
            cli["ssh_options"] = " ".join(ssh)
        devices[host.name] = {
            "os": platform.pyats_os if platform else "linux",
            "type": "router",
            "platform": host.platform,
            "custom": {"role": host.get("role"), "pop": host.get("pop")},
            "connections": {"cli": cli},
        }
    return {
        "testbed": {
            "name": name,
            "credentials": {
                "default": {
                    "username": f"%ENV{{{USERNAME_ENV}}}",
                    "password": f"%ENV{{{PASSWORD_ENV}}}",
                }
            },
        },
        "devices": devices,
    }
