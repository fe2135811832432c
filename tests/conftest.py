"""Shared fixtures: the default inventory, and writable copies of it to break on purpose."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from onramp.core.settings import ROOT

FILES = ("hosts", "groups", "defaults", "backbone")
DEFAULT_INVENTORY = ROOT / "inventory"
_TRACKED = pytest.StashKey[dict[str, int]]()


def _tracked() -> dict[str, int]:
    """Each file git tracks, with its modification time. A tracked symlink is the link
    itself (lstat): `onramp/validation` -> `validation/` is a folder whose time moves when
    Python writes its __pycache__ there, which is not a tracked file written."""
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    files = [f for f in out.stdout.decode().split("\0") if f] if out.returncode == 0 else []
    return {f: p.lstat().st_mtime_ns for f in files if (p := ROOT / f).exists()}


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the run's controller, not each worker
        session.config.stash[_TRACKED] = _tracked()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A test run writes no file of the tree: a lab test that re-recorded the parsers' cases
    in place changed what unit tests read in the same run (CI, stop 32)."""
    before = session.config.stash.get(_TRACKED, None)
    if before is None:
        return
    now = _tracked()
    if written := sorted(f for f, t in before.items() if now.get(f, t) != t):
        tw = session.config.get_terminal_writer()
        tw.line()
        tw.line(
            f"a test run wrote tracked files (write under tmp_path): {', '.join(written)}", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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


@dataclass
class PgServer:
    """A PostgreSQL server in a temp dir of its own (unix socket only), run as user postgres;
    `restart` stops it (as an admin would: fast) and starts it again on the same data."""

    bin: Path
    base: Path

    @property
    def url(self) -> str:
        """A URL template with {db} to fill in."""
        return f"postgresql+psycopg://postgres@/{{db}}?host={self.base / 'sock'}"

    def ctl(self, *args: str) -> None:
        opts = f"-c listen_addresses='' -k {self.base / 'sock'} -c max_connections=200 -c fsync=off"
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / "pg_ctl"), "-D",
                        str(self.base / "data"), "-o", opts, "-w", "-l", str(self.base / "log"),
                        *args], check=True, capture_output=True)  # fmt: skip

    def restart(self, mode: str = "fast") -> None:
        self.ctl("-m", mode, "stop")
        self.ctl("start")


@contextmanager
def pg_server() -> Iterator[PgServer]:
    """A throw-away PostgreSQL server, stopped and removed again on exit."""
    pg = _pg_bin()
    if pg is None:
        pytest.skip("PostgreSQL is not installed: run `make deps` (Debian package postgresql)")
    if os.geteuid() != 0:
        pytest.skip("starting PostgreSQL as user postgres needs root")
    # outside pytest's tmp: postgres must read it
    server = PgServer(pg, Path(tempfile.mkdtemp(prefix="onramp-pg-")))
    (server.base / "sock").mkdir()
    for d in (server.base, server.base / "sock"):
        shutil.chown(d, "postgres")
    subprocess.run(["runuser", "-u", "postgres", "--", str(pg / "initdb"), "-D",
                    str(server.base / "data"), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)  # fmt: skip
    server.ctl("start")
    try:
        yield server
    finally:
        with suppress(subprocess.CalledProcessError):  # stopped already
            server.ctl("-m", "immediate", "stop")
        shutil.rmtree(server.base, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A throw-away PostgreSQL server; yields a URL template with {db} to fill in."""
    with pg_server() as server:
        yield server.url


def new_postgres_db(template: str) -> str:
    import psycopg

    name = f"t{uuid.uuid4().hex[:12]}"
    host = template.split("host=")[1]
    with psycopg.connect(host=host, user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return template.format(db=name)


# ------------------------------------------------------------ RabbitMQ
RABBITMQ = Path("/usr/lib/rabbitmq/bin")


@dataclass
class RabbitNode:
    """A RabbitMQ node of its own (its own name, ports and directory, run as the rabbitmq
    user); `restart` stops the whole node and starts it again on the same data (durable
    queues and persistent messages survive, as on a real broker's restart)."""

    base: Path
    port: int
    server: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _as_rabbit(self) -> list[str]:
        base, port = self.base, self.port
        env = {
            "HOME": str(base), "RABBITMQ_NODENAME": f"onramp{port}@localhost",
            "RABBITMQ_NODE_PORT": str(port), "RABBITMQ_DIST_PORT": str(port + 1),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"), "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "PATH": os.environ["PATH"],
        }  # fmt: skip
        return ["runuser", "-u", "rabbitmq", "--", "env", *(f"{k}={v}" for k, v in env.items())]

    def start(self, timeout: float = 60) -> bool:
        """Start the node; False (with the log kept in `failure`) if it never listened."""
        import socket
        import time

        self.server = subprocess.Popen([*self._as_rabbit(), str(RABBITMQ / "rabbitmq-server")],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        deadline = time.monotonic() + timeout
        while self.server.poll() is None and time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.5)
        return False

    def failure(self) -> str:
        logs = "".join(
            f.read_text(errors="replace")[-1500:] for f in (self.base / "log").glob("*.log")
        )
        return f"port {self.port}: exit {self.server and self.server.poll()}: {logs[-1500:]}"

    def stop(self) -> None:
        subprocess.run([*self._as_rabbit(), str(RABBITMQ / "rabbitmqctl"), "stop"],
                       capture_output=True, timeout=60)  # fmt: skip
        if self.server is not None:
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()

    def restart(self) -> None:
        self.stop()
        if not self.start():
            raise RuntimeError("RabbitMQ did not come back: " + self.failure())


@contextmanager
def rabbitmq_node() -> Iterator[RabbitNode]:
    """A RabbitMQ node of its own, stopped and removed again on exit."""
    if not (RABBITMQ / "rabbitmq-server").exists():
        pytest.skip("RabbitMQ is not installed: run `make deps` (Debian package rabbitmq-server)")
    if os.geteuid() != 0:
        pytest.skip("starting RabbitMQ as user rabbitmq needs root")
    failures: list[str] = []
    for _ in range(3):  # a port taken between choosing and starting: again, on others
        node = RabbitNode(Path(tempfile.mkdtemp(prefix="onramp-rmq-")), _two_free_ports())
        (node.base / "enabled_plugins").write_text("[].\n")
        for p in (node.base, node.base / "enabled_plugins"):
            shutil.chown(p, "rabbitmq")
        try:
            if not node.start():  # it exited or never listened: keep why, try other ports
                failures.append(node.failure())
                continue
            yield node
            return
        finally:
            node.stop()
            shutil.rmtree(node.base, ignore_errors=True)
    raise RuntimeError("RabbitMQ did not start in 3 tries:\n" + "\n".join(failures))


@pytest.fixture(scope="session")
def rabbitmq() -> Iterator[str]:
    """A RabbitMQ node of this test session's own; yields its AMQP URL and stops it again."""
    with rabbitmq_node() as node:
        yield node.url


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
