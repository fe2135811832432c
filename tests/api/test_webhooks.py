"""Webhooks end to end: the real API (uvicorn on loopback), the real workers (the embedded
Celery worker, or `onramp worker` as a process), a real receiver (an HTTP server of this
test on loopback). The workers' flow steps are played by the test through `store.move`,
the one place a state changes (and where the outbox is written): sweep_s is 0, so no
worker advances a Connector by itself."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from onramp import worker
from onramp.client import SIGNATURE_HEADER, ApiError, Client, sign, verify_signature
from onramp.core.errors import OnrampError
from onramp.core.settings import WebhookSettings
from onramp.core.store import ConnectorRow, LinkRow, WebhookDeliveryRow, move
from onramp.flow import webhooks

from .conftest import AWS, Api, running_api

LIFE = ["csp_requested", "configuring", "verifying", "active", "decommissioning", "deleted"]
CONFIG = {
    "webhooks": {"allow_http_loopback": True, "interval_s": 0.2, "retry_base_s": 0.2,
                 "retry_cap_s": 1.0, "lease_s": 1.0, "timeout_s": 5.0},
    # no sweep: only the test moves Connectors; nothing else scheduled but the webhooks
    "worker": {"sweep_s": 0}, "monitor": {"interval_s": 0}, "compliance": {"interval_s": 0},
}  # fmt: skip


class Receiver:
    """A customer's endpoint: records every POST; `fail` answers the next n with 500;
    `stop` takes it down (connections refused), `start` brings it back on the same port."""

    def __init__(self) -> None:
        self.port, self.fail = 0, 0
        self.accepted: list[tuple[dict[str, str], bytes]] = []  # answered 204
        self.refused = 0  # answered 500
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        me = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with me.lock:
                    failing = me.fail > 0
                    if failing:
                        me.fail -= 1
                        me.refused += 1
                    else:
                        me.accepted.append((dict(self.headers.items()), body))
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/onramp?src=test"

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _, body in self.accepted]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.start()
    yield r
    r.stop()


@pytest.fixture
def hooked(tmp_path: Path) -> Iterator[Api]:
    with running_api(tmp_path, **CONFIG) as running:
        yield running


def until(what: Callable[[], Any], timeout_s: float = 60, every: float = 0.05) -> Any:
    """Poll until `what()` is truthy; its value. Not a timed assertion: a generous ceiling."""
    deadline = time.monotonic() + timeout_s
    while not (got := what()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)
    return got


def play(api: Api, table: type[ConnectorRow] | type[LinkRow], ident: str, *states: str) -> None:
    """The workers' steps, as `move`s (each its own transaction)."""
    for to in states:
        api.svc.store.transact(
            lambda s, to=to: move(s, s.get(table, ident), to, "test", f"now {to}")
        )


def history(api: Api, kind: str, ident: str) -> list[str]:
    return [h["to"] for h in api.call("GET", f"/v1/{kind}s/{ident}").json()["history"]]


def test_a_connectors_life_arrives_in_order_signed_through_the_embedded_worker(
    hooked: Api, receiver: Receiver
) -> None:
    c = Client(hooked.url, hooked.keys["acme"])
    hook = c.add_webhook(receiver.url)
    secret = hook["secret"]
    assert secret.startswith("whsec_") and "secret" not in c.webhooks()[0]  # shown once
    with worker.embedded(hooked.svc.settings):
        made = c.order_connector(**AWS)
        play(hooked, ConnectorRow, made["id"], *LIFE)
        expected = history(hooked, "connector", made["id"])
        assert expected == ["requested", "validated", "allocated", *LIFE]
        until(lambda: len(receiver.accepted) >= len(expected))
    got = receiver.events()
    assert [e["new_state"] for e in got] == expected  # in order
    assert [e["old_state"] for e in got] == [None, *expected[:-1]]
    assert {e["object"]["id"] for e in got} == {made["id"]}
    assert got[-1]["object"] | {"reason": "now deleted"} == got[-1]["object"]
    assert all(e["type"] == "connector.state_changed" for e in got)
    assert len({e["event_id"] for e in got}) == len({e["delivery_id"] for e in got}) == len(got)
    for headers, body in receiver.accepted:
        assert verify_signature(secret, headers[SIGNATURE_HEADER], body)
        event = json.loads(body)
        assert headers["Onramp-Delivery"] == event["delivery_id"]
        assert headers["Onramp-Event"] == event["event_id"]
    shown = c.deliveries(hook["id"])
    assert [d["new_state"] for d in shown] == expected[::-1]  # newest first
    assert {(d["status"], d["attempts"], d["next_try_at"]) for d in shown} == {
        ("delivered", 1, None)
    }


