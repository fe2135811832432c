"""Tenant isolation, generated from the OpenAPI document: every route that names a resource
by id, called with another tenant's key and that tenant's full id, a prefix of it, or
wildcard text, answers exactly what an id that names nothing answers (the same status, the
same body but for the caller's own input echoed back). So no answer tells an attacker
anything: no number of requests learns one foreign id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from onramp.api.guard import RateLimit
from onramp.core.store import ConnectorRow, move
from onramp.csp.adapter import PeeringRequest, Session
from onramp.csp.manual.adapter import ManualAdapter

from .conftest import AWS, Api, running_api

ABSENT = "0badc0de-0000-4000-8000-000000000000"
WILDCARDS = ["%", "%%%%", "_", "____", "%25", "%25%25%25%25", "*", "****", "________-____"]
# a valid body for each request schema a route with an id takes (a new one must be added)
BODIES = {
    "TicketAnswer": {"accepted": True, "provider_ref": "X-1"},
    "Change": {"description": "a probe"},
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    # a limit no probe reaches: this suite is about answers, not pace
    with running_api(tmp_path_factory.mktemp("iso"), RateLimit(1000, 10_000)) as running:
        yield running


def acme_things(api: Api) -> dict[str, str]:
    """One of each kind a route names, all acme's: resource kind -> full id."""
    a, b = (api.call("POST", "/v1/connectors", json=AWS).json() for _ in range(2))
    for c in (a, b):  # a Link needs active ends: the workers' part, by hand
        api.svc.store.transact(lambda s, i=c["id"]: move(s, s.get(ConnectorRow, i), "active", "t"))
    link = api.call("POST", "/v1/links", json={"a": a["id"], "b": b["id"], "bandwidth_mbps": 100})
    assert link.status_code == 202, link.text
    ticket = ManualAdapter("ibm", api.svc.store, api.svc.vault).request(PeeringRequest(
        idempotency_key=f"{a['id']}:csp", customer_account="ibm-4411", local_asn=65000,
        sessions=(Session("pe1-par:eth3", 812, None, "169.254.64.1/30", "169.254.64.2/30"),),
        md5_key="Tq7kPz2mWc9xRb4n", bandwidth_mbps=100, peer_asn=64999,
    )).resource_id  # fmt: skip
    hook = api.call("POST", "/v1/webhooks", json={"url": "https://93.184.216.34/x"}).json()["id"]
    return {"connectors": a["id"], "links": link.json()["id"], "tickets": ticket,
            "webhooks": hook}  # fmt: skip


def routes_with_an_id(api: Api) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, body) of every operation whose path has a parameter, from the document."""
    doc = requests.get(api.url + "/v1/openapi.json", timeout=10).json()
    out = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if "{ident}" not in path:  # the tenant's own (delegations): test_delegation.py
                continue
            body = None
            if "requestBody" in op:
                ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                body = BODIES[ref.rsplit("/", 1)[-1]]
            out.append((method.upper(), path, body))
    return out


def answer(api: Api, method: str, path: str, ident: str, body: Any, who: str) -> tuple[int, str]:
    """Status and body, the caller's own `ident` (as the server decoded it) taken out."""
    url = path.replace("{ident}", quote(ident, safe=""))
    r = api.call(method, url, who=who, json=body)
    return r.status_code, json.dumps(r.json(), sort_keys=True).replace(ident, "<ident>")


def test_another_tenants_ids_answer_as_absent_ones(api: Api) -> None:
    theirs = acme_things(api)
    routes = routes_with_an_id(api)
    assert len(routes) >= 8  # the document lists them: a route is never left out
    for method, path, body in routes:
        full = theirs[path.split("/")[2]]
        probes = [full, full[:4], full[:6], full[:8], full.upper(), *WILDCARDS]
        for who in ("globex", "acme"):  # acme: wildcards never match its own either
            absent = answer(api, method, path, ABSENT, body, who)
            assert absent[0] in (403, 404), (method, path, absent)
            for probe in probes if who == "globex" else WILDCARDS:
                got = answer(api, method, path, probe, body, who)
                assert got == absent, (who, method, path, probe, got, absent)
                assert full not in got[1] and full[:8] not in got[1]
    # nothing was changed by any of it
    assert api.svc.connector(theirs["connectors"])["state"] == "active"
    assert api.svc.link(theirs["links"])["state"] == "allocated"


def test_the_owner_still_finds_by_prefix_and_the_admin_everything(api: Api) -> None:
    mine = api.call("POST", "/v1/connectors", json=AWS).json()["id"]
    for who in ("acme", "admin"):
        for ident in (mine, mine[:8], mine.upper()):
            r = api.call("GET", f"/v1/connectors/{ident}", who=who)
            assert r.status_code == 200 and r.json()["id"] == mine, (who, ident, r.text)


def test_the_store_lookup_itself_is_scoped_and_literal(api: Api, tmp_path: Path) -> None:
    """Below the API: `by_prefix` with a tenant never sees another's row, and `%`/`_` are
    characters, not patterns."""
    from onramp.core.errors import OnrampError
    from onramp.core.store import by_prefix

    mine = api.call("POST", "/v1/connectors", json=AWS).json()["id"]
    with api.svc.store.session() as s:
        assert by_prefix(s, ConnectorRow, mine[:8], "connector", "ONR-REQ-011", "acme").id == mine
        for ident, tenant in ((mine, "globex"), ("%%%%", None), ("____", "acme")):
            with pytest.raises(OnrampError) as no:
                by_prefix(s, ConnectorRow, ident, "connector", "ONR-REQ-011", tenant)
            assert no.value.reason == f"connector '{ident}' matches nothing"
