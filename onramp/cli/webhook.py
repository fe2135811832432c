"""`onramp webhook`: a tenant's receivers of its Connectors' and Links' state changes."""

from __future__ import annotations

from typing import Annotated

import typer

from onramp.cli.common import JsonOpt, dump, errors, new_table, out
from onramp.cli.service import service

webhook_app = typer.Typer(
    rich_markup_mode=None,
    help="Webhooks: a tenant's state changes POSTed, signed, to its URL.",
    no_args_is_help=True,
)
Tenant = Annotated[str, typer.Option(help="Tenant id.")]


@webhook_app.command("add")
def add(
    url: str,
    tenant: Tenant,
    secret: Annotated[
        str | None, typer.Option(help="The signing secret (16-200 characters); default: made.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a receiver; its signing secret is shown this once."""
    from onramp.flow import webhooks

    with errors(as_json):
        svc = service()
        hook = webhooks.register(svc.store, svc.vault, svc.settings.webhooks, tenant, url, secret)
    if as_json:
        dump(hook)
    else:
        out.print(f"webhook {hook['id'][:8]} -> {hook['url']}\nsecret (shown once): "
                  f"{hook.get('secret')}")  # fmt: skip


@webhook_app.command("list")
def listing(tenant: Tenant, as_json: JsonOpt = False) -> None:
    """The tenant's webhooks (never their secrets)."""
    from onramp.flow import webhooks

    with errors(as_json):
        hooks = webhooks.listed(service().store, tenant)
    if as_json:
        dump(hooks)
        return
    table = new_table("id", "url", "created")
    for h in hooks:
        table.add_row(h["id"][:8], h["url"], h["created_at"])
    out.print(table)


@webhook_app.command("remove")
def remove(ident: str, tenant: Tenant, as_json: JsonOpt = False) -> None:
    """Forget a webhook and the deliveries it was still owed."""
    from onramp.flow import webhooks

    with errors(as_json):
        hook = webhooks.remove(service().store, tenant, ident)
    dump(hook) if as_json else out.print(f"webhook {hook['id'][:8]} removed")


@webhook_app.command("deliveries")
def deliveries(
    ident: str,
    tenant: Tenant,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    as_json: JsonOpt = False,
) -> None:
    """A webhook's deliveries: status, attempts, last error, next try."""
    from onramp.flow import webhooks

    with errors(as_json):
        found = webhooks.deliveries(service().store, tenant, ident, limit)
    if as_json:
        dump(found)
        return
    table = new_table("delivery", "event", "object", "change", "status", "tries", "last error",
                  "next try")  # fmt: skip
    for d in found:
        table.add_row(d["id"][:8], d["event_id"][:8], d["object_id"][:8],
                      f"{d['old_state'] or '-'} -> {d['new_state']}", d["status"],
                      str(d["attempts"]), d["last_error"] or "", d["next_try_at"] or "")  # fmt: skip
    out.print(table)
