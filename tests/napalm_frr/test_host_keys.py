"""The driver's SSH host-key check against a real sshd (a throwaway one on a loopback port,
with a host key of its own): a known key is taken, an unknown or changed one refused with
its fingerprint as OpenSSH prints it, and accept-new records new hosts, never changed ones."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nornir import InitNornir

from napalm_frr import FRRDriver, HostKeyError
from onramp.core.errors import OnrampError
from onramp.network.inventory import load
from onramp.tasks.config import device

from ..conftest import copy_default_inventory

SSHD = Path("/usr/sbin/sshd")
pytestmark = pytest.mark.skipif(not SSHD.exists(), reason="needs sshd (make deps)")


def keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def fingerprint(public_key: Path) -> str:
    """The fingerprint as OpenSSH itself prints it (SHA256:base64), not paramiko's word."""
    out = subprocess.run(["ssh-keygen", "-lf", str(public_key)], capture_output=True, text=True)
    return out.stdout.split()[1]


@dataclass(frozen=True)
class Sshd:
    port: int
    host_key: Path  # its private key; `.pub` beside it
    client_key: Path
    tmp: Path

    @property
    def name(self) -> str:
        return f"[127.0.0.1]:{self.port}"  # known_hosts' name off port 22

    def line(self, public_key: Path | None = None, name: str | None = None) -> str:
        kind, key = (public_key or self.host_key.with_suffix(".pub")).read_text().split()[:2]
        return f"{name or self.name} {kind} {key}\n"

    def driver(self, known_hosts: Path, policy: str | None = None) -> FRRDriver:
        args = {
            "port": self.port,
            "key_file": str(self.client_key),
            "known_hosts": str(known_hosts),
        }
        return FRRDriver("127.0.0.1", os.environ.get("USER", "root"), "", timeout=10,
                         optional_args=args | ({"host_key_policy": policy} if policy else {}))  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    tmp = tmp_path_factory.mktemp("sshd")
    host_key, client_key = keygen(tmp / "host_key"), keygen(tmp / "client_key")
    (tmp / "authorized_keys").write_text(client_key.with_suffix(".pub").read_text())
    port = _free_port()
    config = tmp / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {host_key}\nPidFile {tmp / 'pid'}\n"
        f"AuthorizedKeysFile {tmp / 'authorized_keys'}\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        # a module may put stand-ins for router commands (vtysh, ...) in tmp/bin
        f"SetEnv PATH={tmp / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
    )
    (tmp / "bin").mkdir()
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation, as root
    proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stderr=subprocess.PIPE)
    try:
        while True:  # until it listens (or has died)
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
        yield Sshd(port, host_key, client_key, tmp)
    finally:
        proc.terminate()
        proc.wait()


