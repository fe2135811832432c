"""onramp.client against the real server of test_api: what a customer's script sees."""

from __future__ import annotations

import threading
import time

import pytest

from onramp.client import ApiError, Client
from onramp.store import ConnectorRow, move

from .conftest import AWS, Api


def later(api: Api, ident: str, *states: str) -> threading.Thread:
    """The workers' part, played by the test: the Connector moves through `states`."""

    def run() -> None:
        for to in states:
            time.sleep(0.3)
            api.svc.store.transact(
                lambda s, to=to: move(s, s.get(ConnectorRow, ident), to, "test", f"now {to}")
            )

    t = threading.Thread(target=run)
    t.start()
    return t


def test_order_wait_and_list(api: Api) -> None:
    c = Client(api.url, api.keys["acme"])
    made = c.order_connector(idempotency_key="client-1", **AWS)
    assert c.order_connector(idempotency_key="client-1", **AWS)["id"] == made["id"]
    mover = later(api, made["id"], "csp_requested", "configuring", "verifying", "active")
    done = c.wait("connector", made["id"], timeout=20, poll=0.1)
    mover.join()
    assert done["state"] == "active" and done["history"][-1]["to"] == "active"
    assert made["id"] in [x["id"] for x in c.connectors(state="active")]


def test_a_failure_is_an_error_with_the_reason(api: Api) -> None:
    c = Client(api.url, api.keys["acme"])
    made = c.order_connector(**AWS)
    mover = later(api, made["id"], "rolling_back", "failed")
    with pytest.raises(ApiError) as failed:
        c.wait("connector", made["id"], timeout=20, poll=0.1)
    mover.join()
    assert "now failed" in failed.value.reason
    with pytest.raises(ApiError) as absent:
        Client(api.url, api.keys["globex"]).connector(made["id"])
    assert (absent.value.status, absent.value.code) == (404, "ONR-REQ-011")
