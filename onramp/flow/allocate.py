"""Choose the edge and allocate what a Connector or Link needs, in one transaction.

Every resource is a numbered value in a scope (`vlan:<router>:<port>`,
`subnet:<router>:<pool>`, `vrf`, `link`, `asn:<provider>`), held as a row of
`allocations` whose primary key makes two holders impossible. A value is chosen as:
the lowest released one, else one past the highest held, else the lowest gap; all
index lookups, so the cost does not grow with the number of Connectors. A concurrent
transaction that took the same value makes the insert fail: the whole transaction is
retried on fresh data (Store.transact), or, for a value the user asked for, refused.

`plan_*` runs exactly the same code and rolls back: a plan is what a commit would do now.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from ipaddress import IPv4Network
from typing import Any, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    bindparam,
    delete,
    exists,
    func,
    literal,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from onramp.core.errors import OnrampError
from onramp.core.model import (
    LEAVING,
    RELEASED_STATES,
    ConnectorRequest,
    Kind,
    LinkRequest,
    State,
)
from onramp.core.secrets import Vault, new_bgp_key
from onramp.core.settings import EdgeWeights
from onramp.core.shapes import (
    ConnectorPlan,
    ConnectorView,
    EdgeChoice,
    LinkView,
    Released,
    TopologyView,
)
from onramp.core.store import (
    ROWS,
    AllocationRow,
    AttachmentRow,
    Conflict,
    ConnectorRow,
    LinkRow,
    PortUsageRow,
    ReleasedRow,
    RouterStateRow,
    Rows,
    Store,
    TenantRow,
    WebhookRow,
    keep_webhooks,
    move,
    now,
    values_of,
)
from onramp.csp.constraints import Constraints
from onramp.flow import edges, placement, request
from onramp.flow.views import connector_view, link_view
from onramp.network.inventory import Backbone
from onramp.network.inventory.schema import Router
from onramp.network.platforms import refuse_undeployable, undeployable

T = TypeVar("T")
NUMBERS = (1, 999_999)
# tables for Core statements: plain rows, no ORM identity map kept in step
_HELD, _GIVEN_BACK, _USAGE = AllocationRow.__table__, ReleasedRow.__table__, PortUsageRow.__table__
_CONNECTORS, _ATTACHMENTS = (
    ConnectorRow.__table__,
    AttachmentRow.__table__,
)
ATTEMPTS = 64  # values tried within one transaction before starting it again  # VRF numbers (RD <loopback>:n) and Link numbers (RT <asn>:n)


class _Rollback(Exception):
    """Carries a plan out of a transaction that must not commit."""

    def __init__(self, value: Any) -> None:
        self.value = value


# ------------------------------------------------------------------ values in scopes


def take(
    s: Session, scope: str, lo: int, hi: int, owner: str, want: int | None = None
) -> int | None:
    """Hold one value of [lo, hi] in `scope` for `owner`; None when the scope is full."""
    if want is not None:
        if not _insert(s, scope, want, owner):
            raise OnrampError(
                "ONR-ALLOC-006", f"{want} in {scope} is held by another service", field="vlan"
            )
        return want
    # the common case in one statement: nothing released, room past the highest
    stmt = _next_of(s.get_bind().dialect.name, 1)
    held = s.execute(stmt, {"scope0": scope, "lo0": lo, "hi0": hi, "owner": owner}).first()
    if held is not None:
        return int(held.value)
    for _ in range(ATTEMPTS):
        # each statement sees what concurrent transactions committed meanwhile (READ
        # COMMITTED; SQLite serializes writers), so a lost race moves on to the next value
        candidate = _released(s, scope, lo, hi)
        if candidate is None:
            candidate = _past_highest(s, scope, lo, hi)
        if candidate is None:
            candidate = _lowest_gap(s, scope, lo, hi)
        if candidate is None:
            return None
        if _insert(s, scope, candidate, owner):
            return candidate
    raise Conflict(f"{scope}: {ATTEMPTS} values taken under us")


Want = tuple[str, int, int]  # a scope and the range of its values: (scope, lo, hi)


def take_many(
    s: Session, wants: Sequence[Want], owner: str, port: tuple[Candidate, int] | None = None
) -> list[int | None] | None:
    """`take` of each (scope, lo, hi) in turn, for `owner`; None where a scope is full. The
    common case of every distinct scope (nothing released, room past the highest) in one
    statement: a create's VLAN, subnet and VRF number were a round trip each (issue 23);
    what it could not take, and a scope named twice, go through `take` after it.
    `port`: (a candidate, Mb/s) reserved first (`_reserve_bandwidth`), the values taken only
    if it was; None back if it was not. On PostgreSQL in the same statement, the
    reservation an INSERT in its WITH: a create's round trip less (issue 23)."""
    dialect = s.get_bind().dialect.name
    first = {w[0]: i for i, w in reversed(list(enumerate(wants)))}  # scope -> its first index
    batch = [wants[i] for i in sorted(first.values())]
    if port is not None and (dialect != "postgresql" or not batch):  # SQLite: no INSERT in a WITH
        if not _reserve_bandwidth(s, *port):
            return None
        port = None
    params = _bound(batch, owner)
    if port is not None:
        params |= _reserving(*port)
    got: dict[str, int] = {}
    if batch:
        rows = s.execute(_next_of(dialect, len(batch), port is not None), params).all()
        if port is not None and all(value is not None for _, value in rows):
            return None  # no row without a value: the port was not reserved, nothing taken
        got = {scope: int(value) for scope, value in rows if value is not None}
        missed = [w for w in batch if w[0] not in got]
        if port is not None and missed:
            # read as of the statement's start: a create that held the port until then took
            # values it could not see. Once more now, as a reservation on its own was followed
            got |= {scope: int(value) for scope, value in s.execute(
                _next_of(dialect, len(missed)), _bound(missed, owner))}  # fmt: skip
    out: list[int | None] = []
    for i, (scope, lo, hi) in enumerate(wants):
        out.append(
            got[scope] if first[scope] == i and scope in got else take(s, scope, lo, hi, owner)
        )
    return out


