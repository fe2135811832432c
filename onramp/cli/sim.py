"""`onramp sim aws|azure|gcp`: a provider simulator on 127.0.0.1 until Ctrl-C, for the
real SDKs (endpoint URL + dummy credentials) and for config.yaml's `csp.<p>.endpoint_url`.
It knows our ports as the inventory config.yaml points at names them (`--inventory` or
ONRAMP_INVENTORY: another), in our account there (`csp.<p>.account`, when set).
With --lab, what the simulator provisions comes up on the running lab's CSP edges."""

from __future__ import annotations

import json
import signal
import threading
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from onramp.cli.common import errors, out
from onramp.csp import constraints
from onramp.csp.simulator import Customer

if TYPE_CHECKING:
    from onramp.network.inventory import Backbone

SIMULATED = constraints.simulated()  # provider -> its simulator, as constraints.yaml says
Provider = StrEnum("Provider", [(p, p) for p in SIMULATED])  # type: ignore[misc]


def sim(
    provider: Annotated[Provider, typer.Argument(help="Which provider's API to simulate.")],
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1 (0: any free one).")] = 0,
    lab: Annotated[
        bool, typer.Option("--lab", help="Bring provisioned peerings up in the running lab.")
    ] = False,
    customer: Annotated[
        Customer, typer.Option(help="What the simulated customer does.")
    ] = Customer.ACCEPT,
    accept_after: Annotated[float, typer.Option(help="Seconds before the customer answers.")] = 5,
    provisioning: Annotated[
        float, typer.Option(help="Seconds the provider spends in its transient states.")
    ] = 5,
    inventory: Annotated[
        Path | None,
        typer.Option(help="Inventory directory whose ports it knows (default: config.yaml's)."),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print {provider, url, account, ports} as one JSON line when ready."
        ),
    ] = False,
) -> None:
    """Run a provider simulator in the foreground (Ctrl-C stops it)."""
    from onramp.cli.common import settings
    from onramp.csp.registry import simulator
    from onramp.csp.simulator import Behaviour, provider_ports
    from onramp.network.inventory.source import load_source

    name = provider.value
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with errors(as_json):
        s = settings()
        bb = load_source(inventory.resolve() if inventory else s)
        configured = s.csp.get(name)
        module = simulator(name)
        service = module.from_inventory(bb, configured.account if configured else None)
        ports = [p.connection for p in provider_ports(bb, name)]
        with module.serve(service, port=port) as (url, state):
            state.behaviour = Behaviour(customer, accept_after, provisioning)
            if lab:
                state.hook = _lab_hook(bb)
            _ready(name, url, state.account, ports, as_json)
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass


def _ready(name: str, url: str, account: str, ports: list[str], as_json: bool) -> None:
    if as_json:
        line = {"provider": name, "url": url, "account": account, "ports": ports}
        print(json.dumps(line), flush=True)
        return
    out.print(f"{name} simulator on [bold]{url}[/] (Ctrl-C stops it)")
    out.print(f"  our ports: {', '.join(ports)}", highlight=False)
    if account:
        out.print(f"  config.yaml csp.{name}.account: {account}", highlight=False)
    out.print(f"  credentials: {SIMULATED[name].credentials}", highlight=False)
    out.print(f"  state: GET {url}/_sim/state; {SIMULATED[name].admin}", highlight=False)
    out.print("  faults: POST /_sim/faults {\"throttle_next\": 3}; customer: POST "
              "/_sim/behaviour {\"customer\": \"reject\"}", highlight=False)  # fmt: skip


def _lab_hook(bb: Backbone) -> Any:
    from onramp.cli.common import settings
    from onramp.lab.attach import LabAttachment
    from onramp.lab.run import Lab
    from onramp.lab.topology import build

    s = settings()
    return LabAttachment(Lab(build(bb, s.lab), s.lab.state_dir), bb)
