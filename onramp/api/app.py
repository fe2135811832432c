"""The REST API (`/v1`, FastAPI; `onramp api serve`): what customers and the Portal use.

A key (`Authorization: Bearer onr_...` or `X-API-Key`) belongs to a tenant, who sees and
changes only its own Connectors and Links (another tenant's answer 404, as if absent), or
is an admin key (engineers: every tenant). Creating and deleting are asynchronous: `202`
with the resource in its state, and a message to the workers; `Idempotency-Key` makes a
retried create return what the first made. Every error has one shape:
`{"error": {"code", "reason", "hint", "field"?}}` with onramp's error code.

No `from __future__ import annotations` here: FastAPI reads the routes' annotations at
run time, and those defined in `create_app` would be unresolvable strings.
"""

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StrictBool, create_model
from pydantic_core import to_json
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from onramp.api import webhooks as webhook_routes
from onramp.api.guard import BodyLimit, RateLimit, SecurityHeaders, Throttled, page_policy
from onramp.api.keys import Principal
from onramp.core.errors import Code, OnrampError
from onramp.core.model import (
    Change,
    Connector,
    ConnectorRequest,
    Delegation,
    DelegationView,
    Link,
    LinkRequest,
    Onramp,
    State,
    TicketAnswerText,
)
from onramp.core.shapes import (
    BackboneView,
    ComplianceRun,
    ConnectorView,
    CustomerConfigView,
    CustomerPlatformName,
    CustomerStep,
    LinkKpis,
    LinkView,
    Placement,
    TicketView,
)
from onramp.core.store import now
from onramp.csp.manual import adapter as manual
from onramp.csp.tickets import tickets as stored_tickets
from onramp.flow import compliance, monitor, placement, topology
from onramp.flow.change import etag
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.reads import Submit
from onramp.flow.request import refused
from onramp.flow.service import Service
from onramp.network import customer

View = TypeVar("View", ConnectorView, LinkView)
PORTAL = Path(__file__).parent / "portal" / "index.html"
log = logging.getLogger(__name__)


def _order_model(name: str, request: type[BaseModel], example: dict[str, Any]) -> type[BaseModel]:
    """The request as a customer sends it: no tenant (the key says whose it is; an admin
    key names one), no idempotency key (a header). `example`: a valid order, shown in the
    document (and sent first by the schema test)."""
    fields: dict[str, Any] = {
        n: (f.annotation, f)
        for n, f in request.model_fields.items()
        if n not in ("tenant", "idempotency_key")
    }
    fields["tenant"] = (str | None, None)
    config = ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})
    return create_model(name, __config__=config, **fields)


ConnectorOrder = _order_model("ConnectorOrder", ConnectorRequest, {
    "onramp": "aws-dx-par", "kind": "aws-hosted-vif", "bandwidth_mbps": 100,
    "aws_account": "123456789012", "prefixes": ["10.100.0.0/24"],
    "description": "Paris to our VPC"})  # fmt: skip
LinkOrder = _order_model("LinkOrder", LinkRequest, {
    "a": "3f1c9a52-7d4e-4b8a-9c61-0e2b5d7f8a91", "b": "8e2d4f60-1a3b-4c5d-8e9f-a0b1c2d3e4f5",
    "bandwidth_mbps": 50, "sla_class": "gold"})  # fmt: skip