def _bound(batch: Sequence[Want], owner: str) -> dict[str, Any]:
    """`_next_of`'s parameters."""
    params: dict[str, Any] = {"owner": owner}
    for i, (scope, lo, hi) in enumerate(batch):
        params |= {f"scope{i}": scope, f"lo{i}": lo, f"hi{i}": hi}
    return params


@cache
def _next_of(dialect: str, n: int, reserving: bool = False) -> Any:
    """INSERT one past the highest held value of each of n scopes (bind parameters scope<i>,
    lo<i>, hi<i>, owner), where no value of it was given back (those come first: `take`'s
    loop) and the top is not reached; back come the (scope, value) it took, nothing for a
    scope it could not (then `take`'s loop decides: released, a gap, full, or a lost race).
    `reserving` (PostgreSQL): `_reserve`'s INSERT (its parameters) in the WITH, the values
    taken only if it reserved, and then a row (scope and value NULL) saying it did.
    Built once per dialect, count and kind: constructing it cost more Python than running it."""
    rows = [select(bindparam(f"scope{i}", type_=String).label("scope"),
                   bindparam(f"lo{i}", type_=BigInteger).label("lo"),
                   bindparam(f"hi{i}", type_=BigInteger).label("hi")) for i in range(n)]  # fmt: skip
    w = (rows[0] if n == 1 else union_all(*rows)).subquery("w")
    top = (
        select(func.coalesce(func.max(_HELD.c.value) + 1, w.c.lo))
        .where(_HELD.c.scope == w.c.scope, _HELD.c.value.between(w.c.lo, w.c.hi))
        .scalar_subquery()
    )
    given_back = exists().where(
        _GIVEN_BACK.c.scope == w.c.scope, _GIVEN_BACK.c.value.between(w.c.lo, w.c.hi)
    )
    free = select(w.c.scope, w.c.hi, top.label("value")).where(~given_back)
    reserved = _reserve(dialect).cte("reserved") if reserving else None
    if reserved is not None:
        free = free.where(exists().select_from(reserved))
    # each scope's top read once: written twice (the value and its bound) the planner read
    # it twice, as an inlined CTE would (EXPLAIN: two SubPlans a scope, each a scan)
    tops = free.cte("tops").prefix_with("MATERIALIZED")
    chosen = select(tops.c.scope, tops.c.value, bindparam("owner", type_=String)).where(
        tops.c.value <= tops.c.hi
    )
    insert = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert
    taking = (insert(_HELD).from_select(["scope", "value", "owner"], chosen)
              .on_conflict_do_nothing(index_elements=["scope", "value"])
              .returning(_HELD.c.scope, _HELD.c.value))  # fmt: skip
    if reserved is None:
        return taking
    taken = taking.cte("taken")
    said = select(null().cast(String), null().cast(_HELD.c.value.type)).select_from(reserved)
    return select(taken.c.scope, taken.c.value).union_all(said)


def _insert(s: Session, scope: str, value: int, owner: str) -> bool:
    """Hold `value` unless another holds it: one statement (ON CONFLICT DO NOTHING; a
    savepoint around a plain insert cost two more round trips per value)."""
    # the store's own dialect only: a SQLite store (the CLI's) never loads PostgreSQL's
    name = s.get_bind().dialect.name
    dialect = importlib.import_module(f"sqlalchemy.dialects.{name}")
    held = s.scalar(
        dialect.insert(AllocationRow)
        .values(scope=scope, value=value, owner=owner)
        .on_conflict_do_nothing(index_elements=["scope", "value"])
        .returning(AllocationRow.value)  # no row back: another holds it
    )
    return held is not None


