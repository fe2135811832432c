"""A provider's project folder, as `onramp init DIR` writes it.

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
    A folder that already has a config.yaml is left alone (ONR-CFG-003)."""
    config = directory / CONFIG_NAME
    if config.exists():
        raise OnrampError("ONR-CFG-003", f"{config} exists", field="directory")
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXAMPLE / CONFIG_NAME, config)
    # copytree follows the checkout's links: the project gets files, never links into onramp
    shutil.copytree(EXAMPLE / "inventory", directory / "inventory", dirs_exist_ok=True)
    (directory / "templates").mkdir(exist_ok=True)
    (directory / "templates" / "README").write_text(
        _TEMPLATES_README.format(builtin=PACKAGE / "templates")
    )
    (directory / "runbooks").mkdir(exist_ok=True)
    (directory / "runbooks" / "README").write_text(_RUNBOOKS_README)
    (directory / ".gitignore").write_text("var/\n")
    return [config, directory / "inventory", directory / "templates", directory / "runbooks"]
