"""API keys: `onr_<id>_<secret>`, issued once, kept as the SHA-256 of the whole key.

A tenant's key sees and changes only that tenant's resources; a key without a tenant is
an engineers' admin key. The id is public (it names the key in lists and logs); the
secret is 32 random bytes, so a fast hash is as good as a slow one here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from onramp.core.errors import OnrampError
from onramp.core.store import ApiKeyRow, RateBucketRow, Store, TenantRow, now

PREFIX = "onr"


@dataclass(frozen=True)
class Principal:
    key_id: str
    tenant: str | None  # None: admin

    @property
    def admin(self) -> bool:
        return self.tenant is None


def digest(key: str) -> str:
    """What the store keeps of `key` (RateLimit.admit's SQL compares it too)."""
    return hashlib.sha256(key.encode()).hexdigest()


def issue(store: Store, tenant: str | None, name: str = "") -> str:
    """A new key for `tenant` (None: admin). The key itself is returned once, never kept."""
    key_id = secrets.token_hex(6)
    key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"

    def add(s: Session) -> None:
        if tenant is not None and s.get(TenantRow, tenant) is None:
            raise OnrampError("ONR-REQ-013", f"tenant '{tenant}'", field="tenant")
        s.add(ApiKeyRow(id=key_id, tenant_id=tenant, sha256=digest(key), name=name))

    store.transact(add)
    return key


def principal(store: Store, key: str) -> Principal | None:
    """Who holds `key`, or None for an unknown, malformed or revoked key."""
    with store.session() as s:
        return principal_in(s, key)


def principal_in(s: Session, key: str) -> Principal | None:
    """`principal` in the caller's transaction. Read on every request, never cached: a
    revoked key stops at once in every API process (the lookup is a primary-key read and
    one SHA-256, a fraction of a millisecond)."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    row = s.connection().execute(_KEY, {"id": parts[1]}).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.sha256, digest(key)):
        return None
    return Principal(row.id, row.tenant_id)


def key_id(key: str) -> str:
    """The public id of a well-formed key, "" (no key has it) for anything else."""
    parts = key.split("_", 2)
    return parts[1] if len(parts) == 3 and parts[0] == PREFIX else ""


def principal_and_bucket(conn: Connection, key: str, bucket: str) -> tuple[Principal | None, Any]:
    """`principal_in`, and the rate bucket named `bucket` (its tokens and time, None when it
    has none: RateLimit.wait_of) read by the same statement: every request checks its
    address's bucket before its key (issue 23: a round trip less per request)."""
    row = conn.execute(_KEY_AND_BUCKET, {"id": key_id(key), "bucket": bucket}).one()
    return principal_of(row, key)


def principal_of(row: Any, key: str) -> tuple[Principal | None, Any]:
    """Who holds `key` and the address's bucket, from a row of `key_and_bucket`'s columns."""
    held = None if row.tokens is None else row
    well_formed = key_id(key) != ""
    if not well_formed or row.id is None or row.revoked_at is not None:
        return None, held
    if not hmac.compare_digest(row.sha256, digest(key)):
        return None, held
    return Principal(row.id, row.tenant_id), held


_KEYS = ApiKeyRow.__table__
# a plain row, built once: the ORM's load of an object cost a fifth of the key's check
_KEY = select(_KEYS.c.id, _KEYS.c.tenant_id, _KEYS.c.sha256, _KEYS.c.revoked_at).where(
    _KEYS.c.id == bindparam("id", type_=String)
)


def key_and_bucket(*more: Any) -> Select[Any]:
    """One row whatever is there: the bucket's, then the key's columns (NULL when absent);
    `more` columns after them (RateLimit.admit's draw)."""
    buckets = RateBucketRow.__table__
    named = select(bindparam("bucket", type_=String).label("name")).subquery("named")
    return select(_KEYS.c.id, _KEYS.c.tenant_id, _KEYS.c.sha256, _KEYS.c.revoked_at,
                  buckets.c.tokens, buckets.c.at, *more).select_from(
        named.outerjoin(buckets, buckets.c.key == named.c.name)
        .outerjoin(_KEYS, _KEYS.c.id == bindparam("id", type_=String)))  # fmt: skip


_KEY_AND_BUCKET = key_and_bucket()


def revoke(store: Store, key_id: str) -> bool:
    def off(s: Session) -> bool:
        row = s.get(ApiKeyRow, key_id)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = now()
        return True

    return store.transact(off)


def listing(store: Store) -> list[dict[str, str | None]]:
    with store.session() as s:
        rows = s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at))
        return [
            {"id": r.id, "tenant": r.tenant_id, "name": r.name,
             "created_at": r.created_at.isoformat(),
             "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None}
            for r in rows
        ]  # fmt: skip
