"""Shared fixtures: the default inventory, and writable copies of it to break on purpose."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from onramp.core.settings import ROOT

FILES = ("hosts", "groups", "defaults", "backbone")
DEFAULT_INVENTORY = ROOT / "inventory"


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def write_yaml(path: Path, content: Any) -> Path:
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


@dataclass
class InventoryCopy:
    """The four inventory files, parsed, to edit in place and then `write()`.

    `data[name]` is written as YAML; a `str` is written verbatim (to test unreadable
    files), and a file taken out of `data` is not written at all (to test a missing one).
    """

    directory: Path
    data: dict[str, Any]

    @property
    def hosts(self) -> dict[str, Any]:
        return self.data["hosts"]  # type: ignore[no-any-return]

    def write(self) -> Path:
        for name in FILES:
            path = self.directory / f"{name}.yaml"
            content = self.data.get(name, ...)
            if content is ...:
                path.unlink(missing_ok=True)
            elif isinstance(content, str):
                path.write_text(content)
            else:
                write_yaml(path, content)
        return self.directory


def copy_default_inventory(directory: Path) -> InventoryCopy:
    """The default inventory, parsed, to be edited and written into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    data = {n: read_yaml(DEFAULT_INVENTORY / f"{n}.yaml") for n in FILES}
    return InventoryCopy(directory, data)


@pytest.fixture
def inventory_copy(tmp_path: Path) -> InventoryCopy:
    return copy_default_inventory(tmp_path / "inventory")


# ------------------------------------------------------------ PostgreSQL
# A real server this test session starts (initdb into a temp dir, unix socket only) and
# stops again; each test that wants one gets a database of its own.


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throw-away PostgreSQL server; yields a URL template with {db} to fill in."""
    pg = _pg_bin()
    if pg is None:
        pytest.skip("PostgreSQL is not installed: run `make deps` (Debian package postgresql)")
    if os.geteuid() != 0:
        pytest.skip("starting PostgreSQL as user postgres needs root")
    base = Path(
        tempfile.mkdtemp(prefix="onramp-pg-")
    )  # outside pytest's tmp: postgres must read it
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    shutil.chown(base, "postgres")
    shutil.chown(sock, "postgres")
    run = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*run, str(pg / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
    )
    opts = f"-c listen_addresses='' -k {sock} -c max_connections=200 -c fsync=off"
    subprocess.run(
        [
            *run,
            str(pg / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-w",
            "-l",
            str(base / "log"),
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@/{{db}}?host={sock}"
    finally:
        subprocess.run(
            [*run, str(pg / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


def new_postgres_db(template: str) -> str:
    import psycopg

    name = f"t{uuid.uuid4().hex[:12]}"
    host = template.split("host=")[1]
    with psycopg.connect(host=host, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return template.format(db=name)


# ------------------------------------------------------------ RabbitMQ
RABBITMQ = Path("/usr/lib/rabbitmq/bin")


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[str]:
    """A RabbitMQ node of this test session's own (its own name, ports and directory,
    run as the rabbitmq user); yields its AMQP URL and stops it again."""
    import socket
    import time

    if not (RABBITMQ / "rabbitmq-server").exists():
        pytest.skip("RabbitMQ is not installed: run `make deps` (Debian package rabbitmq-server)")
    if os.geteuid() != 0:
        pytest.skip("starting RabbitMQ as user rabbitmq needs root")
    failures: list[str] = []
    for _ in range(3):  # a port taken between choosing and starting: again, on others
        port = _two_free_ports()
        base = Path(tempfile.mkdtemp(prefix="onramp-rmq-"))
        (base / "enabled_plugins").write_text("[].\n")
        for p in (base, base / "enabled_plugins"):
            shutil.chown(p, "rabbitmq")
        env = {
            "HOME": str(base), "RABBITMQ_NODENAME": f"onramp{port}@localhost",
            "RABBITMQ_NODE_PORT": str(port), "RABBITMQ_DIST_PORT": str(port + 1),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"), "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "PATH": os.environ["PATH"],
        }  # fmt: skip
        as_rabbit = [
            "runuser",
            "-u",
            "rabbitmq",
            "--",
            "env",
            *(f"{k}={v}" for k, v in env.items()),
        ]
        server = subprocess.Popen([*as_rabbit, str(RABBITMQ / "rabbitmq-server")],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while server.poll() is None and time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.5)
            else:  # it exited or never listened: keep why, try other ports
                logs = "".join(
                    f.read_text(errors="replace")[-1500:] for f in (base / "log").glob("*.log")
                )
                failures.append(f"port {port}: exit {server.poll()}: {logs[-1500:]}")
                continue
            yield f"amqp://guest:guest@127.0.0.1:{port}//"
            return
        finally:
            subprocess.run([*as_rabbit, str(RABBITMQ / "rabbitmqctl"), "stop"],
                           capture_output=True, timeout=60)  # fmt: skip
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            shutil.rmtree(base, ignore_errors=True)
    raise RuntimeError("RabbitMQ did not start in 3 tries:\n" + "\n".join(failures))


def _two_free_ports() -> int:
    """A port p such that p and p + 1 are both free now (AMQP and Erlang distribution)."""
    import socket

    while True:
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
