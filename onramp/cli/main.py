"""`onramp`: the engineers' command line. Every command has --json; errors carry a code."""

from __future__ import annotations

import gc
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from onramp.cli.api import api_app, apikey_app
from onramp.cli.common import JsonOpt, _state, dump, err, errors, new_table, out, settings
from onramp.cli.compliance import compliance_app
from onramp.cli.deploy import apply, plan_app
from onramp.cli.kpi import kpi_app
from onramp.cli.project import config_app, init
from onramp.cli.runbook import runbook_app
from onramp.cli.service import catalogue_app, connector_app, link_app, service, tenant_app
from onramp.cli.sim import sim
from onramp.cli.ticket import ticket_app
from onramp.cli.topology import topology_app
from onramp.cli.webhook import webhook_app

app = typer.Typer(
    rich_markup_mode=None,
    help="onramp: Connectors, Links and verified commits on the interconnect backbone.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
inventory_app = typer.Typer(
    rich_markup_mode=None, help="Check and show the backbone inventory.", no_args_is_help=True
)
lab_app = typer.Typer(
    rich_markup_mode=None,
    help="The FRR twin of the inventory: one router per network namespace.",
    no_args_is_help=True,
)
app.add_typer(inventory_app, name="inventory")
app.add_typer(lab_app, name="lab")
app.add_typer(tenant_app, name="tenant")
app.add_typer(connector_app, name="connector")
app.add_typer(link_app, name="link")
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(plan_app, name="plan")
app.add_typer(ticket_app, name="ticket")
app.add_typer(runbook_app, name="runbook")
app.add_typer(topology_app, name="topology")
app.add_typer(api_app, name="api")
app.add_typer(apikey_app, name="apikey")
app.add_typer(kpi_app, name="kpi")
app.add_typer(compliance_app, name="compliance")
app.add_typer(webhook_app, name="webhook")
app.command("apply")(apply)
app.command("init")(init)
app.add_typer(config_app, name="config")
app.command("sim")(sim)


def only(root: typer.Typer, argv: list[str]) -> None:
    """Keep in `root` only the group or command that `argv` starts with, and so on down
    (`onramp tenant list`: the tenant group with its `list` alone). Typer builds every
    command's parameters from its signature before it parses (~35 ms for our 58 commands,
    ~10 ms for a group's 8); the one command named is what this run can use. Anything else
    (`--help`, an option first, a typo) keeps them all, so help and Click's "no such
    command" answer as before."""
    first = argv[0] if argv else ""
    groups = [g for g in root.registered_groups if g.name == first]
    commands = [c for c in root.registered_commands if c.name == first]
    if groups or commands:
        root.registered_groups, root.registered_commands = groups, commands
    for group in groups:
        if group.typer_instance is not None:
            only(group.typer_instance, argv[1:])


@app.callback()
def main(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="ONRAMP_CONFIG",
            help="config.yaml to use; default: ./config.yaml or the nearest folder above "
            "with one, then ~/.config/onramp/config.yaml.",
        ),
    ] = None,
) -> None:
    _state["config"] = config


# ------------------------------------------------------------------ inventory


