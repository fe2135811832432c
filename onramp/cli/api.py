"""`onramp api serve` and `onramp apikey`: the REST API and the keys that open it."""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING, Annotated

import typer

from onramp.cli.common import JsonOpt, dump, errors, new_table, out
from onramp.cli.service import service
from onramp.core.errors import OnrampError

if TYPE_CHECKING:
    from fastapi import FastAPI

api_app = typer.Typer(
    rich_markup_mode=None,
    help="The REST API (/v1) the Portal and customers use.",
    no_args_is_help=True,
)
apikey_app = typer.Typer(
    rich_markup_mode=None, help="API keys: one per tenant user, or admin.", no_args_is_help=True
)


@api_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="API processes on the one port (uvicorn's workers); they share the store, "
            "the rate limit and the broker.",
        ),
    ] = 1,
) -> None:
    """Serve /v1 with uvicorn; orders go to the workers of config.yaml's broker."""
    import uvicorn

    with errors(False):
        if workers == 1:
            app = served()
            uvicorn.run(app, host=host, port=port, log_level="warning")
            return
        # each process builds its own app: they find this config through the environment
        os.environ["ONRAMP_CONFIG"] = str(service().settings.path)  # refused here, not N times
    uvicorn.run("onramp.cli.api:served", factory=True, host=host, port=port, workers=workers,
                log_level="warning")  # fmt: skip


def served() -> FastAPI:
    """The app of one API process (`serve`, or each of uvicorn's worker processes)."""
    from onramp import worker
    from onramp.api.app import create_app

    svc = service()
    worker.configure(svc.settings)
    app = create_app(svc, worker.submit)
    # what is loaded by now lives as long as the server: out of the collector's sight,
    # a full collection scans the requests' objects only (~100 ms pauses otherwise)
    gc.freeze()
    return app


@apikey_app.command("create")
def create(
    tenant: Annotated[str | None, typer.Option(help="The tenant the key acts for.")] = None,
    admin: Annotated[
        bool, typer.Option("--admin", help="An engineers' key: every tenant.")
    ] = False,
    name: Annotated[str, typer.Option(help="Who or what uses it.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Issue a key. It is shown this once: onramp keeps only its hash."""
    from onramp.api import keys as apikeys

    with errors(as_json):
        if (tenant is None) == (not admin):
            raise OnrampError("ONR-REQ-003", "give either --tenant T or --admin", field="tenant")
        key = apikeys.issue(service().store, tenant, name)
    if as_json:
        dump({"key": key, "tenant": tenant})
    else:
        out.print(key)


@apikey_app.command("list")
def listing(as_json: JsonOpt = False) -> None:
    """The keys (their ids, never the keys)."""
    from onramp.api import keys as apikeys

    with errors(as_json):
        keys = apikeys.listing(service().store)
    if as_json:
        dump(keys)
        return
    table = new_table("id", "tenant", "name", "created", "revoked")
    for k in keys:
        table.add_row(k["id"], k["tenant"] or "(admin)", k["name"], k["created_at"],
                      k["revoked_at"] or "")  # fmt: skip
    out.print(table)


@apikey_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (onr_<id>_...).")]) -> None:
    """Revoke a key at once."""
    from onramp.api import keys as apikeys

    with errors(False):
        done = apikeys.revoke(service().store, key_id)
    out.print("revoked" if done else "no such key, or revoked already")