def test_known_key_is_taken_under_its_port_form_name(sshd: Sshd, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(sshd.line(name="127.0.0.1"))  # the right key, but for port 22
    with pytest.raises(HostKeyError):
        sshd.driver(known).open()
    known.write_text(sshd.line())  # [127.0.0.1]:port, as OpenSSH names it
    dev = sshd.driver(known)
    dev.open()
    try:
        assert dev.is_alive() == {"is_alive": True}
    finally:
        dev.close()


def test_hashed_lines_count_among_many(sshd: Sshd, tmp_path: Path) -> None:
    """OpenSSH's HashKnownHosts (`ssh-keygen -H`): a hashed line is the host's, among
    other hosts' lines (the driver parses only the host's own)."""
    other = keygen(tmp_path / "other").with_suffix(".pub")
    many = "".join(sshd.line(other, name=f"10.9.{i // 250}.{i % 250}") for i in range(300))
    known = tmp_path / "known_hosts"
    for key, works in ((sshd.host_key.with_suffix(".pub"), True), (other, False)):
        known.write_text("# ours\n" + many + sshd.line(key))
        subprocess.run(["ssh-keygen", "-H", "-f", str(known)], check=True, capture_output=True)
        assert sshd.name not in known.read_text()  # hashed now
        dev = sshd.driver(known)
        if works:
            dev.open()
            dev.close()
        else:
            with pytest.raises(HostKeyError) as err:
                dev.open()
            assert err.value.changed


def test_unknown_key_is_refused_with_its_fingerprint(sshd: Sshd, tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(sshd.line(keygen(tmp_path / "other").with_suffix(".pub"), name="10.0.0.9"))
    with pytest.raises(HostKeyError) as err:
        sshd.driver(known).open()
    want = fingerprint(sshd.host_key.with_suffix(".pub"))
    assert want.startswith("SHA256:") and not err.value.changed
    assert want in str(err.value) and sshd.name in str(err.value)
    assert f"ssh-keyscan -p {sshd.port} 127.0.0.1 >> {known}" in err.value.hint
    assert "accept-new" in err.value.hint
    with pytest.raises(HostKeyError, match="does not exist"):  # no file: nothing is known
        sshd.driver(tmp_path / "absent").open()
    assert not (tmp_path / "absent").exists()


@pytest.mark.parametrize("policy", ["strict", "accept-new"])
def test_changed_key_is_refused_whatever_the_policy(
    sshd: Sshd, tmp_path: Path, policy: str
) -> None:
    known = tmp_path / "known_hosts"
    known.write_text(sshd.line(keygen(tmp_path / "old").with_suffix(".pub")))
    before = known.read_text()
    with pytest.raises(HostKeyError) as err:
        sshd.driver(known, policy).open()
    assert err.value.changed and "CHANGED" in str(err.value)
    assert fingerprint(sshd.host_key.with_suffix(".pub")) in str(err.value)
    assert known.read_text() == before  # the old key is not replaced


def test_accept_new_records_the_key_and_warns(
    sshd: Sshd, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    known = tmp_path / "ssh" / "known_hosts"  # neither file nor directory exist yet
    dev = sshd.driver(known, "accept-new")
    with caplog.at_level(logging.WARNING, logger="napalm_frr.frr"):
        dev.open()
    dev.close()
    assert known.read_text() == sshd.line()
    (warning,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert fingerprint(sshd.host_key.with_suffix(".pub")) in warning.getMessage()
    assert str(known) in warning.getMessage()
    strict = sshd.driver(known)  # what was recorded is what strict checking reads
    strict.open()
    strict.close()


def test_inventory_names_the_file_and_nornir_refuses_with_a_code(
    sshd: Sshd, tmp_path: Path
) -> None:
    """known_hosts relative to the inventory directory, as the Nornir plugin resolves it;
    a refusal is ONR-SSH-001 (not the retried ONR-DEPLOY-001) with the fingerprint."""
    inv = copy_default_inventory(tmp_path / "inventory")
    args = inv.data["defaults"]["connection_options"]["napalm"]["extras"]["optional_args"]
    args |= {"known_hosts": "../trust/known_hosts", "key_file": str(sshd.client_key)}
    inv.hosts["pe1-par"] |= {"hostname": "127.0.0.1", "port": sshd.port}
    inv.write()
    known = tmp_path / "trust" / "known_hosts"
    known.parent.mkdir()
    known.write_text(sshd.line(name="127.0.0.2"))  # another host's line only
    assert load(inv.directory).known_hosts("pe1-par") == known

    nr = InitNornir(
        inventory={"plugin": "OnrampInventory", "options": {"directory": str(inv.directory)}},
        logging={"enabled": False},
    ).filter(name="pe1-par")
    result = nr.run(task=device)
    exc = result["pe1-par"][0].exception
    assert isinstance(exc, OnrampError), result["pe1-par"][0].result
    assert exc.code == "ONR-SSH-001"
    assert fingerprint(sshd.host_key.with_suffix(".pub")) in exc.reason
    assert str(known) in exc.reason  # the resolved path, not the relative one

    known.write_text(sshd.line(keygen(tmp_path / "old").with_suffix(".pub")))
    exc = nr.run(task=device, on_failed=True)["pe1-par"][0].exception
    assert isinstance(exc, OnrampError) and exc.code == "ONR-SSH-002"


def test_several_commands_go_in_one_exec_and_a_failure_names_its_command(
    sshd: Sshd, tmp_path: Path
) -> None:
    """cli() with several commands sends them in one SSH exec (the topology read's four);
    here no FRR daemon runs, so vtysh fails: the error names the command and vtysh's word,
    as a single command's would (the lab's topology read covers the answers)."""
    from napalm.base.exceptions import CommandErrorException

    known = tmp_path / "known_hosts"
    known.write_text(sshd.line())
    dev = sshd.driver(known)
    dev.open()
    try:
        with pytest.raises(CommandErrorException) as one:
            dev.cli(["show daemons"])
        with pytest.raises(CommandErrorException) as many:
            dev.cli(["show daemons", "show isis hostname"])
    finally:
        dev.close()
    assert "failed to connect to any daemons" in str(one.value)
    assert str(many.value).startswith("'show daemons' on 127.0.0.1:")
    assert "failed to connect to any daemons" in str(many.value)


def test_commands_are_not_held_back_by_nagle(sshd: Sshd, tmp_path: Path) -> None:
    """The driver's SSH socket sends at once (TCP_NODELAY): a command is a few small
    packets each way, and with Nagle's algorithm on each exec waited for the router's
    delayed ACK, ~40 ms per command on the lab where `true` takes 2 ms (bench/to_active.py
    measures what that costs a Connector)."""
    known = tmp_path / "known_hosts"
    known.write_text(sshd.line())
    dev = sshd.driver(known)
    dev.open()
    try:
        assert dev.client is not None
        sock = dev.client.get_transport().sock  # type: ignore[union-attr]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert dev._run("echo answered").strip() == "answered"
    finally:
        dev.close()