@inventory_app.command("check")
def inventory_check(
    directory: Annotated[
        Path | None, typer.Argument(help="Inventory directory (default: from config.yaml).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Validate the inventory: schema, duplicates, both ends of every core link, on-ramp ports."""
    from onramp.network.inventory.source import check_source, describe

    with errors(as_json):
        source = directory or settings()
        backbone, findings = check_source(source)
        path = describe(source)
    if as_json:
        dump(
            {
                "inventory": str(path),
                "ok": not findings,
                "findings": [f.as_dict() for f in findings],
            }
        )
    elif not findings and backbone:
        out.print(
            f"[green]OK[/] {path}: {len(backbone.routers)} routers, "
            f"{len(backbone.catalogue.pops)} PoPs, {len(backbone.catalogue.onramps)} on-ramps"
        )
    else:
        table = new_table(
            "code",
            "host",
            "field",
            "problem",
            "what to do",
            title=f"{len(findings)} problem(s) in {path}",
        )
        for f in findings:
            table.add_row(f.code, f.host, f.field, f.reason, f.hint)
        out.print(table)
    if findings:
        raise typer.Exit(1)


@inventory_app.command("show")
def inventory_show(as_json: JsonOpt = False) -> None:
    """The routers, their PoP, role, platform, addresses and on-ramp ports."""
    from onramp.network.inventory.source import load_source

    with errors(as_json):
        bb = load_source(settings())
    if as_json:
        dump(
            {
                "routers": [r.model_dump(mode="json") for r in bb.routers.values()],
                **bb.catalogue.model_dump(mode="json"),
            }
        )
        return
    table = new_table(
        "router",
        "pop",
        "role",
        "platform",
        "mgmt",
        "loopback",
        "IS-IS NET",
        "core",
        "on-ramp ports",
    )
    for r in bb.routers.values():
        ports = ", ".join(
            f"{p.name}:{p.onramp}" + (f"({p.redundancy_role})" if p.redundancy_role else "")
            for p in r.onramp_ports
        )
        table.add_row(
            r.name,
            r.pop,
            r.role,
            r.platform,
            str(r.hostname),
            str(r.loopback.ip),
            r.isis_net,
            str(len(r.core_interfaces)),
            ports or "-",
        )
    out.print(table)


class ExportTarget(StrEnum):
    nautobot = "nautobot"


@inventory_app.command("export")
def inventory_export(
    to: Annotated[ExportTarget, typer.Option("--to", help="Where to load the inventory.")],
    url: Annotated[str, typer.Argument(help="Nautobot's URL, e.g. http://nautobot:8080.")],
    token: Annotated[
        str, typer.Option(envvar="NAUTOBOT_TOKEN", help="API token (or $NAUTOBOT_TOKEN).")
    ],
    directory: Annotated[
        Path | None, typer.Argument(help="YAML inventory directory (default: from config.yaml).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Load a YAML inventory into Nautobot (devices, interfaces, addresses, cables, custom
    fields, the `onramp` config context); checked first; running it again changes nothing."""
    import pynautobot

    from onramp.network.inventory.checks import InventoryError, check_raw, read_files
    from onramp.network.inventory.nautobot import export

    with errors(as_json):
        path = directory or settings().inventory_dir
        raw, findings = read_files(path)
        _, findings = check_raw(raw, path, findings)
        if findings:
            raise InventoryError(findings)
        counts = export(raw, pynautobot.api(url, token=token),
                        (lambda _: None) if as_json else lambda m: err.print(m))  # fmt: skip
    if as_json:
        dump({"inventory": str(path), "to": to.value, "url": url, **counts})
    else:
        out.print(f"[green]OK[/] {path} -> {url}: {counts['routers']} routers, "
                  f"{counts['interfaces']} interfaces, {counts['cables']} cables "
                  f"({counts['cables_made']} new); {counts['created']} objects created, "
                  f"{counts['updated']} updated")  # fmt: skip


@inventory_app.command("testbed")
def inventory_testbed() -> None:
    """A pyATS testbed (YAML, on stdout) of the configured inventory; credentials are
    %ENV{ONRAMP_SSH_USERNAME} / %ENV{ONRAMP_SSH_PASSWORD}, read by pyATS when it loads it."""
    import yaml

    from onramp.network.inventory.plugin import init_nornir
    from onramp.network.inventory.testbed import testbed

    with errors(False):
        nr = init_nornir(settings())
        sys.stdout.write(yaml.safe_dump(testbed(nr.inventory), sort_keys=False))


@inventory_app.command("generate")
def inventory_generate(
    routers: Annotated[int, typer.Option(help="How many routers (PE + P).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Directory to write the inventory into.")],
    mgmt_subnet: Annotated[
        str, typer.Option(help="Management subnet for the routers' hostnames.")
    ] = "172.20.20.0/24",
    platforms: Annotated[
        str, typer.Option(help="Comma-separated platforms to cycle PEs through.")
    ] = "frr",
    reflectors: Annotated[
        int, typer.Option(help="How many P routers are iBGP route reflectors.")
    ] = 2,
) -> None:
    """Write a generated backbone (for scale tests and benchmarks)."""
    from onramp.network.inventory.generate import generate, write

    with errors(False):
        write(generate(routers, mgmt_subnet, platforms.split(","), reflectors), out_dir)
    out.print(f"wrote {routers} routers to {out_dir}")


# ------------------------------------------------------------------ lab


def _lab() -> Any:
    from onramp.lab.run import Lab
    from onramp.lab.topology import build
    from onramp.network.inventory.source import load_source

    s = settings()
    return Lab(build(load_source(s), s.lab), s.lab.state_dir), s


def _progress(as_json: bool) -> Callable[[str], None]:
    start = time.monotonic()
    return lambda msg: (
        None if as_json else err.print(f"[dim]{time.monotonic() - start:5.1f}s[/] {msg}")
    )


@lab_app.command("up")
def lab_up(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the nodes and links; build nothing.")
    ] = False,
    wait: Annotated[bool, typer.Option(help="Wait until IS-IS and iBGP have converged.")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Build the lab from the inventory and wait until the backbone has converged."""
    with errors(as_json):
        lab, s = _lab()
        if dry_run:
            _show_topology(lab.topo, as_json)
            return
        progress = _progress(as_json)
        start = time.monotonic()
        status = lab.up(progress, s.lab.converge_timeout_s if wait else None)
        elapsed = time.monotonic() - start
    if status is None:
        progress("built; not waiting for convergence (see: onramp lab status)")
        return
    if as_json:
        dump({"converged_in_s": round(elapsed, 2), **status.as_dict()})
        return
    _status_table(status)
    out.print(
        f"[green]converged in {elapsed:.1f}s[/]. SSH: ssh -i {lab.ssh_key} root@<mgmt>; "
        "remove with: [bold]onramp lab down[/]"
    )


@lab_app.command("status")
def lab_status(as_json: JsonOpt = False) -> None:
    """Per router: daemons, IS-IS adjacencies and BGP sessions. Exit 1 unless converged."""
    with errors(as_json):
        lab, _ = _lab()
        status = lab.status()
    if as_json:
        dump(status.as_dict())
    elif not status.running:
        out.print(f"lab '{status.lab}' is not running (start it with: onramp lab up)")
    else:
        _status_table(status)
    if not status.converged:
        raise typer.Exit(1)


@lab_app.command("down")
def lab_down(as_json: JsonOpt = False) -> None:
    """Remove every namespace, process, link and file of the lab. Safe to run twice."""
    from onramp.lab.run import down

    with errors(as_json):
        s = settings()
        report = down(s.lab.name, s.lab.state_dir)
    if as_json:
        dump(vars(report))
    elif report.nothing:
        out.print(f"lab '{s.lab.name}': nothing to remove")
    else:
        out.print(
            f"lab '{s.lab.name}' removed: {report.namespaces} namespaces, {report.processes} processes, "
            f"{report.links} links, {report.dirs} directories"
        )


def _show_topology(topo: Any, as_json: bool) -> None:
    if as_json:
        dump(topo.as_dict())
        return
    table = new_table(
        "node",
        "kind",
        "namespace",
        "mgmt",
        "ASN",
        title=f"lab '{topo.lab}' (dry run: nothing built)",
    )
    for n in topo.nodes.values():
        table.add_row(n.name, n.kind, topo.namespace(n.name), n.mgmt or "-", str(n.asn or "-"))
    out.print(table)
    links = new_table("kind", "a", "b")
    for lk in topo.links:
        links.add_row(lk.kind, f"{lk.a.node}:{lk.a.ifname}", f"{lk.b.node}:{lk.b.ifname}")
    out.print(links)


def _status_table(status: Any) -> None:
    table = new_table(
        "node",
        "kind",
        "ASN",
        "mgmt",
        "daemons",
        "IS-IS adjacencies",
        "BGP sessions",
        "state",
        title=f"lab '{status.lab}'",
    )
    for n in status.nodes:
        up = sum(s == "up" for s in n.daemons.values())
        isis = [a["neighbor"] for a in n.isis if a["state"] == "Up"]
        bgp = sum(s["state"] == "Established" for s in n.bgp)
        state = "[green]ok[/]" if not n.problems else "[red]" + "; ".join(n.problems) + "[/]"
        table.add_row(
            n.name,
            n.kind,
            str(n.asn or "-"),
            (n.mgmt or "-").split("/")[0],
            f"{up}/{len(n.daemons)}",
            f"{len(isis)}/{n.expected['isis']} {','.join(isis)}" if n.expected.get("isis") else "-",
            f"{bgp}/{n.expected['bgp']} established"
            if n.expected.get("bgp")
            else (f"{bgp}/{len(n.bgp)}" if n.bgp else "-"),
            state,
        )
    out.print(table)


# ------------------------------------------------------------------ demo


worker_app = typer.Typer(
    rich_markup_mode=None,
    help="A worker that advances Connectors and Links (Celery; broker from config.yaml); "
    "'onramp worker status': who holds what.",
)
app.add_typer(worker_app, name="worker")


@worker_app.callback(invoke_without_command=True)
def worker(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option(help="Threads advancing work in parallel.")] = 2,
    beat: Annotated[
        bool, typer.Option("--beat", help="Also run the schedule (the sweep) in this worker.")
    ] = False,
) -> None:
    """A worker that advances Connectors and Links (Celery; broker from config.yaml)."""
    if ctx.invoked_subcommand is not None:
        return
    from onramp import worker as w

    s = settings()
    w.configure(s)
    # a node name of its own: several workers on one machine share a broker
    celery = w.app.Worker(hostname=f"onramp{os.getpid()}@{socket.gethostname()}",
                          pool_cls="threads", concurrency=concurrency, loglevel="WARNING",
                          without_gossip=True, without_mingle=True)  # fmt: skip
    if beat:  # a thread of this process (w.sweeper says why not Celery's beat)
        w.sweeper(s, threading.Event())
    gc.freeze()  # as `onramp api serve`: the loaded modules stay out of full collections
    celery.start()
    # not `app.worker_main`, which drops the exit code: a worker whose consumer could not
    # start ("Unrecoverable error") must not exit 0, or a supervisor never restarts it
    raise typer.Exit(celery.exitcode or 0)


@worker_app.command("status")
def worker_status(as_json: JsonOpt = False) -> None:
    """Who holds what: unfinished Connectors and Links with their lease (owner, time left,
    last heartbeat), failed tries and backoff; the routers' locks."""
    from onramp.cli.service import reader

    with errors(as_json):
        found = reader().worker_status()
    if as_json:
        dump(found)
        return
    table = new_table("kind", "id", "state", "lease owner", "lease left", "heartbeat", "tries",
                  "retry in", "reason", title=f"work not settled at {found['at'][:19]}")  # fmt: skip
    for w in found["work"]:
        left = w["lease_left_s"]
        table.add_row(
            w["kind"], w["id"][:8], w["state"], w["owner"] or "-",
            "-" if left is None else (f"{left:g} s" if left > 0 else "ran out"),
            (w["heartbeat_at"] or "-")[11:19] or "-", str(w["attempts"]),
            "-" if w["retry_in_s"] is None else f"{w['retry_in_s']:g} s",
            (w["reason"] or "")[:60],
        )  # fmt: skip
    out.print(table)
    locks = new_table("router", "held by", "left", title="router locks")
    for lock in found["router_locks"]:
        left = lock["left_s"]
        locks.add_row(lock["router"], lock["owner"], f"{left:g} s" if left > 0 else "ran out")
    out.print(locks)


@app.command("validate")
def validate_offline(
    inventory: Annotated[
        Path | None, typer.Option(help="Inventory directory (default: from config.yaml).")
    ] = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Without the store's services (a fresh CI checkout).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """CI without routers: inventory, every template for every host, FRR's own parser,
    TTP parse-back, CSP constraints of stored services, golden files. Exit 1 on a finding."""
    from onramp.flow import offline

    with errors(as_json):
        s = settings()
        svc = None if no_store else service()
        report = offline.run(inventory or s, svc,
                             (lambda _: None) if as_json else lambda m: err.print(m))  # fmt: skip
    if as_json:
        dump(report)
    else:
        for f in report["findings"]:
            out.print(f"[red]{f['code']}[/] {f['check']} {f['target']}: {f['reason']}",
                      highlight=False)  # fmt: skip
        verdict = "[green]OK[/]" if report["ok"] else f"[red]{len(report['findings'])} findings[/]"
        out.print(f"{verdict}: {report['routers']} routers, checks {report['checks']}")
    raise typer.Exit(0 if report["ok"] else 1)


class Via(StrEnum):
    cli = "cli"
    api = "api"


@app.command()
def demo(
    via: Annotated[
        Via, typer.Option(help="Order through the service core (cli) or the REST API (api).")
    ] = Via.cli,
    serve: Annotated[
        bool,
        typer.Option(help="Then keep the API, Portal, workers and simulators up (Ctrl-C stops)."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """The seed's story: lab, simulators, an AWS and an Azure Connector, a Link, verified."""
    from onramp.cli.demo import main

    with errors(as_json):
        raise typer.Exit(main(settings(), as_json, via.value, serve))


if __name__ == "__main__":
    sys.exit(app())