def test_a_receiver_that_fails_then_is_down_then_recovers_loses_nothing(
    hooked: Api, receiver: Receiver
) -> None:
    """500s, then connections refused while the Connector moves on: the head of its queue
    is retried with backoff (visible in the deliveries), the rest wait behind it; once the
    receiver is back, every event arrives, in order, each accepted once."""
    c = Client(hooked.url, hooked.keys["acme"])
    hook = c.add_webhook(receiver.url, secret="a-secret-of-our-own")
    receiver.fail = 3
    with worker.embedded(hooked.svc.settings):
        made = c.order_connector(**AWS)
        until(lambda: receiver.refused == 3)
        receiver.stop()
        play(hooked, ConnectorRow, made["id"], *LIFE[:4])
        head = until(lambda: [d for d in c.deliveries(hook["id"])
                              if d["attempts"] >= 5 and "Connection" in (d["last_error"] or "")])  # fmt: skip
        waiting = [d for d in c.deliveries(hook["id"]) if d["status"] == "pending"]
        print("while down:", [(d["new_state"], d["attempts"], d["last_error"][:40] if
                               d["last_error"] else None, d["next_try_at"]) for d in waiting])  # fmt: skip
        assert head[0]["new_state"] == "requested" and head[0]["next_try_at"] is not None
        assert head[0]["next_try_at"] > head[0]["created_at"]
        assert {d["attempts"] for d in waiting if d["id"] != head[0]["id"]} == {0}  # in order
        receiver.start()
        expected = history(hooked, "connector", made["id"])
        until(lambda: len(receiver.accepted) >= len(expected))
        time.sleep(1.5)  # a lease's length: a duplicate would have come by now
    got = receiver.events()
    assert [e["new_state"] for e in got] == expected == ["requested", "validated", "allocated",
                                                         *LIFE[:4]]  # fmt: skip
    assert len({e["event_id"] for e in got}) == len(got)  # none twice
    assert all(verify_signature("a-secret-of-our-own", h[SIGNATURE_HEADER], b)
               for h, b in receiver.accepted)  # fmt: skip
    shown = c.deliveries(hook["id"])
    assert all(d["status"] == "delivered" for d in shown)
    first = next(d for d in shown if d["new_state"] == "requested")
    assert first["attempts"] >= 6 and "Connection" in first["last_error"]


