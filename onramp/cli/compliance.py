"""`onramp compliance run`: every router's running config against its intended config,
per feature; a JSON or HTML report; remediation through `onramp plan router`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from onramp.cli.common import JsonOpt, dump, errors, escape, new_table, out
from onramp.cli.service import service
from onramp.core.errors import OnrampError

if TYPE_CHECKING:
    from onramp.core.shapes import ComplianceRun

compliance_app = typer.Typer(
    rich_markup_mode=None,
    help="Compliance: running against intended config, per router and feature.",
    no_args_is_help=True,
)


@compliance_app.command("run")
def compliance_run(
    router: Annotated[
        list[str] | None, typer.Option("--router", help="Only these (repeat); all by default.")
    ] = None,
    html: Annotated[Path | None, typer.Option(help="Also write the report as HTML here.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Back up every router's running config, render its intended config, compare per
    feature (hier_config). Exit status 1 when anything is not compliant."""
    from onramp.flow import compliance
    from onramp.network.inventory.plugin import init_nornir

    with errors(as_json):
        svc = service()
        unknown = sorted(set(router or []) - set(svc.backbone.routers))
        if unknown:
            raise OnrampError("ONR-COMP-003", f"not in the inventory: {', '.join(unknown)}",
                              field="router")  # fmt: skip
        nr = init_nornir(svc.settings)
        try:
            report = compliance.run(svc, nr, router or None)
        finally:
            nr.close_connections()
        if html is not None:
            html.write_text(compliance.html(report))
    if as_json:
        dump(report)
    else:
        _print(report)
    raise typer.Exit(0 if report["compliant"] else 1)


def _print(report: ComplianceRun) -> None:
    table = new_table("router", "score", "not compliant", "missing", "extra")
    for name, r in report["routers"].items():
        if "busy" in r:
            table.add_row(name, "-", f"busy: {r['busy']}", "", "")
        elif "error" not in r:
            bad = {f: e for f, e in r["features"].items() if not e["compliant"]}
            table.add_row(name, f"{r['score']:g} %", ", ".join(bad) or "-",
                          str(sum(len(e["missing"]) for e in bad.values())),
                          str(sum(len(e["extra"]) for e in bad.values())))  # fmt: skip
    if table.row_count:
        out.print(table)
    for name, r in report["routers"].items():
        for feature, e in r.get("features", {}).items():
            for line in e["missing"]:
                out.print(f"{name} {feature} [green]missing[/] {line}", highlight=False)
            for line in e["extra"]:
                out.print(f"{name} {feature} [red]extra[/]   {line}", highlight=False)
    for name, r in report["routers"].items():  # one line each, however long
        if "error" in r:
            out.print(f"{name} [red]not read[/] (counts 0 %): {escape(r['error'])}",
                      highlight=False, soft_wrap=True)  # fmt: skip
    verdict = "compliant" if report["compliant"] else "NOT compliant: `onramp plan router R`"
    out.print(f"score {report['score']} %: {verdict}")
