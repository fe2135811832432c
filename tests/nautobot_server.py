"""A real Nautobot for the tests: its own venv, a PostgreSQL of the session, a Redis.

Nautobot pins its own Django stack, so it lives in `.venv-nautobot` (made here or by
`make nautobot`), never in onramp's venv. A migrate from empty takes minutes (358 s of a
fresh clone's `make test`), so the migrated database ships in the repository as a pg_dump,
`tests/fixtures/nautobot-<version>.dump` (`make nautobot-fixture` makes it again). It is
restored, then the server's own start-up check must find nothing left to apply (a test
says so). If this PostgreSQL's pg_restore cannot read it (an older major), `migrate` runs
from empty and its result is kept as `var/nautobot-<version>.dump` for later runs; if
migrations are missing (Nautobot's Django apps moved on), `migrate` applies just those and
the server starts again. Nautobot's own migrations stay Nautobot's concern: the server is
real either way.

Each `nautobot-server` command is a Django start, ~10 s of CPU on these machines: the
common way starts one (runserver). It reports unapplied migrations itself, and the tests'
user and token are two rows written with psql (a `shell` and a `showmigrations` were two
more starts, 28 s of every server's 42 s).
"""

from __future__ import annotations

import fcntl
import os
import re
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
    unapplied: list[str]  # apps whose migrations `migrate` still had to apply after it
    restore_error: str = ""  # why the fixture could not be restored, if it could not


def restore(dump: Path, pg_host: Path) -> str:
    """pg_restore into the empty database `nautobot`: "" or why not. One transaction, so a
    failure (another PostgreSQL's archive format, a statement this server refuses) leaves the
    database empty for `migrate`."""
    done = subprocess.run(["pg_restore", "-h", str(pg_host), "-U", "postgres", "-d", "nautobot",
                           "--no-owner", "--single-transaction", "--exit-on-error", str(dump)],
                          capture_output=True, text=True)  # fmt: skip
    return "" if done.returncode == 0 else done.stderr.strip()[-1000:] or "pg_restore failed"


def migrated(server: Path, env: dict[str, str], pg_host: Path, dumps: tuple[Path, ...]) -> Schema:
    """Nautobot's schema in the empty database `nautobot`, restored when a dump allows (what
    the restore lacks is found when the server starts: `unapplied`)."""
    failed = ""
    for dump in dumps:
        if not dump.exists():
            continue
        error = restore(dump, pg_host)
        if not error:
            return Schema(dump, [], failed)
        failed = failed or error
    _migrate(server, env)
    _keep(pg_host)
    return Schema(None, [], failed)


def _migrate(server: Path, env: dict[str, str]) -> None:
    subprocess.run([str(server), "migrate", "--no-input"], env=env, check=True,
                   capture_output=True)  # fmt: skip


def unapplied_apps(log: str) -> list[str]:
    """The apps whose migrations the database lacks, as runserver's start-up check names
    them ("You have 1 unapplied migration(s). ... for app(s): vpn.")."""
    found = re.search(r"unapplied migration\(s\)\..*for app\(s\): (.+)\.$", log, re.M)
    return found.group(1).split(", ") if found else []


def _user_and_token(pg_host: Path, token: str) -> None:
    """The tests' superuser `onramp` and its API token, as rows (the columns of this
    release's auth_user and users_token; a password of "!" is Django's unusable one)."""
    sql = (
        "INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, "
        "email, is_staff, is_active, date_joined, config_data) VALUES (gen_random_uuid(), '!', "
        "true, 'onramp', '', '', '', false, true, now(), '{}');"
        "INSERT INTO users_token (id, created, key, write_enabled, description, user_id) "
        f"SELECT gen_random_uuid(), now(), '{token}', true, '', id FROM auth_user "
        "WHERE username = 'onramp';"
    )
    done = subprocess.run(["psql", "-h", str(pg_host), "-U", "postgres", "-d", "nautobot", "-q",
                           "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:  # a release whose tables moved on: its fixture is made again
        raise RuntimeError(f"the tests' Nautobot user: {done.stderr.strip()[-500:]} "
                           "(run `make nautobot-fixture` for this release)")  # fmt: skip


def _keep(pg_host: Path) -> None:
    """The migrated database as a dump, so later runs restore it."""
    DUMP.parent.mkdir(parents=True, exist_ok=True)
    part = DUMP.with_suffix(f".{os.getpid()}.part")
    subprocess.run(["pg_dump", "-h", str(pg_host), "-U", "postgres", "-Fc", "-f", str(part),
                    "nautobot"], check=True, capture_output=True)  # fmt: skip
    part.replace(DUMP)  # only a whole dump is ever restored


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    import requests  # here: `make nautobot` runs this module on the system Python (no .venv yet)

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
        "PYTHONUNBUFFERED": "1",  # runserver's migration check is in the log when it answers
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
        _user_and_token(pg_host, token)
        url = f"http://127.0.0.1:{port}"
        log = base / "nautobot.log"
        procs.append(_runserver(server, env, port, log))
        _wait(f"{url}/api/", procs[-1], log, "nautobot-server")
        schema.unapplied = unapplied_apps(log.read_text())
        if schema.unapplied:  # Django applies only these; the fixture's test says to make it again
            _stop(procs.pop())
            _migrate(server, env)
            procs.append(_runserver(server, env, port, log))
            _wait(f"{url}/api/", procs[-1], log, "nautobot-server")
        yield Nautobot(url, token, schema)
    finally:
        for proc in reversed(procs):
            _stop(proc)
        shutil.rmtree(base, ignore_errors=True)


def _runserver(server: Path, env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([str(server), "runserver", "--noreload", f"127.0.0.1:{port}"],
                                env=env, stdout=out, stderr=out)  # fmt: skip


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    with suppress(subprocess.TimeoutExpired):
        proc.wait(10)
    if proc.poll() is None:
        proc.kill()
