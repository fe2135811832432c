"""What every `onramp` command shares: consoles, --json, the config path, error output."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from onramp.core.errors import OnrampError

if TYPE_CHECKING:  # the settings (pydantic-settings) load with the first command that reads them
    from rich.console import Console
    from rich.table import Table

    from onramp.core.settings import Settings


class _Console:
    """A rich Console made when a command first prints through it: rich costs ~40 ms of
    start-up that `--help` and `--json` runs never use (issue 23: the CLI runs in loops)."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


out = cast("Console", _Console(width=None if sys.stdout.isatty() else 160))
err = cast("Console", _Console(stderr=True))
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]
_state: dict[str, Path | None] = {"config": None}


def settings() -> Settings:
    """The config a command uses (found from where it runs); the project's templates/ then
    come before the built-in ones for whatever this command renders."""
    from onramp.core.settings import load_settings

    s = load_settings(_state["config"])
    if (folder := s.template_overrides) is not None:
        from onramp.network import templates  # only then: `onramp --help` stays light

        templates.use_overrides(folder)
    return s


@contextmanager
def errors(as_json: bool) -> Iterator[None]:
    """Turn an OnrampError into its code, reason and hint, and exit 2."""
    try:
        yield
    except OnrampError as exc:
        if as_json:
            print(json.dumps({"error": exc.as_dict()}))
        else:
            err.print(
                f"[bold red]{exc.code}[/]{escape(f' [{exc.field}]') if exc.field else ''}: {escape(exc.reason)}\n  [yellow]->[/] {exc.hint}",
                highlight=False,
            )
        raise typer.Exit(2) from None


def escape(text: str) -> str:
    """rich's markup escape, imported when a command prints (not at start-up)."""
    from rich.markup import escape

    return escape(text)


def new_table(*columns: str, **options: Any) -> Table:
    """A rich Table, imported when a command draws one (not at start-up)."""
    from rich.table import Table

    return Table(*columns, **options)


def dump(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))
