"""`onramp init [DIR]` (a project folder) and `onramp config show` (the effective settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from onramp.cli.common import JsonOpt, dump, errors, escape, new_table, out, settings

config_app = typer.Typer(
    rich_markup_mode=None, help="The effective configuration.", no_args_is_help=True
)


def init(
    directory: Annotated[
        Path, typer.Argument(help="The project folder (made if missing); default: this one.")
    ] = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Write a working project: config.yaml, inventory/ (the example backbone), an empty
    templates/ for overrides of the built-in templates, runbooks/ for your own."""
    from onramp.core import project

    with errors(as_json):
        written = project.init(directory)
    if as_json:
        dump({"project": str(directory.resolve()), "written": [str(p) for p in written]})
        return
    for path in written:
        out.print(f"wrote {escape(str(path))}", highlight=False)
    out.print(f"next: cd {escape(str(directory))} && onramp inventory check", highlight=False)


@config_app.command("show")
def config_show(as_json: JsonOpt = False) -> None:
    """Every setting, its value and where it came from (the config file, an environment
    variable ONRAMP_<SECTION>__<KEY>, or the default); secrets masked."""
    from onramp.core.settings import explain

    with errors(as_json):
        s = settings()
        rows = explain(s)
    if as_json:
        dump({"config": str(s.path), "settings": rows})
        return
    table = new_table(title=f"config: {s.path}")
    for column in ("key", "value", "source"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["key"], escape(str(row["value"])), escape(row["source"]))
    out.print(table)