def _to(path: str, method: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to `method path`: each parameter from a runtime expression, e.g.
    `$response.body#/id` (what clients and schemathesis' state machine follow)."""
    return {"operationRef": "#/paths/" + path.replace("/", "~1") + "/" + method,
            "parameters": parameters}  # fmt: skip


# What a created (or listed) resource leads to: its own routes by the id it answered with.
CONNECTOR_LINKS = {
    "GetConnector": _to("/v1/connectors/{ident}", "get", ident="$response.body#/id"),
    "DeleteConnector": _to("/v1/connectors/{ident}", "delete", ident="$response.body#/id"),
    "ConnectorTraffic": _to("/v1/connectors/{ident}/traffic", "get", ident="$response.body#/id"),
    "CustomerConfig": _to("/v1/connectors/{ident}/customer-config", "get",
                          ident="$response.body#/id"),
    "CustomerStep": _to("/v1/connectors/{ident}/customer-step", "get", ident="$response.body#/id"),
    # one end the new Connector, the other as the caller writes it
    "OrderLink": {**_to("/v1/links", "post"), "requestBody": {"a": "$response.body#/id"}},
}  # fmt: skip
LINK_LINKS = {
    "GetLink": _to("/v1/links/{ident}", "get", ident="$response.body#/id"),
    "DeleteLink": _to("/v1/links/{ident}", "delete", ident="$response.body#/id"),
    "LinkKpis": _to("/v1/links/{ident}/kpis", "get", ident="$response.body#/id"),
    "GetEndA": _to("/v1/connectors/{ident}", "get", ident="$response.body#/a"),
}
LISTED_CONNECTORS = {  # a Link between the page's first two Connectors
    "GetFirstConnector": _to("/v1/connectors/{ident}", "get", ident="$response.body#/items/0/id"),
    "LinkFirstTwo": {**_to("/v1/links", "post"), "requestBody": {
        "a": "$response.body#/items/0/id", "b": "$response.body#/items/1/id",
        "bandwidth_mbps": 10}},
}  # fmt: skip
LISTED_LINKS = {"GetFirstLink": _to("/v1/links/{ident}", "get", ident="$response.body#/items/0/id")}
SHOWN_CONNECTOR = {k: v for k, v in CONNECTOR_LINKS.items() if k != "GetConnector"}
SHOWN_LINK = {k: v for k, v in LINK_LINKS.items() if k != "GetLink"}
ORDER_HERE = {  # an order on the catalogue's first on-ramp, of its first kind
    "OrderConnector": {**_to("/v1/connectors", "post"), "requestBody": {
        "onramp": "$response.body#/0/id", "kind": "$response.body#/0/kinds/0"}}}  # fmt: skip


# The document for client generators: every operation a stable camelCase id (set on each
# route; a route added without one gets its function's name in camelCase, never FastAPI's
# default `order_connector_v1_connectors_post`, which changes with the path), grouped by tag.
TAGS = [
    {"name": "connectors", "description": "A tenant's attachments to a cloud on-ramp or a site"},
    {"name": "links", "description": "Private paths between two of the tenant's Connectors"},
    {"name": "catalogue", "description": "What can be ordered where"},
    {"name": "monitoring", "description": "Traffic, BGP sessions, a Link's KPIs and SLA"},
    {"name": "delegations", "description": "Letting onramp act in the customer's cloud account"},
    {"name": "tickets", "description": "Requests to providers that answer by ticket"},
    {"name": "webhooks", "description": "A tenant's receivers of its state changes, signed"},
    {"name": "engineers", "description": "Admin keys only: the backbone's compliance"},
]


def operation_id(route: APIRoute) -> str:
    """A route's operationId when it names none: its function's name in camelCase."""
    head, *rest = route.name.split("_")
    return head + "".join(w.title() for w in rest)


# Both ways a key travels, declared as security schemes (generators then take the key once).
BEARER = HTTPBearer(auto_error=False, scheme_name="bearer", bearerFormat="onr_<id>_<secret>",
                    description="An API key from `onramp apikey create`: `Authorization: Bearer onr_...`")  # fmt: skip
API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="apiKey",
                       description="The same key in a header of its own (older scripts)")  # fmt: skip


class ErrorDetail(BaseModel):
    code: str = Field(examples=["ONR-REQ-008"])
    reason: str
    hint: str  # what to do about it
    field: str | None = None  # the request field at fault, when one is


class ErrorBody(BaseModel):
    error: ErrorDetail


class Transition(BaseModel):
    """One step of a resource's state history."""

    model_config = ConfigDict(populate_by_name=True)
    from_: State | None = Field(alias="from")
    to: State
    at: datetime
    actor: str
    reason: str


class ConnectorShown(Connector):
    history: list[Transition]
    # what the customer must make at its provider (an AWS VIF on a hosted connection)
    customer_step: CustomerStep | None = None


class LinkShown(Link):
    history: list[Transition]


class TicketAnswer(TicketAnswerText):
    """What the provider answered, as the engineer recorded it."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"accepted": True, "provider_ref": "CASE-104233", "note": "cross-connect patched"}]})  # fmt: skip
    accepted: StrictBool


# a delegation as a customer sends it (AWS; the secret is never shown again). Placeholders,
# plainly not keys: a credential-shaped string in the published document gets copied
DELEGATION_EXAMPLE = {"provider": "aws", "account": "123456789012",
                      "access_key_id": "YOUR-ACCESS-KEY-ID",
                      "secret_access_key": "your-secret-access-key",
                      "virtual_gateway_id": "vgw-0123456789abcdef0"}  # fmt: skip


class AnswerShown(BaseModel):
    """As stored (what an older release took shows as it was)."""

    model_config = ConfigDict(extra="ignore")  # the engineer's name and the history stay in
    accepted: bool
    provider_ref: str
    note: str
    at: datetime


class Ticket(BaseModel):
    """A request to a provider that takes tickets (`manual`), made for a Connector; the text
    is what was sent, the BGP key masked."""

    id: UUID
    provider: str
    connector: UUID
    state: Literal["open", "ready", "rejected", "removal_open", "deleted"]
    text: str
    answer: AnswerShown | None
    created_at: datetime
    updated_at: datetime


# A Link's KPIs (LinkKpis, KpiSample, Breach, SlaLimits): onramp.core.shapes, as monitoring
# returns them. The traffic answer stays here: its `BgpSession` (a session's state over time)
# would clash in the document with the shapes' BgpSession (a session as read from a router).


class Rate(BaseModel):
    at: datetime
    router: str
    interface: str
    in_bps: float
    out_bps: float


class BgpSession(BaseModel):
    router: str
    vrf: str
    neighbor: str
    state: str  # Established, Active, Connect, Idle, ..., absent
    since: datetime
    checked_at: datetime


class BgpEvent(BaseModel):
    session: str  # "<router> <vrf> <neighbor>"
    started_at: datetime  # left Established
    ended_at: datetime | None  # back; null: still down
    from_: str | None = Field(alias="from")
    to: str | None


class ConnectorTraffic(BaseModel):
    """A Connector's bitrates per attachment and its BGP sessions, from the monitoring."""

    model_config = ConfigDict(populate_by_name=True)
    connector: UUID
    since: datetime
    until: datetime
    rate_mbps: int | None  # the configured (guaranteed, shaped) rate
    at_limit: bool  # bitrate >= 95 % of the rate in each of the last 3 samples, one way
    rates: list[Rate]
    bgp: list[BgpSession]
    events: list[BgpEvent]


class FeatureCompliance(BaseModel):
    compliant: bool
    missing: list[str]  # intended lines the router lacks ("parent / child" paths)
    extra: list[str]  # lines the router has beyond its intended config
    order: list[str] = []  # sections of an ordered feature whose order differs


class RouterCompliance(BaseModel):
    platform: str | None = None
    score: float | None = None  # % of features compliant
    backup_sha256: str | None = None
    backup_stored: bool | None = None  # changed since the router's last backup
    running_matches_intended: bool | None = None
    error: str | None = None  # the router could not be read
    features: dict[str, FeatureCompliance] = {}


class ComplianceReport(BaseModel):
    """The newest compliance run: per router and feature, secrets masked."""

    at: datetime
    score: float | None
    compliant: bool
    routers: dict[str, RouterCompliance]


class ConnectorPage(BaseModel):
    items: list[Connector]
    next: UUID | None  # pass as `after` for the next page; null on the last


class LinkPage(BaseModel):
    items: list[Link]
    next: UUID | None


# Every /v1 route may answer these (the document lists them; the schema test holds us to it).
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in [(400, "body unreadable"), (401, "no valid API key"), (403, "not allowed with this key"),
                         (404, "no such resource for this key"), (413, "body too large"),
                         (422, "invalid request"), (429, "rate limited: see Retry-After")]
}  # fmt: skip

