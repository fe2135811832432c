"""How a Connector or a Link is shown to users, built from its row: the ORM's or a plain
Core row with the same column names (a list's, read without the ORM: onramp.core.tables).
Here, apart from the allocation that writes them, so a read loads neither the ORM nor
what allocates (issue 23 item 6)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from pydantic_core import to_jsonable_python

if TYPE_CHECKING:  # annotations only: the shapes cost ~5 ms of import
    from onramp.core.shapes import ConnectorView, LinkView
    from onramp.core.store import AttachmentRow, ConnectorRow, LinkRow
    from onramp.network.inventory import Backbone


def connector_view(
    row: ConnectorRow, bb: Backbone, legs: Sequence[AttachmentRow] | None = None
) -> ConnectorView:
    """A Connector as users see it (model.Connector's JSON): no secrets, RD per PE,
    interface names. Built straight from the row, which holds only what was validated on
    the way in: validating it again on the way out cost most of a page's time (the
    addresses parsed again); tests/store/test_shapes.py holds it equal to the model's JSON.
    `legs`: its attachments, when `row` is a plain result row (a list's, without the ORM)."""
    return {
        "id": row.id,
        "tenant": row.tenant_id,
        "onramp": row.onramp,
        "kind": row.kind,
        "state": row.state,
        "bandwidth_mbps": row.bandwidth_mbps,
        "vrf": vrf_name(row),
        "local_asn": cast(int, row.local_asn),
        "peer_asn": row.peer_asn,
        "mtu": cast(int, row.mtu),
        "md5_key": "set" if row.md5_key else None,
        "attachments": [
            {
                "role": cast(Any, a.role),
                "router": a.router,
                "port": a.port,
                "interface": f"{a.port}.{a.vlan}",
                "vlan": a.vlan,
                "inner_vlan": a.inner_vlan,
                "rd": f"{bb.loopbacks[a.router]}:{row.number}"
                if a.router in bb.loopbacks
                else None,
                "subnet": a.subnet,
                "local_address": a.local_address,
                "peer_address": a.peer_address,
            }
            for a in (row.attachments if legs is None else legs)
        ],
        "request": {k: v for k, v in row.request.items() if v not in (None, [], "")},
        "created_at": None if row.created_at is None else to_jsonable_python(row.created_at),
        "csp_resource": row.csp_resource,
        "reason": row.reason,
        "change": cast(Any, row.change),  # stored as model.ChangeRecord's JSON
    }


def vrf_name(row: ConnectorRow) -> str:
    """A Connector's VRF: one per Connector, named by its number."""
    return f"c{row.number}"


def link_view(row: LinkRow, bb: Backbone) -> LinkView:
    """A Link as users see it (model.Link)."""
    from onramp.core.model import Link  # the models (~0.01 s of import): the reads that show them

    view = Link(
        id=row.id,
        tenant=row.tenant_id,
        a=row.a_id,
        b=row.b_id,
        state=row.state,
        bandwidth_mbps=row.bandwidth_mbps,
        sla_class=row.sla_class,
        route_target=f"{bb.asn}:{row.number}",
        description=row.request.get("description", ""),
        reason=row.reason,
        change=row.change,
    )
    return cast("LinkView", view.model_dump(mode="json"))  # model.Link's JSON
