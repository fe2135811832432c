"""The REST API on a real uvicorn server (a thread of this process, a free port on
loopback), a real store (SQLite), real HTTP (requests): keys, tenant isolation, the
asynchronous create with Idempotency-Key, the one error shape, pagination."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import requests
from sqlalchemy import func, select

from onramp.api import keys as apikeys
from onramp.api.app import create_app, serve_in_thread
from onramp.core.store import AllocationRow, ConnectorRow, move
from onramp.flow import allocate as al
from onramp.flow.service import Service

from .conftest import AWS, Api, running_api


def test_no_key_or_a_wrong_one_is_401_in_the_error_shape(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer onr_nothere_x"}, {"X-API-Key": "junk"}):
        r = requests.get(api.url + "/v1/connectors", headers=headers, timeout=10)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "ONR-API-001"


def test_create_is_asynchronous_and_idempotent(api: Api) -> None:
    r = api.call("POST", "/v1/connectors", json=AWS, headers={"Idempotency-Key": "order-1"})
    assert r.status_code == 202, r.text
    made = r.json()
    assert made["tenant"] == "acme" and made["state"] == "allocated"
    assert ("connector", made["id"]) in api.submitted  # the workers were asked
    assert made["md5_key"] == "set"  # never the key itself
    again = api.call("POST", "/v1/connectors", json=AWS, headers={"Idempotency-Key": "order-1"})
    assert again.status_code == 202 and again.json()["id"] == made["id"]
    shown = api.call("GET", f"/v1/connectors/{made['id']}").json()
    assert [h["to"] for h in shown["history"]] == ["requested", "validated", "allocated"]


def test_an_idempotency_key_is_bound_to_its_request(api: Api) -> None:
    """The same key with the same request (as validated: a default spelled out is the same)
    answers what the first made; with another request, 422, and nothing made."""
    key = {"Idempotency-Key": "order-bound"}
    made = api.call("POST", "/v1/connectors", json=AWS, headers=key).json()
    same = api.call("POST", "/v1/connectors", json={**AWS, "description": ""}, headers=key)
    assert same.status_code == 202 and same.json()["id"] == made["id"]
    before = len(api.svc.connectors("acme"))
    other = api.call("POST", "/v1/connectors", json={**AWS, "bandwidth_mbps": 200}, headers=key)
    assert other.status_code == 422, other.text
    assert other.json()["error"]["code"] == "ONR-API-009"
    assert len(api.svc.connectors("acme")) == before
    a, b = (api.call("POST", "/v1/connectors", json=AWS).json()["id"] for _ in range(2))
    for c in (a, b):
        api.svc.store.transact(lambda s, i=c: move(s, s.get(ConnectorRow, i), "active", "t"))
    order = {"a": a, "b": b, "bandwidth_mbps": 100}
    link = api.call("POST", "/v1/links", json=order, headers=key).json()
    again = api.call("POST", "/v1/links", json=order, headers=key)
    assert again.status_code == 202 and again.json()["id"] == link["id"]
    other = api.call("POST", "/v1/links", json={**order, "sla_class": "gold"}, headers=key)
    assert other.status_code == 422 and other.json()["error"]["code"] == "ONR-API-009"


def test_a_tenant_sees_and_changes_only_its_own(api: Api) -> None:
    mine = api.call("POST", "/v1/connectors", json=AWS).json()
    for method in ("GET", "DELETE"):
        r = api.call(method, f"/v1/connectors/{mine['id']}", who="globex")
        assert r.status_code == 404 and r.json()["error"]["code"] == "ONR-REQ-011"
    assert mine["id"] not in [c["id"] for c in api.call("GET", "/v1/connectors", who="globex")
                              .json()["items"]]  # fmt: skip
    r = api.call("POST", "/v1/connectors", who="globex", json={**AWS, "tenant": "acme"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "ONR-API-002"
    r = api.call("POST", "/v1/links", who="globex",
                 json={"a": mine["id"], "b": mine["id"], "bandwidth_mbps": 100})  # fmt: skip
    assert r.status_code == 404  # another tenant's Connector cannot be linked either
    assert api.call("GET", f"/v1/connectors/{mine['id']}", who="admin").status_code == 200


def test_refusals_carry_code_and_field(api: Api) -> None:
    r = api.call("POST", "/v1/connectors", json={**AWS, "onramp": "nowhere"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "ONR-REQ-001"
    r = api.call("POST", "/v1/connectors", json={**AWS, "bandwidth_mbps": "lots"})
    assert r.status_code == 422
    assert r.json()["error"] | {"reason": ""} == {
        "code": "ONR-REQ-008", "reason": "", "hint": r.json()["error"]["hint"],
        "field": "bandwidth_mbps"}  # fmt: skip
    r = requests.post(api.url + "/v1/connectors", data="{not json", timeout=10,
                      headers={"Authorization": f"Bearer {api.keys['acme']}",
                               "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["code"] == "ONR-REQ-008"
    r = api.call("POST", "/v1/connectors", who="admin", json=AWS)
    assert r.status_code == 422 and r.json()["error"]["field"] == "tenant"
    # a provider's id says its own form, not the generic word on text that reaches routers
    r = api.call("POST", "/v1/connectors", json={**AWS, "aws_account": "1234-5678-9012"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "aws_account"
    assert "12 digits of the AWS account" in r.json()["error"]["hint"]


def active(api: Api, ident: str) -> None:
    """As the workers leave it: on the routers and at the provider."""
    api.svc.store.transact(lambda s: move(s, s.get(ConnectorRow, ident), "active", "test"))


def held(api: Api, owner: str) -> int:
    with api.svc.store.session() as s:
        count = select(func.count()).select_from(AllocationRow)
        return s.scalar(count.where(AllocationRow.owner == owner)) or 0


def test_delete_marks_decommissioning_and_asks_the_workers(api: Api) -> None:
    c = api.call("POST", "/v1/connectors", json=AWS).json()
    active(api, c["id"])
    r = api.call("DELETE", f"/v1/connectors/{c['id']}")
    assert r.status_code == 202 and r.json()["state"] == "decommissioning"
    assert api.submitted[-1] == ("connector", c["id"])
    assert held(api, c["id"]) == 3  # VLAN, subnet, VRF number: the routers may carry them
    again = api.call("DELETE", f"/v1/connectors/{c['id']}")  # idempotent
    assert again.status_code == 202 and again.json()["state"] == "decommissioning"


def test_a_connector_in_a_live_link_is_refused_and_no_link_onto_a_leaving_one(
    api: Api,
) -> None:
    a, b, c = (api.call("POST", "/v1/connectors", json=AWS).json() for _ in range(3))
    link = api.call("POST", "/v1/links", json={"a": a["id"], "b": b["id"], "bandwidth_mbps": 100})
    assert link.status_code == 202, link.text
    r = api.call("DELETE", f"/v1/connectors/{a['id']}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "ONR-REQ-015"
    assert "delete its Links first" in r.json()["error"]["hint"]
    assert api.svc.connector(a["id"])["state"] == "allocated"  # nothing moved
    assert api.call("DELETE", f"/v1/links/{link.json()['id']}").json()["state"] == (
        "decommissioning")  # fmt: skip
    # a decommissioning Link still holds its Connectors: the workers have to remove it first
    assert api.call("DELETE", f"/v1/connectors/{a['id']}").status_code == 409
    api.call("DELETE", f"/v1/connectors/{c['id']}")
    onto = api.call("POST", "/v1/links", json={"a": b["id"], "b": c["id"], "bandwidth_mbps": 100})
    assert onto.status_code == 409, onto.text
    assert (onto.json()["error"]["code"], onto.json()["error"]["field"]) == ("ONR-REQ-016", "b")


def test_lists_page_with_a_cursor(api: Api) -> None:
    for _ in range(3):
        api.call("POST", "/v1/connectors", who="globex", json=AWS)
    seen: list[str] = []
    after = None
    while True:
        params = {"limit": 2, **({"after": after} if after else {})}
        body = api.call("GET", "/v1/connectors", who="globex", params=params).json()
        seen += [c["id"] for c in body["items"]]
        assert len(body["items"]) <= 2
        if not (after := body["next"]):
            break
    everything = [c["id"] for c in api.svc.connectors("globex")]
    assert seen == everything and len(everything) >= 3


def test_a_listed_connector_is_the_one_shown(api: Api) -> None:
    """Lists read plain rows (no ORM objects, for speed): each item is still what the
    Connector's own read answers (its attachments in order), model.Connector's JSON."""
    from onramp.core.model import Connector

    api.call("POST", "/v1/connectors", who="globex", json=AWS)
    listed = api.call("GET", "/v1/connectors", who="globex", params={"limit": 500}).json()
    assert listed["items"]
    for item in listed["items"]:
        one = api.svc.connector(item["id"])
        assert item == one == Connector.model_validate(one).model_dump(mode="json")


def test_catalogue_and_openapi(api: Api) -> None:
    onramps = api.call("GET", "/v1/onramps").json()
    assert {"aws-dx-par", "azure-er-lon", "ent-lon"} <= {o["id"] for o in onramps}
    spec = requests.get(api.url + "/v1/openapi.json", timeout=10).json()
    assert {"/v1/connectors", "/v1/connectors/{ident}", "/v1/links", "/v1/onramps"} <= set(
        spec["paths"]
    )
    # an order without prefixes is valid, and its consequence is documented where clients
    # read the field: the router accepts no route from the cloud until they are set
    told = spec["components"]["schemas"]["ConnectorOrder"]["properties"]["prefixes"]
    assert "no route" in told["description"] and "PATCH" in told["description"], told


def test_a_revoked_key_stops_at_once(api: Api) -> None:
    key = apikeys.issue(api.svc.store, "acme", "temporary")
    ok = requests.get(api.url + "/v1/links", headers={"X-API-Key": key}, timeout=10)
    assert ok.status_code == 200
    assert apikeys.revoke(api.svc.store, key.split("_")[1])
    gone = requests.get(api.url + "/v1/links", headers={"X-API-Key": key}, timeout=10)
    assert gone.status_code == 401


def test_a_key_that_floods_is_slowed_with_429(api: Api) -> None:
    """The default limit (20 a second, bursts of 40): a key's burst goes through whole, then
    a flood faster than the rate meets 429. Requests are sent until the first 429 (500 at
    most): a fixed count was timing-dependent, as a loaded machine's slower requests let
    the bucket refill (60 in over 1 s at 20 a second: no 429)."""
    key = apikeys.issue(api.svc.store, "globex", "flood")
    codes: list[requests.Response] = []
    while len(codes) < 500 and (not codes or codes[-1].status_code != 429):
        codes.append(requests.get(api.url + "/v1/onramps", headers={"X-API-Key": key}, timeout=10))
    assert [r.status_code for r in codes[:40]] == [200] * 40  # the burst, whole
    limited = codes[-1]
    assert limited.status_code == 429, f"{len(codes)} requests, none limited"
    assert limited.json()["error"]["code"] == "ONR-API-003"
    assert limited.headers["Retry-After"] == "1"  # a token comes back in 1/20 s
    # other keys are not slowed by this one
    assert api.call("GET", "/v1/onramps", who="globex").status_code == 200


def test_a_body_over_the_limit_is_refused_unread(api: Api) -> None:
    r = api.call("POST", "/v1/connectors", json={**AWS, "description": "x" * 70_000})
    assert r.status_code == 413 and r.json()["error"]["code"] == "ONR-API-004"


def test_a_chunked_body_is_counted_as_it_arrives(api: Api) -> None:
    """No Content-Length to trust: 8 MiB chunked, with no key or a good one, is refused
    with 413 past 64 KiB, before the key is checked (a 401 would come after reading it all)."""

    def chunks() -> Any:
        for _ in range(128):
            yield b"x" * 65536

    for headers in ({}, {"Authorization": f"Bearer {api.keys['acme']}"}):
        r = requests.post(api.url + "/v1/connectors", data=chunks(), timeout=30,
                          headers={**headers, "Content-Type": "application/json"})  # fmt: skip
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "ONR-API-004"
    assert api.call("GET", "/v1/onramps").status_code == 200  # the server goes on


def test_every_route_keeps_tenants_apart(api: Api) -> None:
    """Each route that names a resource, called with another tenant's key: 404, and the
    resource is unchanged; lists never show another tenant's."""
    from onramp.core.store import ConnectorRow, move

    a, b = (api.call("POST", "/v1/connectors", json=AWS).json() for _ in range(2))
    for c in (a, b):  # a Link needs active ends: the workers' part, by hand
        api.svc.store.transact(
            lambda s, i=c["id"]: move(s, s.get(ConnectorRow, i), "active", "test", "made")
        )
    link = api.call("POST", "/v1/links", json={"a": a["id"], "b": b["id"], "bandwidth_mbps": 100})
    assert link.status_code == 202, link.text
    lid = link.json()["id"]
    for method, path in (("GET", f"/v1/connectors/{a['id']}"),
                         ("GET", f"/v1/connectors/{a['id']}/traffic"),
                         ("GET", f"/v1/connectors/{a['id']}/customer-config"),
                         ("GET", f"/v1/connectors/{a['id']}/customer-step"),
                         ("GET", f"/v1/connectors/{a['id']}/placement"),
                         ("DELETE", f"/v1/connectors/{a['id']}"),
                         ("PATCH", f"/v1/connectors/{a['id']}"),
                         ("GET", f"/v1/links/{lid}"), ("GET", f"/v1/links/{lid}/kpis"),
                         ("DELETE", f"/v1/links/{lid}"), ("PATCH", f"/v1/links/{lid}")):  # fmt: skip
        body = {"json": {"bandwidth_mbps": 200}} if method == "PATCH" else {}
        r = api.call(method, path, who="globex", **body)
        assert r.status_code == 404, (method, path, r.text)
    assert api.svc.link(lid)["state"] == "allocated"
    assert api.svc.connector(a["id"])["state"] == "active"
    for path in ("/v1/connectors", "/v1/links"):
        items = api.call("GET", path, who="globex", params={"limit": 500}).json()["items"]
        assert all(i["tenant"] == "globex" for i in items)
    assert api.call("GET", f"/v1/links/{lid}").json()["history"][-1]["to"] == "allocated"
    # every route that names a resource is covered here or by the tickets' test
    paths = requests.get(api.url + "/v1/openapi.json", timeout=10).json()["paths"]
    named = {(m.upper(), p) for p, ops in paths.items() if "{ident}" in p for m in ops}
    assert named == {
        ("GET", "/v1/connectors/{ident}"),
        ("PATCH", "/v1/connectors/{ident}"),
        ("PATCH", "/v1/links/{ident}"),
        ("GET", "/v1/connectors/{ident}/traffic"),
        ("GET", "/v1/connectors/{ident}/customer-config"),
        ("GET", "/v1/connectors/{ident}/placement"),
        ("GET", "/v1/connectors/{ident}/customer-step"),
        ("DELETE", "/v1/connectors/{ident}"),
        ("GET", "/v1/links/{ident}"),
        ("GET", "/v1/links/{ident}/kpis"),
        ("DELETE", "/v1/links/{ident}"),
        ("GET", "/v1/tickets/{ident}"),
        ("POST", "/v1/tickets/{ident}/answer"),
        ("GET", "/v1/webhooks/{ident}/deliveries"),  # these two: test_webhooks.py
        ("DELETE", "/v1/webhooks/{ident}"),
    }


