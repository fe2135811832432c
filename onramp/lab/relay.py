"""A delaying relay for one core link of the lab (the kernel here has no netem).

`python -m lab.relay NS_A IF_A NS_B IF_B DELAY_MS` creates a TAP device named IF_A in
namespace NS_A and one named IF_B in NS_B (their veth pair must be gone first: see
`lab.faults.delay`), prints `ready`, then copies every Ethernet frame between them: frames
from A to B leave DELAY_MS later, frames from B to A at once. So a round trip across the
link grows by DELAY_MS, whichever end starts it. Runs until SIGTERM; the TAPs vanish
with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import heapq
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
CLONE_NEWNET = 0x40000000


def _enter(ns: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
    finally:
        os.close(fd)


def tap(ns: str, name: str) -> int:
    """A TAP device `name` made in namespace `ns`; its file descriptor (valid wherever
    this process goes next)."""
    _enter(ns)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def relay(a: int, b: int, delay_s: float) -> None:
    due: list[tuple[float, int, bytes]] = []  # (when, order, frame) for B, in time order
    order = 0
    stop = False

    def done(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, done)
    while not stop:
        wait = max(0.0, due[0][0] - time.monotonic()) if due else 0.5
        try:
            ready, _, _ = select.select([a, b], [], [], wait)
        except InterruptedError:
            continue
        for fd in ready:
            try:
                frame = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if fd == a:
                heapq.heappush(due, (time.monotonic() + delay_s, order, frame))
                order += 1
            else:
                _write(a, frame)
        while due and due[0][0] <= time.monotonic():
            _write(b, heapq.heappop(due)[2])


def _write(fd: int, frame: bytes) -> None:
    # the device down for a moment (coming up): a lost frame, as on a wire
    with contextlib.suppress(OSError):
        os.write(fd, frame)


def main(argv: list[str]) -> int:
    ns_a, if_a, ns_b, if_b, delay_ms = argv
    a, b = tap(ns_a, if_a), tap(ns_b, if_b)
    print("ready", flush=True)
    relay(a, b, float(delay_ms) / 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