_STATUS = {"ONR-HOOK-002": 404, "ONR-TOPO-001": 404, "ONR-CHG-006": 412, "ONR-CHG-002": 422, "ONR-REQ-011": 404, "ONR-DELEG-001": 404, "ONR-CSP-007": 409, "ONR-COMP-002": 404, "ONR-REQ-013": 404, "ONR-REQ-015": 409, "ONR-REQ-016": 409,
           "ONR-API-001": 401, "ONR-API-002": 403, "ONR-API-003": 429, "ONR-API-004": 413, "ONR-API-009": 422, "ONR-STORE-001": 503}  # fmt: skip


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_BY_FAMILY = {"ONR-REQ": 422, "ONR-DELEG": 409, "ONR-ALLOC": 409, "ONR-PLAT": 409, "ONR-PLAN": 409,
              "ONR-STATE": 409, "ONR-CSP": 502, "ONR-HOOK": 422, "ONR-CHG": 409}  # fmt: skip


def status_of(code: str) -> int:
    return _STATUS.get(code) or _BY_FAMILY.get(code.rsplit("-", 1)[0], 500)


def create_app(
    svc: Service, submit: Submit, limit: RateLimit | None = None, failures: RateLimit | None = None
) -> FastAPI:
    """`limit`: each key's pace; `failures`: each client address's pace of unknown keys
    (past it, no key is even checked from there: guessing stops)."""
    app = FastAPI(title="onramp", version="1", docs_url="/v1/docs", openapi_url="/v1/openapi.json",
                  openapi_tags=TAGS, generate_unique_id_function=operation_id)  # fmt: skip
    # the service hands what it stores to the workers (creates, decommissions), once committed
    svc = replace(svc, inventory=svc.backbone, submit=submit)  # the inventory already read
    orch = Orchestrator(svc, {}, actor="api")  # the history it reads
    bucket = limit or RateLimit()
    guesses = failures or RateLimit(rate=0.2, burst=20)  # a person mistyping, not a script
    app.add_middleware(BodyLimit)  # bytes counted as they arrive, before any route reads them
    app.add_middleware(SecurityHeaders, open_paths=("/v1/docs",))  # outermost: on every answer
    portal_page = PORTAL.read_text()
    portal_policy = page_policy(portal_page)

    @app.exception_handler(OnrampError)
    async def onramp_error(_: Request, exc: OnrampError) -> JSONResponse:
        status = status_of(exc.code)
        headers = {"Retry-After": str(getattr(exc, "retry_after", 1))} if status == 429 else None
        return JSONResponse({"error": exc.as_dict()}, status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """FastAPI's own answers (unknown route, wrong method, a body it cannot decode) in
        the one error shape."""
        code: Code = "ONR-API-006" if exc.status_code in (404, 405) else "ONR-API-008"
        err = OnrampError(code, str(exc.detail))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # Starlette's Allow names one route's methods: all of the path's
            headers["Allow"] = ", ".join(sorted(allowed(request)))
        return JSONResponse({"error": err.as_dict()}, status_code=exc.status_code,
                            headers=headers)  # fmt: skip

    def allowed(request: Request) -> set[str]:
        """The methods some route takes on the request's path (routers nest: ask each)."""
        return {m for m in METHODS if any(r.matches({**request.scope, "method": m})[0]
                                          == Match.FULL for r in app.router.routes)}  # fmt: skip

    @app.exception_handler(Exception)
    async def crash(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error in the API")
        err = OnrampError("ONR-API-007", type(exc).__name__)  # never the message: it may hold data
        return JSONResponse({"error": err.as_dict()}, status_code=500)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ())[1:])
        msg = str(first.get("msg", "invalid request"))
        err = refused(where, msg) if where else OnrampError("ONR-REQ-008", msg)
        return JSONResponse({"error": err.as_dict()}, status_code=422)

    def caller(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None,
        x_api_key: Annotated[str | None, Security(API_KEY)] = None,
    ) -> Principal:
        addr = f"addr:{request.client.host if request.client else '-'}"
        key = x_api_key or (bearer.credentials.strip() if bearer else "")

        # each statement its own transaction (no BEGIN and COMMIT: two round trips on
        # PostgreSQL): the address's bucket with the key and an atomic draw (one statement
        # on PostgreSQL); a transaction only to count an unknown key or for a new or empty bucket
        with svc.store.rows() as conn:
            who, guessed, drawn = bucket.admit(conn, key, addr, guesses)
        if wait := guesses.wait_of(guessed):  # past it, not even a good key gets in
            raise Throttled(wait, f"too many unknown keys from {addr[5:]}")
        if who is None:
            guesses.take(svc.store, addr)
            raise OnrampError("ONR-API-001", "no valid API key in the request")
        if not drawn and (wait := bucket.take(svc.store, f"key:{who.key_id}")):
            raise Throttled(wait, f"key {who.key_id}")
        return who

    Caller = Annotated[Principal, Depends(caller)]

    def tenant_of(who: Principal, named: str | None) -> str:
        if who.admin:
            if not named:
                raise OnrampError("ONR-REQ-003", "an admin key must name the tenant",
                                  field="tenant")  # fmt: skip
            return named
        if named not in (None, who.tenant):
            raise OnrampError("ONR-API-002", f"this key belongs to tenant {who.tenant}")
        return str(who.tenant)

    def page(items: list[View], limit: int) -> dict[str, object]:
        """`items`: up to limit + 1 rows; the one over says there is a next page."""
        chunk = items[:limit]
        return {"items": chunk, "next": chunk[-1]["id"] if len(items) > limit else None}

    Limit = Annotated[int, Query(ge=1, le=500)]
    IdempotencyKey = Annotated[str | None, Header(max_length=128)]

    @app.get("/", include_in_schema=False)
    def portal() -> HTMLResponse:
        """The customer Portal: one static page that only calls /v1 with the user's key."""
        return HTMLResponse(portal_page, headers={"Content-Security-Policy": portal_policy})

    v1 = APIRouter(prefix="/v1", responses=ERRORS)
    CONFLICT: dict[int | str, dict[str, Any]] = {
        409: {"model": ErrorBody, "description": "refused by allocation or the state"}}  # fmt: skip

    ETAG = {
        "ETag": {
            "description": "its version: send it back as If-Match",
            "schema": {"type": "string"},
        }
    }

    def changed_answers(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
        return {200: {"headers": ETAG},
                202: {"model": model, "headers": ETAG, "description": "bandwidth or prefixes change under way"},
                409: {"model": ErrorBody, "description": "refused: the port, a Link, the provider, the state"},
                412: {"model": ErrorBody, "description": "If-Match: changed since read (ONR-CHG-006)"}}  # fmt: skip

    IfMatch = Annotated[str | None, Header(alias="If-Match")]

    @v1.get("/onramps", operation_id="listOnramps", tags=["catalogue"],
            responses={200: {"links": ORDER_HERE}})  # fmt: skip
    def onramps(who: Caller) -> list[Onramp]:
        """What can be ordered where, with the capacity left."""
        return [Onramp(**o) for o in svc.catalogue()]

    @v1.get("/connectors", response_model=ConnectorPage, operation_id="listConnectors",
            tags=["connectors"], responses={200: {"links": LISTED_CONNECTORS}})  # fmt: skip
    def connectors(who: Caller, limit: Limit = 50, after: UUID | None = None,
                   state: State | None = None) -> Response:  # fmt: skip
        return as_json(page(svc.connectors(who.tenant, state, limit + 1, _s(after)), limit))

    @v1.post("/connectors", status_code=202, response_model=Connector,
             operation_id="createConnector", tags=["connectors"],
             responses={**CONFLICT, 202: {"links": CONNECTOR_LINKS}})  # fmt: skip
    def order_connector(
        body: ConnectorOrder,  # type: ignore[valid-type]
        who: Caller,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        made = svc.create_connector(svc.connector_request(order(body, who, idempotency_key)))
        # the choice is shown per key by GET .../placement (scores and router health are
        # the engineers'); here it would also break the Connector's schema
        made.pop("explain", None)
        return as_json(made, 202)

    @v1.get("/connectors/{ident}", response_model=ConnectorShown, operation_id="getConnector",
            tags=["connectors"], responses={200: {"links": SHOWN_CONNECTOR, "headers": ETAG}})  # fmt: skip
    def connector(ident: str, who: Caller, response: Response) -> dict[str, object]:
        """`ident`: the id or a unique prefix of it (8 characters, as the CLI shows). `ETag`:
        its version, for a PATCH's `If-Match`."""
        return shown("connector", ident, who, response)

    @v1.patch("/connectors/{ident}", response_model=Connector, operation_id="updateConnector",
              tags=["connectors"], responses=changed_answers(Connector))  # fmt: skip
    def change_connector(ident: str, body: Change, who: Caller, response: Response,
                         if_match: IfMatch = None) -> ConnectorView | LinkView:  # fmt: skip
        """`bandwidth_mbps`, `prefixes` (the whole new list): changed in place (202,
        `modifying` until the workers end it `active`: changed, or at the old values with
        `change.reason`); `description`: stored (200). Refused before anything changes when it cannot be done (409, 422); with
        `If-Match`, when it changed since read (412)."""
        return changed("connector", ident, body, who, response, if_match)

    @v1.get("/connectors/{ident}/placement", response_model=Placement, operation_id="getPlacement",
            tags=["connectors"])  # fmt: skip
    def connector_placement(ident: str, who: Caller) -> Placement:
        """Why the Connector is on its PE: every candidate port when it was created, which
        was chosen, why the others were not (an admin key: with scores, their terms and the
        routers' health as read then)."""
        found = svc.connector(ident, who.tenant)  # another tenant's: as absent as any
        return placement.view(svc.store, found, admin=who.admin)

    # documented whatever the delete refuses today: a state that cannot be left, Links alive
    REFUSED: dict[int | str, dict[str, Any]] = {409: {"model": ErrorBody, "description":
        "refused by the state (e.g. live Links still hold the Connector)"}}  # fmt: skip

    @v1.delete("/connectors/{ident}", status_code=202, response_model=Connector,
               operation_id="deleteConnector", tags=["connectors"], responses=REFUSED)  # fmt: skip
    def delete_connector(ident: str, who: Caller) -> ConnectorView | LinkView:
        """Asynchronous: the Connector answered `decommissioning`, readable until the workers
        have removed it."""
        return taken_away("connector", ident, who)

    @v1.get("/links", response_model=LinkPage, operation_id="listLinks", tags=["links"],
            responses={200: {"links": LISTED_LINKS}})  # fmt: skip
    def links(who: Caller, limit: Limit = 50, after: UUID | None = None) -> Response:
        return as_json(page(svc.links(who.tenant, limit + 1, _s(after)), limit))

    @v1.post("/links", status_code=202, response_model=Link, operation_id="createLink",
             tags=["links"], responses={**CONFLICT, 202: {"links": LINK_LINKS}})  # fmt: skip
    def order_link(
        body: LinkOrder,  # type: ignore[valid-type]
        who: Caller,
        idempotency_key: IdempotencyKey = None,
    ) -> Response:
        data = order(body, who, idempotency_key)
        for end in ("a", "b"):  # another tenant's Connector is as absent as any
            find("connector", data[end], who)
        return as_json(svc.create_link(svc.link_request(data)), 202)

    @v1.get("/links/{ident}", response_model=LinkShown, operation_id="getLink", tags=["links"],
            responses={200: {"links": SHOWN_LINK, "headers": ETAG}})  # fmt: skip
    def link(ident: str, who: Caller, response: Response) -> dict[str, object]:
        return shown("link", ident, who, response)

    @v1.patch("/links/{ident}", response_model=Link, operation_id="updateLink", tags=["links"],
              responses=changed_answers(Link))  # fmt: skip
    def change_link(ident: str, body: Change, who: Caller, response: Response,
                    if_match: IfMatch = None) -> ConnectorView | LinkView:  # fmt: skip
        """As PATCH /v1/connectors/{ident}: a Link is at most as fast as its slower end."""
        return changed("link", ident, body, who, response, if_match)

    @v1.delete("/links/{ident}", status_code=202, response_model=Link, operation_id="deleteLink",
               tags=["links"], responses=REFUSED)  # fmt: skip
    def delete_link(ident: str, who: Caller) -> ConnectorView | LinkView:
        """Asynchronous: the Link answered `decommissioning`, readable until the workers have
        removed it."""
        return taken_away("link", ident, who)

    Hours = Annotated[float, Query(gt=0, le=24 * 93)]  # up to a quarter
    # ASCII digits, years 1970-2999: datetime cannot hold year 0 or the month after 9999-12
    MONTH = r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$"

    @v1.get("/links/{ident}/kpis", response_model=LinkKpis, operation_id="getLinkKpis",
            tags=["monitoring"])  # fmt: skip
    def link_kpis(
        ident: str,
        who: Caller,
        hours: Hours = 24.0,
        month: Annotated[str | None, Query(pattern=MONTH)] = None,
    ) -> LinkKpis:
        """Loss, latency and jitter per window over the last `hours` (or a calendar month,
        `YYYY-MM`, UTC: its availability), the SLA, breaches."""
        found = find("link", ident, who)
        if month is not None:
            start, end = monitor.month_bounds(*(int(x) for x in month.split("-")))
            return monitor.kpis(svc, found["id"], start, end)
        return monitor.kpis(svc, found["id"], now() - timedelta(hours=hours))

    @v1.get("/connectors/{ident}/traffic", response_model=ConnectorTraffic,
            operation_id="getConnectorTraffic", tags=["monitoring"])  # fmt: skip
    def connector_traffic(ident: str, who: Caller, hours: Hours = 24.0) -> dict[str, Any]:
        """Bitrates in and out per attachment over the last `hours`; BGP sessions' state."""
        found = find("connector", ident, who)
        return monitor.traffic(svc, found["id"], now() - timedelta(hours=hours))

    @v1.get("/connectors/{ident}/customer-config", response_model=CustomerConfigView,
            operation_id="getCustomerConfig", tags=["connectors"])  # fmt: skip
    def customer_config(
        ident: str,
        who: Caller,
        platform: CustomerPlatformName = "ios",
        interface: Annotated[str | None, Query(pattern=customer.PORT_NAME.pattern)] = None,
    ) -> CustomerConfigView:
        """What to configure on the customer's own router (enterprise Connectors): per
        attachment the VLAN(s), both addresses, the ASNs, MTU, the prefixes it may announce,
        and the BGP key, shown to the Connector's tenant (or an admin key) and recorded.
        `interface`: the router's port facing the cross-connect."""
        found = find("connector", ident, who)  # another tenant's: as absent as any
        actor = f"api:{who.tenant or 'admin'}:{who.key_id}"
        return svc.customer_config(found["id"], platform, actor, interface)

    @v1.get("/connectors/{ident}/customer-step", response_model=CustomerStep | None,
            operation_id="getCustomerStep", tags=["connectors"])  # fmt: skip
    def customer_step(ident: str, who: Caller, reveal: bool = False) -> CustomerStep | None:
        """What the customer makes at its provider on what we allocated (an AWS hosted
        connection: accept it, then the VIF with these parameters); `reveal`: with the BGP
        key, shown to the Connector's tenant (or an admin key) and recorded. null: nothing."""
        found = find("connector", ident, who)
        actor = f"api:{who.tenant or 'admin'}:{who.key_id}"
        return svc.customer_step(found["id"], reveal_by=actor if reveal else None)

    Provider = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,31}$")]

    @v1.get("/tenants/me/delegations", response_model=list[DelegationView],
            operation_id="listDelegations", tags=["delegations"])  # fmt: skip
    def delegations(who: Caller, tenant: str | None = None) -> list[DelegationView]:
        """The tenant's delegations: provider and account, never a secret."""
        return svc.delegations(tenant_of(who, tenant))

    @v1.put("/tenants/me/delegations/{provider}", response_model=DelegationView,
            operation_id="putDelegation", tags=["delegations"], responses=CONFLICT)  # fmt: skip
    def delegate(provider: Provider, body: Annotated[Delegation, Body(examples=[DELEGATION_EXAMPLE])],
                 who: Caller,
                 tenant: str | None = None) -> DelegationView:  # fmt: skip
        """Credentials for onramp to do the customer's part in its account (AWS: accept and
        create the VIF; Azure: create the ExpressRoute circuit). Stored encrypted, never
        shown again; replaces the tenant's earlier one for the provider."""
        if body.provider != provider:
            raise OnrampError("ONR-REQ-008", f"the body is for {body.provider}, the path "
                              f"for {provider}", field="provider")  # fmt: skip
        owner = tenant_of(who, tenant)
        return svc.delegate(owner, body, f"api:{who.tenant or 'admin'}:{who.key_id}")

    @v1.delete("/tenants/me/delegations/{provider}", response_model=DelegationView,
               operation_id="deleteDelegation", tags=["delegations"])  # fmt: skip
    def revoke(provider: Provider, who: Caller, tenant: str | None = None) -> DelegationView:
        """Forget the credentials: nothing more is done in the tenant's account."""
        owner = tenant_of(who, tenant)
        return svc.revoke_delegation(owner, provider, f"api:{who.tenant or 'admin'}:{who.key_id}")

    @app.get("/metrics", include_in_schema=False)
    def metrics(who: Caller) -> Response:
        """Prometheus exposition (an admin key: every tenant's, labelled by tenant)."""
        if not who.admin:
            raise OnrampError("ONR-API-002", "metrics cover every tenant: use an admin key")
        body, kind = monitor.exposition(svc)
        return Response(body, media_type=kind)

    def engineers(who: Principal) -> None:
        if not who.admin:
            raise OnrampError("ONR-API-002", "compliance covers every router: use an admin key")

    def newest() -> ComplianceRun:
        report = compliance.latest(svc)
        if report is None:
            raise OnrampError("ONR-COMP-002", "no run stored")
        return report

    @v1.get("/compliance", response_model=ComplianceReport, operation_id="getCompliance",
            tags=["engineers"])  # fmt: skip
    def compliance_report(who: Caller) -> ComplianceRun:
        """The newest compliance run (engineers: an admin key)."""
        engineers(who)
        return newest()

    # a page, but its refusals are JSON like every other: the 200 is declared by hand
    @v1.get("/compliance/report.html", response_class=Response, operation_id="getComplianceHtml",
            tags=["engineers"], responses={200: {
        "description": "the report as HTML",
        "content": {"text/html": {"schema": {"type": "string"}}}}})  # fmt: skip
    def compliance_page(who: Caller) -> HTMLResponse:
        """The newest compliance run as a page: per router and feature, with the lines."""
        engineers(who)
        page = compliance.html(newest())
        return HTMLResponse(page, headers={"Content-Security-Policy": page_policy(page)})

    @v1.get("/topology", response_model=BackboneView, operation_id="getTopology",
            tags=["engineers"])  # fmt: skip
    def backbone(who: Caller) -> BackboneView:
        """The backbone as last read from the network (engineers: an admin key): routers,
        IS-IS adjacencies and metrics, overload bit, health, load, each router marked."""
        if not who.admin:
            raise OnrampError("ONR-API-002", "the backbone is the engineers': use an admin key")
        topo = topology.cached(svc.settings)  # never read here: the workers keep it fresh
        if topo is None:
            raise OnrampError("ONR-TOPO-001", f"no {svc.settings.topology_cache}")
        return topology.marked(topo, svc.backbone)

    @v1.get("/tickets", response_model=list[Ticket], operation_id="listTickets", tags=["tickets"])
    def tickets(who: Caller, everything: Annotated[bool, Query(alias="all")] = False
                ) -> list[TicketView]:  # fmt: skip
        """Requests to providers that take tickets, waiting for their answer (all: answered
        ones too); a tenant's key sees those made for its Connectors."""
        return stored_tickets(svc.store, open_only=not everything, tenant=who.tenant)

    @v1.get("/tickets/{ident}", response_model=Ticket, operation_id="getTicket", tags=["tickets"])
    def ticket(ident: str, who: Caller) -> TicketView:
        return ticket_of(ident, who)

    @v1.post("/tickets/{ident}/answer", response_model=Ticket, operation_id="answerTicket",
             tags=["tickets"], responses=CONFLICT)  # fmt: skip
    def answer(ident: str, body: TicketAnswer, who: Caller) -> TicketView:
        """Engineers (admin keys) record the provider's answer; the Connector goes on."""
        if not who.admin:
            raise OnrampError("ONR-API-002", "only an admin key records a provider's answer")
        found = ticket_of(ident, who)
        return manual.answer(svc.store, found["id"], body.accepted, body.provider_ref,
                             body.note, by=f"api:{who.key_id}")  # fmt: skip

    def ticket_of(ident: str, who: Principal) -> TicketView:
        found = (stored_tickets(svc.store, open_only=False, tenant=who.tenant, prefix=ident)
                 if len(ident) >= 4 else [])  # fmt: skip
        if len(found) != 1:  # another tenant's is as absent as any
            raise OnrampError("ONR-REQ-011", f"ticket {ident}")
        return found[0]

    def order(body: Any, who: Principal, idempotency_key: str | None) -> dict[str, Any]:
        data: dict[str, Any] = body.model_dump(mode="json", exclude_none=True)
        data["tenant"] = tenant_of(who, data.get("tenant"))
        data["idempotency_key"] = idempotency_key
        return data

    def find(kind: str, ident: str, who: Principal) -> ConnectorView | LinkView:
        # looked for among the key's tenant's only: another's is absent, down to the query
        return svc.view(kind, ident, who.tenant)

    def shown(kind: str, ident: str, who: Principal, response: Response) -> dict[str, object]:
        item = find(kind, ident, who)
        response.headers["ETag"] = etag(item)
        shown: dict[str, object] = {**item, "history": orch.history(kind, item["id"])}
        if kind == "connector":
            shown["customer_step"] = svc.customer_step(item["id"])
        return shown

    def changed(kind: str, ident: str, body: Change, who: Principal,
                response: Response, if_match: str | None) -> ConnectorView | LinkView:  # fmt: skip
        item = find(kind, ident, who)  # another tenant's is as absent as any
        done = svc.change(kind, item["id"], body.model_dump(mode="json", exclude_none=True),
                          f"api:{who.tenant or 'admin'}:{who.key_id}", who.tenant, if_match)  # fmt: skip
        response.headers["ETag"] = etag(done)
        if done["state"] == State.MODIFYING:
            response.status_code = 202
        return done

    def taken_away(kind: str, ident: str, who: Principal) -> ConnectorView | LinkView:
        item = find(kind, ident, who)  # another tenant's: absent
        # marked, and handed to the workers; answered with the state it was left in
        delete = svc.delete_connector if kind == "connector" else svc.delete_link
        return delete(item["id"], "api")

    v1.include_router(webhook_routes.router(svc, Caller))
    app.include_router(v1)
    return app


def as_json(data: object, status: int = 200) -> Response:
    """Views that are their model's JSON already (views.connector_view, link_view), sent
    as they are: through the route's response_model FastAPI would validate and dump them a
    second time, most of a page's cost (the routes keep the model for the document).
    Written by pydantic_core: JSONResponse's json.dumps cost 0.5 ms of a page, 4 times as
    much, for the same bytes (these views hold no floats; tests/api/test_pages.py)."""
    return Response(to_json(data), status_code=status, media_type="application/json")


def _s(x: UUID | None) -> str | None:
    return None if x is None else str(x)


@contextmanager
def serve_in_thread(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """`app` on uvicorn in a thread of this process, on a free port; yields its URL and
    stops the server on exit (the demo, the tests)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="onramp-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    if not server.started:
        raise OnrampError("ONR-API-005", f"the API did not start on {host}")
    try:
        yield f"http://{host}:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
