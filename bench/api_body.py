"""Benchmark: the API server's peak memory under a 100 MB chunked upload with no key.

A real `onramp api serve` process (uvicorn) on a SQLite store; its peak resident set
(VmHWM) is read after a warm-up request and again after the upload. The figure is the
growth in MB: with the body counted as it arrives (onramp.api.guard.BodyLimit) it is what
one chunk past 64 KiB costs; a server that reads the body before refusing grows by the
body's size and more.

    .venv/bin/python bench/api_body.py [--mb 100] [--json]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from pathlib import Path

import requests
from apiproc import serving, store
from report import report

CHUNK = 64 * 1024


def peak_mb(pid: int) -> float:
    """The process's peak resident set so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM in /proc: Linux only")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    def body() -> Iterator[bytes]:
        for _ in range(args.mb * 1_000_000 // CHUNK):
            yield b"x" * CHUNK

    with tempfile.TemporaryDirectory() as tmp:
        config, _ = store(Path(tmp))
        with serving(config) as [(url, pid)]:
            requests.post(url + "/v1/connectors", json={}, timeout=10)  # warm: routes, imports
            before = peak_mb(pid)
            try:
                r = requests.post(url + "/v1/connectors", data=body(), timeout=300,
                                  headers={"Content-Type": "application/json"})  # fmt: skip
                status: int | str = r.status_code
            except requests.ConnectionError as exc:  # the server may close mid-upload
                status = type(exc).__name__
            after = peak_mb(pid)
    report({"upload_mb": args.mb, "status": status, "peak_rss_before_mb": round(before, 1),
            "peak_rss_after_mb": round(after, 1), "growth_mb": round(after - before, 1)},
           args.json)  # fmt: skip


if __name__ == "__main__":
    main()
