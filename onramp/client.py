"""A Python client for the onramp REST API (/v1), as a customer's script would use it.

    from onramp.client import Client
    api = Client("http://127.0.0.1:8080", key)
    aws = api.order_connector(onramp="aws-dx-par", kind="aws-hosted-vif",
                              bandwidth_mbps=500, aws_account="123456789012",
                              idempotency_key="my-aws-1")
    aws = api.wait("connector", aws["id"])          # until active (or ApiError)
    link = api.link(aws["id"], other["id"], bandwidth_mbps=500)

Every failure is an `ApiError` with onramp's error code, reason and hint.

A webhook receiver checks what it is sent with `verify_signature(secret, header, body)`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import Any

import requests

SETTLED = {"active", "failed", "deleted"}


SIGNATURE_HEADER = "Onramp-Signature"  # "t=<unix seconds>,v1=<hex HMAC-SHA256>"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: HMAC-SHA256 with the webhook's secret over
    "<timestamp>.<body>" (the raw bytes as sent), as Stripe signs its webhooks."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, header: str, body: bytes, tolerance_s: float = 300, now: float | None = None
) -> bool:
    """Whether `body` (the raw request body) was signed with `secret` less than
    `tolerance_s` ago (an older one is a replay). Constant-time: the comparison time
    says nothing about how much of a forged signature was right."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


class ApiError(Exception):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        self.status = status
        self.code = str(error.get("code", "?"))
        self.reason = str(error.get("reason", ""))
        self.hint = str(error.get("hint", ""))
        self.field = error.get("field")
        super().__init__(f"{self.code}: {self.reason} -> {self.hint}")


