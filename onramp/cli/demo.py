"""`make demo`: the seed's story on the embedded default.

The lab is built fresh; the AWS and Azure simulators run in this process and bring their
cloud-side peers up in the lab with what they were sent; a Celery worker runs in this
process on a SQLite broker. Tenant "acme" orders an AWS Paris hosted VIF Connector and an
Azure London ExpressRoute Connector (primary and secondary), the workers take both to
active through the pyATS gate, a Link joins them (gate: each cloud's routes in the
other's VRF), then the VPC host pings the VNet host. A summary of what was made; the lab
stays up (`onramp lab down` removes it). With `serve`, the API, the Portal, the workers
and the simulators stay up too, until Ctrl-C or SIGTERM: order more in the Portal.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from onramp import worker
from onramp.api import keys as apikeys
from onramp.api.app import create_app, serve_in_thread
from onramp.cli.common import dump, err, out
from onramp.client import Client
from onramp.core.errors import OnrampError
from onramp.core.settings import CspSettings, Settings
from onramp.csp import registry
from onramp.csp.simulator import Behaviour
from onramp.flow.orchestrate import Orchestrator
from onramp.flow.service import Service
from onramp.lab.attach import LabAttachment
from onramp.lab.run import Lab, down
from onramp.lab.topology import HOST_OFFSET, build, cloud_lans

AWS_ACCOUNT = "123456789012"


@dataclass
class Story:
    console: Console
    steps: list[tuple[str, float]] = field(default_factory=list)  # (what, seconds)

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        start = time.monotonic()
        with self.console.status(what):
            yield
        took = time.monotonic() - start
        self.steps.append((what, took))
        self.console.print(f"[green]ok[/] {what} [dim]{took:.1f}s[/]")


def run(
    settings: Settings,
    console: Console,
    via: str = "cli",
    serve: Callable[[dict[str, Any], str, str], None] | None = None,
) -> dict[str, Any]:
    """The whole story; returns what was made (also printed as tables). `via="api"`: the
    orders go through the public REST API with onramp.client, as a customer's script.
    `serve(result, api_url, acme_key)`: called when the story is told, everything still
    running (it returns when the user wants it all stopped)."""

    story = Story(console)
    demo_db = settings.path.parent / "var" / "demo.db"
    demo_db.parent.mkdir(parents=True, exist_ok=True)
    demo_db.unlink(missing_ok=True)  # every run tells the story from the start
    settings = settings.model_copy(deep=True)
    settings.store_url = f"sqlite:///{demo_db}"
    settings.worker.broker_url = f"sqla+sqlite:///{demo_db.with_name('demo-broker.db')}"
    demo_db.with_name("demo-broker.db").unlink(missing_ok=True)
    settings.worker.poll_s, settings.worker.sweep_s = 0.3, 5.0
    settings.worker.revert_in_s, settings.worker.check_timeout_s = 90, 30
    settings.monitor.interval_s = 10.0  # the Link's quality shows within seconds

    svc = Service.open(settings, worker.submit)  # orders go to the embedded workers
    topo = build(svc.backbone, settings.lab)
    lab = Lab(topo, settings.lab.state_dir)
    with story.step("lab: the FRR twin of the backbone, converged"):
        down(settings.lab.name, settings.lab.state_dir)
        lab.up(converge_timeout=settings.lab.converge_timeout_s)
    lans = cloud_lans(topo)
    hook = LabAttachment(lab, svc.backbone)
    customer = Behaviour(accept_after_s=1.0, provisioning_s=0.5)  # the customer clicks "accept"

    with ExitStack() as stack:
        # the simulators and the adapters found by name, as `onramp sim` and config.yaml's
        # csp: find them (an adapter at a simulator's URL uses its dummy credentials)
        # the simulators know the backbone's ports as its inventory names them
        sims = {
            p: stack.enter_context(sim.serve(sim.from_inventory(svc.backbone)))
            for p in ("aws", "azure")
            for sim in [registry.simulator(p)]
        }
        for _, state in sims.values():
            state.hook, state.behaviour = hook, customer
        (aws_url, aws_state), (azure_url, azure_state) = sims["aws"], sims["azure"]
        where = {
            "aws": CspSettings(endpoint_url=aws_url, region="eu-west-3"),
            "azure": CspSettings(endpoint_url=azure_url, account=azure_state.subscription),
        }
        adapters = registry.adapters(where, svc.backbone, svc.store, svc.vault)
        console.print(f"simulators: AWS Direct Connect {aws_url}, Azure ARM {azure_url}")
        stack.enter_context(worker.embedded(settings, adapters=adapters))
        orch = Orchestrator(svc, adapters, actor="demo")
        svc.add_tenant("acme", "ACME Corp")

        # the customer's side first: an ExpressRoute circuit, its service key and S-tag
        service_key = azure_state.create_circuit(bandwidth_mbps=1000)
        s_tag = azure_state.cross_connections[service_key]["properties"]["sTag"]
        orders = {
            "aws": {"tenant": "acme", "onramp": "aws-dx-par", "kind": "aws-hosted-vif",
                    "bandwidth_mbps": 500, "aws_account": AWS_ACCOUNT,
                    "prefixes": [str(lans["aws-dx-par"])], "idempotency_key": "demo-aws"},
            "azure": {"tenant": "acme", "onramp": "azure-er-lon", "kind": "azure-expressroute",
                      "bandwidth_mbps": 1000, "azure_service_key": service_key, "s_tag": s_tag,
                      "prefixes": [str(lans["azure-er-lon"])], "idempotency_key": "demo-azure"},
        }  # fmt: skip
        url = key = ""
        if via == "api" or serve:  # the CLI story alone needs no server
            url = stack.enter_context(serve_in_thread(create_app(svc, worker.submit)))
            key = apikeys.issue(svc.store, "acme", "demo")
        if via == "api":
            made, link = _through_api(url, key, orders, story)
        else:
            made, link = _through_cli(orch, svc, orders, story)
        # full-size packets: the path carries 1500 bytes unfragmented
        ping = lab.ping("aws-dx-par-host", str(lans["azure-er-lon"][HOST_OFFSET]), size=1472)
        story.steps.append((f"VPC host -> VNet host ping: {ping.text}", 0.0))
        if ping.received == 0:
            raise OnrampError("ONR-LAB-007", f"VPC host -> VNet host: {ping.text}")
        result = {
            "connectors": {n: svc.connector(c["id"]) for n, c in made.items()},
            "link": svc.link(link["id"]),
            "aws_vifs": list(aws_state.vifs.values()),
            "azure_peerings": azure_state.cross_connections[service_key]["properties"]["peerings"],
            "ping": asdict(ping),
            "history": {n: orch.history("connector", c["id"]) for n, c in made.items()},
        }
        _summary(console, story, result)
        if serve:
            serve(result, url, key)
    return result


Orders = dict[str, dict[str, Any]]


def _through_cli(
    orch: Any, svc: Any, orders: Orders, story: Story
) -> tuple[Orders, dict[str, Any]]:
    """What an engineer's tools do: the service core, then the workers."""

    made: Orders = {}
    for name, order in orders.items():
        made[name] = svc.create_connector(svc.connector_request(order))  # and submitted
    for name, c in made.items():
        with story.step(f"{name} Connector {c['id'][:8]}: request -> active"):
            _settle(orch, "connector", c["id"], story.console)
    link = svc.create_link(svc.link_request({"tenant": "acme", "a": made["aws"]["id"],
                                             "b": made["azure"]["id"], "bandwidth_mbps": 500,
                                             "idempotency_key": "demo-link"}))  # fmt: skip
    with story.step(f"Link {link['id'][:8]} AWS <-> Azure: request -> active"):
        _settle(orch, "link", link["id"], story.console)
    return made, link


