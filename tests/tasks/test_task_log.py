"""Nornir logs every run at INFO as "Running task 'x' with args {...}": the task's keyword
arguments whole. onramp's tasks take rendered candidates (BGP MD5 keys in clear) and the
list of secrets to mask; an application (or pytest's log capture, printed on any failure)
that keeps INFO got every key of the change. The record keeps the task and the names of
its arguments, not their values."""

from __future__ import annotations

import logging

import pytest
from nornir.core.task import Result, Task

from onramp.core.settings import ROOT, load_settings
from onramp.network.inventory.plugin import init_nornir

KEY = "Kq7sTnv3EXAMPLEmd5key42"


def renders(task: Task, candidates: dict[str, str], secrets: list[str]) -> Result:
    return Result(host=task.host, result=len(candidates[task.host.name]))


def test_a_tasks_arguments_reach_no_log_record(caplog: pytest.LogCaptureFixture) -> None:
    nr = init_nornir(load_settings(ROOT / "config.yaml"))
    candidates = {h: f"neighbor 10.0.0.1 password {KEY}\n" for h in nr.inventory.hosts}
    with caplog.at_level(logging.DEBUG):
        result = nr.run(task=renders, candidates=candidates, secrets=[KEY])
    assert not result.failed
    records = [r.getMessage() for r in caplog.records]
    running = [m for m in records if m.startswith("Running task 'renders'")]
    assert running, records  # the record is still there: which task, on how many routers
    assert "candidates" in running[0] and "secrets" in running[0], running[0]
    assert f"on {len(nr.inventory.hosts)} hosts" in running[0]
    assert not [m for m in records if KEY in m]
