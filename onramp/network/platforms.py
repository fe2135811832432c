"""Platforms as data: what onramp needs to know per network OS, never `if platform ==`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from onramp.core.errors import OnrampError


@dataclass(frozen=True)
class Platform:
    name: str
    napalm_driver: str  # name given to napalm.get_network_driver()
    loopback: str  # name of the loopback interface carrying the router-id
    interface_re: str  # what a physical interface name looks like on this OS
    # a VLAN subinterface's name; QinQ: Linux nests a C-tag device in the S-tag's,
    # IOS-XR and Junos keep one subinterface/unit with both tags
    subinterface: str = "{port}.{vlan}"
    qinq_subinterface: str = "{port}.{vlan}"
    # settings the OS does not show in its running config when at their default value:
    # intent leaves them out (None), so that an unchanged router diffs empty
    hidden_defaults: tuple[tuple[str, int], ...] = ()
    # no MPLS forwarding under this OS (the lab's FRR, ../shared/design/LAB.md): a Link's
    # VRFs also meet on a VXLAN segment and swap their clouds' routes in iBGP (VRF-lite)
    vpn_segments: bool = False
    # its n-th physical interface (1, 2, ...), as generated inventories name them
    numbered_interface: str = "eth{}"
    # the hier_config Platform (member name) that parses its configs for compliance
    hier_config: str = "GENERIC"
    # its own config parser, run offline on a config file (`onramp validate`): the command,
    # the file's path appended; () none that runs without the device
    syntax_check: tuple[str, ...] = ()
    # the module of onramp.validation.parsers reading its BGP show output for the gate
    # (Genie's shape); None: the gate cannot judge it (ONR-DEPLOY-005)
    gate_parser: str | None = None
    # the lab runs it as itself (its interface names are Linux's); else an FRR stand-in
    # renamed eth1, eth2, ... (topology `ifnames`)
    lab_native: bool = False
    # NAPALM's driver commits under a revert timer (commit_config(revert_in=)): deploys
    # need it, and refuse the platform before touching a router otherwise
    commit_confirm: bool = False
    # the `os` of a pyATS testbed device (`onramp inventory testbed`): Genie's name for the
    # OS whose CLI the router answers on; FRR routers are Linux hosts with vtysh
    pyats_os: str = "linux"
    # it speaks BGP-LS (templates/bgp_ls/<name>.j2; its output read by
    # onramp.validation.parsers.bgp_ls.PARSERS[name]): topology source `bgp-ls` reads a
    # route reflector of it; False: FRR has no BGP-LS
    bgp_ls: bool = False
    # what makes a VRF's BGP sessions apply their changed prefix filters, without a reset
    # (`{vrf}` filled in); () where the OS applies a changed filter by itself
    filter_refresh: tuple[str, ...] = ()
    # ms a Connector's VRF BGP instance waits before it groups a new peer with others and
    # sends it its first UPDATE (FRR's `coalesce-time`, default 1000 ms, there to batch
    # hundreds of peers coming up at once after a restart). A VRF of ours has a handful
    # (its cloud sessions, a Link's segments): 100 ms batches those as well and sends the
    # first routes 0.9 s sooner on every new session. None: the OS default, not rendered.
    vrf_bgp_coalesce_ms: int | None = None

    @property
    def deploy_gaps(self) -> list[str]:
        """What keeps a deploy on it from being safe (commit under a timer, then the gate
        judges): empty when nothing. Render and compliance need neither."""
        gaps = [] if self.commit_confirm else ["no commit-confirm in its NAPALM driver"]
        return gaps + ([] if self.gate_parser else ["no gate parser"])

    def unless_default(self, key: str, value: int) -> int | None:
        return None if (key, value) in self.hidden_defaults else value

    def subinterface_name(self, port: str, vlan: int, inner_vlan: int | None) -> str:
        fmt = self.subinterface if inner_vlan is None else self.qinq_subinterface
        return fmt.format(port=port, vlan=vlan, inner=inner_vlan)

    def valid_interface(self, name: str) -> bool:
        return re.fullmatch(self.interface_re, name) is not None


PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform(
            "frr",
            "frr",
            "lo",
            r"[a-z][a-z0-9]{0,9}(\.[0-9]{1,4})?",
            qinq_subinterface="{port}.{vlan}.{inner}",
            hidden_defaults=(("isis_metric", 10), ("spf_interval", 1)),
            vpn_segments=True,
            syntax_check=("vtysh", "-C", "-f"),
            gate_parser="frr",
            lab_native=True,
            commit_confirm=True,  # napalm_frr: a timer process on the router
            # a neighbor's prefix-list changed is not applied to routes already received
            # or sent: route refresh in, re-advertise out (sessions stay up)
            filter_refresh=("clear bgp vrf {vrf} ipv4 unicast * soft",),
            vrf_bgp_coalesce_ms=100,
        ),
        Platform(
            "iosxr",
            "iosxr",
            "Loopback0",
            r"(TenGig|Hundred|FortyGig|Gigabit|Bundle-)[A-Za-z]*[0-9/]+(\.[0-9]{1,4})?",
            numbered_interface="GigabitEthernet0/0/0/{}",
            hier_config="CISCO_XR",
            pyats_os="iosxr",
            bgp_ls=True,
            commit_confirm=False,  # NAPALM's iosxr driver: "not implemented on this platform"
        ),
        Platform(
            "junos",
            "junos",
            "lo0",
            r"(ge|xe|et|ae)-?[0-9/]+(\.[0-9]{1,4})?",
            numbered_interface="ge-0/0/{}",
            hier_config="JUNIPER_JUNOS",
            pyats_os="junos",
            bgp_ls=True,
            commit_confirm=True,  # `commit confirmed` (whole minutes)
        ),
    )
}


def undeployable(platform_of: Mapping[str, str]) -> dict[str, str]:
    """{router: what its platform lacks} for the routers ({router: platform}) a deploy
    cannot go to; an unknown platform lacks everything."""
    out = {}
    for router, name in platform_of.items():
        platform = PLATFORMS.get(name)
        gaps = platform.deploy_gaps if platform else ["not a known platform"]
        if gaps:
            out[router] = f"{name}: " + "; ".join(gaps)
    return out


def refuse_undeployable(platform_of: Mapping[str, str], what: str) -> None:
    """ONR-PLAT-001 before anything connects, when a router of `what` cannot be deployed
    to safely (an unconfirmable commit would hold its lock and retry for ever)."""
    if bad := undeployable(platform_of):
        raise OnrampError(
            "ONR-PLAT-001",
            f"{what}: " + ", ".join(f"{r} ({why})" for r, why in sorted(bad.items())),
        )
