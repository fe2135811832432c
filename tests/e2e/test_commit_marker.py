"""napalm_frr's commit-confirm on a real FRR router (a 3-router lab of its own): the
`pending` mark is written by the timer process itself, so a caller killed at any point
never leaves a mark without a timer; and a mark whose timer is gone (the router lost it,
or an older driver left it) is found, rolled back to the last confirmed config and said
so by the next apply or discard, instead of refusing every commit after it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import napalm
import pytest

from napalm_frr import has_orphaned_commit
from onramp.core.settings import load_settings
from onramp.lab.run import FRR_ETC, Lab, down
from onramp.lab.topology import build
from onramp.network.inventory import load
from onramp.network.inventory.generate import generate, write
from onramp.network.inventory.plugin import init_nornir
from onramp.tasks.config import ORPHAN, deploy_config, discard_unconfirmed, fingerprint

from ..conftest import DEFAULT_INVENTORY
from .conftest import lab_settings, write_config

OCTET, PE = 79, "pe1"  # not 60 + n: the shared labs of the xdist workers
ROUTE = "ip route 192.0.2.0/24 Null0\n"


@dataclass
class Env:
    lab: Lab
    config: Path

    def nornir(self) -> Any:
        return init_nornir(load_settings(self.config)).filter(filter_func=lambda h: h.name == PE)

    def optional_args(self) -> dict[str, Any]:
        host = init_nornir(load_settings(self.config)).inventory.hosts[PE]
        return dict((host.get_connection_parameters("napalm").extras or {})["optional_args"])

    def driver(self) -> Any:
        host = init_nornir(load_settings(self.config)).inventory.hosts[PE]
        dev = napalm.get_network_driver("frr")(host.hostname, "root", "",
                                               optional_args=self.optional_args())  # fmt: skip
        dev.open()
        return dev


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("marker")
    settings = lab_settings("tcm", tmp, OCTET)
    write(generate(3, f"172.20.{OCTET}.0/24"), tmp / "inventory")
    shutil.copy(DEFAULT_INVENTORY / "defaults.yaml", tmp / "inventory")  # how NAPALM connects
    lab = Lab(build(load(tmp / "inventory"), settings), settings.state_dir)
    down(settings.name, settings.state_dir)
    try:
        lab.up(converge_timeout=settings.converge_timeout_s)
        yield Env(lab, write_config(tmp / "config.yaml", settings, tmp / "inventory"))
    finally:
        down(settings.name, settings.state_dir)


COMMIT = """
import json, sys, napalm
dev = napalm.get_network_driver("frr")(sys.argv[1], "root", "", optional_args=json.loads(sys.argv[2]))
dev.open()
dev.load_merge_candidate(config=sys.argv[3])
dev.commit_config(revert_in=int(sys.argv[4]))
"""


def test_an_apply_killed_as_the_mark_appears_leaves_a_live_timer(env: Env) -> None:
    dev = env.driver()
    before = dev.get_config(retrieve="running")["running"]
    args = json.dumps(env.optional_args())
    proc = subprocess.Popen([sys.executable, "-c", COMMIT, dev.hostname, args, ROUTE, "12"],
                            start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not dev.has_pending_commit() and time.monotonic() < deadline:
            pass  # as soon as the mark exists: the moment the old driver had no timer yet
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    try:
        assert dev.has_pending_commit() and not has_orphaned_commit(dev)
        deadline = time.monotonic() + 30  # the timer reverts (if the reload ran) and clears
        while dev.has_pending_commit() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not dev.has_pending_commit()
        assert fingerprint(dev.get_config(retrieve="running")["running"]) == fingerprint(before)
    finally:
        dev.close()


def orphan(dev: Any, how: str) -> None:
    """A commit waiting for confirmation whose timer is gone."""
    if how == "old mark":  # what the driver left when killed between mark and timer
        dev._run(f"mkdir -p {dev._dir} && echo 0123456789abcdef > {dev._dir}/pending")
        dev._stage("rollback.conf", dev.get_config(retrieve="running")["running"])
        return
    dev.load_merge_candidate(config=ROUTE)
    dev.commit_config(revert_in=300)
    pid = dev._run(f"cat {dev._dir}/pending").split()[1]
    dev._run(f"kill {pid}")  # the router lost its timer (a restart of its OS, say)


@pytest.mark.parametrize("how", ["old mark", "timer killed"])
def test_discard_rolls_back_a_commit_without_its_timer(env: Env, how: str) -> None:
    dev = env.driver()
    try:
        last_confirmed = dev.get_config(retrieve="running")["running"]
        orphan(dev, how)
        assert has_orphaned_commit(dev)
        (r,) = env.nornir().run(task=discard_unconfirmed).values()
        assert not r.failed and r[0].result == ORPHAN
        assert not dev.has_pending_commit()
        assert fingerprint(dev.get_config(retrieve="running")["running"]) == fingerprint(
            last_confirmed
        )
    finally:
        dev.close()


def test_the_next_apply_recovers_and_says_what_happened(env: Env) -> None:
    dev = env.driver()
    try:
        running = dev.get_config(retrieve="running")["running"]
        orphan(dev, "old mark")  # the tester's case: `onramp apply` killed 2.3 s in
        (r,) = env.nornir().run(
            task=deploy_config, candidates={PE: running + ROUTE},
            expected_sha256={PE: fingerprint(running)}, diffs={PE: "+ " + ROUTE},
            revert_in=60,
        ).values()  # fmt: skip
        assert not r.failed, r[0].exception
        assert r[0].result["state"] == "pending" and r[0].result["note"] == ORPHAN
        assert dev.has_pending_commit() and not has_orphaned_commit(dev)
        assert ROUTE.strip() in dev.get_config(retrieve="running")["running"]
    finally:
        dev.rollback()
        dev.close()


def saved(env: Env) -> str:
    """pe1's startup config: what its daemons load when they start (the lab's frr.conf)."""
    return (FRR_ETC / env.lab.ns(PE) / "frr.conf").read_text()


def test_a_commit_is_saved_only_once_confirmed(env: Env) -> None:
    """An unconfirmed commit is the running config only: a router (or FRR) restarted before
    the confirmation starts from the config last confirmed, as the timer would have left
    it. Both ways a commit applies: its additions (vtysh -f), frr-reload --reload (a
    deletion). Confirmed, it is saved; rolled back, the config before it is."""
    dev = env.driver()
    route = ROUTE.strip()
    try:
        assert route not in saved(env)
        dev.load_merge_candidate(config=ROUTE)
        dev.commit_config(revert_in=60)
        assert route in dev.get_config(retrieve="running")["running"]
        assert route not in saved(env)  # unconfirmed: not saved
        dev.confirm_commit()
        assert route in saved(env)
        # a deletion goes through frr-reload --reload, which writes what it loads
        running = dev.get_config(retrieve="running")["running"]
        dev.load_replace_candidate(config=running.replace(ROUTE, ""))
        dev.commit_config(revert_in=60)
        assert route not in dev.get_config(retrieve="running")["running"]
        assert route in saved(env)  # unconfirmed: the confirmed config stays saved
        dev.rollback()
        assert route in dev.get_config(retrieve="running")["running"] and route in saved(env)
        dev.load_replace_candidate(config=running.replace(ROUTE, ""))
        dev.commit_config()  # no confirmation asked: saved at once
        assert route not in saved(env)
    finally:
        if dev.has_pending_commit():
            dev.rollback()
        dev.close()
