"""A real Nautobot for the tests: its own venv, a PostgreSQL of the session, a Redis.

Nautobot pins its own Django stack, so it lives in `.venv-nautobot` (made here or by
`make nautobot`), never in onramp's venv. A migrate from empty takes minutes (358 s of a
fresh clone's `make test`), so the migrated database ships in the repository as a pg_dump,
`tests/fixtures/nautobot-<version>.dump` (`make nautobot-fixture` makes it again). It is
restored, then `showmigrations` must find nothing left to apply (a test says so). If this
PostgreSQL's pg_restore cannot read it (an older major), `migrate` runs from empty and its
result is kept as `var/nautobot-<version>.dump` for later runs; if migrations are missing
(Nautobot's Django apps moved on), `migrate` applies just those. Nautobot's own migrations
stay Nautobot's concern: the server is real either way.
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
FIXTURE = ROOT / "tests" / "fixtures" / f"nautobot-{VERSION}.dump"  # in the repository
DUMP = ROOT / "var" / f"nautobot-{VERSION}.dump"  # made here when the fixture did not do
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


def make_fixture() -> Path:
    """`make nautobot-fixture`: FIXTURE again, migrated from empty by this Nautobot release
    (the dump is taken before the tests' user and token exist)."""
    from tests.conftest import pg_server

    with pg_server() as pg, nautobot_server(pg.base / "sock", dumps=()):
        pass
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DUMP, FIXTURE)
    return FIXTURE


@dataclass
class Nautobot:
    url: str
    token: str
    schema: Schema | None = None  # None for one the tests did not start


@dataclass
class Schema:
    """How the database got Nautobot's schema: for the test that the fixture is current."""

    source: Path | None  # the dump restored, None when migrated from empty
    unapplied: list[str]  # migrations `migrate` still had to apply after the restore
    restore_error: str = ""  # why the fixture could not be restored, if it could not


def restore(dump: Path, pg_host: Path) -> str:
    """pg_restore into the empty database `nautobot`: "" or why not. One transaction, so a
    failure (another PostgreSQL's archive format, a statement this server refuses) leaves the
    database empty for `migrate`."""
    done = subprocess.run(["pg_restore", "-h", str(pg_host), "-U", "postgres", "-d", "nautobot",
                           "--no-owner", "--single-transaction", "--exit-on-error", str(dump)],
                          capture_output=True, text=True)  # fmt: skip
    return "" if done.returncode == 0 else done.stderr.strip()[-1000:] or "pg_restore failed"


def _unapplied(server: Path, env: dict[str, str]) -> list[str]:
    """The migrations Nautobot's code has and the database lacks (`showmigrations --plan`)."""
    out = subprocess.run([str(server), "showmigrations", "--plan"], env=env, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return [line[4:].strip() for line in out.splitlines() if line.startswith("[ ]")]


def migrated(server: Path, env: dict[str, str], pg_host: Path, dumps: tuple[Path, ...]) -> Schema:
    """Nautobot's schema in the empty database `nautobot`, restored when a dump allows."""
    failed = ""
    for dump in dumps:
        if not dump.exists():
            continue
        error = restore(dump, pg_host)
        if error:
            failed = failed or error
            continue
        missing = _unapplied(server, env)
        if missing:  # Django applies only these; the fixture's test says to make it again
            subprocess.run([str(server), "migrate", "--no-input"], env=env, check=True,
                           capture_output=True)  # fmt: skip
        return Schema(dump, missing, failed)
    subprocess.run([str(server), "migrate", "--no-input"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    _keep(pg_host)
    return Schema(None, [], failed)


def _keep(pg_host: Path) -> None:
    """The migrated database as a dump, so later runs restore it."""
    DUMP.parent.mkdir(parents=True, exist_ok=True)
    part = DUMP.with_suffix(f".{os.getpid()}.part")
    subprocess.run(["pg_dump", "-h", str(pg_host), "-U", "postgres", "-Fc", "-f", str(part),
                    "nautobot"], check=True, capture_output=True)  # fmt: skip
    part.replace(DUMP)  # only a whole dump is ever restored


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
def nautobot_server(pg_host: Path, dumps: tuple[Path, ...] = (FIXTURE, DUMP)) -> Iterator[Nautobot]:
    """Nautobot on 127.0.0.1 against the PostgreSQL at the socket dir `pg_host`, its schema
    restored from the first of `dumps` that serves, else migrated."""
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
            schema = migrated(server, env, pg_host, dumps)
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
        yield Nautobot(url, token, schema)
    finally:
        for proc in reversed(procs):
            proc.terminate()
            with suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            if proc.poll() is None:
                proc.kill()
        shutil.rmtree(base, ignore_errors=True)
