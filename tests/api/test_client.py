"""onramp.client against the real server of test_api: what a customer's script sees."""

from __future__ import annotations

import threading
import time

import pytest

from onramp.client import ApiError, Client
from onramp.core.store import ConnectorRow, move

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


def test_the_example_script_tells_the_story_through_the_api(api: Api) -> None:
    """examples/aws_azure_link.py as a process; the workers' part is played by a thread
    that takes each thing it ordered to active."""
    import json
    import subprocess
    import sys

    from onramp.core.store import LinkRow

    stop = threading.Event()

    def workers() -> None:
        while not stop.wait(0.2):
            for c in api.svc.connectors("acme", "allocated"):
                if str(c["request"].get("idempotency_key", "")).startswith("ex-"):
                    api.svc.store.transact(lambda s, i=c["id"]: move(
                        s, s.get(ConnectorRow, i), "active", "test", "made"))  # fmt: skip
            for lk in api.svc.links("acme"):
                if lk["state"] == "allocated":
                    api.svc.store.transact(lambda s, i=lk["id"]: move(
                        s, s.get(LinkRow, i), "active", "test", "made"))  # fmt: skip

    t = threading.Thread(target=workers)
    t.start()
    try:
        done = subprocess.run(
            [sys.executable, "examples/aws_azure_link.py", "--url", api.url,
             "--key", api.keys["acme"], "--aws-account", "123456789012",
             "--azure-service-key", "9a0b1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d", "--s-tag", "100",
             "--aws-prefix", "10.100.0.0/24", "--azure-prefix", "10.100.1.0/24",
             "--timeout", "30", "--tag", "ex"],
            capture_output=True, text=True, timeout=120)  # fmt: skip
    finally:
        stop.set()
        t.join()
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    link = Client(api.url, api.keys["acme"]).link_of(made["link"])
    assert link["state"] == "active" and {link["a"], link["b"]} == {made["aws"], made["azure"]}