def test_unknown_routes_and_methods_answer_in_the_error_shape(api: Api) -> None:
    r = api.call("GET", "/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "ONR-API-006"
    r = api.call("PUT", "/v1/connectors")
    assert r.status_code == 405 and r.json()["error"]["code"] == "ONR-API-006"


def test_apikey_create_needs_exactly_one_of_tenant_or_admin(api: Api) -> None:
    import json

    from typer.testing import CliRunner

    from onramp.cli.main import app

    config = str(api.svc.settings.path)
    for args in ([], ["--tenant", "acme", "--admin"]):
        done = CliRunner().invoke(app, ["--config", config, "apikey", "create", *args, "--json"])
        assert done.exit_code == 2
        assert json.loads(done.stdout)["error"]["code"] == "ONR-REQ-003"
    done = CliRunner().invoke(app, ["--config", config, "apikey", "create", "--tenant", "nobody"])
    assert done.exit_code == 2 and "ONR-REQ-013" in done.output


def test_tickets_are_seen_by_their_tenant_and_answered_by_engineers(api: Api) -> None:
    """A ticket opened for acme's Connector (by the ticket adapter, as the workers' CSP
    step does for a provider that takes tickets): acme reads it, globex cannot, only an
    admin key records the provider's answer, and only once."""
    from onramp.csp.adapter import PeeringRequest, Session
    from onramp.csp.manual.adapter import ManualAdapter

    mine = api.call("POST", "/v1/connectors", json=AWS).json()
    adapter = ManualAdapter("ibm", api.svc.store, api.svc.vault)
    opened = adapter.request(PeeringRequest(
        idempotency_key=f"{mine['id']}:csp", customer_account="ibm-4411", local_asn=65000,
        sessions=(Session("pe1-par:eth3", 812, None, "169.254.64.1/30", "169.254.64.2/30"),),
        md5_key="Tq7kPz2mWc9xRb4n", bandwidth_mbps=100, peer_asn=64999,
    )).resource_id  # fmt: skip
    listed = api.call("GET", "/v1/tickets").json()
    assert [(t["id"], t["connector"], t["state"]) for t in listed] == [
        (opened, mine["id"], "open")]  # fmt: skip
    shown = api.call("GET", f"/v1/tickets/{opened[:8]}").json()
    assert "Tq7kPz2mWc9xRb4n" not in str(shown) and "812" in shown["text"]
    assert api.call("GET", "/v1/tickets", who="globex").json() == []
    assert api.call("GET", f"/v1/tickets/{opened}", who="globex").status_code == 404
    body = {"accepted": True, "provider_ref": "IBM-991"}
    refused = api.call("POST", f"/v1/tickets/{opened}/answer", json=body)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "ONR-API-002"
    done = api.call("POST", f"/v1/tickets/{opened}/answer", who="admin", json=body)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "ready" and done.json()["answer"]["provider_ref"] == "IBM-991"
    assert "by" not in done.json()["answer"]  # the engineer's name stays in
    again = api.call("POST", f"/v1/tickets/{opened}/answer", who="admin", json=body)
    assert again.status_code == 409 and again.json()["error"]["code"] == "ONR-CSP-007"
    assert api.call("GET", "/v1/tickets").json() == []  # answered: not waiting any more
    from onramp.client import Client

    assert [t["id"] for t in Client(api.url, api.keys["acme"]).tickets(everything=True)] == [opened]


def test_kpis_traffic_and_metrics(api: Api) -> None:
    """What monitoring stored, as the Link's and Connector's owner and Prometheus see it."""
    from datetime import timedelta

    from onramp.core.store import ConnectorRow, LinkRow, TrafficSampleRow, move, now
    from onramp.flow import monitor

    a, b = (api.call("POST", "/v1/connectors", json=AWS).json() for _ in range(2))
    for c in (a, b):
        api.svc.store.transact(lambda s, i=c["id"]: move(s, s.get(ConnectorRow, i), "active", "t"))
    lid = api.call("POST", "/v1/links", json={"a": a["id"], "b": b["id"], "bandwidth_mbps": 100,
                                               "sla_class": "gold"}).json()["id"]  # fmt: skip
    api.svc.store.transact(lambda s: move(s, s.get(LinkRow, lid), "active", "t"))
    t0 = now() - timedelta(minutes=5)
    monitor.record(api.svc, [monitor.Window(lid, 20, 20, 0.3, 0.4, 0.05)], t0)
    monitor.record(
        api.svc, [monitor.Window(lid, 20, 19, 0.3, 0.4, 0.05)], t0 + timedelta(minutes=1)
    )

    def counters(s: Any, at: Any, rx: int, tx: int) -> None:
        s.add(TrafficSampleRow(connector_id=a["id"], at=at, router="pe1-par", interface="eth3.2",
                               rx_octets=rx, tx_octets=tx))  # fmt: skip

    api.svc.store.transact(lambda s: counters(s, t0, 1_000, 2_000))
    api.svc.store.transact(lambda s: counters(s, t0 + timedelta(seconds=60), 751_000, 2_000))

    kpis = api.call("GET", f"/v1/links/{lid}/kpis?hours=1").json()
    assert [s["loss_pct"] for s in kpis["samples"]] == [0.0, 5.0]
    assert kpis["breaches"][0]["metric"] == "loss" and kpis["sla"]["loss_pct"] == 0.1
    traffic = api.call("GET", f"/v1/connectors/{a['id']}/traffic").json()
    assert [(r["in_bps"], r["out_bps"]) for r in traffic["rates"]] == [(100_000.0, 0.0)]
    assert api.call("GET", f"/v1/links/{lid}/kpis?hours=0").status_code == 422
    month = api.call("GET", f"/v1/links/{lid}/kpis?month={t0:%Y-%m}").json()
    assert month["windows"] == 2 and month["sla_met_pct"] == 50.0
    assert api.call("GET", f"/v1/links/{lid}/kpis?month=2026-13").status_code == 422
    for month in (
        "0000-01",
        "9999-12",
        ARABIC_INDIC[:4] + "-01",
        FULL_WIDTH[:4] + "-01",
    ):  # not a 500
        r = api.call("GET", f"/v1/links/{lid}/kpis", params={"month": month})
        assert r.status_code == 422 and r.json()["error"]["field"] == "month", (month, r.text)

    assert api.call("GET", "/metrics").status_code == 403  # a tenant's key: not everyone's figures
    text = api.call("GET", "/metrics", who="admin").text
    assert f'onramp_link_loss_ratio{{link="{lid}",sla_class="gold",tenant="acme"}} 0.05' in text
    assert (
        f'onramp_link_sla_breached{{link="{lid}",metric="loss",sla_class="gold",tenant="acme"}} 1.0'
        in text
    )
    assert 'direction="in",interface="eth3.2",router="pe1-par",tenant="acme"} 751000.0' in text


def test_compliance_for_engineers_only(api: Api) -> None:
    """The newest stored run (here one made by compliance.compare on the golden configs)."""
    from onramp.core.settings import ROOT
    from onramp.core.store import ComplianceReportRow, now
    from onramp.flow import compliance

    assert api.call("GET", "/v1/compliance", who="admin").json()["error"]["code"] == "ONR-COMP-002"
    kept = ROOT / "validation" / "golden" / "backbone" / "frr.txt"
    got = compliance.compare(
        "frr", kept.read_text(), kept.read_text() + "ip route 10.9.0.0/16 Null0\n"
    )
    report = {"at": now().isoformat(), "score": got["score"], "compliant": False,
              "routers": {"pe1": {"platform": "frr", **got}, "p9": {"error": "unreachable"}}}  # fmt: skip
    api.svc.store.transact(lambda s: s.add(ComplianceReportRow(
        at=now(), score=got["score"], compliant=False, report=report)))  # fmt: skip
    assert api.call("GET", "/v1/compliance").status_code == 403  # a tenant's key
    shown = api.call("GET", "/v1/compliance", who="admin").json()
    assert shown["routers"]["pe1"]["features"]["static"]["extra"] == ["ip route 10.9.0.0/16 Null0"]
    assert shown["routers"]["p9"]["error"] == "unreachable"
    page = api.call("GET", "/v1/compliance/report.html", who="admin")
    assert page.headers["content-type"].startswith("text/html")
    assert "- ip route 10.9.0.0/16 Null0" in page.text


ARABIC_INDIC = "".join(chr(0x660 + int(d)) for d in "123456789012")  # digits to \d, not to us
FULL_WIDTH = "".join(chr(0xFF10 + int(d)) for d in "123456789012")
ENTERPRISE = {"onramp": "ent-lon", "kind": "enterprise", "bandwidth_mbps": 10,
              "customer_asn": 65201, "prefixes": ["192.168.10.0/24"]}  # fmt: skip


def test_loose_input_is_refused_with_its_field(api: Api) -> None:
    """Only ASCII digits, JSON numbers that are integers, prefixes as text: what pydantic's
    lax mode would read otherwise (true as AS 1, "65_201", 65201.0, an integer as an
    address, Arabic-Indic or full-width digits) is a 422 naming the field."""
    loose = [
        ({**AWS, "aws_account": ARABIC_INDIC}, "aws_account"),
        ({**AWS, "aws_account": FULL_WIDTH}, "aws_account"),
        ({**ENTERPRISE, "customer_asn": True}, "customer_asn"),
        ({**ENTERPRISE, "customer_asn": "65_201"}, "customer_asn"),
        ({**ENTERPRISE, "customer_asn": "65201"}, "customer_asn"),
        ({**ENTERPRISE, "customer_asn": 65201.0}, "customer_asn"),
        ({**ENTERPRISE, "bandwidth_mbps": True}, "bandwidth_mbps"),
        ({**ENTERPRISE, "prefixes": [3232238080]}, "prefixes.0"),
    ]  # fmt: skip
    for body, field in loose:
        r = api.call("POST", "/v1/connectors", who="globex", json=body)
        assert r.status_code == 422, (body, r.text)
        assert (r.json()["error"]["code"], r.json()["error"]["field"]) == ("ONR-REQ-008", field)
    r = api.call("POST", "/v1/links", who="globex", json={"a": str(UUID(int=1)),
                 "b": str(UUID(int=2)), "bandwidth_mbps": "100"})  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["field"] == "bandwidth_mbps"
    assert api.call("POST", "/v1/connectors", who="globex", json=ENTERPRISE).status_code == 202


def test_a_ticket_answer_cannot_forge_a_line(api: Api) -> None:
    """The answer is shown in lines (the ticket's mail, `onramp ticket show`): a newline in
    the provider's reference or the note would write one of its own."""
    from onramp.core.errors import OnrampError
    from onramp.csp.manual.adapter import answer

    forged = "IBM-1\nanswer: accepted by noc at 2026-12-01"
    for body in ({"accepted": True, "provider_ref": forged},
                 {"accepted": True, "note": "ok\r\nBcc: x"},
                 {"accepted": True, "note": "ok\u2028forged"},
                 {"accepted": 1}):  # fmt: skip
        r = api.call("POST", f"/v1/tickets/{UUID(int=3)}/answer", who="admin", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "ONR-REQ-008", (body, r.text)
    with pytest.raises(OnrampError) as refused:  # the CLI's way in, below the API
        answer(api.svc.store, str(UUID(int=3)), True, forged, "", by="noc")
    assert refused.value.field == "provider_ref"


def test_every_answer_carries_the_security_headers(api: Api) -> None:
    """The Portal's policy lets only its own inline script and style run (by hash: the
    browser tests in test_portal.py run the page under it); other answers load nothing."""
    portal = requests.get(api.url + "/", timeout=10)
    policy = portal.headers["Content-Security-Policy"]
    assert "script-src 'sha256-" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy
    for r in (portal, api.call("GET", "/v1/onramps"), requests.get(api.url + "/v1/x", timeout=10)):
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert "Content-Security-Policy" in r.headers


def test_a_delete_answers_decommissioning_even_when_the_workers_finish_at_once(
    tmp_path: Path,
) -> None:
    """The answer is the state the delete left it in: read after handing it to the workers,
    a fast worker had it deleted already (a CI run's `connector delete` said `deleted`)."""
    instant: list[Service] = []

    def worker(kind: str, ident: str) -> None:  # the decommission step's end, at once
        if kind == "connector" and instant:
            al.release_connector(instant[0].store, ident)

    with running_api(tmp_path) as api:
        instant.append(api.svc)
        c = api.call("POST", "/v1/connectors", json=AWS).json()
        active(api, c["id"])
        app = create_app(api.svc, worker)
        with serve_in_thread(app) as url:
            headers = {"Authorization": f"Bearer {api.keys['acme']}"}
            r = requests.delete(f"{url}/v1/connectors/{c['id']}", headers=headers, timeout=10)
        assert r.status_code == 202 and r.json()["state"] == "decommissioning"
        assert api.svc.connector(c["id"])["state"] == "deleted"  # the worker did finish
        b = api.call("POST", "/v1/connectors", json=AWS).json()
        active(api, b["id"])
        # the CLI's way: Service.delete_connector
        cli = replace(api.svc, inventory=api.svc.backbone, submit=worker)
        assert cli.delete_connector(b["id"])["state"] == "decommissioning"
        assert api.svc.connector(b["id"])["state"] == "deleted"
