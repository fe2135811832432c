"""A failed Nornir task as one line with a code: the one place where a device library's
exception (paramiko, Netmiko, pyIOSXR, ncclient/PyEZ, NAPALM) becomes what the user
reads. Connection failures say what failed (SSH, NETCONF, the XML agent; refused,
authentication, timeout, unreachable) as ONR-DEPLOY-001, never the library's advice."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator

import paramiko
from napalm.base.exceptions import CommandTimeoutException
from nornir.core.task import Result

from onramp.core.errors import Code, OnrampError

_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and those it was raised from (or while handling), outermost first."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _kind(exc: BaseException) -> str | None:
    """What went wrong in a connection exception, None if it is not one."""
    name = type(exc).__name__
    if isinstance(exc, paramiko.AuthenticationException) or "Auth" in name:
        return "authentication refused"
    if isinstance(exc, ConnectionRefusedError) or name == "ConnectRefusedError":
        return "connection refused"
    if isinstance(exc, OSError) and exc.errno in _UNREACHABLE:
        return "host unreachable"
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        return "connection refused"
    if isinstance(exc, (socket.timeout, TimeoutError)) or "Timeout" in name:
        return "timed out"
    if name in ("ConnectUnknownHostError", "gaierror"):
        return "unknown host"
    return None


def _transport(chain: list[BaseException]) -> str:
    mods = " ".join(type(e).__module__ for e in chain)
    if any("XML>" in str(e) for e in chain):  # SSH is up; the agent behind it is not
        return "IOS-XR XML agent"
    if "jnpr" in mods or "ncclient" in mods:
        return "NETCONF"
    return "SSH"


def first_line(text: str) -> str:
    """The first line that says something (libraries add advice on the next ones)."""
    return next((ln.strip() for ln in text.splitlines() if ln.strip() not in ("", "None")), "")


def connection_error(exc: BaseException) -> str | None:
    """One line for an exception of a device connection, None if it is not one.

    >>> connection_error(ConnectionRefusedError(111, "Connection refused"))
    'SSH: connection refused ([Errno 111] Connection refused)'
    >>> connection_error(ValueError("x")) is None
    True
    """
    chain = list(_chain(exc))
    if any(isinstance(e, CommandTimeoutException) for e in chain):
        return None  # a command that outlived its timeout on a connection that works
    kind = next((k for e in reversed(chain) if (k := _kind(e))), None)  # the root cause
    named = [e for e in chain if "Connect" in type(e).__name__ or _kind(e)]
    if kind is None and not named:
        return None
    detail = next((d for e in reversed(chain) if (d := first_line(str(e)))), type(exc).__name__)
    return f"{_transport(chain)}: {kind or 'connection failed'} ({detail[:200]})"


def failure(exc: BaseException | None, default: Code) -> tuple[Code, str]:
    """A failed task's exception as (code, one-line reason, without the host)."""
    if isinstance(exc, OnrampError):
        return exc.code, exc.reason
    if exc is None:
        return default, "failed without an exception"
    if (line := connection_error(exc)) is not None:
        return "ONR-DEPLOY-001", line
    return default, f"{type(exc).__name__}: {first_line(str(exc))}"[:300]


def failed(result: Result, default: Code) -> tuple[Code, str]:
    """A failed Nornir Result (a host's first) as (code, one-line reason)."""
    return failure(result.exception, default)


def unreachable(exc: BaseException) -> OnrampError:
    """What a connection that could not be opened raises (ONR-DEPLOY-001)."""
    return OnrampError("ONR-DEPLOY-001", connection_error(exc) or failure(exc, "ONR-DEPLOY-001")[1])