def _through_api(url: str, key: str, orders: Orders, story: Story) -> tuple[Orders, dict[str, Any]]:
    """What a customer's script does: onramp.client against `/v1` served on loopback,
    with acme's own key; the API hands the orders to the same workers."""

    api = Client(url, key)
    story.console.print(f"API: {url}/v1 (acme's key)")
    made: Orders = {}
    for name, order in orders.items():
        body = {k: v for k, v in order.items() if k not in ("tenant", "idempotency_key")}
        made[name] = api.order_connector(idempotency_key=order["idempotency_key"], **body)
    for name, c in made.items():
        with story.step(f"{name} Connector {c['id'][:8]}: request -> active (API)"):
            api.wait("connector", c["id"], timeout=300, poll=0.3)
    link = api.link(made["aws"]["id"], made["azure"]["id"], bandwidth_mbps=500,
                    idempotency_key="demo-link")  # fmt: skip
    with story.step(f"Link {link['id'][:8]} AWS <-> Azure: request -> active (API)"):
        api.wait("link", link["id"], timeout=300, poll=0.3)
    return made, link


def _settle(orch: Any, kind: str, ident: str, console: Console) -> None:
    def show(state: str) -> None:
        console.print(f"  [dim]{kind} {ident[:8]}[/] {state}")

    state = orch.watch(kind, ident, poll_s=0.2, timeout_s=300, progress=show)
    if state != "active":
        reason = orch.history(kind, ident)[-1]["reason"]
        raise OnrampError("ONR-DEPLOY-003", f"{kind} {ident} ended {state}: {reason}")


def _summary(console: Console, story: Story, result: dict[str, Any]) -> None:
    table = Table("Connector", "on-ramp", "state", "PE port / VLAN", "BGP peer", "at the provider",
                  title="what acme got")  # fmt: skip
    for c in result["connectors"].values():
        legs = ", ".join(f"{a['router']} {a['interface']}" + (f".{a['inner_vlan']}" if a["inner_vlan"] else "")
                         for a in c["attachments"])  # fmt: skip
        peers = ", ".join(a["peer_address"] for a in c["attachments"])
        resource = (c["csp_resource"] or "-").rsplit("/", 1)[-1]  # Azure: the service key
        table.add_row(c["id"][:8], c["onramp"], c["state"], legs, peers, resource)
    console.print(table)
    link = result["link"]
    console.print(f"Link {link['id'][:8]}: {link['state']}, route target {link['route_target']}")
    steps = Table("step", "seconds", title="how long")
    for what, took in story.steps:
        steps.add_row(what, f"{took:.1f}" if took else "")
    console.print(steps)


def main(settings: Settings, as_json: bool = False, via: str = "cli", serve: bool = False) -> int:
    """The story on the console; with `as_json` the progress goes to stderr and what was
    made (Connectors, Link, provider resources, ping, histories) to stdout as JSON."""

    def publish(result: dict[str, Any]) -> None:
        if as_json:
            dump(result)
            sys.stdout.flush()  # a reader waiting for the JSON gets it now, not at exit

    def serving(result: dict[str, Any], url: str, key: str) -> None:
        publish(result)
        # the demo tenant's key, shown once like `onramp apikey create` shows one
        err.print(f"serving: Portal {url}/ API {url}/v1 key {key} (Ctrl-C or SIGTERM stops)",
                  soft_wrap=True)  # fmt: skip
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with suppress(KeyboardInterrupt):
            stop.wait()

    result = run(settings, err if as_json else out, via, serving if serve else None)
    if not serve:
        publish(result)
    if not as_json:
        out.print("done: the lab stays up (onramp lab down removes it)")
    return 0
