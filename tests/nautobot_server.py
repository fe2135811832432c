"""A real Nautobot for the tests: its own venv, a PostgreSQL of the session, a Redis.

Nautobot pins its own Django stack, so it lives in `.venv-nautobot` (made here or by
`make nautobot`), never in onramp's venv. A migrate takes minutes: the migrated database is
kept as a pg_dump under `var/`, named by the Nautobot version, and restored in later runs.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VERSION = "3.2.7"  # the Nautobot release tested; the cached dump is keyed by it
VENV = Path(os.environ.get("ONRAMP_NAUTOBOT_VENV", ROOT / ".venv-nautobot"))
DUMP = ROOT / "var" / f"nautobot-{VERSION}.dump"
# the whole config: nautobot.core.settings reads everything else from NAUTOBOT_* variables
CONFIG = "from nautobot.core.settings import *  # noqa: F403\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """One test process at a time (pytest-xdist runs two modules that want Nautobot)."""
    path = ROOT / "var" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_venv() -> Path:
    """.venv-nautobot with this Nautobot release (pip, once)."""
    server = VENV / "bin" / "nautobot-server"
    stamp = VENV / f".nautobot-{VERSION}"
    with _locked(".nautobot-venv.lock"):
        _install(stamp)
    return server


def _install(stamp: Path) -> None:
    if not stamp.exists():
        if not (VENV / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", f"nautobot=={VERSION}"],
                       check=True)  # fmt: skip
        stamp.touch()


@dataclass
class Nautobot:
    url: str
    token: str


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text()[-3000:]}")
        with suppress(requests.RequestException):
            if requests.get(url, timeout=5).status_code < 500:
                return
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not answer at {url}: {log.read_text()[-3000:]}")


@contextmanager
def nautobot_server(pg_host: Path) -> Iterator[Nautobot]:
    """Nautobot on 127.0.0.1 against the PostgreSQL at the socket dir `pg_host`."""
    server = ensure_venv()
    redis = shutil.which("redis-server")
    if redis is None:
        import pytest

        pytest.skip("redis-server is not installed: run `make deps` (Debian package redis-server)")
    base = Path(tempfile.mkdtemp(prefix="onramp-nautobot-"))
    (base / "nautobot_config.py").write_text(CONFIG)
    redis_port, port = _free_port(), _free_port()
    env = {
        **os.environ,
        "NAUTOBOT_ROOT": str(base),
        "NAUTOBOT_CONFIG": str(base / "nautobot_config.py"),
        "NAUTOBOT_DB_HOST": str(pg_host),
        "NAUTOBOT_DB_USER": "postgres",
        "NAUTOBOT_DB_NAME": "nautobot",
        "NAUTOBOT_REDIS_HOST": "127.0.0.1",
        "NAUTOBOT_REDIS_PORT": str(redis_port),
        "NAUTOBOT_SECRET_KEY": secrets.token_urlsafe(50),
        "NAUTOBOT_ALLOWED_HOSTS": "*",
        "NAUTOBOT_DEBUG": "False",
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with open(base / "redis.log", "wb") as out:
            procs.append(subprocess.Popen([redis, "--port", str(redis_port), "--bind",
                                           "127.0.0.1", "--save", "", "--appendonly", "no",
                                           "--dir", str(base)], stdout=out, stderr=out))  # fmt: skip
        pg = ["psql", "-h", str(pg_host), "-U", "postgres", "-q"]
        subprocess.run([*pg, "-c", "CREATE DATABASE nautobot"], check=True, capture_output=True)
        with _locked(".nautobot-dump.lock"):  # one migrates, the other restores its dump
            if DUMP.exists():
                subprocess.run(["pg_restore", "-h", str(pg_host), "-U", "postgres", "-d",
                                "nautobot", "--no-owner", str(DUMP)],
                               check=True, capture_output=True)  # fmt: skip
            else:
                subprocess.run([str(server), "migrate", "--no-input"], env=env, check=True,
                               capture_output=True)  # fmt: skip
                part = DUMP.with_suffix(f".{os.getpid()}.part")
                subprocess.run(["pg_dump", "-h", str(pg_host), "-U", "postgres", "-Fc", "-f",
                                str(part), "nautobot"], check=True, capture_output=True)  # fmt: skip
                part.replace(DUMP)  # only a whole dump is ever restored
        token = secrets.token_hex(20)
        subprocess.run([str(server), "shell", "-c",
                        "from nautobot.users.models import Token, User\n"
                        "u, _ = User.objects.get_or_create(username='onramp', is_superuser=True)\n"
                        f"Token.objects.create(user=u, key='{token}')\n"],
                       env=env, check=True, capture_output=True)  # fmt: skip
        with open(base / "nautobot.log", "wb") as out:
            procs.append(subprocess.Popen([str(server), "runserver", "--noreload",
                                           f"127.0.0.1:{port}"], env=env, stdout=out,
                                          stderr=out))  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        _wait(f"{url}/api/", procs[-1], base / "nautobot.log", "nautobot-server")
        yield Nautobot(url, token)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            with suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            if proc.poll() is None:
                proc.kill()
        shutil.rmtree(base, ignore_errors=True)
