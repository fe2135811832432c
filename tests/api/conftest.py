"""The API under test: a real uvicorn server (a thread of this process, a free port on
loopback) on a real store (SQLite), tenants acme and globex with a key each, an admin key;
what would go to the workers is recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from onramp.api import keys as apikeys
from onramp.api.app import create_app, serve_in_thread
from onramp.api.guard import RateLimit
from onramp.core.settings import load_settings, local_config
from onramp.core.shapes import TopologyView
from onramp.flow.service import Service

from ..conftest import copy_default_inventory, new_postgres_db

AWS = {"onramp": "aws-dx-par", "kind": "aws-hosted-vif", "bandwidth_mbps": 100,
       "aws_account": "123456789012", "prefixes": ["10.100.0.0/24"]}  # fmt: skip


@dataclass
class Api:
    url: str
    svc: Service
    keys: dict[str, str]  # acme, globex, admin
    submitted: list[tuple[str, str]] = field(default_factory=list)

    def call(self, method: str, path: str, who: str = "acme", **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.keys[who]}", **kw.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=10, **kw)


@contextmanager
def running_api(
    tmp: Path, limit: RateLimit | None = None, failures: RateLimit | None = None, **config: Any
) -> Iterator[Api]:
    """`config`: more top-level settings of its config.yaml."""
    inventory = copy_default_inventory(tmp / "inventory").write()
    svc = Service.open(load_settings(local_config(tmp, inventory, **config)))
    for t in ("acme", "globex"):
        svc.add_tenant(t, t.title())
    keys = {t: apikeys.issue(svc.store, t) for t in ("acme", "globex")}
    keys["admin"] = apikeys.issue(svc.store, None, "engineers")
    submitted: list[tuple[str, str]] = []
    app = create_app(svc, lambda kind, ident: submitted.append((kind, ident)), limit, failures)
    with serve_in_thread(app) as url:
        yield Api(url, svc, keys, submitted)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(tmp_path_factory.mktemp("api")) as running:
        yield running


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def stored_api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """The API on each store, SQLite and PostgreSQL (a database of its own), empty."""
    more: dict[str, Any] = {}
    if request.param == "postgresql":
        more["store_url"] = new_postgres_db(request.getfixturevalue("postgres"))
    with running_api(tmp_path, **more) as running:
        yield running


ISIS = Path(__file__).parent.parent / "validation" / "recorded" / "isis"


def recorded_topology(case: str) -> TopologyView:
    """A topology read now from the default lab's recorded IS-IS database `case`
    (tests/validation/recorded/isis/<case>), every router reachable and healthy, iBGP to
    both route reflectors Established, no load: tests change what they need."""
    from onramp.validation.parsers.frr import ShowIsisDatabase

    d = ISIS / case
    nodes = ShowIsisDatabase(device=None).parse(
        output=(d / "database.txt").read_text(), hostnames=(d / "hostname.txt").read_text()
    )["nodes"]
    rr_ids = [nodes[r]["router_id"] for r in ("p1-fra", "p1-par")]
    return {"source": "isis-ssh", "read_at": datetime.now(UTC).isoformat(), "age_s": 0.0,
            "read_s": 0.4, "nodes": nodes,
            "health": {n: {"reachable": True, "daemons": dict.fromkeys(("zebra", "isisd", "bgpd"), True),
                           "rr_sessions": dict.fromkeys(rr_ids, "Established"), "error": ""}
                       for n in nodes},
            "load": {n: {"connectors": 0, "used_mbps": 0, "capacity_mbps": 0} for n in nodes}}  # fmt: skip


def keep_topology(api: Api, topo: TopologyView) -> None:
    """As the workers leave it: the cache file the plans and GET /v1/topology read."""
    path = api.svc.settings.topology_cache
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(topo))
