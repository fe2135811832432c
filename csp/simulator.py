"""What the provider simulators share: our ports as the inventory names them at the provider,
the customer they play, the faults a test switches on, time-driven state changes, the lab
hook, and the in-process HTTP server.

State changes are a timeline computed when a resource is made (the customer accepts at
t+a, the provider is ready at t+a+p, ...) and applied lazily by `Clock.tick`, which every
request and a background ticker call: no sleeping threads per resource, and a test that
sets all delays to 0 sees the final state on its next read.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Literal, Protocol

from onramp.core.errors import OnrampError

if TYPE_CHECKING:  # `onramp sim --help` need not load the inventory's schema
    from onramp.network.inventory import Backbone


@dataclass(frozen=True)
class ProviderPort:
    """One of our on-ramp ports as its provider knows it: all inventory data (the port's
    `csp_connection`, its on-ramp's `csp_region` and `csp_location`)."""

    connection: str  # the provider's name for the port: dxcon id, ExpressRoute port, interconnect
    onramp: str  # the catalogue's on-ramp id
    region: str
    location: str
    role: Literal["primary", "secondary"] | None  # of a redundant on-ramp's pair (Azure)


def provider_ports(bb: Backbone, provider: str) -> tuple[ProviderPort, ...]:
    """Our ports at `provider`, in inventory order, as its simulator serves them. A port
    without `csp_connection` is one the provider cannot know (ONR-INV-001, as is an on-ramp
    without `csp_region`/`csp_location`)."""
    found: list[ProviderPort] = []
    for router in bb.routers.values():
        for i, port in enumerate(router.onramp_ports):
            onramp = bb.catalogue.onramps[port.onramp]
            if onramp.provider != provider:
                continue
            if port.csp_connection is None:
                raise OnrampError(
                    "ONR-INV-001",
                    f"{router.name} {port.name} is on {provider} on-ramp {port.onramp} but has "
                    f"no csp_connection ({bb.directory})",
                    f"add the {provider} name of that port as csp_connection in hosts.yaml",
                    field=f"{router.name}.onramp_ports.{i}.csp_connection",
                )
            for fact in ("csp_region", "csp_location"):
                if getattr(onramp, fact) is None:
                    raise OnrampError(
                        "ONR-INV-001",
                        f"{provider} on-ramp {port.onramp} has no {fact} ({bb.directory})",
                        f"add the on-ramp's {fact} in backbone.yaml (README: Cloud providers)",
                        field=f"onramps.{port.onramp}.{fact}",
                    )
            found.append(
                ProviderPort(
                    port.csp_connection,
                    port.onramp,
                    str(onramp.csp_region),
                    str(onramp.csp_location),
                    port.redundancy_role,
                )
            )
    if not found:
        raise OnrampError(
            "ONR-INV-001",
            f"the inventory {bb.directory} has no {provider} on-ramp port: its simulator "
            "would know no port",
            f"add a {provider} on-ramp and its ports, or point ONRAMP_CONFIG/ONRAMP_INVENTORY "
            "at an inventory that has them",
            field="onramps",
        )
    return tuple(found)


def by_connection(ports: Sequence[ProviderPort]) -> dict[str, ProviderPort]:
    """Our ports at a provider by the provider's name for each (what its API is called with)."""
    return {p.connection: p for p in ports}


@cache
def default_ports(provider: str) -> tuple[ProviderPort, ...]:
    """The example project's inventory's ports at `provider`: what a simulator made without an
    inventory (a test's, in process) serves."""
    from onramp.core.settings import EXAMPLE
    from onramp.network.inventory import load

    return provider_ports(load(EXAMPLE / "inventory"), provider)


class Customer(StrEnum):
    """What the simulated customer does with a request waiting for them."""

    ACCEPT = "accept"  # accepts after `Behaviour.accept_after_s`
    REJECT = "reject"  # rejects after `Behaviour.accept_after_s`
    NEVER = "never"  # never answers: the request waits until someone gives up


@dataclass
class Behaviour:
    customer: Customer = Customer.ACCEPT
    accept_after_s: float = 0.0
    provisioning_s: float = 0.0  # slow state changes: time in the provider's transient states
    down_after_s: float | None = None  # ready, then down this long after (a VIF going down)
    # provisioned with its BGP reported down, as the real AWS (VIF `down`) and IBM (bgp_status
    # `idle`) report one until our side's session is up; the simulators watch no BGP, so it
    # stays so. Off: up at once, as if our side were there already
    bgp_down: bool = False


@dataclass
class Faults:
    """Switchable per test: answer the next N calls with throttling or a 5xx, or do the next
    call's work and then answer 5xx (the response lost on its way back)."""

    throttle_next: int = 0
    fail_next: int = 0
    lose_next_response: int = 0
    slow_next: int = 0  # the next N calls do their work at once, then answer `slow_s` late
    slow_s: float = 0.0
    slow_op: str = ""  # only calls of this operation (the provider's name for it); "": any

    def before(self) -> str | None:
        """'throttle' or 'fail' when the call must be refused before doing any work."""
        if self.throttle_next:
            self.throttle_next -= 1
            return "throttle"
        if self.fail_next:
            self.fail_next -= 1
            return "fail"
        return None

    def late(self, op: str) -> float:
        """Seconds this call's answer waits (outside the service's lock: others go on)."""
        if self.slow_next and self.slow_op in ("", op):
            self.slow_next -= 1
            return self.slow_s
        return 0.0

    def after(self) -> bool:
        """True when the work is done but the answer must be lost."""
        if self.lose_next_response:
            self.lose_next_response -= 1
            return True
        return False


@dataclass(frozen=True)
class CloudPeer:
    """The cloud side of one BGP peering, exactly as the provider was told it."""

    provider: str
    connection: str  # the provider's name for our port (dxcon id, ExpressRoute port, interconnect)
    vlan: int
    inner_vlan: int | None
    address: str  # the cloud's address with prefix length, e.g. "169.254.64.2/30"
    neighbor: str  # ours (the partner's), without prefix length
    remote_as: int  # ours, as the provider was told
    password: str | None


class LabHook(Protocol):
    """Where a simulator brings its side of a peering up or down (lab.attach.LabAttachment)."""

    def up(self, peer: CloudPeer) -> None: ...

    def down(self, peer: CloudPeer) -> None: ...


@dataclass
class Timeline:
    """Future state changes of one resource: (due time, callback), applied in order."""

    due: list[tuple[float, Callable[[], None]]] = field(default_factory=list)

    def at(self, when: float, change: Callable[[], None]) -> None:
        self.due.append((when, change))
        self.due.sort(key=lambda item: item[0])

    def run(self, now: float) -> None:
        while self.due and self.due[0][0] <= now:
            _, change = self.due.pop(0)
            change()

    def clear(self) -> None:
        self.due.clear()


@dataclass
class Clock:
    """The simulator's lock and pending state changes: every call ticks first."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    timelines: dict[str, Timeline] = field(default_factory=dict)

    def now(self) -> float:
        return time.monotonic()

    def timeline(self, key: str) -> Timeline:
        return self.timelines.setdefault(key, Timeline())

    def tick(self) -> None:
        with self.lock:
            now = self.now()
            for timeline in list(self.timelines.values()):
                timeline.run(now)


def customer_timeline(
    clock: Clock,
    key: str,
    behaviour: Behaviour,
    *,
    accepted: Callable[[], None],
    rejected: Callable[[], None],
    ready: Callable[[], None],
    down: Callable[[], None] | None = None,
) -> None:
    """Schedule what the customer and the provider do after a request: accept (or reject,
    or nothing), the provider's transient states, ready, and optionally down later."""
    start = clock.now() + behaviour.accept_after_s
    line = clock.timeline(key)
    if behaviour.customer == Customer.NEVER:
        return
    if behaviour.customer == Customer.REJECT:
        line.at(start, rejected)
        return
    line.at(start, accepted)
    line.at(start + behaviour.provisioning_s, ready)
    if down is not None and behaviour.down_after_s is not None:
        line.at(start + behaviour.provisioning_s + behaviour.down_after_s, down)


class Ticking(Protocol):
    clock: Clock


class Steerable(Protocol):
    clock: Clock
    behaviour: Behaviour
    faults: Faults


def steer(service: Steerable, what: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The admin routes every simulator has, for a simulator in another process:
    POST /_sim/behaviour (the customer, delays) and /_sim/faults; None for another route."""
    with service.clock.lock:
        if what == "behaviour":
            data = data | {"customer": Customer(data.get("customer", "accept"))}
            service.behaviour = Behaviour(**data)
            return asdict(service.behaviour)
        if what == "faults":
            service.faults = Faults(**data)
            return asdict(service.faults)
    return None


class Server(ThreadingHTTPServer):
    """A client that went away before its answer was written (it timed out, its worker was
    killed) is the client's affair: no traceback on stderr, where it landed in the output
    of whatever ran beside the simulator (a CLI's JSON, read by a test). Any other error
    is printed as socketserver does."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


@contextmanager
def serve_http(
    handler: type[BaseHTTPRequestHandler], service: Ticking, port: int = 0
) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1 in a thread, tick the service's clock in another;
    yields the endpoint URL and stops both on exit."""
    server = Server(("127.0.0.1", port), handler)
    server.daemon_threads = True
    stop = threading.Event()

    def ticker() -> None:
        while not stop.wait(0.1):
            service.clock.tick()

    threads = [
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True),
        threading.Thread(target=ticker, daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        for thread in threads:
            thread.join(timeout=5)


class QuietHandler(BaseHTTPRequestHandler):
    """Base handler: no access log on stderr (tests read results, not logs) and one way
    to answer."""

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def send(
        self, status: int, data: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def admin(self, out: dict[str, Any] | None) -> None:
        """The answer to a `/_sim/...` steering call: its result, or 404 when no route had it."""
        if out is None:
            self.send(404, b"unknown admin route", "text/plain")
            return
        self.send(200, json.dumps(out).encode(), "application/json")
