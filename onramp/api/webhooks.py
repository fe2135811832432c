"""`/v1/webhooks`: a tenant's receivers of its Connectors' and Links' state changes, and
their deliveries (onramp.flow.webhooks). Tenant keys only: a webhook is its tenant's, and
another tenant's id answers 404 as an absent one.

No `from __future__ import annotations`: FastAPI reads the routes' annotations at run time.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from onramp.api.keys import Principal
from onramp.core.errors import OnrampError
from onramp.core.shapes import DeliveryView, WebhookView
from onramp.flow import webhooks
from onramp.flow.service import Service


class WebhookOrder(BaseModel):
    """A receiver to register: https to a public address; `secret` (16-200 characters) or
    none, and one is made. Either way the answer shows it, once."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"url": "https://hooks.example.com/onramp"}]})  # fmt: skip
    url: str = Field(max_length=2000)
    secret: str | None = Field(default=None, min_length=16, max_length=200)


def router(svc: Service, caller: Any) -> APIRouter:
    """The routes; `caller`: the API's dependency that answers the key's Principal."""
    r = APIRouter()
    cfg = svc.settings.webhooks

    def tenant(who: Principal) -> str:
        if who.tenant is None:
            raise OnrampError("ONR-API-002", "a webhook belongs to a tenant: use its key")
        return who.tenant

    @r.post("/webhooks", status_code=201, response_model=WebhookView, operation_id="createWebhook",
            tags=["webhooks"])  # fmt: skip
    def add_webhook(body: WebhookOrder, who: caller) -> WebhookView:
        """Register a receiver; the answer's `secret` is shown this once (keep it: every
        delivery's `Onramp-Signature` is made with it)."""
        return webhooks.register(svc.store, svc.vault, cfg, tenant(who), body.url, body.secret)

    @r.get("/webhooks", response_model=list[WebhookView], operation_id="listWebhooks",
           tags=["webhooks"])  # fmt: skip
    def list_webhooks(who: caller) -> list[WebhookView]:
        return webhooks.listed(svc.store, tenant(who))

    @r.delete("/webhooks/{ident}", response_model=WebhookView, operation_id="deleteWebhook",
              tags=["webhooks"])  # fmt: skip
    def remove_webhook(ident: str, who: caller) -> WebhookView:
        """Forget the receiver and what it was still owed."""
        return webhooks.remove(svc.store, tenant(who), ident)

    @r.get("/webhooks/{ident}/deliveries", response_model=list[DeliveryView],
           operation_id="listWebhookDeliveries", tags=["webhooks"])  # fmt: skip
    def webhook_deliveries(
        ident: str,
        who: caller,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[DeliveryView]:
        """Newest first: each event's status (pending, delivered, failed: given up),
        attempts, last error and next try."""
        return webhooks.deliveries(svc.store, tenant(who), ident, limit)

    return r