def _released(s: Session, scope: str, lo: int, hi: int) -> int | None:
    value = s.scalar(
        select(func.min(ReleasedRow.value)).where(
            ReleasedRow.scope == scope, ReleasedRow.value.between(lo, hi)
        )
    )
    if value is not None:
        s.execute(delete(ReleasedRow).where(ReleasedRow.scope == scope, ReleasedRow.value == value))
    return value


def _past_highest(s: Session, scope: str, lo: int, hi: int) -> int | None:
    top = s.scalar(
        select(func.max(AllocationRow.value)).where(
            AllocationRow.scope == scope, AllocationRow.value.between(lo, hi)
        )
    )
    candidate = lo if top is None else top + 1
    return candidate if candidate <= hi else None


def _lowest_gap(s: Session, scope: str, lo: int, hi: int) -> int | None:
    # only reached when the top of the range is held: a full scan of this one scope
    held = s.scalars(
        select(AllocationRow.value)
        .where(AllocationRow.scope == scope, AllocationRow.value.between(lo, hi))
        .order_by(AllocationRow.value)
    )
    expected = lo
    for value in held:
        if value != expected:
            return expected
        expected += 1
    return expected if expected <= hi else None


def release_owner(s: Session, owner: str) -> list[tuple[str, int]]:
    """Give back every value `owner` holds; they become the first choice of their scope."""
    held = [
        (r.scope, r.value)
        for r in s.scalars(select(AllocationRow).where(AllocationRow.owner == owner))
    ]
    s.execute(delete(AllocationRow).where(AllocationRow.owner == owner))
    for scope, value in held:
        with s.begin_nested():
            s.merge(ReleasedRow(scope=scope, value=value))
    return held


# ------------------------------------------------------------------ edge choice


@dataclass(frozen=True)
class Candidate:
    router: str
    port: str
    speed_mbps: int
    vlan_lo: int
    vlan_hi: int
    role: str | None


@dataclass(frozen=True)
class Usage:
    """What `candidates` reads of the store: routers out of service, ports' usage rows."""

    out_of_service: frozenset[str]
    ports: dict[tuple[str, str], Any]


def tenant_and_usage(s: Session, bb: Backbone, tenant: str, onramp: str) -> tuple[bool, Usage]:
    """Whether `tenant` is there (its webhooks kept for the transaction's moves:
    store.tenant_webhooks), and the usage of `onramp`'s routers: a create's first
    statement, one round trip where it made two (issue 23)."""
    routers = sorted({r.name for r, _ in bb.ports_of(onramp)})
    found, hooks, out = False, [], set()
    ports: dict[tuple[str, str], Any] = {}
    for u in s.connection().execute(_FIRST_READ, {"tenant": tenant, "routers": routers}):
        if u.what == "tenant":
            found = True
            hooks += [u.port] if u.port is not None else []  # its webhooks, in that column
        elif u.port is None:
            out.add(u.router)
        else:
            ports[(u.router, u.port)] = u
    if found:
        keep_webhooks(s, tenant, hooks)
    return found, Usage(frozenset(out), ports)


def candidates(bb: Backbone, onramp: str, usage: Usage) -> list[Candidate]:
    """The on-ramp's ports on routers that are in service and can be deployed to safely
    (their platform: onramp.network.platforms), emptiest first."""
    unsafe = undeployable({r.name: r.platform for r, _ in bb.ports_of(onramp)})
    found = []
    for r, name in bb.ports_of(onramp):
        if r.state != "in-service" or r.name in usage.out_of_service or r.name in unsafe:
            continue
        port = next(p for p in r.onramp_ports if p.name == name)
        found.append(
            Candidate(r.name, name, port.speed_mbps, *port.vlan_range, port.redundancy_role)
        )

    def load(c: Candidate) -> tuple[float, int, str, str]:
        u = usage.ports.get((c.router, c.port))
        return (
            (u.used_mbps / c.speed_mbps) if u else 0.0,
            u.attachments if u else 0,
            c.router,
            c.port,
        )

    return sorted(found, key=load)


