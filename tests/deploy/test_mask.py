"""Secrets never shown: known values anywhere, and whatever follows a password keyword in
the three platforms' syntaxes."""

from __future__ import annotations

import pytest

from napalm_frr import FRRDriver
from onramp.core.secrets import MASK, mask
from onramp.flow import compliance


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


# the secret lines each former masking caught, in their own syntaxes
FRR_SECRETS = [
    " neighbor 169.254.64.2 password s3cretKey",
    " area-password md5 s3cretKey",
    " domain-password clear s3cretKey",
    " ip ospf authentication-key s3cretKey",
    " ip ospf message-digest-key 1 md5 s3cretKey",
    " isis password md5 s3cretKey",
]
COMPLIANCE_SECRETS = [
    "router bgp 65000 vrf c1 / neighbor 169.254.64.2 password s3cretKey",
    "enable secret 5 s3cretKey",
    "key chain k / key 1 / key-string s3cretKey",
    'set protocols bgp group x neighbor 169.254.0.1 authentication-key "s3cretKey"',
]


@pytest.mark.parametrize("line", FRR_SECRETS + COMPLIANCE_SECRETS)
def test_one_masking_covers_every_former_callers_secrets(line: str) -> None:
    """onramp.core.secrets.mask masked neither OSPF's message-digest-key nor IOS's
    `secret` / `key-string` before it replaced napalm_frr's and compliance's own regexes."""
    assert "s3cret" not in mask(line)


def test_napalm_frr_sanitized_config_still_removes_frrs_secrets() -> None:
    dev = FRRDriver("unused", "root", "")
    dev.load_replace_candidate(config="\n".join(FRR_SECRETS) + "\n hostname pe1\n")
    candidate = dev.get_config(retrieve="candidate", sanitized=True)["candidate"]
    assert "s3cret" not in candidate and "hostname pe1" in candidate
    assert "neighbor 169.254.64.2 password <removed>" in candidate  # napalm's own marker
    assert " ip ospf message-digest-key 1 md5 <removed>" in candidate


@pytest.mark.parametrize("line", COMPLIANCE_SECRETS)
def test_compliance_reports_still_remove_secrets(line: str) -> None:
    out = compliance._masked(line, ["AlsoKnown"])
    assert "s3cret" not in out and "<removed>" in out
    assert compliance._masked("description AlsoKnown", ["AlsoKnown"]) == "description <removed>"