def test_a_worker_killed_between_claim_and_send_is_redelivered_by_the_next(
    hooked: Api, receiver: Receiver
) -> None:
    """A process claims the delivery (its lease committed) and is SIGKILLed before it sends;
    `onramp worker --beat`, a process started afterwards, sends it once the lease is out."""
    c = Client(hooked.url, hooked.keys["acme"])
    hook = c.add_webhook(receiver.url)
    made = c.order_connector(**AWS)  # three events owed, no worker running
    config = hooked.svc.settings.path
    claimer = subprocess.run([sys.executable, "-c", (
        "import os, signal\n"
        "from pathlib import Path\n"
        "from onramp.core.settings import load_settings\n"
        "from onramp.core.store import Store\n"
        "from onramp.flow import webhooks\n"
        f"s = load_settings(Path({str(config)!r}))\n"
        "got = webhooks.claim(Store(s.resolved_store_url()), 'doomed', lease_s=2.0)\n"
        "print(len(got), flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")], capture_output=True, text=True)  # fmt: skip
    assert claimer.returncode == -signal.SIGKILL
    assert claimer.stdout.strip() == "1"  # the head only: the others wait behind it
    with hooked.svc.store.session() as s:
        owners = list(s.scalars(select(WebhookDeliveryRow.lease_owner)))
    assert owners.count("doomed") == 1 and receiver.accepted == []
    proc = subprocess.Popen([sys.executable, "-m", "onramp.cli", "worker", "--concurrency", "1",
                             "--beat"], env={**os.environ, "ONRAMP_CONFIG": str(config)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        until(lambda: len(receiver.accepted) >= 3)
        time.sleep(1.5)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    got = receiver.events()
    assert [e["new_state"] for e in got] == ["requested", "validated", "allocated"]
    assert {e["object"]["id"] for e in got} == {made["id"]}
    assert [d["attempts"] for d in c.deliveries(hook["id"])] == [1, 1, 1]


def test_urls_that_would_reach_inside_are_refused() -> None:
    strict, lab = WebhookSettings(), WebhookSettings(allow_http_loopback=True, allow_private=True)
    assert webhooks.check_url("https://93.184.216.34/hook", strict)  # a public address
    for url in ("http://127.0.0.1:9000/x", "https://localhost/x", "https://[::1]/x",
                "https://10.1.2.3/x", "https://192.168.0.10/x", "https://100.64.0.1/x",
                "https://[::ffff:10.0.0.1]/x", "https://[fd00::1]/x",
                "https://169.254.169.254/latest/meta-data/", "https://[fe80::1]/x",
                "http://93.184.216.34/x", "ftp://93.184.216.34/x", "https://0.0.0.0/x",
                "https://u:p@93.184.216.34/x", "https://no-such-host.invalid/x"):  # fmt: skip
        with pytest.raises(OnrampError) as refused:
            webhooks.check_url(url, strict)
        assert refused.value.code == "ONR-HOOK-001", url
    assert webhooks.check_url("http://127.0.0.1:9000/x", lab)
    assert webhooks.check_url("https://10.1.2.3/x", lab)
    for url in (
        "https://169.254.169.254/",
        "https://[fd00:ec2::254]/",
        "http://10.1.2.3/x",
        "https://100.100.100.200/",
    ):  # metadata: never; http: loopback only
        with pytest.raises(OnrampError):
            webhooks.check_url(url, lab)


def test_webhooks_are_the_tenants_own(hooked: Api) -> None:
    r = hooked.call("POST", "/v1/webhooks", json={"url": "https://169.254.169.254/latest"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "ONR-HOOK-001"
    r = hooked.call("POST", "/v1/webhooks", json={"url": "https://93.184.216.34/x",
                                                  "secret": "short"})  # fmt: skip
    assert r.status_code == 422
    made = hooked.call("POST", "/v1/webhooks", json={"url": "https://93.184.216.34/x"})
    assert made.status_code == 201, made.text
    hook = made.json()
    for method, path in (("GET", "/deliveries"), ("DELETE", "")):
        r = hooked.call(method, f"/v1/webhooks/{hook['id']}{path}", who="globex")
        assert r.status_code == 404 and r.json()["error"]["code"] == "ONR-HOOK-002"
    assert hooked.call("GET", "/v1/webhooks", who="globex").json() == []
    assert hooked.call("GET", "/v1/webhooks", who="admin").status_code == 403
    # a change of globex's owes acme's webhook nothing
    other = hooked.call("POST", "/v1/connectors", json=AWS, who="globex").json()
    assert hooked.call("GET", f"/v1/webhooks/{hook['id']}/deliveries").json() == []
    mine = hooked.call("POST", "/v1/connectors", json=AWS).json()
    owed = hooked.call("GET", f"/v1/webhooks/{hook['id']}/deliveries").json()
    assert {d["object_id"] for d in owed} == {mine["id"]} != {other["id"]}
    with pytest.raises(ApiError) as absent:
        Client(hooked.url, hooked.keys["globex"]).remove_webhook(hook["id"])
    assert absent.value.status == 404
    assert Client(hooked.url, hooked.keys["acme"]).remove_webhook(hook["id"])["id"] == hook["id"]
    with hooked.svc.store.session() as s:  # what it was owed goes with it
        assert s.scalar(select(func.count()).select_from(WebhookDeliveryRow)) == 0


def test_a_change_rolled_back_owes_nothing(hooked: Api) -> None:
    """The outbox row is the change's: a transaction that fails after the move leaves no
    delivery (and one that commits, one per webhook)."""
    c = Client(hooked.url, hooked.keys["acme"])
    hook = c.add_webhook("https://93.184.216.34/x")
    made = c.order_connector(**AWS)

    def moved_then_failed(s: Any) -> None:
        move(s, s.get(ConnectorRow, made["id"]), "csp_requested", "test")
        raise RuntimeError("the step died before its commit")

    with pytest.raises(RuntimeError):
        hooked.svc.store.transact(moved_then_failed)
    assert [d["new_state"] for d in c.deliveries(hook["id"])] == [
        "allocated", "validated", "requested"]  # fmt: skip


def test_the_signature_check_refuses_a_wrong_secret_a_change_and_a_replay() -> None:
    body, at = b'{"event_id":"e1"}', int(time.time())
    header = sign("whsec_right", at, body)
    assert header.startswith(f"t={at},v1=") and len(header.split("v1=")[1]) == 64
    assert verify_signature("whsec_right", header, body)
    assert not verify_signature("whsec_wrong", header, body)
    assert not verify_signature("whsec_right", header, body.replace(b"e1", b"e2"))
    assert not verify_signature("whsec_right", header, body, now=at + 301)  # a replay
    for junk in ("", "t=x,v1=00", f"t={at}", "v1=" + "0" * 64):
        assert not verify_signature("whsec_right", junk, body)


def test_the_readmes_five_lines_verify_what_the_workers_sign() -> None:
    """The README's receiver snippet, run as written, agrees with `sign`."""
    import re

    from onramp.core.settings import ROOT

    text = (ROOT / "README.md").read_text().split("## Webhooks", 1)[1]
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None
    lines = [line for line in code.group(1).splitlines() if line and not line.startswith("import")]
    assert len(lines) == 5, lines
    scope: dict[str, Any] = {}
    exec(code.group(1), scope)
    body = b'{"event_id":"e1"}'
    header = sign("whsec_right", int(time.time()), body)
    assert scope["verify"]("whsec_right", header, body)
    assert not scope["verify"]("whsec_wrong", header, body)
    assert not scope["verify"]("whsec_right", header, body + b" ")
    assert not scope["verify"]("whsec_right", sign("whsec_right", 1, body), body)  # replay
