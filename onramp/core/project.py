"""A provider's project folder, as `onramp init [DIR]` writes it.

config.yaml   the example project's settings (relative paths: to this folder)
inventory/    the example backbone, to edit into the provider's own
templates/    overrides: <feature>/<platform>.j2 here comes before the built-in one
runbooks/     the provider's own runbooks
var/          what onramp keeps (SQLite store, the key file): not for version control
"""

from __future__ import annotations

import shutil
from pathlib import Path

from onramp.core.errors import OnrampError
from onramp.core.settings import CONFIG_NAME, EXAMPLE, PACKAGE

_TEMPLATES_README = """\
Overrides of onramp's built-in templates, looked up before them: copy one from
{builtin}/<feature>/<platform>.j2 to <feature>/<platform>.j2 here and change it.
`onramp validate` renders, parses back and syntax-checks overrides as it does the
built-in ones; its golden-file check compares the built-in templates only.
"""
_RUNBOOKS_README = """\
The provider's own runbooks. onramp's built-in ones: `onramp runbook --help`.
"""


def init(directory: Path) -> list[Path]:
    """Write a working project into `directory` (made if missing); the paths written.
    The folder may already be the provider's repository, so nothing in it is overwritten:
    a file init would write that exists already (config.yaml included) is refused with
    ONR-CFG-003 before anything is written; an existing .gitignore gets `var/` appended."""
    inventory = EXAMPLE / "inventory"
    ours = [
        Path(CONFIG_NAME),
        *(
            Path("inventory") / f.relative_to(inventory)
            for f in inventory.rglob("*")
            if f.is_file()
        ),
        Path("templates", "README"),
        Path("runbooks", "README"),
    ]
    taken = sorted(str(f) for f in ours if (directory / f).exists())
    if taken:
        raise OnrampError(
            "ONR-CFG-003", f"{directory} already has {', '.join(taken)}", field="directory"
        )
    config = directory / CONFIG_NAME
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXAMPLE / CONFIG_NAME, config)
    # copytree follows the checkout's links: the project gets files, never links into onramp
    shutil.copytree(inventory, directory / "inventory", dirs_exist_ok=True)
    (directory / "templates").mkdir(exist_ok=True)
    (directory / "templates" / "README").write_text(
        _TEMPLATES_README.format(builtin=PACKAGE / "templates")
    )
    (directory / "runbooks").mkdir(exist_ok=True)
    (directory / "runbooks" / "README").write_text(_RUNBOOKS_README)
    _ignore_var(directory / ".gitignore")
    return [config, directory / "inventory", directory / "templates", directory / "runbooks"]


def _ignore_var(gitignore: Path) -> None:
    """var/ (the store, the key file) is kept out of version control, in the folder's own
    .gitignore when it has one."""
    kept = gitignore.read_text() if gitignore.exists() else ""
    if "var/" in kept.splitlines():
        return
    gitignore.write_text(kept + ("" if not kept or kept.endswith("\n") else "\n") + "var/\n")
