"""Real API servers for the benchmarks: `onramp api serve` processes on one store."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from onramp.api import keys as apikeys
from onramp.core.settings import load_settings, local_config
from onramp.flow.service import Service


def store(tmp: Path) -> tuple[Path, str]:
    """A SQLite store with tenant acme and a key of it: (config.yaml, key)."""
    config = local_config(tmp)
    svc = Service.open(load_settings(config))
    svc.add_tenant("acme", "Acme")
    return config, apikeys.issue(svc.store, "acme", "bench")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(config: Path, n: int = 1) -> Iterator[list[tuple[str, int]]]:
    """`n` API processes on loopback: [(url, pid)]; stopped on exit."""
    procs = []
    try:
        for _ in range(n):
            port = _free_port()
            cmd = [sys.executable, "-m", "onramp.cli", "--config", str(config),
                   "api", "serve", "--port", str(port)]  # fmt: skip
            procs.append((f"http://127.0.0.1:{port}", subprocess.Popen(cmd)))
        for url, proc in procs:
            for _ in range(300):
                try:
                    requests.get(url + "/v1/openapi.json", timeout=1)
                    break
                except requests.ConnectionError:
                    if proc.poll() is not None:
                        raise SystemExit(f"the API at {url} exited ({proc.returncode})") from None
                    time.sleep(0.1)
        yield [(url, proc.pid) for url, proc in procs]
    finally:
        for _, proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
