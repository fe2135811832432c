"""Connectors and Links as data: per kind, its table, its view, how it is released, which
routers and sessions its config touches and what a plan of it changes, so the flow asks
`KINDS[kind]` instead of branching on the kind's name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from onramp.core.model import Kind, State
from onramp.core.shapes import ConnectorView, LinkView, Released
from onramp.core.store import ROWS, ConnectorRow, LinkRow, Store
from onramp.flow import allocate, render, views
from onramp.network.inventory import Backbone

# (store, id, final state, actor, reason, the worker's lease or None)
Release = Callable[[Store, str, State, str, str, str | None], Released]
Segments = dict[str, dict[str, list[str]]]  # {router: {vrf: [peer]}}


@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    row: type[ConnectorRow] | type[LinkRow]
    view: Callable[[Any, Backbone], ConnectorView | LinkView]  # the row as users see it
    release: Release  # its allocation given back, into a final state
    # ordered from (and deleted at) a provider; a Link is only ours to configure
    calls_provider: bool
    # judged by BGP sessions of its own; a Link by its ends' routes in each other's VRF
    has_sessions: bool
    ends: Callable[[Session, Any], list[ConnectorRow | None]]  # the Connectors it is made of
    segments: Callable[[Session, Backbone, Any], Segments]  # sessions its segments add
    deploy: Callable[[frozenset[str]], render.Change]  # a plan's change putting these on
    remove: Callable[[frozenset[str]], render.Change]  # ... and taking them off

    def routers(self, s: Session, row: Any) -> set[str]:
        """The routers its config is on: its ends' PEs."""
        return {a.router for end in self.ends(s, row) if end for a in end.attachments}


def _link_ends(s: Session, row: LinkRow) -> list[ConnectorRow | None]:
    return [s.get(ConnectorRow, x) for x in (row.a_id, row.b_id)]


KINDS: dict[Kind, KindSpec] = {
    spec.kind: spec
    for spec in (
        KindSpec(
            Kind.CONNECTOR,
            ROWS[Kind.CONNECTOR],
            view=views.connector_view,
            release=allocate.release_connector,
            calls_provider=True,
            has_sessions=True,
            ends=lambda s, row: [row],
            segments=lambda s, bb, row: {},
            deploy=lambda ids: render.Change(add_connectors=ids),
            remove=lambda ids: render.Change(remove_connectors=ids),
        ),
        KindSpec(
            Kind.LINK,
            ROWS[Kind.LINK],
            view=views.link_view,
            release=allocate.release_link,
            calls_provider=False,
            has_sessions=False,
            ends=_link_ends,
            segments=render.segment_sessions,
            deploy=lambda ids: render.Change(add_links=ids),
            remove=lambda ids: render.Change(remove_links=ids),
        ),
    )
}


def spec_of(kind: str) -> KindSpec:
    """The entry of a kind named as stored or passed around ("connector", "link")."""
    return KINDS[Kind(kind)]
