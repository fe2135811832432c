"""What stands in front of the API's routes: the body's size counted as it arrives, the
headers every answer carries, the rate limit shared by every API process (in the store).

Pure ASGI where it must see bytes before FastAPI does: a route's body is read whole
before its dependencies run (the key's check among them), so a limit in a route or an
`http` middleware that trusts Content-Length comes too late for a chunked body.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import time
from typing import Any

from sqlalchemy import (
    Float,
    Row,
    Select,
    String,
    Update,
    bindparam,
    case,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onramp.api import keys as apikeys
from onramp.api.keys import Principal
from onramp.core.errors import OnrampError
from onramp.core.store import ApiKeyRow, RateBucketRow, Store

MAX_BODY = 64 * 1024  # an order is a few hundred bytes


def _too_large(size: str) -> tuple[Message, Message]:
    err = OnrampError("ONR-API-004", f"{size} bytes; at most {MAX_BODY}")
    body = json.dumps({"error": err.as_dict()}).encode()
    start: Message = {
        "type": "http.response.start",
        "status": 413,
        # the rest of the body is not read: the connection cannot carry another request
        "headers": [(b"content-type", b"application/json"), (b"connection", b"close"),
                    (b"content-length", str(len(body)).encode())],
    }  # fmt: skip
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    """At most `limit` bytes of body: a declared Content-Length over it is refused before
    anything runs; a chunked body is counted as it arrives and refused (413) the moment it
    passes the limit. The app then sees the client gone and its own answer is dropped, so
    no more of the body is read into memory than one chunk past the limit."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"").decode("latin-1")
        if declared and (not declared.isdigit() or int(declared) > self.limit):
            for message in _too_large(declared):
                await send(message)
            return
        seen, refused, started = 0, False, False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    refused = True
                    if not started:
                        for part in _too_large(f"over {self.limit}"):
                            await send(part)
                    return {"type": "http.disconnect"}  # the app stops reading here
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 went out: whatever the app answers after is dropped
            started = True
            await send(message)

        await self.app(scope, counted, sending)


class Throttled(OnrampError):
    """ONR-API-003 with the wait the client should make (Retry-After, whole seconds)."""

    def __init__(self, wait: float, reason: str) -> None:
        self.retry_after = max(1, math.ceil(wait))
        super().__init__("ONR-API-003", f"{reason}: retry in {self.retry_after} s")


class RateLimit:
    """A token bucket per name (`key:<id>`, `addr:<ip>`): `rate` requests a second on
    average, bursts of `burst`. The buckets are rows of the store, drawn from by one
    atomic UPDATE (`draw`), or, for a new or an empty bucket, in a transaction that locks
    the row (row-locked on PostgreSQL, BEGIN IMMEDIATE on SQLite), so every API process on
    the store limits as one; the clock is the hosts' (Unix time)."""

    def __init__(self, rate: float = 20.0, burst: int = 40) -> None:
        self.rate, self.burst = rate, burst

    def _count(self, row: RateBucketRow | Row[Any, Any] | None, t: float) -> float:
        if row is None:
            return float(self.burst)
        return min(float(self.burst), row.tokens + max(0.0, t - row.at) * self.rate)

    def take(self, store: Store, name: str) -> float:
        """0 if the request may go (a token taken); else the seconds until one is there."""
        return store.transact(lambda s: self.take_in(s, name))

    def draw(self, s: Session | Connection, name: str) -> bool:
        """Take a token if the bucket is there and holds one: one statement, atomic on its
        own, so it needs no transaction around it (Store.read). False: no bucket yet, or no
        token; then `take` decides, in a transaction."""
        params = {"name": name, "t": time.time(), "rate": self.rate, "burst": float(self.burst)}
        return s.execute(_DRAW, params).first() is not None

    def admit(
        self, conn: Connection, key: str, addr: str, guesses: RateLimit
    ) -> tuple[Principal | None, Any, bool]:
        """Who holds `key`, the address's bucket `addr` (for `guesses.wait_of`), and whether
        a token of the key's bucket was drawn (`draw`), only for a valid key from an address
        `guesses` lets in. On PostgreSQL one statement, the draw an UPDATE in its WITH (a
        round trip and a statement's work less a request: issue 23); SQLite has no UPDATE in
        a WITH, so there the read, then the draw. `conn`: autocommit (Store.rows: no ORM
        session, a fifth of the check's CPU)."""
        if conn.dialect.name != "postgresql":
            who, held = apikeys.principal_and_bucket(conn, key, addr)
            drawn = (
                who is not None
                and not guesses.wait_of(held)
                and self.draw(conn, f"key:{who.key_id}")
            )
            return who, held, drawn
        ident = apikeys.key_id(key)
        params = {"id": ident, "bucket": addr, "name": f"key:{ident}", "digest": apikeys.digest(key),
                  "t": time.time(), "rate": self.rate, "burst": float(self.burst),
                  "guess_rate": guesses.rate, "guess_burst": float(guesses.burst)}  # fmt: skip
        row = conn.execute(_ADMIT, params).one()
        who, held = apikeys.principal_of(row, key)
        return who, held, who is not None and bool(row.drawn)

    def take_in(self, s: Session, name: str) -> float:
        """`take` in the caller's transaction."""
        if self.draw(s, name):
            return 0.0  # the common case, one statement: a token was there and is taken
        # no row yet, or no token: read it locked, as the answer needs the wait
        t = time.time()
        row = s.get(RateBucketRow, name, with_for_update=True)
        tokens = self._count(row, t)
        if row is None:
            row = RateBucketRow(key=name, tokens=tokens, at=t)
            s.add(row)  # two processes adding it at once: transact retries the loser
        row.at = max(row.at, t)
        row.tokens = tokens - 1 if tokens >= 1 else tokens
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def wait(self, store: Store, name: str) -> float:
        """What `take` would answer, taking nothing (a read: no write on the way in)."""
        with store.session() as s:
            return self.wait_in(s, name)

    def wait_in(self, s: Session, name: str) -> float:
        return self.wait_of(s.connection().execute(_BUCKET, {"name": name}).first())

    def wait_of(self, row: Row[Any, Any] | None) -> float:
        """`wait` of a bucket read already (its tokens and time; None: no bucket yet)."""
        tokens = self._count(row, time.time())
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate


