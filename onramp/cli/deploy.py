"""`onramp plan ...` and `onramp apply PLAN`: configuration changes, reviewed first.

`plan` renders and diffs on the routers (a dry run: nothing changes) and stores the
plan; `apply` applies exactly that plan with commit-confirm, or refuses when a router's
running config moved since. Diffs never show a secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from onramp.cli.common import JsonOpt, dump, errors, new_table, out
from onramp.cli.service import service

if TYPE_CHECKING:
    from onramp.core.shapes import PlanView

plan_app = typer.Typer(
    rich_markup_mode=None,
    help="Plans: per-router diffs of a Connector, a Link or a router's remediation, stored for review and apply.",
    no_args_is_help=True,
)
RemoveOpt = Annotated[
    bool, typer.Option("--remove", help="Plan taking the service off the routers instead.")
]


def _plan(kind: str, ident: str, remove: bool, as_json: bool) -> None:
    from onramp.flow.plan import make_plan

    with errors(as_json):
        plan = make_plan(service(), kind, ident, "remove" if remove else "deploy")
    dump(plan) if as_json else _print(plan)


@plan_app.command("connector")
def plan_connector(ident: str, remove: RemoveOpt = False, as_json: JsonOpt = False) -> None:
    """Plan a Connector's configuration on its PEs (dry run: diffs only)."""
    _plan("connector", ident, remove, as_json)


@plan_app.command("link")
def plan_link(ident: str, remove: RemoveOpt = False, as_json: JsonOpt = False) -> None:
    """Plan a Link's route targets on its Connectors' PEs (dry run: diffs only)."""
    _plan("link", ident, remove, as_json)


@plan_app.command("router")
def plan_router(name: str, as_json: JsonOpt = False) -> None:
    """Plan a router's remediation: its whole intended config (inventory + the store's
    active Connectors and Links) against what it runs (dry run: the diff only)."""
    from onramp.flow.plan import make_plan

    with errors(as_json):
        plan = make_plan(service(), "router", name, "remediate")
    dump(plan) if as_json else _print(plan)


@plan_app.command("show")
def plan_show(ident: str, as_json: JsonOpt = False) -> None:
    """Show a plan: its diffs, and the result once applied."""
    from onramp.flow.plan import show_plan

    with errors(as_json):
        plan = show_plan(service(), ident)
    dump(plan) if as_json else _print(plan)


@plan_app.command("list")
def plan_list(as_json: JsonOpt = False) -> None:
    """The latest plans, newest first."""
    from onramp.flow.plan import list_plans

    with errors(as_json):
        plans = list_plans(service())
    if as_json:
        dump(plans)
        return
    table = new_table("plan", "target", "action", "state", "routers", "created")
    for p in plans:
        table.add_row(
            p["id"][:8],
            f"{p['target_kind']} {p['target_id'][:8]}",
            p["action"],
            p["state"],
            ", ".join(p["devices"]),
            (p["created_at"] or "")[:19],
        )
    out.print(table)


def apply(
    ident: Annotated[str, typer.Argument(help="Plan id (or a unique prefix of it).")],
    revert_in: Annotated[
        int, typer.Option(help="Seconds after which a router reverts an unconfirmed commit.")
    ] = 120,
    check_timeout: Annotated[
        float, typer.Option(help="Seconds the post-commit check waits for BGP Established.")
    ] = 60,
    as_json: JsonOpt = False,
) -> None:
    """Apply a plan: commit-confirm on every router in parallel, check, confirm or roll back."""
    from onramp.flow.apply import apply_plan

    with errors(as_json):
        if not as_json:
            out.print(f"applying plan {ident} (routers revert by themselves after {revert_in}s)")
        plan = apply_plan(service(), ident, revert_in=revert_in, check_timeout=check_timeout,
                          progress=(lambda _: None) if as_json else _progress)  # fmt: skip
    dump(plan) if as_json else _print(plan)


def _progress(line: str) -> None:
    out.print(f"  {line}", markup=False, highlight=False)  # a device's words, not markup


def _print(plan: PlanView) -> None:
    out.print(
        f"plan [bold]{plan['id']}[/] {plan['action']} {plan['target_kind']} "
        f"{plan['target_id']}: [bold]{plan['state']}[/]"
    )
    results = (plan["result"] or {}).get("devices", {})
    from rich.syntax import Syntax  # pygments: only when a plan is printed (issue 23)

    for host, d in plan["devices"].items():
        r = results.get(host)
        status = (
            f" -> {r['state']}" + (f" ({r.get('reason')})" if r.get("reason") else "") if r else ""
        )
        out.print(f"\n[bold]{host}[/] ({d['platform']}){status}")
        diff = d["diff"] or "(no change)"
        out.print(Syntax(diff, "diff", theme="ansi_dark", word_wrap=True))
    if plan["state"] == "planned":
        out.print(f"\napply with: onramp apply {plan['id'][:8]}")
