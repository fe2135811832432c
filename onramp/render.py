"""Render `templates/<feature>/<platform>.j2` from intent data. Nothing else renders config."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from onramp.settings import ROOT

TEMPLATES = ROOT / "templates"


@cache
def _environment(root: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,  # a missing value is an error, never an empty line
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        auto_reload=False,  # a process renders the templates it started with: no stat per render
    )


def template_name(feature: str, platform: str, remove: bool = False) -> str:
    """`<feature>/<platform>.j2`, and `<feature>/<platform>.remove.j2` for its removal."""
    return f"{feature}/{platform}{'.remove' if remove else ''}.j2"


def render(
    feature: str, platform: str, data: dict[str, Any], root: Path = TEMPLATES, remove: bool = False
) -> str:
    return _environment(root).get_template(template_name(feature, platform, remove)).render(**data)
