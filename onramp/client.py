"""A Python client for the onramp REST API (/v1), as a customer's script would use it.

    from onramp.client import Client
    api = Client("http://127.0.0.1:8080", key)
    aws = api.order_connector(onramp="aws-dx-par", kind="aws-hosted-vif",
                              bandwidth_mbps=500, aws_account="123456789012",
                              idempotency_key="my-aws-1")
    aws = api.wait("connector", aws["id"])          # until active (or ApiError)
    link = api.link(aws["id"], other["id"], bandwidth_mbps=500)

Every failure is an `ApiError` with onramp's error code, reason and hint.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import requests

SETTLED = {"active", "failed", "deleted"}


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
        return r.json()

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