class Client:
    def __init__(self, url: str, key: str, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {key}"

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        return self._answer(method, path, **kw).json()

    def _answer(self, method: str, path: str, **kw: Any) -> requests.Response:
        for _ in range(5):
            r = self.http.request(method, self.url + path, timeout=self.timeout, **kw)
            if r.status_code != 429:
                break
            time.sleep(float(r.headers.get("Retry-After", "1")))  # the API asked us to wait
        if r.status_code >= 400:
            try:
                error = r.json()["error"]
            except (ValueError, KeyError, TypeError):
                error = {"code": f"HTTP-{r.status_code}", "reason": r.text[:200]}
            raise ApiError(r.status_code, error)
        return r

    # ------------------------------------------------------------------ reading
    def onramps(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/v1/onramps"))

    def connector(self, ident: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/v1/connectors/{ident}"))

    def customer_config(
        self, ident: str, platform: str = "ios", interface: str | None = None
    ) -> dict[str, Any]:
        """What to configure on your own router for an enterprise Connector (`config`: the
        text; the BGP key in it and in `password`)."""
        params = {"platform": platform, **({"interface": interface} if interface else {})}
        return dict(self._call("GET", f"/v1/connectors/{ident}/customer-config", params=params))

    def customer_step(self, ident: str, reveal: bool = False) -> dict[str, Any] | None:
        """What to make at the provider (an AWS VIF on a hosted connection), or None."""
        found = self._call("GET", f"/v1/connectors/{ident}/customer-step",
                           params={"reveal": reveal})  # fmt: skip
        return None if found is None else dict(found)

    def delegate(self, provider: str, **credentials: Any) -> dict[str, Any]:
        """Let onramp act in your account at `provider` (aws: account, access_key_id,
        secret_access_key, virtual_gateway_id or direct_connect_gateway_id; azure: account
        (subscription), tenant_id, client_id, client_secret, resource_group)."""
        body = {"provider": provider, **credentials}
        return dict(self._call("PUT", f"/v1/tenants/me/delegations/{provider}", json=body))

    def revoke_delegation(self, provider: str) -> dict[str, Any]:
        return dict(self._call("DELETE", f"/v1/tenants/me/delegations/{provider}"))

    def delegations(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/v1/tenants/me/delegations"))

    def link_of(self, ident: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/v1/links/{ident}"))

    def connectors(self, state: str | None = None) -> Iterator[dict[str, Any]]:
        """Every Connector the key may see, page by page."""
        after = None
        while True:
            params = {"limit": 100, **({"state": state} if state else {}),
                      **({"after": after} if after else {})}  # fmt: skip
            body = self._call("GET", "/v1/connectors", params=params)
            yield from body["items"]
            if not (after := body["next"]):
                return

    def links(self) -> Iterator[dict[str, Any]]:
        """Every Link the key may see, page by page."""
        after = None
        while True:
            params = {"limit": 100, **({"after": after} if after else {})}
            body = self._call("GET", "/v1/links", params=params)
            yield from body["items"]
            if not (after := body["next"]):
                return

    def tickets(self, everything: bool = False) -> list[dict[str, Any]]:
        """Requests to providers that take tickets for the key's Connectors: those waiting
        for the provider (`everything`: answered ones too)."""
        return list(self._call("GET", "/v1/tickets", params={"all": everything}))

    # ------------------------------------------------------------------ changing
    def order_connector(self, idempotency_key: str | None = None, **order: Any) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return dict(self._call("POST", "/v1/connectors", json=order, headers=headers))

    def link(
        self, a: str, b: str, bandwidth_mbps: int, idempotency_key: str | None = None, **more: Any
    ) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        body = {"a": a, "b": b, "bandwidth_mbps": bandwidth_mbps, **more}
        return dict(self._call("POST", "/v1/links", json=body, headers=headers))

    def etag(self, kind: str, ident: str) -> str:
        """The Connector's or Link's version now (its ETag): give it to `update_*` as
        `if_match` so that a change made meanwhile refuses yours (ONR-CHG-006, 412)."""
        return str(self._answer("GET", f"/v1/{kind}s/{ident}").headers["ETag"])

    def update_connector(
        self,
        ident: str,
        bandwidth_mbps: int | None = None,
        description: str | None = None,
        if_match: str | None = None,
        prefixes: list[str] | None = None,
    ) -> dict[str, Any]:
        """Change a live Connector's bandwidth and/or prefixes (the whole new list) in place
        (it answers `modifying`: `wait` for `active`, then `change.outcome` says whether it
        was done or rolled back, and why) and/or its description."""
        return self._update("connector", ident, bandwidth_mbps, description, if_match, prefixes)

    def update_link(
        self,
        ident: str,
        bandwidth_mbps: int | None = None,
        description: str | None = None,
        if_match: str | None = None,
    ) -> dict[str, Any]:
        """As `update_connector`; a Link is at most as fast as its slower Connector."""
        return self._update("link", ident, bandwidth_mbps, description, if_match)

    def _update(self, kind: str, ident: str, bandwidth_mbps: int | None, description: str | None,
                if_match: str | None, prefixes: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
        body = {k: v for k, v in (("bandwidth_mbps", bandwidth_mbps), ("description", description),
                                  ("prefixes", prefixes)) if v is not None}  # fmt: skip
        headers = {"If-Match": if_match} if if_match else {}
        return dict(self._call("PATCH", f"/v1/{kind}s/{ident}", json=body, headers=headers))

    def delete(self, kind: str, ident: str) -> dict[str, Any]:
        return dict(self._call("DELETE", f"/v1/{kind}s/{ident}"))

    def wait(
        self, kind: str, ident: str, until: str = "active", timeout: float = 600, poll: float = 1
    ) -> dict[str, Any]:
        """Poll until the Connector or Link is `until`; a failed or other settled state, or
        the time running out, raises ApiError with the reason from its history."""
        deadline = time.monotonic() + timeout
        while True:
            item = dict(self._call("GET", f"/v1/{kind}s/{ident}"))
            if item["state"] == until:
                return item
            if item["state"] in SETTLED or time.monotonic() > deadline:
                why = (item.get("history") or [{}])[-1].get("reason") or "time ran out"
                raise ApiError(200, {"code": "ONR-CLIENT-001", "field": item["state"],
                                     "reason": f"{kind} {ident} is {item['state']}: {why}",
                                     "hint": f"waited for {until}"})  # fmt: skip
            time.sleep(poll)

    # ------------------------------------------------------------------ webhooks
    def add_webhook(self, url: str, secret: str | None = None) -> dict[str, Any]:
        """Register a receiver of your Connectors' and Links' state changes. The answer's
        `secret` (yours, or one made for you) is shown this once: keep it to verify."""
        body = {"url": url, **({"secret": secret} if secret else {})}
        return dict(self._call("POST", "/v1/webhooks", json=body))

    def webhooks(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/v1/webhooks"))

    def remove_webhook(self, ident: str) -> dict[str, Any]:
        return dict(self._call("DELETE", f"/v1/webhooks/{ident}"))

    def deliveries(self, ident: str, limit: int = 100) -> list[dict[str, Any]]:
        """A webhook's deliveries, newest first: status, attempts, last error, next try."""
        return list(self._call("GET", f"/v1/webhooks/{ident}/deliveries",
                               params={"limit": limit}))  # fmt: skip
