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
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.exceptions import HTTPException as StarletteHTTPException

from onramp.api import keys as apikeys
from onramp.api.keys import Principal
from onramp.core.errors import Code, OnrampError
from onramp.core.model import Connector, ConnectorRequest, Link, LinkRequest, Onramp, State
from onramp.core.shapes import ComplianceRun, ConnectorView, LinkKpis, LinkView, TicketView
from onramp.core.store import now
from onramp.csp.manual import adapter as manual
from onramp.flow import compliance, monitor
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service, Submit

View = TypeVar("View", ConnectorView, LinkView)
PORTAL = Path(__file__).parent / "portal" / "index.html"
log = logging.getLogger(__name__)


def _order_model(name: str, request: type[BaseModel]) -> type[BaseModel]:
    """The request as a customer sends it: no tenant (the key says whose it is; an admin
    key names one), no idempotency key (a header)."""
    fields: dict[str, Any] = {
        n: (f.annotation, f)
        for n, f in request.model_fields.items()
        if n not in ("tenant", "idempotency_key")
    }
    fields["tenant"] = (str | None, None)
    return create_model(name, __config__=ConfigDict(extra="forbid"), **fields)


ConnectorOrder = _order_model("ConnectorOrder", ConnectorRequest)
LinkOrder = _order_model("LinkOrder", LinkRequest)


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


class LinkShown(Link):
    history: list[Transition]


class TicketAnswer(BaseModel):
    """What the provider answered, as the engineer recorded it."""

    model_config = ConfigDict(extra="forbid")
    accepted: bool
    provider_ref: str = Field("", max_length=128)
    note: str = Field("", max_length=1000)


class AnswerShown(TicketAnswer):
    model_config = ConfigDict(extra="ignore")  # the engineer's name and the history stay in
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

_STATUS = {"ONR-REQ-011": 404, "ONR-CSP-007": 409, "ONR-COMP-002": 404, "ONR-REQ-013": 404, "ONR-API-001": 401, "ONR-API-002": 403,
           "ONR-API-003": 429, "ONR-API-004": 413, "ONR-STORE-001": 503}  # fmt: skip
MAX_BODY = 64 * 1024  # an order is a few hundred bytes


class RateLimit:
    """A token bucket per key: `rate` requests a second on average, bursts of `burst`."""

    def __init__(self, rate: float = 20.0, burst: int = 40) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key_id: str) -> float:
        """0 if the request may go; else the seconds until it may."""
        with self._lock:
            tokens, at = self._buckets.get(key_id, (float(self.burst), time.monotonic()))
            t = time.monotonic()
            tokens = min(float(self.burst), tokens + (t - at) * self.rate)
            if tokens < 1:
                self._buckets[key_id] = (tokens, t)
                return (1 - tokens) / self.rate
            self._buckets[key_id] = (tokens - 1, t)
            return 0.0


_BY_FAMILY = {"ONR-REQ": 422, "ONR-ALLOC": 409, "ONR-PLAN": 409, "ONR-STATE": 409, "ONR-CSP": 502}


def status_of(code: str) -> int:
    return _STATUS.get(code) or _BY_FAMILY.get(code.rsplit("-", 1)[0], 500)


