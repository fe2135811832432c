"""The shapes of onramp.core.shapes are what the code makes: the Connector and Link views
have the keys of the pydantic models they are the JSON of, and real views, intent data and
released records validate against their TypedDicts (pydantic, strict: no coercion)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from onramp.core import shapes
from onramp.core.model import Attachment, Connector, ConnectorRequest, Link, LinkRequest
from onramp.core.secrets import Vault
from onramp.core.store import Store
from onramp.flow import allocate
from onramp.flow.views import connector_view
from onramp.network import intent
from onramp.network.inventory import Backbone
from onramp.validation import golden

from .test_allocation import gone

AWS = {"tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif", "bandwidth_mbps": 100,
       "aws_account": "123456789012", "prefixes": ["10.100.0.0/24"]}  # fmt: skip


def holds(shape: Any, value: Any) -> None:
    TypeAdapter(shape).validate_python(value, strict=True)


@pytest.mark.parametrize(
    ("view", "model"),
    [
        (shapes.ConnectorView, Connector),
        (shapes.LinkView, Link),
        (shapes.AttachmentView, Attachment),
    ],
)
def test_views_have_the_models_keys(view: Any, model: type[BaseModel]) -> None:
    assert list(view.__annotations__) == list(model.model_fields)


def test_views_made_by_allocation_hold_their_shapes(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    made = [allocate.create_connector(store, backbone, ConnectorRequest(**AWS), vault)
            for _ in range(2)]  # fmt: skip
    holds(shapes.ConnectorView, made[0])
    assert made[0]["attachments"]  # a view with its legs
    order = LinkRequest(tenant="acme", a=made[0]["id"], b=made[1]["id"], bandwidth_mbps=50)
    link = allocate.create_link(store, backbone, order)
    holds(shapes.LinkView, link)
    holds(shapes.Released, gone(store, "link", link["id"]))
    released = gone(store, "connector", made[0]["id"])
    holds(shapes.Released, released)
    assert released["released"]


def test_intent_holds_its_shapes() -> None:
    bb = golden.backbone()
    for platform in golden.PLATFORM_NAMES:
        holds(shapes.BackboneIntent, intent.backbone(bb, golden.ROUTER[platform]))
        holds(shapes.ConnectorIntent, golden.case(bb, platform))
        holds(shapes.ConnectorIntent, golden.case(bb, platform, inner=7))


def test_a_connector_view_is_the_models_json(
    store: Store, backbone: Backbone, vault: Vault
) -> None:
    """connector_view builds the JSON from the row without the model (the API's lists spent
    most of their time validating it again): it stays exactly model.Connector's JSON, keys in
    the model's order, for every kind, with a change, a reason and a provider's id."""
    from sqlalchemy import select

    from onramp.core.model import ChangeRecord
    from onramp.core.store import ConnectorRow, now

    from .test_allocation import REQUESTS

    for order in REQUESTS.values():
        allocate.create_connector(store, backbone, ConnectorRequest(tenant="acme", **order), vault)
    with store.session() as s:
        rows = list(s.scalars(select(ConnectorRow)))
        rows[0].change = ChangeRecord(from_mbps=1000, to_mbps=500, at=now(), by="api",
                                      outcome="rolled_back", reason="x").model_dump(mode="json")  # fmt: skip
        rows[0].reason, rows[0].csp_resource = "retrying", "dxvif-abc"
        s.flush()
        views = [connector_view(r, backbone) for r in rows]
    assert len(views) == len(REQUESTS) and any(len(v["attachments"]) == 2 for v in views)
    for view in views:
        model = Connector.model_validate(view).model_dump(mode="json")
        assert view == model
        assert list(view) == list(model)
        assert [list(a) for a in view["attachments"]] == [list(a) for a in model["attachments"]]
