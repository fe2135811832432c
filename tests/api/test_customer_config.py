"""`GET /v1/connectors/{id}/customer-config`: the customer's router config with the BGP key,
for the Connector's tenant (and admin keys) only, every reveal recorded; another tenant
gets word for word what an absent id gets; the key in no log line."""

from __future__ import annotations

import logging

import pytest

from onramp.core.store import ConnectorRow

from .conftest import AWS, Api

ENT = {"onramp": "ent-par", "kind": "enterprise", "bandwidth_mbps": 100, "customer_asn": 65101,
       "prefixes": ["192.168.10.0/24"]}  # fmt: skip


def key_of(api: Api, ident: str) -> str:
    with api.svc.store.session() as s:
        row = s.get(ConnectorRow, ident)
        assert row is not None and row.md5_key
        return api.svc.vault.decrypt(row.md5_key)


def absent_like(api: Api, ident: str) -> dict[str, str]:
    """What an id no Connector has answers, in the shape it would take for `ident`."""
    nothing = "f" * 8 + ident[8:]
    r = api.call("GET", f"/v1/connectors/{nothing}/customer-config")
    assert r.status_code == 404
    body: dict[str, str] = r.json()["error"]
    return {**body, "reason": body["reason"].replace(nothing, ident)}


def test_the_owner_gets_the_key_another_tenant_what_an_absent_id_gets(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    made = api.call("POST", "/v1/connectors", json=ENT).json()
    key = key_of(api, made["id"])
    path = f"/v1/connectors/{made['id']}/customer-config"
    mine = api.call("GET", path, params={"platform": "iosxr", "interface": "TenGigE0/0/0/3"})
    assert mine.status_code == 200, mine.text
    got = mine.json()
    assert got["password"] == key and f"password clear {key}" in got["config"]
    assert got["attachments"][0]["interface"].startswith("TenGigE0/0/0/3.")
    for ident in (made["id"], made["id"][:8]):  # by id or prefix: the same 404 as none
        other = api.call("GET", f"/v1/connectors/{ident}/customer-config", who="globex")
        assert other.status_code == 404 and other.json()["error"] == absent_like(api, ident)
        shown = api.call("GET", f"/v1/connectors/{ident}", who="globex")
        assert shown.status_code == 404 and shown.json()["error"] == absent_like(api, ident)
        assert key not in other.text
    from onramp.client import Client

    admin = Client(api.url, api.keys["admin"]).customer_config(made["id"], "frr")  # a script's
    assert admin["password"] == key and admin["platform"] == "frr"
    assert [(r["actor"].split(":")[:2], r["platform"]) for r in api.svc.reveals(made["id"])] == [
        (["api", "acme"], "iosxr"), (["api", "admin"], "frr")]  # fmt: skip
    assert all(key not in r.getMessage() for r in caplog.records)
    assert len([r for r in caplog.records if r.name == "onramp.audit"]) == 2


def test_a_cloud_connector_and_a_bad_platform_are_refused(api: Api) -> None:
    aws = api.call("POST", "/v1/connectors", json=AWS).json()
    r = api.call("GET", f"/v1/connectors/{aws['id']}/customer-config")
    assert r.status_code == 422 and r.json()["error"]["code"] == "ONR-REQ-014"
    ent = api.call("POST", "/v1/connectors", json=ENT).json()
    for params in ({"platform": "eos"}, {"interface": "Gi0/1 \n router bgp 1"}):
        r = api.call("GET", f"/v1/connectors/{ent['id']}/customer-config", params=params)
        assert r.status_code == 422 and r.json()["error"]["code"] == "ONR-REQ-008", r.text
    assert api.svc.reveals(aws["id"]) == [] and api.svc.reveals(ent["id"]) == []
