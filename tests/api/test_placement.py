"""Why a Connector is where it is, over the API (`GET /v1/connectors/{id}/placement`), and
the engineers' backbone (`GET /v1/topology`): the edge choice made on a recorded topology
(pe1-lon's IS-IS overload bit set, tests/validation/recorded/isis/overload), shown to the
tenant in its own words, to an admin key with scores and router health, to another
tenant not at all."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from onramp.flow import allocate

from .conftest import Api, keep_topology, recorded_topology, running_api

ENT = {"onramp": "ent-lon", "kind": "enterprise", "bandwidth_mbps": 100,
       "customer_asn": 65101, "prefixes": ["192.168.10.0/24"]}  # fmt: skip


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    # the live choice on, and a topology read a moment ago: no router is asked
    with running_api(tmp_path_factory.mktemp("placement"),
                     topology={"source": "isis-ssh", "max_age_s": 3600}) as running:  # fmt: skip
        keep_topology(running, recorded_topology("overload"))
        yield running


def test_the_tenant_sees_where_and_why_in_its_own_words(api: Api) -> None:
    made = api.call("POST", "/v1/connectors", json=ENT).json()
    assert [a["router"] for a in made["attachments"]] == ["pe2-lon"]
    got = api.call("GET", f"/v1/connectors/{made['id'][:8]}/placement")
    assert got.status_code == 200, got.text
    shown = got.json()
    assert shown["basis"] == "network" and shown["connector"] == made["id"]
    by_router = {c["router"]: c for c in shown["candidates"]}
    assert by_router["pe2-lon"]["chosen"] and by_router["pe2-lon"]["reason"].startswith("chosen")
    assert not by_router["pe1-lon"]["chosen"]
    assert by_router["pe1-lon"]["reason"] == "not available now (maintenance or a fault)"
    # no score, no load, no router health: those are the engineers'
    text = json.dumps(shown)
    assert "overload" not in text and "IS-IS" not in text
    assert not {"score", "terms", "excluded"} & {k for c in shown["candidates"] for k in c}
    assert "topology_read_at" not in shown


def test_an_admin_key_sees_scores_and_the_routers_health(api: Api) -> None:
    made = api.call("POST", "/v1/connectors", json=ENT).json()
    shown = api.call("GET", f"/v1/connectors/{made['id']}/placement", who="admin").json()
    by_router = {c["router"]: c for c in shown["candidates"]}
    assert by_router["pe1-lon"]["excluded"] == "overloaded: IS-IS overload bit set"
    assert by_router["pe1-lon"]["score"] is None
    assert by_router["pe2-lon"]["score"] is not None and "load" in by_router["pe2-lon"]["terms"]
    assert shown["topology_read_at"]


def test_another_tenants_connector_is_absent(api: Api) -> None:
    made = api.call("POST", "/v1/connectors", json=ENT).json()
    for ident in (made["id"], made["id"][:8]):
        got = api.call("GET", f"/v1/connectors/{ident}/placement", who="globex")
        assert got.status_code == 404 and got.json()["error"]["code"] == "ONR-REQ-011"


def test_a_choice_made_without_the_network_says_so(api: Api) -> None:
    req = api.svc.connector_request({**ENT, "tenant": "acme"})
    made = allocate.create_connector(api.svc.store, api.svc.backbone, req, api.svc.vault)
    shown = api.call("GET", f"/v1/connectors/{made['id']}/placement").json()
    assert shown["basis"] == "inventory"
    assert [(c["router"], c["chosen"]) for c in shown["candidates"]] == [
        (made["attachments"][0]["router"], True)
    ]


def test_the_backbone_is_for_admin_keys(api: Api) -> None:
    refused = api.call("GET", "/v1/topology", who="acme")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "ONR-API-002"
    topo = api.call("GET", "/v1/topology", who="admin").json()
    assert len(topo["nodes"]) == 6 and topo["source"] == "isis-ssh"
    assert topo["routers"]["pe1-lon"] == {"role": "pe", "pop": "lon", "state": "excluded",
                                         "why": "overloaded: IS-IS overload bit set"}  # fmt: skip
    assert topo["routers"]["p1-par"]["state"] == "route reflector"
    assert topo["routers"]["pe2-lon"]["state"] == "ok"


def test_no_topology_read_yet_is_said(api: Api) -> None:
    path = api.svc.settings.topology_cache
    kept = path.read_text()
    path.unlink()
    try:
        got = api.call("GET", "/v1/topology", who="admin")
        assert got.status_code == 404 and got.json()["error"]["code"] == "ONR-TOPO-001"
    finally:
        path.write_text(kept)
