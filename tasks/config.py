"""Nornir tasks that change router configuration: diff (dry run), deploy under a
commit-confirm timer, confirm, rollback. The check between commit and confirm is the
caller's (onramp.flow.plan runs the pyATS gate of validation/).

Each is `(task, ...) -> Result` and runs on every host in parallel under Nornir's
threaded runner. Device access is NAPALM through nornir-napalm (FRR: napalm_frr).
Results never carry a secret: diffs are masked with the keys the caller passes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from napalm.base import NetworkDriver
from nornir.core.task import Result, Task

from napalm_frr import (
    CommitPending,
    ConfigChanged,
    FRRDriver,
    HostKeyError,
    applies_against,
    commit_state,
)
from onramp.core.errors import Code, OnrampError
from onramp.core.secrets import mask
from onramp.network.platforms import PLATFORMS
from onramp.tasks.failure import unreachable


def canonical(config: str) -> str:
    """A config with its top-level stanzas (a line at column 0 with its indented lines and
    closing `exit`) sorted; `!` separators dropped. Two configs that differ only in stanza
    order are the same config: FRR, for one, lists a prefix-list that a rollback re-created
    after the others. Order inside a stanza is kept: there it can matter."""
    stanzas: list[list[str]] = []
    for line in config.splitlines():
        if line.strip() == "!":
            continue
        if not stanzas or (line[:1].strip() and line != "exit"):
            stanzas.append([line])
        else:
            stanzas[-1].append(line)
    return "\n".join(sorted("\n".join(st) for st in stanzas)) + "\n"


def fingerprint(running: str) -> str:
    """What a plan remembers of a router's running config: the SHA-256 of its canonical
    form (stanza order is no change)."""
    return hashlib.sha256(canonical(running).encode()).hexdigest()


def device(task: Task) -> NetworkDriver:
    try:
        return task.host.get_connection("napalm", task.nornir.config)
    except HostKeyError as exc:  # not "unreachable": retrying cannot help, a person must look
        code: Code = "ONR-SSH-002" if exc.changed else "ONR-SSH-001"
        raise OnrampError(code, exc.reason, exc.hint) from exc
    except Exception as exc:  # paramiko/napalm raise many kinds; all mean "cannot reach"
        raise unreachable(exc) from exc  # one line; the caller names the host


def running_config(task: Task) -> Result:
    running = device(task).get_config(retrieve="running")["running"]
    return Result(host=task.host, result={"running": running, "sha256": fingerprint(running)})


def diff_config(task: Task, candidates: dict[str, str], secrets: Iterable[str] = ()) -> Result:
    """Dry run: the diff of this host's candidate (whole config) against its running config."""
    dev = device(task)
    dev.load_replace_candidate(config=candidates[task.host.name])
    try:
        diff = dev.compare_config()
    finally:
        dev.discard_config()
    # napalm_frr's diff brings back the running config it was made against, read in the
    # same SSH command: the fingerprint is of the very config diffed, and the router starts
    # no second vtysh (~30 ms of its CPU) for it. Other drivers: read it once more
    shown = dev.compared_running if isinstance(dev, FRRDriver) else None
    running = shown if shown is not None else dev.get_config(retrieve="running")["running"]
    return Result(
        host=task.host,
        changed=bool(diff.strip()),
        diff=mask(diff, secrets),
        result={"diff": mask(diff, secrets), "running_sha256": fingerprint(running)},
    )


