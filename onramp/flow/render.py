"""The intended configuration of a router: the backbone plus every service it carries.

One function reads the store (which Connectors and Links a router carries, their keys),
the rest is `onramp.network.intent` (data) and `onramp.network.templates` (templates). Plans, deploys and
compliance all call this, so there is one intended config, not three.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Interface

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from onramp.core.errors import OnrampError
from onramp.core.model import Connector, State
from onramp.core.secrets import Vault
from onramp.core.shapes import SegmentIntent
from onramp.core.store import AttachmentRow, ConnectorRow, LinkRow
from onramp.csp import constraints
from onramp.flow.views import connector_view, link_view, vrf_name
from onramp.network import intent
from onramp.network.inventory import Backbone
from onramp.network.platforms import PLATFORMS
from onramp.network.templates import RouterServices

# Services whose config is on the routers (or about to be, or still being removed).
CONFIGURED = frozenset(
    {State.CONFIGURING, State.VERIFYING, State.ACTIVE, State.MODIFYING, State.ROLLING_BACK,
     State.DECOMMISSIONING}
)  # fmt: skip


@dataclass(frozen=True)
class Change:
    """What a plan changes relative to the store: services added to or taken off routers."""

    add_connectors: frozenset[str] = frozenset()
    remove_connectors: frozenset[str] = frozenset()
    add_links: frozenset[str] = frozenset()
    remove_links: frozenset[str] = frozenset()
    # Connectors kept up but announcing nothing either way (a drain's last step before
    # the break: traffic leaves them while their sessions and segments still forward)
    quiesce_connectors: frozenset[str] = frozenset()


def _on(state: str, ident: str, add: frozenset[str], remove: frozenset[str]) -> bool:
    return ident not in remove and (ident in add or State(state) in CONFIGURED)


def services(
    s: Session, bb: Backbone, vault: Vault, routers: Iterable[str], change: Change = Change()
) -> dict[str, RouterServices]:
    """Per router, the intent data of every Connector it carries after `change`."""
    wanted = set(routers)
    out = {r: RouterServices(r) for r in wanted}
    rows = s.scalars(
        select(ConnectorRow)
        # a subquery, not a join + DISTINCT: PostgreSQL cannot compare JSON columns
        .where(
            ConnectorRow.id.in_(
                select(AttachmentRow.connector_id).where(AttachmentRow.router.in_(wanted))
            )
        )
        .where(
            or_(
                ConnectorRow.state.in_([x.value for x in CONFIGURED]),
                ConnectorRow.id.in_(change.add_connectors),
            )
        )
        .order_by(ConnectorRow.number)
    ).all()
    rows = [c for c in rows if _on(c.state, c.id, change.add_connectors, change.remove_connectors)]
    ids = [c.id for c in rows]
    links = s.scalars(
        select(LinkRow).where(or_(LinkRow.a_id.in_(ids), LinkRow.b_id.in_(ids)))
    ).all()
    links = [lk for lk in links if _on(lk.state, lk.id, change.add_links, change.remove_links)]
    for row in rows:
        conn = Connector.model_validate(connector_view(row, bb))
        mine = [lk for lk in links if row.id in (lk.a_id, lk.b_id)]
        others = [s.get(ConnectorRow, lk.b_id if lk.a_id == row.id else lk.a_id) for lk in mine]
        if quiet := row.id in change.quiesce_connectors:
            conn = conn.model_copy(update={"request": {**conn.request, "prefixes": []}})
        key = vault.decrypt(row.md5_key) if row.md5_key else None
        data = None
        for router in {a.router for a in conn.attachments} & wanted:
            segments = (
                [_segment(s, bb, lk, (conn.vrf, router)) for lk in mine]
                if PLATFORMS[bb.routers[router].platform].vpn_segments
                else []
            )
            data = intent.connector(
                bb,
                conn,
                router,
                md5_key=key,
                route_targets=[link_view(lk, bb)["route_target"] for lk in mine],
                remote_prefixes=[]
                if quiet
                else [p for o in others if o for p in o.request.get("prefixes", [])],
                max_prefixes=constraints.for_provider(
                    bb.catalogue.onramps[row.onramp].provider
                ).max_prefixes,
                segments=segments,
            )
            out[router].connectors.append(data)
            if key:
                out[router].secrets.append(key)
    return out


def _members(s: Session, link: LinkRow) -> list[tuple[str, str]]:
    """A Link's VRF instances (vrf, router) in Connector number order, then router name:
    the same order on every router."""
    ends = sorted(
        (c for c in (s.get(ConnectorRow, link.a_id), s.get(ConnectorRow, link.b_id)) if c),
        key=lambda c: c.number or 0,
    )
    return [(vrf_name(c), a.router) for c in ends for a in sorted(c.attachments, key=_by_router)]


def _segment(s: Session, bb: Backbone, link: LinkRow, me: tuple[str, str]) -> SegmentIntent:
    return intent.segment(
        bb, link.id, link.number or 0, _members(s, link), me, bandwidth_mbps=link.bandwidth_mbps
    )


def segment_sessions(s: Session, bb: Backbone, link: LinkRow) -> dict[str, dict[str, list[str]]]:
    """{router: {vrf: [peer]}}: the BGP sessions a Link's segments add (none where the
    platform forwards MPLS)."""
    out: dict[str, dict[str, list[str]]] = {}
    members = _members(s, link)
    for vrf, router in members:
        if PLATFORMS[bb.routers[router].platform].vpn_segments:
            seg = intent.segment(
                bb,
                link.id,
                link.number or 0,
                members,
                (vrf, router),
                bandwidth_mbps=link.bandwidth_mbps,
            )
            out.setdefault(router, {})[vrf] = [p["address"] for p in seg["peers"]]
    return out


def segment_vrfs(s: Session, bb: Backbone, link: LinkRow) -> dict[str, list[str]]:
    """{vrf: [router]}: where a Link's segment device is (platforms with `vpn_segments`)."""
    out: dict[str, list[str]] = {}
    for vrf, router in _members(s, link):
        if PLATFORMS[bb.routers[router].platform].vpn_segments:
            out.setdefault(vrf, []).append(router)
    return out


def probe_path(s: Session, bb: Backbone, link: LinkRow) -> tuple[str, str, str, str]:
    """(router, vrf, source, destination): how a Link is measured from inside the
    customer's VRF, from its A end's first PE to its B end. Over a segment (FRR without
    MPLS) between the two VRF instances' segment addresses; over MPLS from A's attachment
    address to B's, which B's VRF exports."""
    a, b = s.get(ConnectorRow, link.a_id), s.get(ConnectorRow, link.b_id)
    if a is None or b is None or not a.attachments or not b.attachments:
        raise OnrampError("ONR-REQ-011", f"link {link.id}: an end has no attachment")
    first = {c.id: min(c.attachments, key=_by_router) for c in (a, b)}
    near, far = (vrf_name(a), first[a.id].router), (vrf_name(b), first[b.id].router)
    if PLATFORMS[bb.routers[near[1]].platform].vpn_segments:
        members = _members(s, link)
        at = {m: intent.segment(bb, link.id, link.number or 0, members, m,
                                 bandwidth_mbps=link.bandwidth_mbps)["address"]
              for m in (near, far)}  # fmt: skip
        source, destination = (str(IPv4Interface(at[m]).ip) for m in (near, far))
    else:
        source, destination = (str(IPv4Interface(first[c.id].local_address).ip) for c in (a, b))
    return near[1], near[0], source, destination


def _by_router(a: AttachmentRow) -> str:
    return a.router
