"""A permit's sequence number in a `<vrf>-out` list is its prefix's own (`prefix_seq`):
no two prefixes share one, and every prefix a customer may announce has one below the
deny-all. Proved by a left inverse (a function with an inverse is injective): checked on
every prefix up to /16, on both edges of every length's band, and on random prefixes."""

from __future__ import annotations

from ipaddress import IPv4Network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onramp.core.errors import OnrampError
from onramp.network.intent import DENY_ALL_SEQ, link_entries, prefix_seq


def prefix_of(seq: int) -> IPv4Network:
    """The inverse: the length is the number's top bit, the address bits the rest."""
    length = seq.bit_length() - 1
    return IPv4Network(((seq - (1 << length)) << (32 - length), length))


def net(address: int, length: int) -> IPv4Network:
    return IPv4Network((address >> (32 - length) << (32 - length), length))


def test_every_prefix_up_to_16_has_a_number_of_its_own() -> None:
    seqs = {prefix_seq(net(a << (32 - n), n)): (a, n) for n in range(1, 17) for a in range(1 << n)}
    assert len(seqs) == 2**17 - 2  # as many numbers as prefixes: none shared
    assert all(prefix_of(s) == net(a << (32 - n), n) for s, (a, n) in seqs.items())


@pytest.mark.parametrize("length", range(1, 32))
def test_each_length_has_a_band_of_its_own(length: int) -> None:
    low, high = net(0, length), net(0xFFFF_FFFF, length)
    assert (prefix_seq(low), prefix_of(prefix_seq(low))) == (1 << length, low)
    if length < 31:
        assert prefix_seq(high) == (2 << length) - 1 and prefix_of(prefix_seq(high)) == high


@given(st.integers(0, 0xFFFF_FFFF), st.integers(1, 31))
def test_the_number_gives_back_its_prefix(address: int, length: int) -> None:
    n = net(address, length)
    if n.is_reserved:  # 240/4: the only prefixes whose number would reach the deny-all
        return
    assert 1 <= prefix_seq(n) < DENY_ALL_SEQ and prefix_of(prefix_seq(n)) == n


def test_the_highest_customer_prefix_fits_and_what_has_no_number_is_refused() -> None:
    # the last /31 below multicast (224/4 and 240/4 are refused as customer prefixes)
    assert prefix_seq(IPv4Network("223.255.255.254/31")) == 4_026_531_839 < DENY_ALL_SEQ
    for bad in ("0.0.0.0/0", "192.0.2.1/32", "255.255.255.252/31", "255.255.255.254/31"):
        with pytest.raises(OnrampError) as e:
            prefix_seq(IPv4Network(bad))
        assert e.value.code == "ONR-REQ-012"


def test_a_prefix_two_links_bring_is_one_line_at_its_own_number() -> None:
    entries = link_entries(["10.9.0.0/16", "192.168.10.0/24", "10.9.0.0/16"])
    assert [(e["seq"], e["prefix"]) for e in entries] == [
        (prefix_seq(IPv4Network("10.9.0.0/16")), "10.9.0.0/16"),
        (prefix_seq(IPv4Network("192.168.10.0/24")), "192.168.10.0/24"),
        (DENY_ALL_SEQ, "0.0.0.0/0"),
    ]
