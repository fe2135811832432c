"""PATCH /v1/connectors|links/{id}: a live bandwidth changed in place, a description stored;
ETag on every read and change, If-Match honoured; every rule refused with its code before
anything is touched (the store as it was: view, ETag, ports' capacity). A real API on a
real store; the workers' part (plan, commit-confirm, the gate) runs in tests/e2e/test_change.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from onramp.client import ApiError, Client
from onramp.core.model import Kind
from onramp.core.store import ROWS, PortUsageRow, TransitionRow, move

from .conftest import AWS, Api, running_api

ENT = {"onramp": "ent-par", "kind": "enterprise", "customer_asn": 65201,
       "prefixes": ["10.201.0.0/24"]}  # fmt: skip
AZURE = {"onramp": "azure-er-lon", "kind": "azure-expressroute",
         "azure_service_key": "6f1c2a4e-0c7b-4e55-9a0f-3d2b1c0e9a11"}  # fmt: skip
HOSTED = {**AWS, "kind": "aws-hosted-connection", "prefixes": []}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path) as running:
        yield running


def active(api: Api, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """Ordered through the API, then made active in the store (the workers' part is the lab's)."""
    made = api.call("POST", f"/v1/{kind}s", json=body)
    assert made.status_code == 202, made.text
    ident = made.json()["id"]

    def run(s: Any) -> None:
        move(s, s.get(ROWS[Kind(kind)], ident), "active", "test")

    api.svc.store.transact(run)
    return dict(api.call("GET", f"/v1/{kind}s/{ident}").json())


def usage(api: Api) -> dict[tuple[str, str], int]:
    with api.svc.store.session() as s:
        return {(u.router, u.port): u.used_mbps for u in s.scalars(select(PortUsageRow))}


def patch(api: Api, kind: str, ident: str, body: dict[str, Any], **headers: str) -> Any:
    return api.call("PATCH", f"/v1/{kind}s/{ident}", json=body, headers=headers)


def test_description_is_stored_bandwidth_goes_modifying_with_the_port_taken(api: Api) -> None:
    c = active(api, "connector", {**AWS, "bandwidth_mbps": 100})
    got = api.call("GET", f"/v1/connectors/{c['id']}")
    tag = got.headers["ETag"]
    port = (c["attachments"][0]["router"], c["attachments"][0]["port"])
    assert usage(api)[port] == 100

    r = patch(api, "connector", c["id"], {"description": "Paris to VPC 2"}, **{"If-Match": tag})
    assert r.status_code == 200, r.text
    assert r.json()["request"]["description"] == "Paris to VPC 2"
    assert r.json()["state"] == "active" and r.headers["ETag"] != tag
    assert api.submitted.count(("connector", c["id"])) == 1  # only the order: nothing to do

    r = patch(api, "connector", c["id"], {"bandwidth_mbps": 200})
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["state"] == "modifying" and body["bandwidth_mbps"] == 200
    assert body["change"]["from_mbps"] == 100 and body["change"]["to_mbps"] == 200
    assert body["change"]["outcome"] is None
    assert usage(api)[port] == 200  # taken in the change's transaction
    assert api.submitted[-1] == ("connector", c["id"])  # handed to the workers
    history = api.call("GET", f"/v1/connectors/{c['id']}").json()["history"]
    assert (history[-1]["from"], history[-1]["to"]) == ("active", "modifying")

    # a second change while one is under way is refused, and changes nothing
    r = patch(api, "connector", c["id"], {"bandwidth_mbps": 500})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "ONR-CHG-005")
    assert usage(api)[port] == 200


def test_if_match_refuses_a_stale_version_412(api: Api) -> None:
    c = active(api, "connector", AWS)
    stale = api.call("GET", f"/v1/connectors/{c['id']}").headers["ETag"]
    assert patch(api, "connector", c["id"], {"description": "x"}).status_code == 200
    before = api.call("GET", f"/v1/connectors/{c['id']}")
    r = patch(api, "connector", c["id"], {"bandwidth_mbps": 200}, **{"If-Match": stale})
    assert (r.status_code, r.json()["error"]["code"]) == (412, "ONR-CHG-006")
    after = api.call("GET", f"/v1/connectors/{c['id']}")
    assert after.headers["ETag"] == before.headers["ETag"]
    assert after.json()["bandwidth_mbps"] == 100


def untouched(api: Api, kind: str, ident: str, body: dict[str, Any], status: int, code: str,
              field: str | None = "bandwidth_mbps") -> None:  # fmt: skip
    """Refused with `code`, and the store as it was: the view (its ETag), the ports, no
    transition."""
    before = api.call("GET", f"/v1/{kind}s/{ident}")
    ports = usage(api)
    with api.svc.store.session() as s:
        moves = len(list(s.scalars(select(TransitionRow.id))))
    r = patch(api, kind, ident, body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert r.json()["error"].get("field") == field
    after = api.call("GET", f"/v1/{kind}s/{ident}")
    assert after.headers["ETag"] == before.headers["ETag"]
    assert usage(api) == ports
    with api.svc.store.session() as s:
        assert len(list(s.scalars(select(TransitionRow.id)))) == moves


def test_refused_before_anything_is_touched(api: Api) -> None:
    aws = active(api, "connector", {**AWS, "bandwidth_mbps": 100})
    # a step the provider does not offer
    untouched(api, "connector", aws["id"], {"bandwidth_mbps": 150}, 422, "ONR-CHG-002")
    # AWS fixes a hosted connection's bandwidth: no change in place
    hosted = active(api, "connector", HOSTED)
    untouched(api, "connector", hosted["id"], {"bandwidth_mbps": 200}, 409, "ONR-CHG-001")
    # Azure raises a circuit in place, never lowers it
    azure = active(api, "connector", {**AZURE, "bandwidth_mbps": 200})
    untouched(api, "connector", azure["id"], {"bandwidth_mbps": 100}, 422, "ONR-CHG-002")
    # the port full: two 500s on ent-par's 1000 Mb/s port, one asks for 1000
    one = active(api, "connector", {**ENT, "bandwidth_mbps": 500})
    two = active(api, "connector", {**ENT, "bandwidth_mbps": 500, "customer_asn": 65202,
                                    "prefixes": ["10.202.0.0/24"]})  # fmt: skip
    untouched(api, "connector", one["id"], {"bandwidth_mbps": 1000}, 409, "ONR-CHG-004")
    # a Link faster than its slower end; a Connector lowered below its Link
    link = api.call("POST", "/v1/links", json={"a": one["id"], "b": two["id"],
                                                "bandwidth_mbps": 500})  # fmt: skip
    assert link.status_code == 202, link.text
    lid = link.json()["id"]
    api.svc.store.transact(lambda s: move(s, s.get(ROWS[Kind.LINK], lid), "active", "test"))
    untouched(api, "link", lid, {"bandwidth_mbps": 1000}, 409, "ONR-CHG-003")
    untouched(api, "connector", two["id"], {"bandwidth_mbps": 200}, 409, "ONR-CHG-003")
    # not a field of a change (declared once: model.BandwidthChange)
    untouched(api, "link", lid, {"sla_class": "gold"}, 422, "ONR-REQ-008", "sla_class")
    # what fits is taken: the Link down to 200 (its ends untouched)
    r = patch(api, "link", lid, {"bandwidth_mbps": 200})
    assert (r.status_code, r.json()["state"], r.json()["bandwidth_mbps"]) == (202, "modifying",
                                                                             200)  # fmt: skip


def test_another_tenants_is_absent(api: Api) -> None:
    c = active(api, "connector", AWS)
    r = api.call("PATCH", f"/v1/connectors/{c['id']}", who="globex", json={"bandwidth_mbps": 200})
    assert (r.status_code, r.json()["error"]["code"]) == (404, "ONR-REQ-011")


def test_the_client_updates_with_if_match(api: Api) -> None:
    c = active(api, "connector", AWS)
    client = Client(api.url, api.keys["acme"])
    tag = client.etag("connector", c["id"])
    done = client.update_connector(c["id"], bandwidth_mbps=200, if_match=tag)
    assert (done["state"], done["bandwidth_mbps"]) == ("modifying", 200)
    with pytest.raises(ApiError) as refused:
        client.update_connector(c["id"], description="again", if_match=tag)
    assert (refused.value.status, refused.value.code) == (412, "ONR-CHG-006")


# ---------------------------------------------------------------------- prefixes (issue 25)
def test_prefixes_go_modifying_with_the_old_list_recorded(api: Api) -> None:
    c = active(api, "connector", {**AWS, "prefixes": ["10.100.0.0/24"]})
    tag = api.call("GET", f"/v1/connectors/{c['id']}").headers["ETag"]
    r = patch(api, "connector", c["id"], {"prefixes": ["10.100.0.0/24", "10.101.0.0/16"],
                                          "description": "two VPCs"}, **{"If-Match": tag})  # fmt: skip
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["state"] == "modifying" and body["bandwidth_mbps"] == 100
    assert body["request"]["prefixes"] == ["10.100.0.0/24", "10.101.0.0/16"]
    assert body["request"]["description"] == "two VPCs"
    change = body["change"]
    assert (change["from_prefixes"], change["to_prefixes"]) == (
        ["10.100.0.0/24"], ["10.100.0.0/24", "10.101.0.0/16"])  # fmt: skip
    assert (change["from_mbps"], change["to_mbps"], change["outcome"]) == (None, None, None)
    assert api.submitted[-1] == ("connector", c["id"])
    history = api.call("GET", f"/v1/connectors/{c['id']}").json()["history"]
    assert history[-1]["reason"] == "prefixes 10.100.0.0/24 -> 10.100.0.0/24 10.101.0.0/16"


def test_the_same_prefixes_in_another_order_change_nothing(api: Api) -> None:
    c = active(api, "connector", {**AWS, "prefixes": ["10.100.0.0/24", "10.101.0.0/24"]})
    r = patch(api, "connector", c["id"], {"prefixes": ["10.101.0.0/24", "10.100.0.0/24"]})
    assert (r.status_code, r.json()["state"]) == (200, "active")
    assert api.submitted.count(("connector", c["id"])) == 1  # only the order


@pytest.mark.parametrize(("body", "status", "code", "field"), [
    ({"prefixes": ["10.100.0.0/24", "10.100.0.128/25"]}, 422, "ONR-REQ-012", "prefixes.1"),
    ({"prefixes": ["0.0.0.0/0"]}, 422, "ONR-REQ-012", "prefixes.0"),
    ({"prefixes": ["224.1.0.0/16"]}, 422, "ONR-REQ-012", "prefixes.0"),
    ({"prefixes": ["169.254.0.0/30"]}, 422, "ONR-REQ-012", "prefixes.0"),  # AWS's peering pool
    ({"prefixes": [f"10.{i // 256}.{i % 256}.0/24" for i in range(101)]}, 422, "ONR-REQ-012",
     "prefixes"),  # AWS: at most 100 per VIF
    ({"prefixes": ["10.1.0.0/33"]}, 422, "ONR-REQ-008", "prefixes.0"),
    ({"prefixes": [167772160]}, 422, "ONR-REQ-008", "prefixes.0"),  # text, not a number
    ({"prefixes": ["10.9.0.0/24"], "bandwidth_mbps": 150}, 422, "ONR-CHG-002", "bandwidth_mbps"),
])  # fmt: skip
def test_refused_prefixes_touch_nothing(
    api: Api, body: dict[str, Any], status: int, code: str, field: str
) -> None:
    c = active(api, "connector", {**AWS, "prefixes": ["10.100.0.0/24"]})
    untouched(api, "connector", c["id"], body, status, code, field)
    assert api.submitted.count(("connector", c["id"])) == 1


def test_prefixes_refused_where_they_cannot_change(api: Api) -> None:
    # an enterprise site's Connector needs prefixes (as at order time)
    ent = active(api, "connector", {**ENT, "bandwidth_mbps": 100})
    untouched(api, "connector", ent["id"], {"prefixes": []}, 422, "ONR-REQ-003", "prefixes")
    # a Link has none of its own
    two = active(api, "connector", {**ENT, "bandwidth_mbps": 100, "customer_asn": 65202,
                                    "prefixes": ["10.202.0.0/24"]})  # fmt: skip
    link = api.call("POST", "/v1/links", json={"a": ent["id"], "b": two["id"],
                                                "bandwidth_mbps": 100})  # fmt: skip
    lid = link.json()["id"]
    api.svc.store.transact(lambda s: move(s, s.get(ROWS[Kind.LINK], lid), "active", "test"))
    untouched(api, "link", lid, {"prefixes": ["10.9.0.0/24"]}, 422, "ONR-REQ-008", "prefixes")
    # not while another change is under way
    assert patch(api, "connector", ent["id"], {"bandwidth_mbps": 200}).status_code == 202
    untouched(api, "connector", ent["id"], {"prefixes": ["10.9.0.0/24"]}, 409, "ONR-CHG-005",
              "prefixes")  # fmt: skip


def test_prefixes_412_on_a_stale_if_match_and_404_for_another_tenant(api: Api) -> None:
    c = active(api, "connector", {**AWS, "prefixes": ["10.100.0.0/24"]})
    stale = api.call("GET", f"/v1/connectors/{c['id']}").headers["ETag"]
    assert patch(api, "connector", c["id"], {"description": "moved on"}).status_code == 200
    before = api.call("GET", f"/v1/connectors/{c['id']}")
    r = patch(api, "connector", c["id"], {"prefixes": ["10.9.0.0/24"]}, **{"If-Match": stale})
    assert (r.status_code, r.json()["error"]["code"]) == (412, "ONR-CHG-006")
    assert api.call("GET", f"/v1/connectors/{c['id']}").headers["ETag"] == before.headers["ETag"]
    r = api.call("PATCH", f"/v1/connectors/{c['id']}", who="globex",
                 json={"prefixes": ["10.9.0.0/24"]})  # fmt: skip
    assert (r.status_code, r.json()["error"]["code"]) == (404, "ONR-REQ-011")
    assert api.call("GET", f"/v1/connectors/{c['id']}").json()["request"]["prefixes"] == [
        "10.100.0.0/24"]  # fmt: skip


def test_the_client_updates_prefixes(api: Api) -> None:
    c = active(api, "connector", {**AWS, "prefixes": ["10.100.0.0/24"]})
    client = Client(api.url, api.keys["acme"])
    done = client.update_connector(c["id"], prefixes=["10.100.0.0/24", "10.101.0.0/24"],
                                   if_match=client.etag("connector", c["id"]))  # fmt: skip
    assert (done["state"], done["change"]["to_prefixes"]) == (
        "modifying", ["10.100.0.0/24", "10.101.0.0/24"])  # fmt: skip
