"""What the service core answers without writing, read through SQLAlchemy Core.

`Reader` is the service core's reading half: `Service` (onramp.flow.service) is a Reader
that also writes. Each read here selects from onramp.core.tables and returns the same
shapes (onramp.core.shapes) the ORM's rows gave, without importing the ORM or what
allocates and renders: a read-only CLI command opens a Reader alone (issue 23 item 6:
the ORM's import and mapping were a quarter of such a command's CPU).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import InitVar, dataclass
from datetime import UTC, datetime
from functools import cache, cached_property
from itertools import groupby
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Self, cast

from sqlalchemy import (
    Integer,
    Select,
    String,
    Table,
    bindparam,
    func,
    literal,
    select,
    true,
    tuple_,
)

from onramp.core import tables
from onramp.core.engine import Store
from onramp.core.secrets import Vault
from onramp.core.settings import Settings
from onramp.core.tables import now
from onramp.flow.views import connector_view, link_view
from onramp.network import templates

if TYPE_CHECKING:
    from onramp.core.shapes import (
        ConnectorView,
        LeaseHeld,
        LinkView,
        OnrampView,
        RouterLockHeld,
        WorkerStatus,
    )
    from onramp.core.store import AttachmentRow, ConnectorRow, LinkRow
    from onramp.network.inventory import Backbone

Submit = Callable[[str, str], None]  # ("connector" | "link", id): ask the workers


@dataclass
class Reader:
    settings: Settings
    store: Store
    # the inventory when the caller has read it (tests, a dry run); None: read on first use
    inventory: InitVar[Backbone | None]
    vault: Vault
    submit: Submit | None = None  # None: nobody to tell (tests, dry runs); the sweep finds it

    def __post_init__(self, inventory: Backbone | None) -> None:
        if inventory is not None:
            self.__dict__["backbone"] = inventory  # what `backbone` would have read

    @cached_property
    def backbone(self) -> Backbone:
        """The inventory, read and checked when a method first needs it: a read that shows
        none of it (tenants, tickets, the workers' leases, a list with no row) neither
        imports its models nor reads its files or Nautobot (~0.02 s of a read-only command's
        ~0.28: issue 23 item 6). A broken inventory fails there, with its findings."""
        from onramp.network.inventory.source import load_source

        return load_source(self.settings)

    @classmethod
    def open(cls, settings: Settings, submit: Submit | None = None) -> Self:
        templates.use_overrides(settings.template_overrides)  # the project's, then built-in
        store = Store(settings.resolved_store_url())
        store.migrate()  # idempotent: a new database gets its schema, an old one its upgrades
        return cls(settings, store, None, Vault(settings.secret_key_path), submit)

    def tenants(self) -> list[dict[str, str]]:
        t = tables.tenants.c
        with self.store.rows() as conn:
            return [{"id": r.id, "name": r.name}
                    for r in conn.execute(select(t.id, t.name).order_by(t.id))]  # fmt: skip

    def catalogue(self) -> list[OnrampView]:
        from onramp.csp.constraints import for_provider  # the providers' data: this read's

        u = tables.port_usage.c
        with self.store.rows() as conn:
            usage = {(r.router, r.port): r.used_mbps
                     for r in conn.execute(select(u.router, u.port, u.used_mbps))}  # fmt: skip
        out: list[OnrampView] = []
        for oid, o in self.backbone.catalogue.onramps.items():
            ports = [
                (r, next(p for p in r.onramp_ports if p.name == n))
                for r, n in self.backbone.ports_of(oid)
            ]
            out.append(
                {
                    "id": oid,
                    "provider": o.provider,
                    "pop": o.pop,
                    "description": o.description,
                    "kinds": list(for_provider(o.provider).kinds),
                    "ports": [f"{r.name}:{p.name}" for r, p in ports],
                    "capacity_mbps": sum(p.speed_mbps for _, p in ports),
                    "used_mbps": sum(usage.get((r.name, p.name), 0) for r, p in ports),
                }
            )
        return out

    def connectors(
        self,
        tenant: str | None = None,
        state: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[ConnectorView]:
        """Oldest first; `limit` and `after` (the last id of the previous page) page them."""
        with self.store.rows() as conn:
            values = {"tenant": tenant, "state": state, "limit": limit, "after": after}
            lateral = self.store.engine.dialect.name != "sqlite"  # SQLite has no LATERAL
            shape = (bool(tenant), bool(state), bool(limit), after is not None, lateral)
            rows = conn.execute(_connector_page(*shape), values).all()
        # a Connector's rows are consecutive, one per attachment (one with none, `role`
        # NULL, for one that holds none); a joined row has the attachment's columns under
        # their own names, as the mapped class does
        views: list[ConnectorView] = []
        for _, group in groupby(rows, attrgetter("id")):
            first, *more = group
            legs = [first, *more] if first.role is not None else []
            views.append(connector_view(cast("ConnectorRow", first), self.backbone,
                                        cast("list[AttachmentRow]", legs)))  # fmt: skip
        return views

    def links(
        self, tenant: str | None = None, limit: int | None = None, after: str | None = None
    ) -> list[LinkView]:
        q = select(tables.links)
        if tenant:
            q = q.where(tables.links.c.tenant_id == tenant)
        paged = _page(q, tables.links, bool(limit), after is not None)
        with self.store.rows() as conn:
            rows = conn.execute(paged, {"limit": limit, "after": after}).all()
        return [link_view(cast("LinkRow", r), self.backbone) for r in rows]

    def worker_status(self) -> WorkerStatus:
        """Who holds what: every unfinished Connector and Link (its lease, last heartbeat,
        failed tries, backoff) and every router lock. Here, not beside the workers: a read
        of the store that `onramp worker status` runs without loading Nornir (issue 23)."""
        from onramp.core.model import SETTLED, Kind, State  # the models: the reads that use them

        at = now()

        def left(until: Any) -> float | None:
            return None if until is None else round((until - at).total_seconds(), 1)

        work: list[LeaseHeld] = []
        unfinished = [x.value for x in State if x not in SETTLED]
        locks = tables.router_locks.c
        with self.store.rows() as conn:
            for kind, table in ((Kind.CONNECTOR, tables.connectors), (Kind.LINK, tables.links)):
                c = table.c
                q = select(table).where(c.state.in_(unfinished)).order_by(c.created_at)
                for row in conn.execute(q):
                    work.append({
                        "kind": kind.value, "id": row.id, "state": row.state,
                        "owner": row.lease_owner, "lease_left_s": left(row.lease_until),
                        "heartbeat_at": row.heartbeat_at.isoformat() if row.heartbeat_at else None,
                        "attempts": row.attempts,
                        "retry_in_s": left(row.retry_at) if row.retry_at and row.retry_at > at
                        else None,
                        "reason": row.reason})  # fmt: skip
            held: list[RouterLockHeld] = [
                {"router": r.router, "owner": r.owner, "left_s": left(r.until) or 0.0}
                for r in conn.execute(select(tables.router_locks).order_by(locks.router))
            ]
        return {"at": at.isoformat(), "work": work, "router_locks": held}


def _page(q: Select[Any], table: Table, limit: bool, after: bool) -> Select[Any]:
    """Keyset paging: oldest first by (created_at, id), from just after the row whose id
    is bound as `after` (from the first when there is no such row), at most `limit` rows
    (bound as `limit`); the database does the work (an offset would read every row before
    the page). Values are bound, never written in: one statement text for every page,
    which PostgreSQL's driver prepares once."""
    keys = table.c
    if after:
        last = bindparam("after", type_=String)
        # the row it follows, read by the same statement (a round trip less): its time
        # when it is there, else one before every row's
        at = select(keys.created_at).where(keys.id == last).scalar_subquery()
        since = func.coalesce(at, literal(BEFORE_ALL, keys.created_at.type))
        # a row value: both SQLite and PostgreSQL walk the page index from there
        q = q.where(tuple_(keys.created_at, keys.id) > tuple_(since, last))
    q = q.order_by(keys.created_at, keys.id)
    return q.limit(bindparam("limit", type_=Integer)) if limit else q


BEFORE_ALL = datetime(1, 1, 1, tzinfo=UTC)


@cache
def _connector_page(
    tenant: bool, state: bool, limit: bool, after: bool, lateral: bool
) -> Select[Any]:
    """A page of Connectors with their attachments, one row per attachment (one for a
    Connector with none), in one statement built once per shape: building it cost a fifth
    of a page. Values bound: `tenant`, `state`, and `_page`'s. `lateral`: the store reads
    a Connector's attachments by its own lookup (PostgreSQL; SQLite has no LATERAL, and its
    planner looks them up so anyway)."""
    c = tables.connectors.c
    # what a view shows, no more: each datetime and JSON column costs a parse per row
    q = select(c.id, c.tenant_id, c.onramp, c.kind, c.state, c.bandwidth_mbps, c.number,
               c.local_asn, c.peer_asn, c.mtu, c.md5_key.is_not(None).label("md5_key"),
               c.request, c.created_at, c.csp_resource, c.reason, c.change)  # fmt: skip
    if tenant:
        q = q.where(c.tenant_id == bindparam("tenant", type_=String))
    if state:
        q = q.where(c.state == bindparam("state", type_=String))
    # the attachments joined, not read by a list of the page's ids: that was a second
    # round trip and a statement of 51 parameters, past what psycopg caches
    paged = _page(q, tables.connectors, limit, after).subquery("paged")
    a = tables.attachments.c
    if lateral:
        # PostgreSQL, with the tables' statistics, hashed every attachment to join a page
        # (a scan of the table: 1.1 ms of 1.45 at 10,000, growing with it) where 51 index
        # lookups take 0.1 ms; a LATERAL with an ORDER BY is never flattened into a join:
        # one lookup per Connector, whatever the statistics or the limit
        each = (select(a.id, a.role, a.router, a.port, a.vlan, a.inner_vlan, a.subnet,
                       a.local_address, a.peer_address)
                .where(a.connector_id == paged.c.id).order_by(a.id).lateral("legs"))  # fmt: skip
        legs, joined = each.c, paged.outerjoin(each, true())
    else:
        legs, joined = a, paged.outerjoin(tables.attachments, a.connector_id == paged.c.id)
    return (select(paged, legs.role, legs.router, legs.port, legs.vlan, legs.inner_vlan,
                   legs.subnet, legs.local_address, legs.peer_address)
            .select_from(joined)
            .order_by(paged.c.created_at, paged.c.id, legs.id))  # fmt: skip
