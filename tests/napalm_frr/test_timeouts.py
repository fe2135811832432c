"""A router command that outlives the driver's timeout (a large config's frr-reload) is an
error that says what waited, on which router, for how long, and what to do: paramiko's own
socket.timeout() has an empty message (the 500-Link deploy of bench/scale_out.py failed
with "" on both PEs). Against a real sshd, with a stand-in frr-reload that is slow."""

from __future__ import annotations

import os

import pytest
from napalm.base.exceptions import CommandTimeoutException

from napalm_frr import FRRDriver
from onramp.tasks.failure import failure

from .test_host_keys import Sshd, sshd  # noqa: F401 (the fixture)


def slow_reload_driver(server: Sshd, timeout: int) -> FRRDriver:
    # the dry run reads the running config with vtysh first: a stand-in that answers
    vtysh = server.tmp / "bin" / "vtysh"
    vtysh.write_text("#!/bin/sh\necho 'hostname r1'\n")
    vtysh.chmod(0o755)
    known = server.tmp / "known_hosts"
    known.write_text(server.line())
    args = {"port": server.port, "key_file": str(server.client_key), "known_hosts": str(known),
            "state_dir": str(server.tmp / "state"), "frr_reload": "sleep 3; echo"}  # fmt: skip
    user = os.environ.get("USER", "root")
    return FRRDriver("127.0.0.1", user, "", timeout=timeout, optional_args=args)


def test_a_command_past_the_timeout_says_what_waited_and_what_to_do(sshd: Sshd) -> None:  # noqa: F811
    dev = slow_reload_driver(sshd, timeout=1)
    dev.open()
    try:
        dev.load_replace_candidate(config="hostname r1\n")
        with pytest.raises(CommandTimeoutException) as err:
            dev.compare_config()
    finally:
        dev.close()
    said = str(err.value)
    assert said.startswith("127.0.0.1: frr-reload --test "), said
    assert "no answer in 1 s" in said and "extras: timeout" in said, said
    # not a connection failure (the connection was fine): the caller's code, the driver's words
    code, line = failure(err.value, "ONR-DEPLOY-002")
    assert code == "ONR-DEPLOY-002", line
    assert "frr-reload --test" in line and "\n" not in line, line


def test_a_slow_command_within_the_timeout_answers(sshd: Sshd) -> None:  # noqa: F811
    dev = slow_reload_driver(sshd, timeout=10)
    dev.open()
    try:
        dev.load_replace_candidate(config="hostname r1\n")
        assert dev.compare_config() == ""  # the stand-in prints no diff
    finally:
        dev.close()
