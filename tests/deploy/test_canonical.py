"""A running config's canonical form: stanza order is no change, anything else is."""

from __future__ import annotations

from onramp.tasks.config import canonical, fingerprint

RUNNING = """frr version 8.4
hostname pe1
ip prefix-list c1-in seq 10 permit 10.0.0.0/24 le 32
ip prefix-list c1-out seq 10 deny 0.0.0.0/0 le 32
ip prefix-list c2-in seq 10 permit 10.0.3.0/24 le 32
!
router bgp 65000 vrf c1
 neighbor 169.254.64.2 remote-as 64512
 address-family ipv4 unicast
  neighbor 169.254.64.2 activate
 exit-address-family
exit
!
route-map c1-vpn-export permit 10
 match ip address prefix-list c1-in
exit
"""


def test_stanzas_in_another_order_are_the_same_config() -> None:
    lines = RUNNING.splitlines(keepends=True)
    # what FRR shows after a rollback re-created c1-out: listed after c2-in
    moved = [*lines[:3], lines[4], lines[3], *lines[5:]]
    assert moved != lines
    assert canonical("".join(moved)) == canonical(RUNNING)
    assert fingerprint("".join(moved)) == fingerprint(RUNNING)


def test_a_changed_or_moved_line_inside_a_stanza_is_a_change() -> None:
    changed = RUNNING.replace("remote-as 64512", "remote-as 64513")
    assert fingerprint(changed) != fingerprint(RUNNING)
    inside = RUNNING.replace(
        " neighbor 169.254.64.2 remote-as 64512\n address-family ipv4 unicast\n",
        " address-family ipv4 unicast\n neighbor 169.254.64.2 remote-as 64512\n",
    )
    assert inside != RUNNING and fingerprint(inside) != fingerprint(RUNNING)


def test_a_stanza_keeps_its_lines_and_its_exit() -> None:
    out = canonical(RUNNING)
    assert "route-map c1-vpn-export permit 10\n match ip address prefix-list c1-in\nexit" in out
    assert "!" not in out.splitlines()
