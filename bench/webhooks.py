"""Webhooks: what the outbox costs a state change, and how fast the workers deliver.

1. `move` (a state change and its transaction, SQLite) with no webhook of the tenant, then
   with one and with three (one outbox row each): per-move time and the ratio to none.
2. `deliver_due` sending N deliveries to a receiver on loopback (claim, sign, POST, record),
   against N plain signed POSTs to the same receiver in the same run: the ratio is what the
   outbox's bookkeeping adds per delivery.

    python bench/webhooks.py [--moves 300] [--deliveries 300]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import urllib3

from onramp.client import sign
from onramp.core.settings import WebhookSettings, load_settings, local_config
from onramp.core.store import ConnectorRow, WebhookDeliveryRow, WebhookRow, move
from onramp.flow import webhooks
from onramp.flow.service import Service

AWS = {"tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
       "bandwidth_mbps": 100, "aws_account": "123456789012"}  # fmt: skip
CFG = WebhookSettings(allow_http_loopback=True)


class Quiet(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def moves(svc: Service, n: int) -> float:
    """Seconds per move: active <-> allocated (an allowed cycle), each its own transaction."""
    ident = svc.create_connector(svc.connector_request(AWS))["id"]
    states = ["active", "allocated"]
    t = time.perf_counter()
    for i in range(n):
        svc.store.transact(lambda s, to=states[i % 2]: move(s, s.get(ConnectorRow, ident), to, "b"))
    return (time.perf_counter() - t) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--moves", type=int, default=300)
    ap.add_argument("--deliveries", type=int, default=300)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-hooks-"))
    svc = Service.open(load_settings(local_config(tmp)))
    svc.add_tenant("acme", "ACME")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"

    per = {}
    for hooks in (0, 1, 3):
        while len(webhooks.listed(svc.store, "acme")) < hooks:
            webhooks.register(svc.store, svc.vault, CFG, "acme", url)
        per[hooks] = moves(svc, args.moves)
    for hooks, s in per.items():
        print(f"move with {hooks} webhook(s): {s * 1e3:.2f} ms  ratio {s / per[0]:.2f}")

    with svc.store.session() as s:  # leave one webhook, and exactly N deliveries owed
        s.query(WebhookDeliveryRow).delete()
        for extra in list(s.query(WebhookRow))[1:]:
            s.delete(extra)
    moves(svc, args.deliveries)
    t = time.perf_counter()
    sent = webhooks.deliver_due(svc.store, svc.vault, CFG, "bench", budget_s=600)
    outbox = (time.perf_counter() - t) / sent
    body = b'{"event_id":"x"}' * 20
    t = time.perf_counter()
    for _ in range(args.deliveries):  # the same POST, a new connection each, no bookkeeping
        pool = urllib3.HTTPConnectionPool("127.0.0.1", server.server_address[1])
        pool.urlopen("POST", "/hook", body=body, retries=False,
                     headers={"Onramp-Signature": sign("s" * 32, int(time.time()), body)})  # fmt: skip
        pool.close()
    plain = (time.perf_counter() - t) / args.deliveries
    print(f"delivered {sent}: {outbox * 1e3:.2f} ms each ({1 / outbox:.0f}/s); plain signed "
          f"POST {plain * 1e3:.2f} ms; ratio {outbox / plain:.2f}")  # fmt: skip
    server.shutdown()


if __name__ == "__main__":
    main()
