"""Webhooks: a tenant's Connectors' and Links' state changes POSTed to its receivers.

`onramp.core.store.move` writes one delivery per webhook of the tenant in the change's own
transaction (the outbox): a committed change is a delivery owed, whatever dies after. The
workers (`onramp.worker.deliver_webhooks`, every `webhooks.interval_s`) `claim` what is due
under a lease, POST it signed, and `record` the answer: 2xx delivered; anything else a
retry after `retry_base_s * 2^(n-1)` s (at most `retry_cap_s`), `retry_max` tries, then
`failed`. A worker that dies between claim and send leaves a lease that runs out: the
next worker sends it again. So delivery is at least once: receivers dedupe by `event_id`.
Per object and webhook, one delivery at a time, oldest first: a receiver sees a Connector's
states in the order they happened.

Receivers are on the internet, the workers inside our network: a URL must be https to
public addresses (checked when registered and again before every POST, on the address
then connected to, so DNS cannot point it inside later), no redirects are followed.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from ipaddress import IPv4Address, IPv6Address, ip_address
from urllib.parse import urlsplit

import urllib3
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, aliased

from onramp.client import SIGNATURE_HEADER, sign
from onramp.core.errors import OnrampError
from onramp.core.secrets import Vault
from onramp.core.settings import WebhookSettings
from onramp.core.shapes import DeliveryView, WebhookEvent, WebhookView
from onramp.core.store import (
    Store,
    TenantRow,
    WebhookDeliveryRow,
    WebhookRow,
    by_prefix,
    now,
)

MAX_PER_TENANT = 10  # each is a POST per state change: a bound on what one tenant costs
# cloud metadata services: never a receiver, whatever the config allows
METADATA = {ip_address("169.254.169.254"), ip_address("fd00:ec2::254"),
            ip_address("100.100.100.200")}  # fmt: skip
Address = IPv4Address | IPv6Address
D = WebhookDeliveryRow


def check_url(url: str, cfg: WebhookSettings) -> list[Address]:
    """The addresses `url`'s host resolves to, all of them allowed; else ONR-HOOK-001."""
    parts = urlsplit(url)

    def refuse(why: str) -> OnrampError:
        return OnrampError("ONR-HOOK-001", f"{url[:200]}: {why}", field="url")

    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise refuse("not an https:// URL with a host")
    if parts.username or parts.password:
        raise refuse("credentials in the URL (they would be listed): sign, not log in")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:  # unresolvable, or a port out of range
        raise refuse(f"the host does not resolve ({exc})") from exc
    found = {ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    addrs: list[Address] = [
        a.ipv4_mapped if isinstance(a, IPv6Address) and a.ipv4_mapped else a for a in found
    ]
    for a in addrs:
        if a in METADATA or a.is_link_local or a.is_multicast or a.is_unspecified:
            raise refuse(f"{a} is a link-local, metadata or non-unicast address")
        if a.is_loopback and not cfg.allow_http_loopback:
            raise refuse(f"{a} is loopback")
        if not a.is_loopback and not a.is_global and not cfg.allow_private:
            raise refuse(f"{a} is a private or reserved address")
    if parts.scheme == "http" and not (
        cfg.allow_http_loopback and all(a.is_loopback for a in addrs)
    ):
        raise refuse("http:// is only for loopback receivers in tests; use https://")
    return sorted(addrs, key=lambda a: a.version)  # IPv4 first: what our hosts route


def register(store: Store, vault: Vault, cfg: WebhookSettings, tenant: str, url: str,
             secret: str | None = None) -> WebhookView:  # fmt: skip
    """A new webhook of `tenant`; the answer holds the secret (given, or made here), the
    only time it is shown."""
    check_url(url, cfg)
    if secret is not None and not (16 <= len(secret) <= 200 and secret.isprintable()):
        raise OnrampError("ONR-REQ-008", "a secret has 16 to 200 printable characters",
                          field="secret")  # fmt: skip
    secret = secret or "whsec_" + secrets.token_urlsafe(32)
    with store.session() as s:
        if s.get(TenantRow, tenant) is None:
            raise OnrampError("ONR-REQ-013", f"tenant '{tenant}'", field="tenant")
        held = len(list(s.scalars(select(WebhookRow.id).where(WebhookRow.tenant_id == tenant))))
        if held >= MAX_PER_TENANT:
            raise OnrampError("ONR-HOOK-001", f"tenant {tenant} has {held} webhooks already",
                              hint="remove one first: one receiver can take every event",
                              field="url")  # fmt: skip
        row = WebhookRow(id=str(uuid.uuid4()), tenant_id=tenant, url=url,
                         secret=vault.encrypt(secret), created_at=now())  # fmt: skip
        s.add(row)
        return {**_view(row), "secret": secret}


def listed(store: Store, tenant: str) -> list[WebhookView]:
    with store.session() as s:
        q = select(WebhookRow).where(WebhookRow.tenant_id == tenant)
        return [_view(r) for r in s.scalars(q.order_by(WebhookRow.created_at, WebhookRow.id))]


def remove(store: Store, tenant: str, ident: str) -> WebhookView:
    """Forget a webhook and what it was still owed."""
    with store.session() as s:
        row = _find(s, tenant, ident)
        s.execute(delete(D).where(D.webhook_id == row.id))
        s.delete(row)
        return _view(row)


def deliveries(store: Store, tenant: str, ident: str, limit: int = 100) -> list[DeliveryView]:
    """A webhook's deliveries, newest first."""
    with store.session() as s:
        hook = _find(s, tenant, ident)
        rows = s.scalars(select(D).where(D.webhook_id == hook.id).order_by(D.seq.desc())
                         .limit(limit))  # fmt: skip
        return [{"id": r.id, "event_id": r.event_id, "type": r.event["type"],
                 "object_id": r.target_id, "old_state": r.event["old_state"],
                 "new_state": r.event["new_state"], "status": r.status, "attempts": r.attempts,
                 "last_error": r.last_error,
                 "next_try_at": r.next_try_at.isoformat() if r.status == "pending" else None,
                 "created_at": r.created_at.isoformat(),
                 "delivered_at": r.delivered_at.isoformat() if r.delivered_at else None}
                for r in rows]  # fmt: skip


@dataclass(frozen=True)
class Claimed:
    """A delivery one worker holds the lease of, with what it takes to send it."""

    id: str
    url: str
    secret: bytes  # sealed
    event: WebhookEvent


def claim(store: Store, owner: str, lease_s: float, limit: int = 50) -> list[Claimed]:
    """Due deliveries that are the oldest pending one of their object for their webhook,
    leased to `owner` for `lease_s` (FOR UPDATE SKIP LOCKED on PostgreSQL: two workers never
    claim one; SQLite's writers queue)."""
    earlier = aliased(D)
    with store.session() as s:
        at = now()
        blocked = (select(earlier.seq).where(earlier.webhook_id == D.webhook_id,
                   earlier.target_id == D.target_id, earlier.seq < D.seq,
                   earlier.status == "pending").exists())  # fmt: skip
        rows = list(s.scalars(
            select(D).where(D.status == "pending", D.next_try_at <= at,
                            or_(D.lease_until.is_(None), D.lease_until < at), ~blocked)
            .order_by(D.seq).limit(limit).with_for_update(skip_locked=True, of=D)))  # fmt: skip
        hooks = {h.id: h for h in s.scalars(select(WebhookRow).where(
            WebhookRow.id.in_({r.webhook_id for r in rows})))}  # fmt: skip
        for r in rows:
            r.lease_owner, r.lease_until = owner[:80], at + timedelta(seconds=lease_s)
        return [Claimed(r.id, hooks[r.webhook_id].url, hooks[r.webhook_id].secret, r.event)
                for r in rows]  # fmt: skip


def body_of(c: Claimed) -> bytes:
    """The JSON a receiver gets: the event and this delivery's id (the same on every try)."""
    return json.dumps({"delivery_id": c.id, **c.event}, separators=(",", ":")).encode()


def send(c: Claimed, vault: Vault, cfg: WebhookSettings) -> str | None:
    """POST one delivery; None when the receiver answered 2xx, else what went wrong."""
    try:
        addr = check_url(c.url, cfg)[0]  # again: DNS may point elsewhere since
    except OnrampError as exc:
        return exc.reason
    body = body_of(c)
    headers = {"Content-Type": "application/json", "User-Agent": "onramp-webhooks/1",
               "Onramp-Delivery": c.id, "Onramp-Event": c.event["event_id"],
               SIGNATURE_HEADER: sign(vault.decrypt(c.secret), int(time.time()), body)}  # fmt: skip
    url = urllib3.util.parse_url(c.url)
    timeout = urllib3.Timeout(total=cfg.timeout_s)
    # connect to the address just checked, with the URL's name for Host, SNI and the
    # certificate: no second lookup that could answer otherwise
    pool: urllib3.HTTPConnectionPool
    if url.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(str(addr), url.port or 443, timeout=timeout,
                                           server_hostname=url.host, assert_hostname=url.host)  # fmt: skip
    else:
        pool = urllib3.HTTPConnectionPool(str(addr), url.port or 80, timeout=timeout)
    try:
        r = pool.urlopen("POST", url.request_uri, body=body, headers={**headers,
                         "Host": str(url.netloc)}, redirect=False, retries=False,
                         preload_content=False)  # fmt: skip
        r.drain_conn()  # the answer's body is not ours to read
        return None if 200 <= r.status < 300 else f"HTTP {r.status}"
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    finally:
        pool.close()


def backoff(attempts: int, cfg: WebhookSettings) -> float:
    """Seconds before try `attempts + 1`: doubling from `retry_base_s`, at most the cap."""
    return float(min(cfg.retry_cap_s, cfg.retry_base_s * 2 ** min(attempts - 1, 40)))


def record(store: Store, owner: str, ident: str, error: str | None, cfg: WebhookSettings) -> None:
    """The answer of one try, unless the lease went to another worker meanwhile (it sends
    again: at least once) or the webhook was removed."""
    with store.session() as s:
        row = s.scalars(select(D).where(D.id == ident).with_for_update()).first()
        if row is None or row.lease_owner != owner[:80]:
            return
        at = now()
        row.attempts += 1
        row.lease_owner, row.lease_until = None, None
        if error is None:
            row.status, row.delivered_at = "delivered", at
        else:
            row.last_error = error[:300]
            if row.attempts >= cfg.retry_max:
                row.status = "failed"
            else:
                row.next_try_at = at + timedelta(seconds=backoff(row.attempts, cfg))


def deliver_due(store: Store, vault: Vault, cfg: WebhookSettings, owner: str | None = None,
                budget_s: float = 30.0) -> int:  # fmt: skip
    """Send what is due until nothing is, or `budget_s` has passed (the next round goes
    on). Returns how many were delivered."""
    me = owner or f"webhooks:{socket.gethostname()}:{os.getpid()}/{threading.get_ident()}"
    done, until = 0, time.monotonic() + budget_s
    while time.monotonic() < until:
        batch = claim(store, me, cfg.lease_s)
        if not batch:
            break
        for c in batch:
            error = send(c, vault, cfg)
            record(store, me, c.id, error, cfg)
            done += error is None
    return done


def _find(s: Session, tenant: str, ident: str) -> WebhookRow:
    row: WebhookRow = by_prefix(s, WebhookRow, ident, "webhook", "ONR-HOOK-002", tenant=tenant)
    return row


def _view(row: WebhookRow) -> WebhookView:
    return {"id": row.id, "tenant": row.tenant_id, "url": row.url,
            "created_at": row.created_at.isoformat()}  # fmt: skip
