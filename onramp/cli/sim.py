"""`onramp sim aws|azure|gcp`: a provider simulator on 127.0.0.1 until Ctrl-C, for the
real SDKs (endpoint URL + dummy credentials) and for config.yaml's `csp.<p>.endpoint_url`.
With --lab, what the simulator provisions comes up on the running lab's CSP edges."""

from __future__ import annotations

import json
import signal
import threading
from enum import StrEnum
from typing import Annotated, Any

import typer

from onramp.cli.common import errors, out
from onramp.csp import constraints
from onramp.csp.simulator import Customer

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
    as_json: Annotated[
        bool, typer.Option("--json", help="Print {provider, url} as one JSON line when ready.")
    ] = False,
) -> None:
    """Run a provider simulator in the foreground (Ctrl-C stops it)."""
    from onramp.csp.registry import simulator
    from onramp.csp.simulator import Behaviour

    name = provider.value
    module = simulator(name)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with errors(as_json), module.serve(port=port) as (url, state):
        state.behaviour = Behaviour(customer, accept_after, provisioning)
        if lab:
            state.hook = _lab_hook()
        if as_json:
            print(json.dumps({"provider": name, "url": url}), flush=True)
        else:
            out.print(f"{name} simulator on [bold]{url}[/] (Ctrl-C stops it)")
            out.print(f"  state: GET {url}/_sim/state; {SIMULATED[name].admin}", highlight=False)
            out.print("  faults: POST /_sim/faults {\"throttle_next\": 3}; customer: POST "
                      "/_sim/behaviour {\"customer\": \"reject\"}", highlight=False)  # fmt: skip
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass


def _lab_hook() -> Any:
    from onramp.cli.common import settings
    from onramp.lab.attach import LabAttachment
    from onramp.lab.run import Lab
    from onramp.lab.topology import build
    from onramp.network.inventory import load

    s = settings()
    bb = load(s.inventory_dir)
    return LabAttachment(Lab(build(bb, s.lab), s.lab.state_dir), bb)
