"""Benchmark: one key's rate limit over N API processes on one store.

Real `onramp api serve` processes (uvicorn, the default limit: 20 requests/s, bursts of 40)
on one SQLite store; 1,000 requests of one key, spread round-robin over 1 and then 2
processes, as fast as one client sends them. Prints per run the share throttled (429) and
the share a token bucket would throttle over the run's time (burst + rate x seconds
pass): with the buckets in the store, 2 processes throttle as 1 does; with a bucket per
process, 2 let twice as many through.

    .venv/bin/python bench/api_limit.py [--requests 1000] [--json]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import requests
from apiproc import serving, store
from report import report

RATE, BURST = 20.0, 40  # onramp.api.guard.RateLimit's defaults


def run(config: Path, key: str, processes: int, n: int) -> dict[str, float]:
    with serving(config, processes) as servers:
        sessions = [(requests.Session(), url) for url, _ in servers]
        time.sleep(BURST / RATE)  # the key's bucket full again after the last run
        t0 = time.monotonic()
        codes = [sessions[i % len(sessions)][0].get(sessions[i % len(sessions)][1] + "/v1/onramps",
                                                    headers={"X-API-Key": key}, timeout=10).status_code
                 for i in range(n)]  # fmt: skip
        elapsed = time.monotonic() - t0
    passed = codes.count(200)
    assert passed + codes.count(429) == n, set(codes)
    expected = max(0.0, 1 - min(n, BURST + RATE * elapsed) / n)
    return {"seconds": round(elapsed, 2), "passed": passed,
            "throttled_share": round(1 - passed / n, 3),
            "bucket_share": round(expected, 3)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config, key = store(Path(tmp))
        figures = {f"{p}_process{'es' if p > 1 else ''}": run(config, key, p, args.requests)
                   for p in (1, 2)}  # fmt: skip
    report(figures, args.json)


if __name__ == "__main__":
    main()