def _first_read() -> Any:
    """The tenant (:tenant) with its webhooks (in `port`; none: NULL), the routers
    (:routers) out of service (a row without port), and their ports' usage: one query,
    built once (three round trips, and building them cost more than running them)."""
    routers = bindparam("routers", type_=String, expanding=True)
    states = RouterStateRow.__table__.c
    tenants, hooks = TenantRow.__table__, WebhookRow.__table__
    # typed: PostgreSQL takes a UNION's column type from its first branch
    nothing = (null().cast(_USAGE.c.used_mbps.type).label("used_mbps"),
               null().cast(_USAGE.c.attachments.type).label("attachments"))  # fmt: skip
    return union_all(
        select(literal_column("'tenant'").label("what"), tenants.c.id.label("router"),
               hooks.c.id.label("port"), *nothing)
        .select_from(tenants.outerjoin(hooks, hooks.c.tenant_id == tenants.c.id))
        .where(tenants.c.id == bindparam("tenant", type_=String)),
        select(literal_column("'down'"), states.router, null(), *nothing)
        .where(states.router.in_(routers), states.state != "in-service"),
        select(literal_column("'usage'"), _USAGE.c.router, _USAGE.c.port, _USAGE.c.used_mbps,
               _USAGE.c.attachments).where(_USAGE.c.router.in_(routers)),
    )  # fmt: skip


_FIRST_READ = _first_read()


def _role(router: Router, port: str) -> str | None:
    return next(p.redundancy_role for p in router.onramp_ports if p.name == port)


def _reserve_bandwidth(s: Session, c: Candidate, mbps: int) -> bool:
    """Add `mbps` and one attachment to the port's usage (made at its first use) unless that
    passes its speed: one statement, atomic on both stores (PostgreSQL locks the row and
    checks the condition on its newest version; SQLite serializes writers)."""
    return s.execute(_reserve_statement(s), _reserving(c, mbps)).first() is not None


def _reserving(c: Candidate, mbps: int) -> dict[str, Any]:
    """`_reserve`'s parameters."""
    return {"router": c.router, "port": c.port, "mbps": mbps, "speed": c.speed_mbps}


@cache
def _reserve(dialect: str) -> Any:
    mbps, speed = bindparam("mbps", type_=Integer), bindparam("speed", type_=Integer)
    first = select(bindparam("router", type_=String), bindparam("port", type_=String), mbps,
                   literal(1, Integer)).where(mbps <= speed)  # fmt: skip
    insert = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert(_USAGE)
    return (insert.from_select(["router", "port", "used_mbps", "attachments"], first)
            .on_conflict_do_update(index_elements=["router", "port"], set_={
                "used_mbps": _USAGE.c.used_mbps + mbps, "attachments": _USAGE.c.attachments + 1},
                where=_USAGE.c.used_mbps + mbps <= speed)
            .returning(_USAGE.c.router))  # fmt: skip


def _reserve_statement(s: Session) -> Any:
    return _reserve(s.get_bind().dialect.name)


# ------------------------------------------------------------------ connectors


@dataclass
class EdgeContext:
    """The network's state for an edge choice (onramp.flow.topology) and, filled in by the
    choice, every candidate with its score or the reason it was excluded."""

    topo: TopologyView
    weights: EdgeWeights
    rrs: list[str]
    explain: list[EdgeChoice]


def _tenant_routers(s: Session, bb: Backbone, tenant: str, onramp: str) -> list[str]:
    """The PEs of the on-ramps where the tenant has live Connectors, this one's excepted:
    the far ends its Links will join, which the new leg wants to be near. Not this
    on-ramp's: they are the candidates themselves (cost 0 to their own PE), and counting
    them piled every order of an on-ramp onto its first one's PE (3 to 1 in the ted lab).
    By on-ramp, not by attachment: a distinct over the tenant's Connectors alone (no join
    to their legs) keeps a tenant with 10,000 of them at a few ms (bench/allocation.py)."""
    onramps = s.scalars(
        select(ConnectorRow.onramp)
        .distinct()
        .where(
            ConnectorRow.tenant_id == tenant,
            ConnectorRow.onramp != onramp,
            ConnectorRow.state.not_in([st.value for st in RELEASED_STATES]),
        )
    )
    return sorted({r.name for o in onramps for r, _ in bb.ports_of(o)})


def _ranked(
    s: Session, usable: list[Candidate], role: str, req: ConnectorRequest, edge: EdgeContext,
    first: str | None, peers: list[str],
) -> list[Candidate]:  # fmt: skip
    """`usable` in the order the network's state says, the excluded left out (explained)."""
    usage = {(u.router, u.port): u for u in s.execute(
        select(_USAGE).where(_USAGE.c.router.in_({c.router for c in usable})))}  # fmt: skip
    load: dict[str, int] = {}
    for u in usage.values():
        load[u.router] = load.get(u.router, 0) + u.attachments
    topo: TopologyView = {**edge.topo, "load": {r: {"connectors": n, "used_mbps": 0, "capacity_mbps": 0}
                                               for r, n in load.items()}}  # fmt: skip
    ports = [edges.Port(c.router, c.port, c.speed_mbps,
                        usage[(c.router, c.port)].used_mbps if (c.router, c.port) in usage else 0)
             for c in usable]  # fmt: skip
    ranked = edges.rank(ports, role, req.bandwidth_mbps, topo, edge.weights, edge.rrs, peers,
                        first)  # fmt: skip
    edge.explain.extend(ranked)
    by_key = {(c.router, c.port): c for c in usable}
    return [by_key[(r["router"], r["port"])] for r in ranked if r["excluded"] is None]


