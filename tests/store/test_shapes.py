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
