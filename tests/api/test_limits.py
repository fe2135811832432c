"""The rate limit as every API process shares it (buckets in the store), unknown keys
limited per client address, a Retry-After that says the real wait, 405 with its Allow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from onramp.api import keys as apikeys
from onramp.api.app import create_app, serve_in_thread
from onramp.api.guard import RateLimit
from onramp.core.store import RateBucketRow
from onramp.flow.service import Service

from ..conftest import new_postgres_db
from .conftest import Api, running_api


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """running_api's settings for each store (PostgreSQL: its own database)."""
    if request.param == "postgresql":
        yield {"store_url": new_postgres_db(request.getfixturevalue("postgres"))}
    else:
        yield {}


def tokens(api: Api, name: str) -> float | None:
    with api.svc.store.session() as s:
        return s.scalar(select(RateBucketRow.tokens).where(RateBucketRow.key == name))


def test_only_a_valid_key_from_an_open_address_takes_its_token(
    tmp_path: Path, store: dict[str, Any]
) -> None:
    """The key's token is drawn for a good key alone: a wrong secret under its id, a revoked
    key, or any key from an address shut for guessing leave its bucket as it was (on
    PostgreSQL the check and the draw are one statement: issue 23)."""
    with running_api(tmp_path, RateLimit(rate=0.001, burst=5),
                     RateLimit(rate=0.001, burst=2), **store) as api:  # fmt: skip
        key_id = api.keys["acme"].split("_")[1]
        name = f"key:{key_id}"
        for _ in range(2):  # the bucket made (a transaction), then drawn from (the statement)
            assert api.call("GET", "/v1/onramps").status_code == 200
        other = f"key:{api.keys['globex'].split('_')[1]}"
        assert api.call("GET", "/v1/onramps", who="globex").status_code == 200  # 4 left
        held = tokens(api, name)
        assert held is not None and 2.9 < held < 3.1
        wrong = {"X-API-Key": f"onr_{key_id}_guess"}
        got = requests.get(api.url + "/v1/onramps", headers=wrong, timeout=10)
        assert got.status_code == 401
        assert tokens(api, name) == pytest.approx(held, abs=0.01)
        apikeys.revoke(api.svc.store, key_id)
        assert api.call("GET", "/v1/onramps").status_code == 401
        assert tokens(api, name) == pytest.approx(held, abs=0.01)
        # two unknown keys: the address is shut, even for a good key, whose token stays
        assert api.call("GET", "/v1/onramps", who="globex").status_code == 429
        assert tokens(api, other) == pytest.approx(4, abs=0.01)


def test_a_key_past_its_burst_waits(tmp_path: Path, store: dict[str, Any]) -> None:
    with running_api(tmp_path, RateLimit(rate=0.01, burst=3), **store) as api:
        codes = [api.call("GET", "/v1/onramps") for _ in range(5)]
        assert [r.status_code for r in codes] == [200] * 3 + [429] * 2
        assert 90 <= int(codes[-1].headers["Retry-After"]) <= 100
        assert api.call("GET", "/v1/onramps", who="globex").status_code == 200  # its own bucket


def test_two_api_processes_limit_a_key_as_one(tmp_path: Path) -> None:
    """Two servers on one store (as two processes would be): a burst of 6 is 6 across both,
    not 6 each; the 429 says how long the bucket takes to hold a token again."""
    with running_api(tmp_path, RateLimit(rate=0.01, burst=6)) as one:
        other = create_app(Service.open(one.svc.settings), lambda *_: None,
                           RateLimit(rate=0.01, burst=6))  # fmt: skip
        with serve_in_thread(other) as url:
            headers = {"X-API-Key": one.keys["acme"]}
            codes = [requests.get(u + "/v1/onramps", headers=headers, timeout=10)
                     for _ in range(5) for u in (one.url, url)]  # fmt: skip
    assert [r.status_code for r in codes] == [200] * 6 + [429] * 4
    wait = int(codes[-1].headers["Retry-After"])  # whole seconds: 1 token at 0.01/s
    assert 90 <= wait <= 100, wait
    assert codes[-1].json()["error"]["code"] == "ONR-API-003"


def test_unknown_keys_are_limited_per_address(tmp_path: Path) -> None:
    """Past its failed attempts an address gets 429, and no key is checked from it, not even
    a good one: guessing keys stops there."""
    with running_api(tmp_path, failures=RateLimit(rate=0.01, burst=3)) as api:
        wrong = {"X-API-Key": f"onr_{api.keys['acme'].split('_')[1]}_guess"}
        codes = [requests.get(api.url + "/v1/onramps", headers=wrong, timeout=10).status_code
                 for _ in range(5)]  # fmt: skip
        assert codes == [401, 401, 401, 429, 429]
        good = api.call("GET", "/v1/onramps")
        assert good.status_code == 429 and int(good.headers["Retry-After"]) >= 90


def test_a_wrong_method_names_the_allowed_ones(tmp_path: Path) -> None:
    with running_api(tmp_path) as api:
        r = api.call("PUT", "/v1/connectors")
        assert r.status_code == 405 and r.json()["error"]["code"] == "ONR-API-006"
        assert set(r.headers["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}


def test_api_serve_runs_several_processes_on_one_port(tmp_path: Path) -> None:
    """`onramp api serve --workers 2`: uvicorn's worker processes, each with its own app on
    the one store, answer on one port; a key and the rate limit work through them."""
    import socket
    import subprocess
    import sys
    import time

    with running_api(tmp_path) as api:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmd = [sys.executable, "-m", "onramp.cli", "--config", str(api.svc.settings.path),
               "api", "serve", "--port", str(port), "--workers", "2"]  # fmt: skip
        server = subprocess.Popen(cmd)
        try:
            url, answered = f"http://127.0.0.1:{port}", None
            for _ in range(300):
                assert server.poll() is None, f"onramp api serve exited {server.returncode}"
                try:
                    answered = requests.get(url + "/v1/onramps", timeout=5,
                                            headers={"X-API-Key": api.keys["acme"]})  # fmt: skip
                    break
                except requests.ConnectionError:
                    time.sleep(0.1)
            assert answered is not None and answered.status_code == 200
            children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
            assert len(children) >= 2  # the two API processes (and uvicorn's own helper, if any)
            codes = {requests.get(url + "/v1/links", headers={"Connection": "close",
                     "X-API-Key": api.keys["acme"]}, timeout=5).status_code for _ in range(10)}  # fmt: skip
            assert codes == {200}
        finally:
            server.terminate()
            server.wait(timeout=20)
