"""The OpenAPI document is the contract: schemathesis generates requests from
`/v1/openapi.json` (valid and invalid ones, every operation) against a real uvicorn server
and checks each answer: never a 5xx, a documented status, a body matching the documented
schema (the error shape included), the content type. With acme's key; the rate limit is
raised so that the generator, not the limit, decides what is tested."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from onramp.api.app import RateLimit

from .conftest import AWS, Api, running_api

EXAMPLES = 100  # per operation and mode (hypothesis default): about 13 s here


@pytest.fixture(scope="module")
def open_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(tmp_path_factory.mktemp("schema"), RateLimit(1e6, 10**6)) as api:
        # Something to find: generated ids mostly miss, these let GET/DELETE hit too.
        a = api.call("POST", "/v1/connectors", json=AWS).json()
        b = api.call("POST", "/v1/connectors", json={**AWS, "aws_account": "210987654321"})
        api.call("POST", "/v1/links", json={"a": a["id"], "b": b.json()["id"],
                                            "bandwidth_mbps": 50})  # fmt: skip
        yield api


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_keeps_the_contract(open_api: Api, mode: GenerationMode) -> None:
    """Positive: requests the document allows (answered 2xx or a documented refusal, e.g.
    an unknown on-ramp); negative: requests it forbids (answered 4xx, never 5xx)."""
    schema = schemathesis.openapi.from_url(open_api.url + "/v1/openapi.json")
    auth = {"Authorization": f"Bearer {open_api.keys['acme']}"}
    failures: dict[str, str] = {}
    tried: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()

        @given(case=op.as_strategy(mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def check(case: Any) -> None:
            # A schema-valid order may still break a provider's rule (the constraints
            # are data per provider: an AWS account on an enterprise on-ramp, an
            # on-ramp that does not exist); that is a documented 422 with the field.
            case.call_and_validate(headers=auth, excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Unsatisfiable:  # nothing to get wrong: no parameters, or any string will do
            assert mode is GenerationMode.NEGATIVE
            continue
        except Exception as exc:  # one operation's failure must not hide the others'
            failures[op.label] = str(exc)[:2000]
        tried.append(op.label)
    # every /v1 operation was exercised (negative: those with something to get wrong:
    # a query or path parameter with a constraint, a body)
    operations = sum(len(ops) for ops in schema.raw_schema["paths"].values())
    assert len(tried) == (operations if mode is GenerationMode.POSITIVE else 9), tried
    assert operations == 17
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())
