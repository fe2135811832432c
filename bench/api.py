"""Benchmark: the REST API against a bare FastAPI endpoint returning the same JSON.

A SQLite store with 10,000 Connectors of one tenant (one made by allocation, the rest
copies of its rows with their own ids and numbers; on PostgreSQL vacuumed and analyzed,
as autovacuum leaves them); both apps on uvicorn in this process, called over
loopback with one HTTP session:
- `GET /v1/connectors?limit=50`: the first page and a page deep in the list (keyset);
  p50 and p99 of each, against the bare endpoint (same JSON, no auth, no store), and the
  CPU each costs (as a create's, below);
- create: `POST /v1/connectors` (enterprise orders: allocation, store, a message to the
  workers, here recorded) per second, against the bare endpoint's POST; the CPU each costs
  (this process's, plus the PostgreSQL server's: a figure the shared machine's load
  barely moves, unlike time); and the SQL statements a create runs (each a round trip on
  PostgreSQL, and SQLAlchemy's work).
API and bare requests take turns (on a shared machine both see the same load). The same
figures on SQLite and on PostgreSQL (a throw-away server, as the tests start one).
Prints the figures and the ratios API / bare.

    .venv/bin/python bench/api.py [--connectors 10000] [--requests 1000] [--stores sqlite,postgresql] [--json]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
from fastapi import FastAPI
from labkit import unwind_on_sigterm
from report import report
from sqlalchemy import event, text

from onramp.api import keys as apikeys
from onramp.api.app import create_app, serve_in_thread
from onramp.core.settings import load_settings, local_config
from onramp.core.store import AllocationRow, AttachmentRow, ConnectorRow, TransitionRow
from onramp.flow.service import Service

ORDER = {"onramp": "ent-lon", "kind": "enterprise", "bandwidth_mbps": 10, "customer_asn": 65201,
         "prefixes": ["192.168.10.0/24"]}  # fmt: skip


def service(tmp: Path, **more: Any) -> Service:
    svc = Service.open(load_settings(local_config(tmp, **more)))
    svc.add_tenant("acme", "Acme")
    return svc


def fill(svc: Service, n: int) -> None:
    """n Connectors: one allocated for real, n - 1 copies of its rows, each with its own
    VRF number."""
    first = svc.create_connector(svc.connector_request({**ORDER, "tenant": "acme"}))

    def copy(s: Any) -> None:
        row = s.get(ConnectorRow, first["id"])
        cols = {c.key: getattr(row, c.key) for c in ConnectorRow.__table__.columns}
        att = row.attachments[0]
        acols = {c.key: getattr(att, c.key) for c in AttachmentRow.__table__.columns}
        for k in range(1, n):
            cid = str(uuid.uuid4())
            s.add(ConnectorRow(**{**cols, "id": cid, "number": 100_000 + k, "idempotency_key": None,
                                  "created_at": cols["created_at"] + timedelta(milliseconds=k)}))  # fmt: skip
            s.add(AttachmentRow(**{**acols, "id": None, "connector_id": cid}))
            # its VRF number held, as a real Connector's is: the allocations table then
            # has the rows of 10,000 Connectors, and its statistics (the planner's choice
            # of an index for a create's highest-value reads) are those of such a store,
            # not of an empty table that grows under the creates (seq scans, pg34)
            s.add(AllocationRow(scope="vrf", value=100_000 + k, owner=cid))
            s.add(TransitionRow(kind="connector", target_id=cid, from_state=None,
                                to_state=row.state, actor="bench", reason=""))  # fmt: skip

    svc.store.transact(copy)
    if svc.store.engine.dialect.name == "postgresql":
        # the tables as autovacuum leaves them within a minute of such a load: vacuumed and
        # with statistics (a page is planned from them). Left to autovacuum, its work ran
        # during the first figures (the first page's requests 15-40 ms, p50 5). SQLite
        # gathers none unless told: left as it is
        with svc.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))


def bare(page: dict[str, Any], made: dict[str, Any]) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/connectors")
    def listing() -> dict[str, Any]:
        return page

    @app.post("/v1/connectors", status_code=202)
    def create(body: dict[str, Any]) -> dict[str, Any]:
        return made

    return app


def counted(svc: Service) -> tuple[list[str], Any]:
    """From now on, every SQL statement the store runs (BEGIN, savepoints and all); and
    what stops counting."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(svc.store.engine, "before_cursor_execute", count)
    return seen, lambda: event.remove(svc.store.engine, "before_cursor_execute", count)


def timed(fns: list[Any], n: int, cpu: list[float] | None = None) -> list[list[float]]:
    """Each of `fns` n times, taking turns: on a shared machine both see the same load.
    `cpu`: each fn's CPU seconds in all, this process's (client, server, app), then each
    one's of the store server (`server_cpu`): unlike time, barely moved by others' load."""
    out: list[list[float]] = [[] for _ in fns]
    spent, served = [0.0] * len(fns), [0.0] * len(fns)
    for _ in range(n):
        for i, (fn, times) in enumerate(zip(fns, out, strict=True)):
            server = server_cpu()  # read outside the process's own count: it costs CPU too
            c = time.process_time()
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
            spent[i] += time.process_time() - c
            served[i] += server_cpu() - server
    if cpu is not None:
        cpu[:] = [*spent, *served]
    return out


