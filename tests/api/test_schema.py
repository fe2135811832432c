"""The OpenAPI document is the contract: schemathesis generates requests from
`/v1/openapi.json` against a real uvicorn server, in each of its phases, and checks each
answer: never a 5xx, a documented status, a body matching the documented schema (the error
shape included), the content type.

- examples: the document's own (a valid order per body), missing parts generated;
- coverage: boundary values of every constraint, each thing left out, wrong types, other
  methods on each path;
- fuzzing: valid and invalid requests from the schemas (hypothesis);
- stateful: sequences that follow the document's links (create a Connector, read it, link it,
  delete it, ...).

Bounded and derandomized (the same requests every run): about 4 minutes in all on a 2-core
machine, most of it the tenant's fuzzing. With acme's key;
the rate limits are raised so that the generator, not a limit, decides what is tested."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import StopReason, events

from onramp.api.app import RateLimit

from .conftest import AWS, Api, running_api

PHASES = ("examples", "coverage", "fuzzing", "stateful")
OPERATIONS = 29  # every /v1 operation of the document
# Bounds: fuzzing draws MAX_EXAMPLES per operation (valid and invalid mixed), for the
# tenant's key; the engineers' key reaches the same validation through the same routes and
# differs in what it may see, which examples and coverage try on every operation: it fuzzes
# a third as much (each fuzzing run was 2,900 requests, 140-240 s of a 2-core CI run, most
# of it Hypothesis drawing from the schemas). The stateful phase runs scenarios of up to
# MAX_STEPS calls. Examples and coverage run what they derive.
MAX_EXAMPLES = {"acme": 100, "admin": 35}
MAX_STEPS = 10


def config(phase: str, key: str, examples: int) -> SchemathesisConfig:
    """schemathesis' own configuration (as schemathesis.toml would hold it), `phase` alone.
    A schema-valid order may still break a provider's rule (the constraints are data per
    provider: an AWS account on an enterprise on-ramp, an on-ramp that does not exist):
    a documented 422 with the field, so `positive_data_acceptance` is off."""
    return SchemathesisConfig.from_dict({
        "seed": 19,  # with `deterministic`: the same requests every run
        "suppress-health-check": ["all"],
        "headers": {"Authorization": f"Bearer {key}"},
        "generation": {"mode": "all", "deterministic": True, "max-examples": examples},
        "phases": {**{p: {"enabled": p == phase} for p in PHASES},
                   # chains go on from what the API accepted: valid requests only
                   "stateful": {"enabled": phase == "stateful", "max-steps": MAX_STEPS,
                                "generation": {"mode": "positive"}}},
        "checks": {"positive_data_acceptance": {"enabled": False},
                   # a delete is asynchronous (202, the resource `decommissioning` until the
                   # workers have removed it: test_api.py), not gone when answered
                   "use_after_free": {"enabled": False}},
        # the chains run as acme: generated keys (a documented 401) would cut them short
        "parameters": {"header.authorization": f"Bearer {key}", "header.x-api-key": key}
        if phase == "stateful" else {},
    })  # fmt: skip


@dataclass
class Run:
    calls: Counter[str] = field(default_factory=Counter)  # operation -> requests sent
    failures: list[str] = field(default_factory=list)

    def report(self) -> str:
        return "\n\n".join(self.failures[:20]) + f"\n({len(self.failures)} failures)"


def run(api: Api, phase: str, who: str = "acme") -> Run:
    """One schemathesis phase against the server, as its CLI runs it (`st run`)."""
    schema = schemathesis.openapi.from_url(api.url + "/v1/openapi.json",
                                           config=config(phase, api.keys[who],
                                                         MAX_EXAMPLES[who]))  # fmt: skip
    out = Run()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            rec = event.recorder
            for case_id in rec.interactions:
                out.calls[rec.cases[case_id].value.operation.label] += 1
            for checks in rec.checks.values():
                out.failures += [f"{rec.label}: {c.name}: {c.failure_info.failure.title}\n"
                                 f"{c.failure_info.failure.message}\n{c.failure_info.code_sample}"
                                 for c in checks if c.failure_info]  # fmt: skip
        elif isinstance(event, events.NonFatalError):
            out.failures.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            raise event.exception
        elif isinstance(event, events.EngineFinished):
            assert event.stop_reason is StopReason.COMPLETED, event.stop_reason
    return out


@pytest.fixture(scope="module")
def open_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    unlimited = RateLimit(1e6, 10**6)  # per key, and unknown keys per address
    with running_api(tmp_path_factory.mktemp("schema"), unlimited, unlimited) as api:
        # Something to find: generated ids mostly miss, these let GET/DELETE hit too.
        a = api.call("POST", "/v1/connectors", json=AWS).json()
        b = api.call("POST", "/v1/connectors", json={**AWS, "aws_account": "210987654321"})
        api.call("POST", "/v1/links", json={"a": a["id"], "b": b.json()["id"],
                                            "bandwidth_mbps": 50})  # fmt: skip
        yield api


@pytest.mark.parametrize("who", ["acme", "admin"])  # a tenant's key; engineers' (compliance,
@pytest.mark.parametrize("phase", ["examples", "coverage", "fuzzing"])  # tickets' answers)
def test_every_operation_keeps_the_contract(open_api: Api, phase: str, who: str) -> None:
    """examples: the document's; coverage: each constraint's boundaries, each part left out
    or of the wrong type, other methods; fuzzing: valid and invalid requests drawn from the
    schemas. Every operation is reached, none answers a 5xx or an undocumented status."""
    result = run(open_api, phase, who)
    print(f"{phase}/{who}: {sum(result.calls.values())} calls, {len(result.calls)} operations")
    assert not result.failures, result.report()
    if phase == "examples":  # the operations whose document shows an example: every body
        assert set(result.calls) == {"POST /v1/connectors", "POST /v1/links", "POST /v1/webhooks",
                                     "PATCH /v1/connectors/{ident}", "PATCH /v1/links/{ident}",
                                     "PUT /v1/tenants/me/delegations/{provider}",
                                     "POST /v1/tickets/{ident}/answer"}, result.calls  # fmt: skip
    else:
        assert len(result.calls) == OPERATIONS, sorted(result.calls)


def test_chained_operations_keep_the_contract(open_api: Api) -> None:
    """Stateful: sequences that follow the document's links, with the ids the API answered
    (create a Connector, read it, link it, delete it; list, link the first two, ...)."""
    result = run(open_api, "stateful")
    print(f"stateful: {sum(result.calls.values())} calls, {len(result.calls)} operations")
    assert not result.failures, result.report()
    assert {"POST /v1/connectors", "GET /v1/connectors/{ident}", "DELETE /v1/connectors/{ident}",
            "POST /v1/links", "GET /v1/links/{ident}", "DELETE /v1/links/{ident}"
            } <= set(result.calls), sorted(result.calls)  # fmt: skip


def test_the_document_shows_a_valid_order(api: Api) -> None:
    """Its example orders are what a customer can send as is (a Link's ends aside: ids)."""
    doc = requests.get(api.url + "/v1/openapi.json", timeout=10).json()["components"]["schemas"]
    order = doc["ConnectorOrder"]["examples"][0]
    assert api.call("POST", "/v1/connectors", json=order).status_code == 202
    made = api.call("POST", "/v1/connectors", json={**order, "aws_account": "555566667777"})
    link = {**doc["LinkOrder"]["examples"][0], "a": made.json()["id"],
            "b": api.call("GET", "/v1/connectors").json()["items"][0]["id"]}  # fmt: skip
    assert api.call("POST", "/v1/links", json=link).status_code == 202, link


def test_links_lead_from_a_created_resource_to_its_routes(api: Api) -> None:
    """Every link names an operation of the document and that operation's parameters; what
    POST answers leads to reading and deleting it (clients and the state machine follow)."""
    doc = requests.get(api.url + "/v1/openapi.json", timeout=10).json()
    led: dict[str, set[str]] = {}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for answer in op["responses"].values():
                for link in answer.get("links", {}).values():
                    _, _, ref = link["operationRef"].partition("#/paths/")
                    to_path, to_method = ref.replace("~1", "/").rsplit("/", 1)
                    target = doc["paths"][to_path][to_method]
                    names = {p["name"] for p in target.get("parameters", [])}
                    assert set(link["parameters"]) <= names, link
                    source = f"{method.upper()} {path}"
                    led.setdefault(source, set()).add(f"{to_method.upper()} {to_path}")
    assert {"GET /v1/connectors/{ident}", "DELETE /v1/connectors/{ident}", "POST /v1/links"
            } <= led["POST /v1/connectors"]  # fmt: skip
    assert {"GET /v1/links/{ident}", "DELETE /v1/links/{ident}"} <= led["POST /v1/links"]


# The operationIds generated clients are built on: a change here breaks customers' code.
OPERATION_IDS = {
    "GET /v1/onramps": "listOnramps", "GET /v1/connectors": "listConnectors",
    "POST /v1/connectors": "createConnector", "GET /v1/connectors/{ident}": "getConnector",
    "DELETE /v1/connectors/{ident}": "deleteConnector", "GET /v1/links": "listLinks",
    "POST /v1/links": "createLink", "GET /v1/links/{ident}": "getLink",
    "DELETE /v1/links/{ident}": "deleteLink", "GET /v1/links/{ident}/kpis": "getLinkKpis",
    "GET /v1/connectors/{ident}/traffic": "getConnectorTraffic",
    "GET /v1/connectors/{ident}/customer-config": "getCustomerConfig",
    "GET /v1/connectors/{ident}/customer-step": "getCustomerStep",
    "GET /v1/tenants/me/delegations": "listDelegations",
    "PUT /v1/tenants/me/delegations/{provider}": "putDelegation",
    "DELETE /v1/tenants/me/delegations/{provider}": "deleteDelegation",
    "GET /v1/compliance": "getCompliance", "GET /v1/compliance/report.html": "getComplianceHtml",
    "GET /v1/tickets": "listTickets", "GET /v1/tickets/{ident}": "getTicket",
    "POST /v1/tickets/{ident}/answer": "answerTicket",
    "PATCH /v1/connectors/{ident}": "updateConnector", "PATCH /v1/links/{ident}": "updateLink",
    "POST /v1/webhooks": "createWebhook", "GET /v1/webhooks": "listWebhooks",
    "DELETE /v1/webhooks/{ident}": "deleteWebhook",
    "GET /v1/webhooks/{ident}/deliveries": "listWebhookDeliveries",
    "GET /v1/connectors/{ident}/placement": "getPlacement", "GET /v1/topology": "getTopology",
}  # fmt: skip


def test_every_operation_has_a_stable_id_a_tag_and_the_key_schemes(api: Api) -> None:
    """camelCase operationIds (unique), a tag on each, the key declared once as security
    schemes (Bearer, or X-API-Key) rather than as a header parameter of every operation;
    request bodies carry an example."""
    doc = requests.get(api.url + "/v1/openapi.json", timeout=10).json()
    ops = {f"{m.upper()} {p}": op for p, by in doc["paths"].items() for m, op in by.items()}
    assert {k: ops[k]["operationId"] for k in OPERATION_IDS} == OPERATION_IDS
    ids = [op["operationId"] for op in ops.values()]
    assert len(ids) == len(set(ids)) and all(i[0].islower() and "_" not in i for i in ids), ids
    assert all(op.get("tags") for op in ops.values())
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for name, op in ops.items():
        assert op["security"] == [{"bearer": []}, {"apiKey": []}], name
        headers = {p["name"].lower() for p in op.get("parameters", []) if p["in"] == "header"}
        assert not headers & {"authorization", "x-api-key"}, name
        if body := op.get("requestBody"):
            schema = body["content"]["application/json"]["schema"]
            if "$ref" in schema:
                schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
            assert schema.get("examples"), name
