"""Secrets never shown: known values anywhere, and whatever follows a password keyword in
the three platforms' syntaxes."""

from __future__ import annotations

import pytest

from onramp.core.secrets import MASK, mask


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (" neighbor 169.254.0.1 password s3cretKey", f" neighbor 169.254.0.1 password {MASK}"),
        ("+  neighbor 169.254.0.1 password s3cretKey", f"+  neighbor 169.254.0.1 password {MASK}"),
        ("   password clear s3cretKey", f"   password clear {MASK}"),
        ("   password encrypted 0822455D0A16", f"   password encrypted {MASK}"),
        ('set protocols bgp group x authentication-key "s3cret Key"', None),
        (" area-password clear s3cretKey", f" area-password clear {MASK}"),
        ('{"md5_key": "s3cretKey"}', None),
    ],
)
def test_keyword_secrets_are_masked(line: str, expected: str | None) -> None:
    out = mask(line)
    assert "s3cret" not in out and "0822455D0A16" not in out
    if expected is not None:
        assert out == expected


def test_known_values_are_masked_wherever_they_are() -> None:
    text = "reason: peer refused key Abc123xyz789 on eth3.2\nkey=Abc123xyz789"
    assert (
        mask(text, ["Abc123xyz789", ""]) == f"reason: peer refused key {MASK} on eth3.2\nkey={MASK}"
    )


def test_text_without_secrets_is_unchanged() -> None:
    text = "+ router bgp 65000 vrf c1\n+  neighbor 169.254.0.1 remote-as 64512\n"
    assert mask(text, ["nothere"]) == text
