"""`onramp sim aws|azure|gcp`: a provider simulator on 127.0.0.1 until Ctrl-C, for the
real SDKs (endpoint URL + dummy credentials) and for config.yaml's `csp.<p>.endpoint_url`.
It knows our ports as the inventory config.yaml points at names them (`--inventory` or
ONRAMP_INVENTORY: another), in our account there (`csp.<p>.account`, when set).
With --lab, what the simulator provisions comes up on the running lab's CSP edges."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from onramp.cli.common import errors, out

if TYPE_CHECKING:
    from onramp.csp.constraints import SimulatorRule
    from onramp.network.inventory import Backbone


def _simulated(name: str) -> dict[str, SimulatorRule]:
    """The providers with a simulator, as their constraints.yaml say; read when the command
    runs, not when the CLI starts (the constraints cost every command ~50 ms: issue 23)."""
    from onramp.csp import constraints

    simulated = constraints.simulated()
    if name not in simulated:
        raise typer.BadParameter(f"{name!r} is not one of {', '.join(sorted(simulated))}")
    return simulated


def sim(
    provider: Annotated[
        str,
        typer.Argument(
            metavar="PROVIDER",
            help="Which provider's API to simulate: one whose csp/<provider>/constraints.yaml "
            "names a simulator (aws, azure, gcp, ibm, alibaba in this tree).",
        ),
    ],
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1 (0: any free one).")] = 0,
    lab: Annotated[
        bool, typer.Option("--lab", help="Bring provisioned peerings up in the running lab.")
    ] = False,
    customer: Annotated[
        str,
        typer.Option(
            metavar="accept|reject|never",
            help="What the simulated customer does (the simulator's Customer).",
        ),
    ] = "accept",
    accept_after: Annotated[float, typer.Option(help="Seconds before the customer answers.")] = 5,
    provisioning: Annotated[
        float, typer.Option(help="Seconds the provider spends in its transient states.")
    ] = 5,
    bgp_down: Annotated[
        bool,
        typer.Option(
            help="Report a provisioned resource's BGP down (AWS: VIF `down`; IBM: bgp_status "
            "`idle`), as the real ones do until our side's session is up."
        ),
    ] = False,
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
    from onramp.csp.simulator import Behaviour, Customer, provider_ports
    from onramp.network.inventory.source import load_source

    simulated = _simulated(provider)
    if customer not in {c.value for c in Customer}:  # read here: http.server is 14 ms
        raise typer.BadParameter(f"--customer {customer!r}: accept, reject or never")
    if bgp_down and not simulated[provider].reports_bgp:
        reporting = sorted(p for p, rule in simulated.items() if rule.reports_bgp)
        raise typer.BadParameter(f"--bgp-down: {provider}'s API reports no BGP state in what "
                                 f"onramp reads ({', '.join(reporting)} do)")  # fmt: skip
    name = provider
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
            state.behaviour = Behaviour(
                Customer(customer), accept_after, provisioning, bgp_down=bgp_down
            )
            if lab:
                state.hook = _lab_hook(bb)
            _ready(name, url, state.account, ports, as_json, simulated[name])
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass


def _ready(
    name: str, url: str, account: str, ports: list[str], as_json: bool, rule: SimulatorRule
) -> None:
    if as_json:
        line = {"provider": name, "url": url, "account": account, "ports": ports}
        print(json.dumps(line), flush=True)
        return
    out.print(f"{name} simulator on [bold]{url}[/] (Ctrl-C stops it)")
    out.print(f"  our ports: {', '.join(ports)}", highlight=False)
    if account:
        out.print(f"  config.yaml csp.{name}.account: {account}", highlight=False)
    out.print(f"  credentials: {rule.credentials}", highlight=False)
    out.print(f"  state: GET {url}/_sim/state; {rule.admin}", highlight=False)
    out.print("  faults: POST /_sim/faults {\"throttle_next\": 3}; customer: POST "
              "/_sim/behaviour {\"customer\": \"reject\"}", highlight=False)  # fmt: skip


def _lab_hook(bb: Backbone) -> Any:
    from onramp.cli.common import settings
    from onramp.lab.attach import LabAttachment
    from onramp.lab.run import Lab
    from onramp.lab.topology import build

    s = settings()
    return LabAttachment(Lab(build(bb, s.lab), s.lab.state_dir), bb)
