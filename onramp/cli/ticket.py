"""`onramp ticket`: the requests waiting on providers that take tickets, and their answers."""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from onramp.cli.common import JsonOpt, dump, errors, new_table, out
from onramp.cli.service import reader, service

ticket_app = typer.Typer(
    rich_markup_mode=None,
    help="Requests to providers that take tickets: list, show, record the answer.",
    no_args_is_help=True,
)
Ident = Annotated[str, typer.Argument(help="Ticket id or its first 4+ characters.")]


@ticket_app.command("list")
def ticket_list(
    everything: Annotated[bool, typer.Option("--all", help="Answered ones too.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Tickets waiting for the provider's answer (or all with --all)."""
    from onramp.csp.tickets import tickets

    with errors(as_json):
        found = tickets(reader().store, open_only=not everything)
    if as_json:
        dump(found)
        return
    table = new_table("id", "provider", "state", "customer", "opened", "key")
    for t in found:
        table.add_row(t["id"][:8], t["provider"], t["state"], t["request"]["customer_account"],
                      f"{t['created_at']:%Y-%m-%d %H:%M}", t["idempotency_key"])  # fmt: skip
    out.print(table if found else "no tickets waiting")


@ticket_app.command("show")
def ticket_show(
    ident: Ident,
    reveal: Annotated[
        bool, typer.Option("--reveal", help="Print the BGP key the provider must be given.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """One ticket: the text to send the provider, its state and answer."""
    from onramp.csp.manual.adapter import reveal_key, ticket

    with errors(as_json):
        svc = service()
        found: dict[str, Any] = {**ticket(svc.store, ident)}
        if reveal:  # the one place a key is shown: the engineer who sends the ticket
            found["md5_key"] = reveal_key(svc.store, svc.vault, ident)
    if as_json:
        dump(found)
        return
    out.print(
        f"[bold]ticket[/] {found['id']}  {found['provider']}  state [cyan]{found['state']}[/]"
    )
    out.print(found["text"], highlight=False, markup=False)
    if reveal:
        out.print(f"BGP MD5 key: {found['md5_key']}", highlight=False, markup=False)
    if found["answer"]:
        a = found["answer"]
        verdict = "accepted" if a["accepted"] else "refused"
        out.print(
            f"answer: {verdict} by {a['by']} at {a['at']}, ref {a['provider_ref']}: {a['note']}"
        )


@ticket_app.command("answer")
def ticket_answer(
    ident: Ident,
    accept: Annotated[
        bool, typer.Option("--accept/--reject", help="What the provider answered.")
    ] = True,
    ref: Annotated[str, typer.Option("--ref", help="The provider's reference.")] = "",
    note: Annotated[str, typer.Option("--note", help="Anything worth keeping.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Record the provider's answer; the waiting Connector goes on at its next check."""
    from onramp.csp.manual.adapter import answer

    with errors(as_json):
        done = answer(service().store, ident, accept, ref, note, by=getpass.getuser())
    dump(done) if as_json else out.print(f"ticket {done['id'][:8]} {done['state']}")
