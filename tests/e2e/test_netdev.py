"""frr-netdev on a lab PE, as the NAPALM driver runs it around a commit (lab/netdev.py): a
new Connector's VRF, subinterface and shapers made, zebra holding the VRF when `prepare`
returns; the same config again changes nothing; the revert (`prepare` of the old config,
then `finish`) leaves neither the kernel nor FRR anything of it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from onramp.core.errors import OnrampError
from onramp.lab import netdev
from onramp.lab.run import NETDEV, Lab

from .conftest import module_lab

OCTET, PE, VRF, VLAN = 92, "pe1-par", "c901", 3901
# frr-netdev run as the router runs it, then how many times it slept (its waits on zebra)
# and ran vtysh (~30 ms each: its looks at zebra); under umask 077, as the NAPALM driver's
# commit runs it (what it makes, zebra must still read)
SLEEPS = """
import os, runpy, subprocess, sys, time
os.umask(0o077)
slept, sleep, vtysh, run = [], time.sleep, [], subprocess.run
time.sleep = lambda s: (slept.append(s), sleep(s))[1]
subprocess.run = lambda cmd, *a, **k: (vtysh.append(1) if cmd[0] == "vtysh" else 0, run(cmd, *a, **k))[1]
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit:
    pass
print(f"SLEPT {len(slept)} VTYSH {len(vtysh)}")
"""


@dataclass
class Pe:
    lab: Lab
    base: Path  # its config as it runs
    added: Path  # and one Connector more
    subif: str

    def netdev(self, verb: str, config: Path) -> tuple[list[str], int]:
        """What `frr-netdev <verb> <config>` changed, and how many times it slept."""
        changes, slept, _ = self.counted(verb, config)
        return changes, slept

    def counted(self, verb: str, config: Path) -> tuple[list[str], int, int]:
        """What `frr-netdev <verb> <config>` changed, how many times it slept and ran vtysh."""
        out = self.lab.inside(PE, "python3", "-c", SLEEPS, str(NETDEV), verb, str(config))
        *changes, last = out.splitlines()
        words = last.split()
        return changes, int(words[1]), int(words[3])


@pytest.fixture(scope="module")
def pe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pe]:
    tmp = tmp_path_factory.mktemp("netdev")
    with module_lab(tmp, "tnd", OCTET) as (lab, svc, _):
        port = svc.backbone.routers[PE].onramp_ports[0]
        subif = f"{lab.topo.nodes[PE].ifnames.get(port.name, port.name)}.{VLAN}"
        running = lab.vtysh(PE, "show running-config").split("\n", 3)[3]
        base, added = tmp / "base.conf", tmp / "added.conf"
        base.write_text(running)
        added.write_text(
            f"{running}vrf {VRF}\nexit-vrf\n!\ninterface {subif} vrf {VRF}\n"
            " bandwidth 100\n ip address 169.254.250.1/30\nexit\n!\n"
        )
        yield Pe(lab, base, added, subif)


def test_a_new_connector_is_made_and_zebra_holds_its_vrf_without_waiting(pe: Pe) -> None:
    """zebra's own watch of /run/netns took a namespace made by `ip netns add` only at its
    second look, 1 s after the file appeared (the file comes before its mount): `prepare`
    links in a namespace made already, so zebra has it at its first look and `prepare`
    never sleeps waiting for it. zebra (user frr) must be able to follow that link whatever
    the umask of the caller: with the staging directories 0700 it never took the VRF."""
    changes, slept = pe.netdev("prepare", pe.added)
    # its shapers are finish's: after FRR has the config, off the new session's way
    assert changes == [f"+vrf {VRF}", f"+{pe.subif} vrf {VRF}"], changes
    assert re.search(rf"^vrf {VRF} id \d+", pe.lab.vtysh(PE, "show vrf"), re.M)
    assert slept == 0
    assert json.loads(pe.lab.inside(PE, "frr-netdev", "rates")) == {}
    shaped, _ = pe.netdev("finish", pe.added)
    assert shaped == [f"shaper {pe.subif} 100M", f"inbound shaper {pe.subif} 100M"], shaped
    rates = json.loads(pe.lab.inside(PE, "frr-netdev", "rates"))
    assert rates[f"{VRF} {pe.subif}"] == 100
    assert sorted(rates.values()) == [100, 100]  # its ifb: what comes in from the cloud
    # the VRF's OS stanza, which the driver carries into every load as it is
    running = pe.lab.vtysh(PE, "show running-config")
    assert f"vrf {VRF}\n netns {netdev.STAGE / VRF}\nexit-vrf" in running


def test_the_same_config_again_changes_nothing(pe: Pe) -> None:
    """Nor does it look at zebra: its VRF was waited for when it was made (a vtysh, ~30 ms
    of every commit's way, a Link's or a rate's too, before)."""
    assert pe.counted("prepare", pe.added) == ([], 0, 0)
    assert pe.counted("finish", pe.added) == ([], 0, 0)


def test_the_revert_leaves_nothing_of_it(pe: Pe) -> None:
    changes, _ = pe.netdev("prepare", pe.base)
    assert f"-{pe.subif}" in changes
    assert pe.netdev("finish", pe.base)[0] == [f"-vrf {VRF}"]
    assert VRF not in pe.lab.inside(PE, "ip", "netns", "list")
    assert VRF not in pe.lab.vtysh(PE, "show vrf")
    assert VRF not in pe.lab.vtysh(PE, "show running-config")
    assert pe.subif not in pe.lab.vtysh(PE, "show interface brief")
    assert VRF not in pe.lab.inside(PE, "ls", str(netdev.STAGE))


def test_a_vrf_zebra_cannot_take_fails_prepare_naming_it(pe: Pe) -> None:
    """zebra gives up on a namespace it cannot resolve at its first look and never looks
    again: loading the config then left the VRF inactive and its BGP session Idle, which
    only the gate found, 20 s later. `prepare` fails instead, naming the VRF. Here zebra
    (user frr) may not search the router's /var/tmp, where the VRF is staged."""
    mode = pe.lab.inside(PE, "stat", "-c", "%a", "/var/tmp").strip()
    pe.lab.inside(PE, "chmod", "700", "/var/tmp")
    try:
        with pytest.raises(OnrampError, match=rf"zebra has not taken VRF \['{VRF}'\]"):
            pe.netdev("prepare", pe.added)
    finally:
        pe.lab.inside(PE, "chmod", mode, "/var/tmp")
        # what finish does, for a VRF zebra never had (its subinterface goes with it)
        pe.lab.inside(PE, "ip", "netns", "del", VRF)
        pe.lab.inside(PE, "rm", "-f", str(netdev.STAGE / VRF))
    assert VRF not in pe.lab.inside(PE, "ip", "netns", "list")
    assert VRF not in pe.lab.vtysh(PE, "show vrf")