@dataclass(frozen=True)
class _Leg:
    """An attachment whose port is chosen (its bandwidth reserved), before its VLAN and
    subnet are taken: the values of every leg and the Connector's are taken together."""

    role: str
    port: Candidate
    vlan: Want
    vlan_asked: int | None  # the customer's VLAN: taken at once, on its own (it may be held)
    subnet: Want


def _legs(
    s: Session,
    bb: Backbone,
    req: ConnectorRequest,
    c: Constraints,
    owner: str,
    usage: Usage,
    own: list[Want],
    edge: EdgeContext | None = None,
) -> tuple[list[_Leg], list[int | None]]:
    """Each leg's port chosen, its bandwidth reserved; and the values of `_wants(legs) +
    own`, taken with the last leg's reservation when no VLAN was asked (take_many)."""
    pool_len = req.prefix_length or c.peering.default_prefix_length
    ports = candidates(bb, req.onramp, usage)
    roles = ["primary", "secondary"] if c.peering.sessions == 2 else ["single"]
    for role in roles:  # before anything is taken: a role only on unsafe platforms refuses
        of_role = {r.name: r.platform for r, name in bb.ports_of(req.onramp)
                   if role == "single" or _role(r, name) == role}  # fmt: skip
        if of_role and len(undeployable(of_role)) == len(of_role):
            refuse_undeployable(of_role, f"every {role} port of {req.onramp}")
    legs: list[_Leg] = []
    taken: list[int | None] | None = None
    want = req.s_tag if c.vlan.qinq else req.vlan
    peers = _tenant_routers(s, bb, req.tenant, req.onramp) if edge else []
    for role in roles:
        usable = [p for p in ports if role == "single" or p.role == role]
        if edge is not None:
            usable = _ranked(s, usable, role, req, edge,
                             legs[0].port.router if legs else None, peers)  # fmt: skip
        usable = [p for p in usable if p.router not in {leg.port.router for leg in legs}]
        last = role == roles[-1] and want is None  # an asked VLAN is taken alone, first
        chosen: Candidate | None = None
        for p in usable:
            leg = _leg(role, p, c, want, pool_len)
            if last:
                taken = take_many(s, _wants([*legs, leg]) + own, owner, (p, req.bandwidth_mbps))
            if taken is not None or (not last and _reserve_bandwidth(s, p, req.bandwidth_mbps)):
                chosen = p
                break
        if chosen is None:
            why = ""
            if edge is not None:
                why = "; ".join(f"{e['router']}: {e['excluded']}" for e in edge.explain
                                if e["role"] == role and e["excluded"])  # fmt: skip
            raise OnrampError(
                "ONR-ALLOC-001",
                f"no {role} port of {req.onramp} in service with {req.bandwidth_mbps} Mb/s free"
                + (f" ({why})" if why else ""),
            )
        if edge is not None:
            for e in edge.explain:
                e["chosen"] |= (e["role"], e["router"], e["port"]) == (
                    role,
                    chosen.router,
                    chosen.port,
                )
        _, lo, hi = leg.vlan
        if want is not None and not lo <= want <= hi:
            raise OnrampError(
                "ONR-REQ-006",
                f"VLAN {want} outside {lo}-{hi} on {chosen.router} {chosen.port}",
                field="s_tag" if c.vlan.qinq else "vlan",
            )
        if want is not None:
            take(s, *leg.vlan, owner, want)
        legs.append(leg)
    if taken is None:  # a VLAN was asked: the other values after it
        taken = cast(list[int | None], take_many(s, _wants(legs) + own, owner))
    return legs, taken