def deploy_config(
    task: Task,
    candidates: dict[str, str],
    expected_sha256: dict[str, str],
    diffs: dict[str, str],
    revert_in: int,
    secrets: Iterable[str] = (),
    discarded: bool = False,
) -> Result:
    """Replace the running config with the candidate under a confirm timer, unconfirmed:
    the caller confirms (`confirm`) once its checks pass, or rolls back (`rollback`).

    Refuses when the running config is not the one the plan was made against; so the
    plan's (masked) diff in `diffs` is this commit's diff, and is not computed again. If
    the commit fails the router is put back; if nobody confirms (the caller died), the
    device's own timer reverts the commit after revert_in.

    `discarded`: the caller has just ended any unconfirmed commit on this router
    (`discard_unconfirmed`, under its lock of the router), so its mark is not read a
    second time on the way to the commit (a round trip, ~10 ms); the commit itself still
    refuses while a commit waits for confirmation.
    """
    host = task.host.name
    dev = device(task)
    # before the check: rolled back, the router may match the plan. napalm_frr's commit
    # refuses by itself while another waits (CommitPending): after the caller's discard
    # its mark is not read twice
    skip = discarded and isinstance(dev, FRRDriver)
    note, pending = ("", False) if skip else _end_orphan(dev)
    # The plan's dry run read the running config on this connection (a worker keeps its
    # connections from plan to apply): when that text is the plan's, the commit applies
    # against it, and its script refuses if the router's moved since (ConfigChanged below).
    # No third read of the whole config, on the way to every commit; else read it now
    seen = applies_against(dev) if isinstance(dev, FRRDriver) else None
    if seen is not None and fingerprint(seen) == expected_sha256[host]:
        before = seen
    else:
        before = dev.get_config(retrieve="running")["running"]
    if fingerprint(before) != expected_sha256[host]:
        raise OnrampError(
            "ONR-PLAN-002",
            f"{host}: running config changed since the plan was made "
            f"(sha256 {expected_sha256[host][:12]} then, {fingerprint(before)[:12]} now)"
            + (f"; {note}" if note else ""),
        )
    if pending:
        raise _waiting()
    diff = diffs[host]
    if not diff.strip():
        return Result(host=task.host, changed=False,
                      result={"diff": "", "state": "unchanged", "note": note})  # fmt: skip
    platform = PLATFORMS.get(str(task.host.platform))
    if platform is None or not platform.commit_confirm:  # its driver would refuse revert_in
        raise OnrampError("ONR-DEPLOY-002", f"{host}: NAPALM's {task.host.platform} driver "
                          "cannot commit under a confirm timer", "deploy it by hand, or give "
                          "its driver commit-confirm (onramp.network.platforms)")  # fmt: skip
    dev.load_replace_candidate(config=candidates[host])
    try:
        dev.commit_config(revert_in=revert_in)
    except ConfigChanged as exc:  # changed since `before`: nothing applied, nothing to undo
        raise OnrampError("ONR-PLAN-002", f"{host}: {exc}") from exc
    except CommitPending as exc:  # another's commit: nothing applied, nothing to undo
        raise _waiting() from exc
    except Exception as exc:
        _restore(dev, before, host)
        raise OnrampError("ONR-DEPLOY-002", f"{host}: {mask(str(exc), secrets)}") from exc
    return Result(host=task.host, changed=True, diff=diff,
                  result={"diff": diff, "state": "pending", "note": note})  # fmt: skip


def _waiting() -> OnrampError:
    return OnrampError("ONR-DEPLOY-006", "a commit of another apply waits for confirmation",
                       "wait until it is confirmed or its router timer reverts it (its "
                       "--revert-in), then make a new plan")  # fmt: skip


ORPHAN = "a commit was left unconfirmed by an interrupted apply (its timer was gone); " \
         "rolled back to the last confirmed config"  # fmt: skip


def _end_orphan(dev: NetworkDriver) -> tuple[str, bool]:
    """Roll back a commit whose revert timer is gone (only napalm_frr can tell):
    nothing else would ever end it. Returns what happened, for the user, or "", and
    whether a commit (under its timer) still waits for confirmation: napalm_frr tells
    both from one read of its mark, on every deploy's path."""
    if not isinstance(dev, FRRDriver):
        return "", dev.has_pending_commit()
    state = commit_state(dev)
    if state != "orphaned":
        return "", state == "pending"
    dev.rollback()
    if dev.has_pending_commit():
        raise OnrampError("ONR-DEPLOY-004", "an orphaned unconfirmed commit stayed after rollback")
    return ORPHAN, False


def _restore(dev: NetworkDriver, before: str, host: str) -> None:
    if fingerprint(dev.get_config(retrieve="running")["running"]) != fingerprint(before):
        dev.rollback()
    _verify_restored(dev, before, host)


def _verify_restored(dev: NetworkDriver, before: str, host: str) -> None:
    after = dev.get_config(retrieve="running")["running"]
    if fingerprint(after) != fingerprint(before):
        raise OnrampError(
            "ONR-DEPLOY-004",
            f"{host}: running config differs from the one before the commit "
            f"(sha256 {fingerprint(before)[:12]} before, {fingerprint(after)[:12]} now)",
        )


def confirm(task: Task) -> Result:
    device(task).confirm_commit()
    return Result(host=task.host, changed=False, result="confirmed")


def rollback(task: Task) -> Result:
    """Back to the config before the last commit (confirmed or not)."""
    dev = device(task)
    before = dev.get_config(retrieve="running")["running"]
    dev.rollback()
    after = dev.get_config(retrieve="running")["running"]
    return Result(
        host=task.host,
        changed=fingerprint(after) != fingerprint(before),
        result={"sha256": fingerprint(after)},
    )


def refresh_filters(task: Task, vrfs: dict[str, list[str]]) -> Result:
    """Make the sessions of the router's VRFs `vrfs[host]` apply their changed prefix
    filters (the platform's `filter_refresh`: a route refresh, no reset)."""
    commands = [c.format(vrf=vrf) for vrf in vrfs.get(task.host.name, [])
                for c in PLATFORMS[str(task.host.platform)].filter_refresh]  # fmt: skip
    if commands:
        device(task).cli(commands)
    return Result(host=task.host, changed=False, result=commands)


def discard_unconfirmed(task: Task) -> Result:
    """Roll back a commit still waiting for confirmation (left by a worker that died
    between commit and confirm) instead of waiting for the router's own timer."""
    dev = device(task)
    note, pending = _end_orphan(dev)
    if note:
        return Result(host=task.host, changed=True, result=note)
    if not pending:
        return Result(host=task.host, changed=False, result="none pending")
    dev.rollback()
    return Result(host=task.host, changed=True, result="rolled back an unconfirmed commit")