def _draw() -> Update:
    """Take a token from bucket :name if refilled (up to :burst at :rate a second since `at`)
    it holds one; no row back otherwise. One UPDATE: PostgreSQL locks the row and checks
    the condition on its newest version, SQLite serializes writers, so the limit stays exact
    across API processes. `RateLimit._count` in SQL (CASE: both stores' min and max differ)."""
    table = RateBucketRow.__table__
    b = table.c
    t, rate, burst = (bindparam(n, type_=Float) for n in ("t", "rate", "burst"))
    refilled = b.tokens + case((t > b.at, t - b.at), else_=0.0) * rate
    count = case((refilled > burst, burst), else_=refilled)
    return (update(table)
            .where(b.key == bindparam("name", type_=String), count >= 1)
            .values(tokens=count - 1, at=case((t > b.at, t), else_=b.at))
            .returning(b.key))  # fmt: skip


def _admit() -> Select[Any]:
    """keys.key_and_bucket with `drawn`: the count of tokens taken by `_draw` run in its WITH,
    on the condition that the key is there, not revoked, of the key's digest (the caller
    still checks it in constant time), and that the address's bucket (at the `guess_` pace)
    holds a token or is not there yet. PostgreSQL runs an UPDATE in a WITH once, whether or
    not the query reads it; its SELECT sees the rows as they were before it (another row)."""
    keys = ApiKeyRow.__table__.c
    valid = exists().where(keys.id == bindparam("id", type_=String), keys.revoked_at.is_(None),
                           keys.sha256 == bindparam("digest", type_=String))  # fmt: skip
    guessing = RateBucketRow.__table__.alias("guessing")
    t, rate, burst = (bindparam(n, type_=Float) for n in ("t", "guess_rate", "guess_burst"))
    g = guessing.c
    refilled = g.tokens + case((t > g.at, t - g.at), else_=0.0) * rate
    shut = exists().where(g.key == bindparam("bucket", type_=String),
                          case((refilled > burst, burst), else_=refilled) < 1)  # fmt: skip
    drawn = _draw().where(valid, ~shut).cte("drawn")
    return apikeys.key_and_bucket(
        select(func.count()).select_from(drawn).scalar_subquery().label("drawn")
    )


_BUCKETS = RateBucketRow.__table__
_BUCKET = select(_BUCKETS.c.tokens, _BUCKETS.c.at).where(
    _BUCKETS.c.key == bindparam("name", type_=String)
)  # a plain row, built once (the ORM's load of an object cost more than the query)
_DRAW = _draw()  # built once: its construction costs more Python than its run
_ADMIT = _admit()


# Every answer: no framing, no sniffing, no referrer; a page brings its own policy
# (`page_policy`), anything else may load nothing.
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
NOTHING = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.S)


def page_policy(html: str) -> str:
    """A Content-Security-Policy for one of our pages: its own inline scripts and styles
    (by their SHA-256, so an injected one does not run), calls to this origin only."""
    allowed: dict[str, list[str]] = {"script": [], "style": []}
    for kind, text in _INLINE.findall(html):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        allowed[kind].append(f"'sha256-{digest}'")
    scripts, styles = (" ".join(allowed[k]) or "'none'" for k in ("script", "style"))
    return (f"default-src 'none'; script-src {scripts}; style-src {styles}; "
            "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'none'")  # fmt: skip


class SecurityHeaders:
    """Adds HEADERS to every answer, and NOTHING as its policy unless it set its own
    (the paths in `open_paths`, FastAPI's docs page, get none: it loads its own scripts)."""

    def __init__(self, app: ASGIApp, open_paths: tuple[str, ...] = ()) -> None:
        self.app, self.open_paths = app, open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = dict(HEADERS)
        if scope["path"] not in self.open_paths:
            extra["Content-Security-Policy"] = NOTHING

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()
                            if k.lower().encode() not in have]  # fmt: skip
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, sending)