def create_app(svc: Service, submit: Submit, limit: RateLimit | None = None) -> FastAPI:
    app = FastAPI(title="onramp", version="1", docs_url="/v1/docs",
                  openapi_url="/v1/openapi.json")  # fmt: skip
    # the service hands what it stores to the workers (creates, decommissions), once committed
    svc = replace(svc, submit=submit)
    orch = Orchestrator(svc, {}, actor="api")  # marks decommissioning; workers do the rest
    bucket = limit or RateLimit()

    @app.middleware("http")
    async def body_limit(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        size = request.headers.get("content-length")
        if size and (not size.isdigit() or int(size) > MAX_BODY):
            err = OnrampError("ONR-API-004", f"{size} bytes; at most {MAX_BODY}")
            return JSONResponse({"error": err.as_dict()}, status_code=413)
        return await call_next(request)

    @app.exception_handler(OnrampError)
    async def onramp_error(_: Request, exc: OnrampError) -> JSONResponse:
        status = status_of(exc.code)
        headers = {"Retry-After": "1"} if status == 429 else None
        return JSONResponse({"error": exc.as_dict()}, status_code=status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        """FastAPI's own answers (unknown route, wrong method, a body it cannot decode) in
        the one error shape."""
        code: Code = "ONR-API-006" if exc.status_code in (404, 405) else "ONR-API-008"
        err = OnrampError(code, str(exc.detail))
        return JSONResponse({"error": err.as_dict()}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def crash(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error in the API")
        err = OnrampError("ONR-API-007", type(exc).__name__)  # never the message: it may hold data
        return JSONResponse({"error": err.as_dict()}, status_code=500)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ())[1:])
        err = OnrampError("ONR-REQ-008", str(first.get("msg", "invalid request")),
                          field=where or None)  # fmt: skip
        return JSONResponse({"error": err.as_dict()}, status_code=422)

    def caller(
        authorization: Annotated[str | None, Header()] = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> Principal:
        key = x_api_key or (authorization or "").removeprefix("Bearer ").strip()
        who = apikeys.principal(svc.store, key) if key else None
        if who is None:
            raise OnrampError("ONR-API-001", "no valid API key in the request")
        if wait := bucket.take(who.key_id):
            raise OnrampError("ONR-API-003", f"key {who.key_id}: retry in {wait:.1f} s")
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

    def visible(
        who: Principal, item: ConnectorView | LinkView, what: str
    ) -> ConnectorView | LinkView:
        if not who.admin and item["tenant"] != who.tenant:
            raise OnrampError("ONR-REQ-011", f"{what} {item['id']}")  # as if absent
        return item

    def page(items: list[View], limit: int) -> dict[str, object]:
        """`items`: up to limit + 1 rows; the one over says there is a next page."""
        chunk = items[:limit]
        return {"items": chunk, "next": chunk[-1]["id"] if len(items) > limit else None}

    Limit = Annotated[int, Query(ge=1, le=500)]
    IdempotencyKey = Annotated[str | None, Header(max_length=128)]

    @app.get("/", include_in_schema=False)
    def portal() -> HTMLResponse:
        """The customer Portal: one static page that only calls /v1 with the user's key."""
        return HTMLResponse(PORTAL.read_text())

    v1 = APIRouter(prefix="/v1", responses=ERRORS)
    CONFLICT: dict[int | str, dict[str, Any]] = {
        409: {"model": ErrorBody, "description": "refused by allocation or the state"}}  # fmt: skip

    @v1.get("/onramps")
    def onramps(who: Caller) -> list[Onramp]:
        """What can be ordered where, with the capacity left."""
        return svc.catalogue()

    @v1.get("/connectors", response_model=ConnectorPage)
    def connectors(who: Caller, limit: Limit = 50, after: UUID | None = None,
                   state: State | None = None) -> dict[str, object]:  # fmt: skip
        return page(svc.connectors(who.tenant, state, limit + 1, _s(after)), limit)

    @v1.post("/connectors", status_code=202, response_model=Connector, responses=CONFLICT)
    def order_connector(
        body: ConnectorOrder,  # type: ignore[valid-type]
        who: Caller,
        idempotency_key: IdempotencyKey = None,
    ) -> ConnectorView:
        return svc.create_connector(svc.connector_request(order(body, who, idempotency_key)))

    @v1.get("/connectors/{ident}", response_model=ConnectorShown)
    def connector(ident: str, who: Caller) -> dict[str, object]:
        """`ident`: the id or a unique prefix of it (8 characters, as the CLI shows)."""
        return shown("connector", ident, who)

    @v1.delete("/connectors/{ident}", status_code=202, response_model=Connector,
               responses=CONFLICT)  # fmt: skip
    def delete_connector(ident: str, who: Caller) -> ConnectorView | LinkView:
        return taken_away("connector", ident, who)

    @v1.get("/links", response_model=LinkPage)
    def links(who: Caller, limit: Limit = 50, after: UUID | None = None) -> dict[str, object]:
        return page(svc.links(who.tenant, limit + 1, _s(after)), limit)

    @v1.post("/links", status_code=202, response_model=Link, responses=CONFLICT)
    def order_link(
        body: LinkOrder,  # type: ignore[valid-type]
        who: Caller,
        idempotency_key: IdempotencyKey = None,
    ) -> LinkView:
        data = order(body, who, idempotency_key)
        for end in ("a", "b"):  # another tenant's Connector is as absent as any
            find("connector", data[end], who)
        return svc.create_link(svc.link_request(data))

    @v1.get("/links/{ident}", response_model=LinkShown)
    def link(ident: str, who: Caller) -> dict[str, object]:
        return shown("link", ident, who)

    @v1.delete("/links/{ident}", status_code=202, response_model=Link, responses=CONFLICT)
    def delete_link(ident: str, who: Caller) -> ConnectorView | LinkView:
        return taken_away("link", ident, who)

    Hours = Annotated[float, Query(gt=0, le=24 * 93)]  # up to a quarter

    @v1.get("/links/{ident}/kpis", response_model=LinkKpis)
    def link_kpis(
        ident: str,
        who: Caller,
        hours: Hours = 24.0,
        month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
    ) -> LinkKpis:
        """Loss, latency and jitter per window over the last `hours` (or a calendar month,
        `YYYY-MM`, UTC: its availability), the SLA, breaches."""
        found = find("link", ident, who)
        if month is not None:
            start, end = monitor.month_bounds(*(int(x) for x in month.split("-")))
            return monitor.kpis(svc, found["id"], start, end)
        return monitor.kpis(svc, found["id"], now() - timedelta(hours=hours))

    @v1.get("/connectors/{ident}/traffic", response_model=ConnectorTraffic)
    def connector_traffic(ident: str, who: Caller, hours: Hours = 24.0) -> dict[str, Any]:
        """Bitrates in and out per attachment over the last `hours`; BGP sessions' state."""
        found = find("connector", ident, who)
        return monitor.traffic(svc, found["id"], now() - timedelta(hours=hours))

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

    @v1.get("/compliance", response_model=ComplianceReport)
    def compliance_report(who: Caller) -> ComplianceRun:
        """The newest compliance run (engineers: an admin key)."""
        engineers(who)
        return newest()

    # a page, but its refusals are JSON like every other: the 200 is declared by hand
    @v1.get("/compliance/report.html", response_class=Response, responses={200: {
        "description": "the report as HTML",
        "content": {"text/html": {"schema": {"type": "string"}}}}})  # fmt: skip
    def compliance_page(who: Caller) -> HTMLResponse:
        """The newest compliance run as a page: per router and feature, with the lines."""
        engineers(who)
        return HTMLResponse(compliance.html(newest()))

    @v1.get("/tickets", response_model=list[Ticket])
    def tickets(who: Caller, everything: Annotated[bool, Query(alias="all")] = False
                ) -> list[TicketView]:  # fmt: skip
        """Requests to providers that take tickets, waiting for their answer (all: answered
        ones too); a tenant's key sees those made for its Connectors."""
        return manual.tickets(svc.store, open_only=not everything, tenant=who.tenant)

    @v1.get("/tickets/{ident}", response_model=Ticket)
    def ticket(ident: str, who: Caller) -> TicketView:
        return ticket_of(ident, who)

    @v1.post("/tickets/{ident}/answer", response_model=Ticket, responses=CONFLICT)
    def answer(ident: str, body: TicketAnswer, who: Caller) -> TicketView:
        """Engineers (admin keys) record the provider's answer; the Connector goes on."""
        if not who.admin:
            raise OnrampError("ONR-API-002", "only an admin key records a provider's answer")
        found = ticket_of(ident, who)
        return manual.answer(svc.store, found["id"], body.accepted, body.provider_ref,
                             body.note, by=f"api:{who.key_id}")  # fmt: skip

    def ticket_of(ident: str, who: Principal) -> TicketView:
        found = (manual.tickets(svc.store, open_only=False, tenant=who.tenant, prefix=ident)
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
        return visible(who, svc.view(kind, ident), kind)

    def shown(kind: str, ident: str, who: Principal) -> dict[str, object]:
        item = find(kind, ident, who)
        return {**item, "history": orch.history(kind, item["id"])}

    def taken_away(kind: str, ident: str, who: Principal) -> ConnectorView | LinkView:
        item = find(kind, ident, who)
        orch.decommission(kind, item["id"])  # and handed to the workers
        return find(kind, item["id"], who)

    app.include_router(v1)
    return app


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
