"""Secrets at rest: BGP MD5 keys and CSP credentials are Fernet-encrypted in the store.

The key comes from $ONRAMP_SECRET_KEY, else from the key file named in config.yaml,
created (mode 0600) on first use. Losing the key loses the stored BGP keys: back it up.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cryptography loads with the first encrypt or decrypt
    from cryptography.fernet import Fernet


class Vault:
    def __init__(self, key_file: Path) -> None:
        key = os.environ.get("ONRAMP_SECRET_KEY")
        if key is None:
            if not key_file.exists():
                _create_key(key_file)
            key = key_file.read_text().strip()
        self._key = key

    @cached_property
    def _fernet(self) -> Fernet:
        """Made on first use: a command that lists (no key shown, none stored) never loads
        cryptography (~10 ms of a read-only command's start-up; issue 23)."""
        from cryptography.fernet import Fernet

        return Fernet(self._key.encode())

    def encrypt(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode())

    def decrypt(self, token: bytes) -> str:
        return self._fernet.decrypt(token).decode()


def _create_key(key_file: Path) -> None:
    """Write a new key whole, or keep the one another process wrote first: readers never
    see a half-written file (write aside, then hard-link into place)."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    from cryptography.fernet import Fernet

    with os.fdopen(fd, "wb") as f:
        f.write(Fernet.generate_key())
    try:
        os.link(tmp, key_file)
    except FileExistsError:
        pass  # another process won; use its key
    finally:
        tmp.unlink()


def new_bgp_key(length: int = 24) -> str:
    """A random MD5 key of letters and digits only: every router CLI takes it unquoted."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


MASK = "<masked>"
# secrets in router config, whatever the platform: FRR/IOS-XR `password [clear] X`,
# Junos `authentication-key "X"`, IS-IS `*-password [md5|clear] X`, OSPF
# `message-digest-key N md5 X`, IOS `secret 5 X` and `key-string X`, the SDKs' md5_key
_SECRET_LINE = re.compile(
    r"(\b(?:password|authentication-key|area-password|domain-password|shared-key|md5_key"
    r"|auth_key|secret|key-string|message-digest-key\s+\d+)\"?:?\s+"
    r"(?:(?:clear|encrypted|md5|hmac-md5|0|5|7|8|9)\s+)?)"
    r"(\"[^\"]*\"|\S+)",
    re.IGNORECASE,
)


def mask(text: str, known: Iterable[str] = (), marker: str = MASK) -> str:
    """Text safe to show: every known secret value, and whatever follows a secret keyword,
    replaced by `marker` (a quoted secret stays quoted). The one masking of onramp: diffs,
    logs, results, compliance reports, and napalm_frr's sanitized configs (napalm's own
    drivers write `<removed>` there)."""
    for value in sorted({k for k in known if k}, key=len, reverse=True):
        text = text.replace(value, marker)
    return _SECRET_LINE.sub(
        lambda m: m.group(1) + (f'"{marker}"' if m.group(2).startswith('"') else marker), text
    )