def _leg(role: str, p: Candidate, c: Constraints, want: int | None, pool_len: int) -> _Leg:
    """The leg on port `p`: its VLAN range, the asked VLAN, its subnet's scope and range."""
    pool = c.peering.pools[pool_len]
    lo, hi = max(c.vlan.min, p.vlan_lo), min(c.vlan.max, p.vlan_hi)
    scope = f"subnet:{pool}" if c.peering.scope == "global" else f"subnet:{p.router}:{pool}"
    subnets = (scope, 0, pool.num_addresses // 2 ** (32 - pool_len) - 1)
    return _Leg(role, p, (f"vlan:{p.router}:{p.port}", lo, hi), want, subnets)


def _attachments(
    req: ConnectorRequest, c: Constraints, legs: list[_Leg], taken: Sequence[int | None]
) -> list[AttachmentRow]:
    """The legs' rows, `taken` the values of their `_wants` in turn."""
    pool_len = req.prefix_length or c.peering.default_prefix_length
    pool = c.peering.pools[pool_len]
    rows: list[AttachmentRow] = []
    values = iter(taken)
    for leg in legs:
        chosen = leg.port
        vlan = leg.vlan_asked if leg.vlan_asked is not None else next(values)
        n = next(values)
        if vlan is None:
            raise OnrampError("ONR-ALLOC-002", f"{chosen.router} {chosen.port} has no free "
                              f"VLAN in {leg.vlan[1]}-{leg.vlan[2]}")  # fmt: skip
        if n is None:
            raise OnrampError(
                "ONR-ALLOC-003", f"{chosen.router} has no free /{pool_len} left in {pool}"
            )
        inner = (req.vlan or c.vlan.inner_min) if c.vlan.qinq else None
        subnet = IPv4Network((int(pool.network_address) + n * 2 ** (32 - pool_len), pool_len))
        hosts = list(subnet.hosts())
        rows.append(
            AttachmentRow(
                role=leg.role,
                router=chosen.router,
                port=chosen.port,
                vlan=vlan,
                inner_vlan=inner,
                subnet=str(subnet),
                local_address=f"{hosts[c.peering.local_host]}/{pool_len}",
                peer_address=f"{hosts[c.peering.peer_host]}/{pool_len}",
            )
        )
    return rows


def _wants(legs: list[_Leg]) -> list[Want]:
    """What each leg takes: its VLAN (unless the customer's, held already), its subnet."""
    return [w for leg in legs
            for w in ([leg.subnet] if leg.vlan_asked is not None else [leg.vlan, leg.subnet])]  # fmt: skip


def request_digest(req: ConnectorRequest | LinkRequest) -> str:
    """SHA-256 of the request as validated (its canonical JSON, the key itself left out):
    what an Idempotency-Key is bound to."""
    data = req.model_dump(mode="json", exclude={"idempotency_key"})
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


R = TypeVar("R", ConnectorRow, LinkRow)


def _replayed(row: R, req: ConnectorRequest | LinkRequest) -> R:
    """The row a key made, if `req` is the request it was made for (rows older than the
    digest are taken as they are)."""
    if row.request_sha256 not in (None, request_digest(req)):
        raise OnrampError("ONR-API-009", f"Idempotency-Key '{req.idempotency_key}' made "
                          f"{row.id[:8]} from another request", field="idempotency_key")  # fmt: skip
    return row


def _new_connector(
    s: Session,
    bb: Backbone,
    req: ConnectorRequest,
    vault: Vault,
    actor: str = "onramp",
    edge: EdgeContext | None = None,
) -> ConnectorRow:
    there, usage = tenant_and_usage(s, bb, req.tenant, req.onramp)  # with its webhooks
    if not there:
        raise OnrampError("ONR-REQ-013", f"tenant '{req.tenant}'", field="tenant")
    if req.idempotency_key:
        same = s.scalar(
            select(ConnectorRow).where(
                ConnectorRow.tenant_id == req.tenant,
                ConnectorRow.idempotency_key == req.idempotency_key,
            )
        )
        if same is not None:  # the same request again: the Connector it made the first time
            return _replayed(same, req)
    c = request.connector(req, bb)
    cid = str(uuid.uuid4())
    asns = c.bgp.local_asn_range if c.bgp.local_asn == "allocate" else None
    own: list[Want] = [("vrf", *NUMBERS)] + ([(f"asn:{c.provider}", *asns)] if asns else [])
    # the ports first (it locks their usage rows), every value with the last, as a rule
    legs, taken = _legs(s, bb, req, c, cid, usage, own, edge)
    attachments = _attachments(req, c, legs, taken[: -len(own)])
    number, *asn = taken[-len(own) :]
    if number is None:
        raise OnrampError("ONR-ALLOC-005", "no VRF number left")
    local_asn = bb.asn
    if asn:
        if asn[0] is None:
            raise OnrampError("ONR-ALLOC-005", f"no private ASN left for {c.provider}")
        local_asn = asn[0]
    peer_asn = (
        req.customer_asn
        if (c.bgp.peer_asn is None or c.bgp.peer_asn_overridable) and req.customer_asn
        else c.bgp.peer_asn
    )
    row = ConnectorRow(
        id=cid,
        tenant_id=req.tenant,
        onramp=req.onramp,
        kind=req.kind,
        bandwidth_mbps=req.bandwidth_mbps,
        request=req.model_dump(mode="json"),
        idempotency_key=req.idempotency_key,
        request_sha256=request_digest(req),
        number=number,
        local_asn=local_asn,
        peer_asn=peer_asn,
        mtu=req.mtu or c.mtu[0],
        md5_key=vault.encrypt(new_bgp_key(min(max(24, c.key.min_length), c.key.max_length)))
        if c.key.md5 != "none"
        else None,
        attempts=0,
        created_at=now(),
    )
    row.updated_at = row.created_at
    # for the view, as if loaded: the row itself is written by `move`; an assignment would
    # fire the backref's and the collection's events for nothing
    set_committed_value(row, "attachments", attachments)
    # the Connector and its attachments written with its transitions, by Core: nothing is
    # read back, and the ORM's unit of work cost more than the statements (issue 23)
    legs_written = [values_of(a) | {"connector_id": cid} for a in attachments]
    _created(s, row, actor, [(_ATTACHMENTS, legs_written)])
    if edge is not None:  # why it is where it is, kept with it (GET .../placement)
        placement.record(s, cid, edge.topo["read_at"], edge.explain)
    return row


def _created(
    s: Session, row: ConnectorRow | LinkRow, actor: str, new: Sequence[Rows] | None = None
) -> None:
    """Requested, validated and allocated happen in one transaction: three rows. `new`:
    `move`'s (the row is written there)."""
    path = [State.REQUESTED.value, State.VALIDATED.value, State.ALLOCATED.value]
    move(s, row, path, actor, new=new)


def create_connector(
    store: Store,
    bb: Backbone,
    req: ConnectorRequest,
    vault: Vault,
    actor: str = "onramp",
    edge: EdgeContext | None = None,
) -> ConnectorPlan:
    def run(s: Session) -> ConnectorPlan:
        if edge is not None:
            edge.explain.clear()  # a retried transaction explains its own choice
        return _explained(connector_view(_new_connector(s, bb, req, vault, actor, edge), bb), edge)

    return store.transact(run)


def plan_connector(
    store: Store, bb: Backbone, req: ConnectorRequest, vault: Vault, edge: EdgeContext | None = None
) -> ConnectorPlan:
    """What create_connector would allocate now, and where; nothing is written. With `edge`:
    the view's `explain` lists every candidate, its score or why it was excluded."""

    def run(s: Session) -> ConnectorPlan:
        if edge is not None:
            edge.explain.clear()
        return _explained(
            connector_view(_new_connector(s, bb, req, vault, "onramp", edge), bb), edge
        )

    return _dry(store, run)


def _explained(view: ConnectorView, edge: EdgeContext | None) -> ConnectorPlan:
    plan = cast(ConnectorPlan, view)
    if edge is not None:
        plan["explain"] = list(edge.explain)
    return plan


def plan_connector_off(
    store: Store,
    bb: Backbone,
    req: ConnectorRequest,
    vault: Vault,
    router: str,
    edge: EdgeContext | None = None,
) -> ConnectorPlan:
    """What create_connector would allocate with `router` drained (a drain's dry run),
    by the same edge choice (`edge`: the network's state) as the move will; nothing is
    written."""

    def off(s: Session) -> ConnectorPlan:
        s.merge(RouterStateRow(router=router, state="drained", reason="dry run"))
        s.flush()
        if edge is not None:
            edge.explain.clear()
        return _explained(
            connector_view(_new_connector(s, bb, req, vault, "onramp", edge), bb), edge
        )

    return _dry(store, off)


def release_connector(
    store: Store,
    connector_id: str,
    state: State = State.DELETED,
    actor: str = "onramp",
    reason: str = "",
    holder: str | None = None,  # a worker's lease: released only while it holds the row
) -> Released:
    def run(s: Session) -> Released:
        row = s.get(ConnectorRow, connector_id, with_for_update=holder is not None)
        if row is None:
            raise OnrampError("ONR-REQ-011", f"Connector {connector_id}", field="id")
        if State(row.state) in RELEASED_STATES:
            return {"id": row.id, "state": row.state, "released": row.released}  # already done
        _refuse_if_linked(s, row)
        for a in row.attachments:
            s.execute(
                update(PortUsageRow)
                .where(PortUsageRow.router == a.router, PortUsageRow.port == a.port)
                .values(
                    used_mbps=PortUsageRow.used_mbps - row.bandwidth_mbps,
                    attachments=PortUsageRow.attachments - 1,
                )
            )
        row.released = {"values": [list(v) for v in release_owner(s, row.id)]}
        move(s, row, state.value, actor, reason, holder)
        return {"id": row.id, "state": row.state, "released": row.released}

    return store.transact(run)


def _refuse_if_linked(s: Session, row: ConnectorRow) -> None:
    """A Connector carries its Links' VPNs: it goes only once none of them holds it."""
    linked = s.scalar(
        select(func.count())
        .select_from(LinkRow)
        .where(
            (LinkRow.a_id == row.id) | (LinkRow.b_id == row.id),
            LinkRow.state.not_in([st.value for st in RELEASED_STATES]),
        )
    )
    if linked:
        raise OnrampError(
            "ONR-REQ-015", f"Connector {row.id} is in {linked} live Link(s)", field="id"
        )


def decommission(store: Store, kind: str, ident: str, actor: str = "onramp") -> str:
    """The one way to remove a Connector or Link (CLI, API, Portal, runbooks, drain): mark it
    decommissioning; the workers' step (onramp.flow.orchestrate) then takes it off the
    routers, then off the provider, and only then releases its allocation. Returns its state.

    Idempotent: one already decommissioning, deleted or failed (released by its roll-back)
    is answered as it is. A Connector still in a live Link is refused (ONR-REQ-015) in the
    transaction of the move, its row locked: a Link ordered at the same time either is
    counted here or finds it decommissioning (`_new_link`). No stored row is requested or
    validated (allocation passes both in its one transaction), so every row met here may be
    on the routers or at a provider."""
    return store.transact(lambda s: decommission_in(s, kind, ident, actor))


def decommission_in(s: Session, kind: str, ident: str, actor: str) -> str:
    """`decommission` in the caller's transaction."""
    found = s.get(ROWS[Kind(kind)], ident, with_for_update=True)  # Session.get loses the union
    row = cast("ConnectorRow | LinkRow | None", found)
    if row is None:
        raise OnrampError("ONR-REQ-011", f"{kind} {ident} not found", field="id")
    if State(row.state) in RELEASED_STATES or row.state == State.DECOMMISSIONING:
        return str(row.state)
    if isinstance(row, ConnectorRow):
        _refuse_if_linked(s, row)
    move(s, row, State.DECOMMISSIONING.value, actor, "decommission requested")
    return str(row.state)


def plan_decommission(store: Store, kind: str, ident: str) -> str:
    """What `decommission` would answer now (refusals included); nothing is written."""
    return _dry(store, lambda s: decommission_in(s, kind, ident, "dry run"))


# ------------------------------------------------------------------ links


def _new_link(s: Session, bb: Backbone, req: LinkRequest, actor: str = "onramp") -> LinkRow:
    if req.idempotency_key:
        same = s.scalar(
            select(LinkRow).where(
                LinkRow.tenant_id == req.tenant, LinkRow.idempotency_key == req.idempotency_key
            )
        )
        if same is not None:
            return _replayed(same, req)
    # read under a share lock: a decommission of an end (which locks it for update) waits
    # for this insert to commit and then counts the Link, or this waits and sees it leaving
    ends = [s.get(ConnectorRow, str(x), with_for_update={"read": True}) for x in (req.a, req.b)]
    request.link(
        req,
        *(
            {
                "tenant": e.tenant_id,
                "released": State(e.state) in RELEASED_STATES,
                "bandwidth_mbps": e.bandwidth_mbps,
            }
            if e
            else None
            for e in ends
        ),
    )
    for field, end in zip(("a", "b"), ends, strict=True):
        if end is not None and State(end.state) in LEAVING:
            raise OnrampError(
                "ONR-REQ-016", f"Connector {end.id} is {end.state}: it is going", field=field
            )
    lid = str(uuid.uuid4())
    number = take(s, "link", *NUMBERS, lid)
    if number is None:
        raise OnrampError("ONR-ALLOC-005", "no Link number left")
    row = LinkRow(
        id=lid,
        tenant_id=req.tenant,
        a_id=str(req.a),
        b_id=str(req.b),
        bandwidth_mbps=req.bandwidth_mbps,
        sla_class=req.sla_class,
        request=req.model_dump(mode="json"),
        idempotency_key=req.idempotency_key,
        request_sha256=request_digest(req),
        number=number,
    )
    _created(s, row, actor)
    s.add(row)
    s.flush()
    return row


def create_link(store: Store, bb: Backbone, req: LinkRequest, actor: str = "onramp") -> LinkView:
    return store.transact(lambda s: link_view(_new_link(s, bb, req, actor), bb))


def plan_link(store: Store, bb: Backbone, req: LinkRequest) -> LinkView:
    return _dry(store, lambda s: link_view(_new_link(s, bb, req), bb))


def release_link(
    store: Store,
    link_id: str,
    state: State = State.DELETED,
    actor: str = "onramp",
    reason: str = "",
    holder: str | None = None,  # a worker's lease: released only while it holds the row
) -> Released:
    def run(s: Session) -> Released:
        row = s.get(LinkRow, link_id, with_for_update=holder is not None)
        if row is None:
            raise OnrampError(
                "ONR-REQ-011", f"Link {link_id}", "check the id with 'onramp link list'", field="id"
            )
        if State(row.state) not in RELEASED_STATES:
            release_owner(s, row.id)
            move(s, row, state.value, actor, reason, holder)
        return {"id": row.id, "state": row.state}

    return store.transact(run)


def _dry(store: Store, fn: Callable[[Session], T]) -> T:
    def run(s: Session) -> T:
        raise _Rollback(fn(s))

    try:
        store.transact(run)
    except _Rollback as done:
        return done.value  # type: ignore[no-any-return]
    raise AssertionError("unreachable")