POSTMASTER: list[int] = []  # the PostgreSQL server's pid, when the store is one


def server_cpu() -> float:
    """CPU seconds of the PostgreSQL server's processes so far (the postmaster and its
    children, the backends doing our statements among them), from /proc; 0 without one."""
    if not POSTMASTER:
        return 0.0
    pm = POSTMASTER[0]
    ticks = 0
    for pid in [pm, *map(int, Path(f"/proc/{pm}/task/{pm}/children").read_text().split())]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def pct(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]


def ms(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:.1f}/{pct(xs, 0.99) * 1000:.1f}"


def measure(svc: Service, a: argparse.Namespace, label: str) -> dict[str, Any]:
    """The figures of one store, `label` before each name."""
    from onramp.api.app import RateLimit

    fill(svc, a.connectors)
    key = apikeys.issue(svc.store, "acme")
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {key}"
    app = create_app(svc, lambda kind, ident: None, RateLimit(rate=1e9, burst=10**9))
    gc.freeze()  # as `onramp api serve` does before serving
    figures: dict[str, Any] = {}
    with serve_in_thread(app) as url:
        first = http.get(f"{url}/v1/connectors", params={"limit": 50}).json()
        ids = [c["id"] for c in svc.connectors("acme")]
        deep = ids[len(ids) * 9 // 10]
        made = http.post(f"{url}/v1/connectors", json=ORDER).json()
        with serve_in_thread(bare(first, made)) as bare_url:
            figures[f"{label} connectors"] = len(ids)
            for name, params in (("first page", {"limit": 50}),
                                 ("page at 90 %", {"limit": 50, "after": deep})):  # fmt: skip
                spent: list[float] = []
                api_t, bare_t = timed(
                    [lambda p=params, u=u: http.get(f"{u}/v1/connectors", params=p).raise_for_status()
                     for u in (url, bare_url)], a.requests, spent)  # fmt: skip
                each = [x / a.requests * 1000 for x in spent]
                figures[f"{label} GET {name} CPU ms, this process + store server (api / bare)"] = (
                    f"{each[0]:.2f} + {each[2]:.2f} / {each[1]:.2f} + {each[3]:.2f}"
                )
                figures[f"{label} GET {name} CPU ratio"] = round(
                    sum(spent[::2]) / sum(spent[1::2]), 1
                )
                figures[f"{label} GET {name} p50/p99 ms"] = ms(api_t)
                figures[f"{label} GET {name} bare p50/p99 ms"] = ms(bare_t)
                figures[f"{label} GET {name} ratio p50/p99"] = (
                    f"{statistics.median(api_t) / statistics.median(bare_t):.1f}/"
                    f"{pct(api_t, 0.99) / pct(bare_t, 0.99):.1f}"
                )
            seen, stop = counted(svc)
            cpu: list[float] = []
            api_c, bare_c = timed(
                [lambda u=u: http.post(f"{u}/v1/connectors", json=ORDER).raise_for_status()
                 for u in (url, bare_url)], a.creates, cpu)  # fmt: skip
            stop()
            ms_each = [x / a.creates * 1000 for x in cpu]
            figures[f"{label} create CPU ms, this process + store server (api / bare)"] = (
                f"{ms_each[0]:.2f} + {ms_each[2]:.2f} / {ms_each[1]:.2f} + {ms_each[3]:.2f}"
            )
            figures[f"{label} create CPU ratio"] = round((cpu[0] + cpu[2]) / (cpu[1] + cpu[3]), 1)
            figures[f"{label} create SQL statements"] = round(len(seen) / a.creates, 1)
            figures[f"{label} create per s"] = round(len(api_c) / sum(api_c), 1)
            figures[f"{label} create bare per s"] = round(len(bare_c) / sum(bare_c), 1)
            figures[f"{label} create ratio (api / bare time)"] = round(sum(api_c) / sum(bare_c), 1)
    gc.unfreeze()
    return figures


def main() -> int:
    unwind_on_sigterm()
    ap = argparse.ArgumentParser()
    ap.add_argument("--connectors", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=1000)
    # two 1 Gb/s ports hold 200 orders of 10 Mb/s; 60 could not show 0.2 ms per create
    ap.add_argument("--creates", type=int, default=180)
    ap.add_argument("--stores", default="sqlite,postgresql")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        if "sqlite" in a.stores:
            (Path(d) / "sqlite").mkdir()
            figures |= measure(service(Path(d) / "sqlite"), a, "sqlite")
        if "postgresql" in a.stores:
            # the test suite's throw-away server (initdb in a temp dir, unix socket)
            sys.path.insert(0, str(Path(__file__).parents[1]))
            from tests.conftest import new_postgres_db, pg_server

            with pg_server() as pg:
                pid = (pg.base / "data" / "postmaster.pid").read_text().split()[0]
                POSTMASTER[:] = [int(pid)]
                (Path(d) / "pg").mkdir()
                url = new_postgres_db(pg.url)
                figures |= measure(service(Path(d) / "pg", store_url=url), a, "postgresql")
    report(figures, a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
