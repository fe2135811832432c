"""Secrets at rest: BGP MD5 keys and CSP credentials are Fernet-encrypted in the store.

The key comes from $ONRAMP_SECRET_KEY, else from the key file named in config.yaml,
created (mode 0600) on first use. Losing the key loses the stored BGP keys: back it up.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet


class Vault:
    def __init__(self, key_file: Path) -> None:
        key = os.environ.get("ONRAMP_SECRET_KEY")
        if key is None:
            if not key_file.exists():
                key_file.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(Fernet.generate_key())
            key = key_file.read_text().strip()
        self._fernet = Fernet(key.encode())

    def encrypt(self, text: str) -> bytes:
        return self._fernet.encrypt(text.encode())

    def decrypt(self, token: bytes) -> str:
        return self._fernet.decrypt(token).decode()


def new_bgp_key(length: int = 24) -> str:
    """A random MD5 key of letters and digits only: every router CLI takes it unquoted."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def mask(text: str, keep: int = 0) -> str:
    return text[:keep] + "*" * 8
