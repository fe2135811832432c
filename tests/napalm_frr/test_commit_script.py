"""The commit's one round trip against a real sshd, FRR's tools stood in for: the router's
state directory is named once (each `$(hostname)` is a process, and the script named it
33 times before the router had the new config), and the confirm timer, started by the
same script, marks its commit where confirm_commit looks."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from napalm.base.exceptions import CommitError

from napalm_frr import FRRDriver

from .test_host_keys import Sshd, sshd  # noqa: F401 (the fixture)


def driver(sshd: Sshd, state: Path, frr_reload: str = "echo") -> FRRDriver:  # noqa: F811
    """The driver, open, on the test sshd; its state directory `state`. frr-reload stood
    in by `echo` unless told: its "diff" adds nothing."""
    known = sshd.tmp / "known_hosts"
    known.write_text(sshd.line())
    args = {"port": sshd.port, "key_file": str(sshd.client_key), "known_hosts": str(known),
            "state_dir": str(state), "frr_reload": frr_reload}  # fmt: skip
    dev = FRRDriver("127.0.0.1", os.environ.get("USER", "root"), "", timeout=10,
                    optional_args=args)  # fmt: skip
    dev.open()
    return dev


def test_a_commit_names_its_state_directory_once_and_its_timer_marks_there(
    sshd: Sshd,  # noqa: F811
) -> None:
    bin_, state, named = sshd.tmp / "bin", sshd.tmp / "state", sshd.tmp / "hostname.calls"
    for tool, body in (
        ("vtysh", "echo 'hostname r1'"),  # the running config, the same at every read
        ("hostname", f'echo >>{named}; exec /bin/hostname "$@"'),  # counts its calls
    ):
        (bin_ / tool).write_text(f"#!/bin/sh\n{body}\n")
        (bin_ / tool).chmod(0o755)
    dev = driver(sshd, state)
    try:
        dev.load_replace_candidate(config="hostname r1\n")
        named.write_text("")
        dev.commit_config(revert_in=60)
        calls = len(named.read_text().splitlines())
        (mark,) = state.glob("*/pending")
        timer = int(mark.read_text().split()[1])
        assert dev.has_pending_commit()
        dev.confirm_commit()
        assert not dev.has_pending_commit()
    finally:
        dev.close()
    os.killpg(timer, signal.SIGTERM)  # its own session (setsid): no sleep left behind
    assert calls == 1, f"the commit's script ran hostname {calls} times"


def test_a_confirm_that_cannot_save_leaves_the_commit_to_its_timer(
    sshd: Sshd,  # noqa: F811
) -> None:
    """confirm_commit saves the config (a commit waiting for confirmation is not the
    startup config) before it removes the mark: a save that fails says so, and the commit
    stays unconfirmed, for its timer to revert."""
    bin_, state = sshd.tmp / "bin", sshd.tmp / "state"
    # FRR's `write` refused (a full disk, a read-only /etc); every read answers
    (bin_ / "vtysh").write_text(
        '#!/bin/sh\nfor a; do :; done\n[ "$a" = write ] && exit 1\necho "hostname r1"\n'
    )
    (bin_ / "vtysh").chmod(0o755)
    dev = driver(sshd, state)
    try:
        dev.load_replace_candidate(config="hostname r1\n")
        dev.commit_config(revert_in=60)
        (mark,) = state.glob("*/pending")
        timer = int(mark.read_text().split()[1])
        with pytest.raises(CommitError, match="could not save"):
            dev.confirm_commit()
        assert dev.has_pending_commit()  # still its timer's to revert
    finally:
        dev.close()
    os.killpg(timer, signal.SIGTERM)


def test_a_confirm_while_the_timer_reverts_says_it_came_too_late(
    sshd: Sshd,  # noqa: F811
) -> None:
    """At the very end of the window the timer and a confirm both find the mark. Each
    claims the commit under one lock: a confirm that comes while the timer reverts waits
    for it and says no commit waits. It must not save and report confirmed a commit the
    timer is taking away (onramp would call the Connector active on a reverted router)."""
    bin_, state, log = sshd.tmp / "bin", sshd.tmp / "state-race", sshd.tmp / "revert.log"
    (bin_ / "vtysh").write_text("#!/bin/sh\necho 'hostname r1'\n")
    # frr-reload: its dry run adds nothing; the timer's revert (of rollback.conf) is slow
    (bin_ / "frr-reload").write_text(
        f'#!/bin/sh\ncase "$*" in *rollback.conf*) echo begun >>{log}; sleep 2; '
        f'echo done >>{log};; esac\necho "$@"\n'
    )
    for tool in ("vtysh", "frr-reload"):
        (bin_ / tool).chmod(0o755)
    dev = driver(sshd, state, frr_reload=str(bin_ / "frr-reload"))
    try:
        dev.load_replace_candidate(config="hostname r1\n")
        dev.commit_config(revert_in=1)
        for _ in range(500):  # the timer wakes after 1 s and begins its revert
            if log.exists():
                break
            time.sleep(0.01)
        assert log.read_text() == "begun\n"
        with pytest.raises(CommitError, match="no commit waits"):
            dev.confirm_commit()
        assert log.read_text() == "begun\ndone\n"  # the confirm waited for the revert
        assert not dev.has_pending_commit()
    finally:
        dev.close()
