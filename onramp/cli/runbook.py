"""`onramp runbook`: the engineers' runbooks (runbooks/), dry-run unless --apply."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from onramp.cli.common import JsonOpt, dump, err, errors, new_table, out
from onramp.cli.service import service

if TYPE_CHECKING:
    from onramp.core.shapes import DrainReport

runbook_app = typer.Typer(
    rich_markup_mode=None,
    help="Runbooks: provision, link, decommission, drain a PE. Dry-run unless --apply.",
    no_args_is_help=True,
)


class Kind(StrEnum):
    connector = "connector"
    link = "link"


Apply = Annotated[bool, typer.Option("--apply", help="Do it (default: show what would happen).")]


def _show(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        dump(result)
        return
    if result["dry_run"]:
        out.print("[bold]dry run[/]: nothing was changed (add --apply to do it)")
        for key, value in result.items():
            if key != "dry_run":
                out.print(f"[bold]{key}[/]:", value)
        return
    table = new_table("to", "at", "by", "why", title=f"now {result['state']}")
    for h in result["history"]:
        table.add_row(h["to"], f"{h['at']:%H:%M:%S}", h["actor"], h["reason"][:80])
    out.print(table)
    if result["state"] != "active" and result["state"] != "deleted":
        raise typer.Exit(1)


def _progress(as_json: bool) -> Any:
    return (lambda _: None) if as_json else (lambda line: err.print(f"[dim]..[/] {line}"))


@runbook_app.command("provision-connector")
def provision_connector(
    tenant: Annotated[str, typer.Option()],
    onramp: Annotated[str, typer.Option()],
    kind: Annotated[str, typer.Option()],
    bandwidth: Annotated[int, typer.Option(help="Mb/s")],
    aws_account: Annotated[str | None, typer.Option()] = None,
    azure_service_key: Annotated[str | None, typer.Option()] = None,
    s_tag: Annotated[int | None, typer.Option()] = None,
    gcp_pairing_key: Annotated[str | None, typer.Option()] = None,
    ibm_account: Annotated[str | None, typer.Option()] = None,
    alibaba_uid: Annotated[str | None, typer.Option()] = None,
    customer_asn: Annotated[int | None, typer.Option()] = None,
    prefix: Annotated[list[str] | None, typer.Option(help="Allowed prefix (repeat).")] = None,
    idempotency_key: Annotated[str | None, typer.Option()] = None,
    apply: Apply = False,
    as_json: JsonOpt = False,
) -> None:
    """Allocate, ask the provider, configure, verify: a Connector from request to active."""
    from onramp.runbooks import lifecycle

    order = {"tenant": tenant, "onramp": onramp, "kind": kind, "bandwidth_mbps": bandwidth,
             "aws_account": aws_account, "azure_service_key": azure_service_key,
             "s_tag": s_tag, "gcp_pairing_key": gcp_pairing_key,
             "ibm_account": ibm_account, "alibaba_uid": alibaba_uid,
             "customer_asn": customer_asn, "prefixes": prefix or [],
             "idempotency_key": idempotency_key}  # fmt: skip
    with errors(as_json):
        svc = service()
        result = lifecycle.provision_connector(
            svc, order, apply, lifecycle.orchestrator(svc), _progress(as_json)
        )
    _show(result, as_json)


@runbook_app.command("create-link")
def create_link(
    tenant: Annotated[str, typer.Option()],
    a: Annotated[str, typer.Option(help="A Connector id.")],
    b: Annotated[str, typer.Option(help="The other Connector id.")],
    bandwidth: Annotated[int, typer.Option(help="Mb/s")],
    apply: Apply = False,
    as_json: JsonOpt = False,
) -> None:
    """Join two active Connectors of a tenant: VRF route targets, verified by the gate."""
    from onramp.runbooks import lifecycle

    with errors(as_json):
        svc = service()
        order = {"tenant": tenant, "a": svc.connector(a)["id"], "b": svc.connector(b)["id"],
                 "bandwidth_mbps": bandwidth}  # fmt: skip
        result = lifecycle.create_link(
            svc, order, apply, lifecycle.orchestrator(svc), _progress(as_json)
        )
    _show(result, as_json)


@runbook_app.command("decommission")
def decommission(
    kind: Annotated[Kind, typer.Argument(help="What to take away.")],
    ident: Annotated[str, typer.Argument(help="Id or its first 4+ characters.")],
    apply: Apply = False,
    as_json: JsonOpt = False,
) -> None:
    """Take a Connector or Link away in the provider's order: routers, provider, allocation."""
    from onramp.runbooks import lifecycle

    with errors(as_json):
        svc = service()
        result = lifecycle.decommission(
            svc, kind.value, ident, apply, lifecycle.orchestrator(svc), _progress(as_json)
        )
    _show(result, as_json)


@runbook_app.command("drain-pe")
def drain_pe(
    router: Annotated[str, typer.Argument(help="The PE to empty.")],
    reason: Annotated[str, typer.Option(help="Why (kept with the router's state).")] = "drained",
    undrain: Annotated[
        bool, typer.Option("--undrain", help="Put it back in service instead.")
    ] = False,
    apply: Apply = False,
    as_json: JsonOpt = False,
) -> None:
    """Move every Connector off a PE, make before break; or put the PE back in service.
    Exit status 1 when the PE cannot be emptied: no Connector can move (dry run), or some
    are still on it (--apply)."""
    from onramp.runbooks import drain, lifecycle

    with errors(as_json):
        svc = service()
        if undrain:
            result = drain.undrain_pe(svc, router, apply)
        else:
            result = drain.drain_pe(
                svc, router, apply, lifecycle.orchestrator(svc), _progress(as_json), reason
            )
    if undrain:
        if as_json:
            dump(result)
            return
        if result["dry_run"]:
            out.print("[bold]dry run[/]: nothing was changed (add --apply to do it)")
        out.print(f"{router}: {result['state']}")
        return
    moves = result["moves"]
    # non-zero when the drain cannot empty the PE: every Connector blocked (a dry run),
    # or some left on it (applied); an empty PE has nothing to move and is fine
    if result["dry_run"]:
        stuck = bool(moves) and all(m["blocked"] for m in moves)
        why = f"none of the {len(moves)} Connector(s) on {router} can move (see 'blocked')"
    else:
        stuck = bool(result["left"])
        why = f"{len(result['left'])} Connector(s) still on {router}"
    if as_json:
        dump(result)
    else:
        _show_drain(router, result)
        if stuck:
            out.print(f"[yellow]{why}[/]")
    if stuck:
        raise typer.Exit(1)


def _show_drain(router: str, result: DrainReport) -> None:
    if result["dry_run"]:
        out.print("[bold]dry run[/]: nothing was changed (add --apply to do it)")
    if not result["moves"]:
        out.print(f"no Connector on {router}: nothing to move")
        return
    table = new_table("Connector", "on-ramp", "from", "to", "links", "result",
                  title=f"drain {router}")  # fmt: skip
    for m in result["moves"]:
        to = ", ".join(m["to"] or []) or "-"
        what = m.get("result") or (f"blocked: {m['blocked']}" if m["blocked"] else "would move")
        table.add_row(m["connector"][:8], m["onramp"], ", ".join(m["from"]), to,
                      str(len(m["links"])), what)  # fmt: skip
    out.print(table)
