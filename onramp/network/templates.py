"""Render `templates/<feature>/<platform>.j2` from intent data. Nothing else renders config.

One search path, as netlab's: the project's templates/ first (a provider's overrides,
`use_overrides`), then the built-in ones that ship in the package.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from onramp.core.errors import OnrampError
from onramp.core.settings import PACKAGE

if TYPE_CHECKING:  # loaded with the first render: `use_overrides` runs in every command
    import jinja2

    from onramp.core.shapes import ConnectorIntent
    from onramp.network.inventory import Backbone

TEMPLATES = PACKAGE / "templates"  # the built-in ones
# the project's templates/, searched before TEMPLATES: a process serves one project's
# config, so its command (or Service.open) sets them once, as nornir's InitNornir does
_overrides: list[Path] = []


def use_overrides(folder: Path | None) -> None:
    """Look templates up in `folder` (a project's templates/) before the built-in ones."""
    _overrides[:] = [folder] if folder is not None else []


@contextmanager
def builtin_only() -> Iterator[None]:
    """Render with the built-in templates alone (the golden files are theirs)."""
    kept = list(_overrides)
    _overrides.clear()
    try:
        yield
    finally:
        _overrides[:] = kept


def search_path() -> tuple[Path, ...]:
    return (*_overrides, TEMPLATES)  # TEMPLATES read at call time: a test points it at a copy


def overridden(folder: Path | None = None) -> list[str]:
    """The template names the project's templates/ replaces (`onramp validate` lists them)."""
    found: list[str] = []
    for root in [folder] if folder is not None else _overrides:
        found += sorted(str(p.relative_to(root)) for p in root.rglob("*.j2"))
    return found


@cache
def _environment(roots: tuple[Path, ...]) -> jinja2.Environment:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(r) for r in roots]),
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
    feature: str,
    platform: str,
    data: Mapping[str, Any],
    root: Path | None = None,
    remove: bool = False,
) -> str:
    """The template's text for `data` (`root`: only that folder; else `search_path()`);
    a value it needs and `data` lacks is ONR-TPL-001 naming the template file, its line
    and the value (never jinja2's traceback)."""
    import jinja2

    roots = (root,) if root is not None else search_path()
    name = template_name(feature, platform, remove)
    try:
        template = _environment(roots).get_template(name)
        return template.render(**data)
    except jinja2.UndefinedError as exc:
        filename = template.filename or name
        where = "/".join(Path(filename).parts[-3:])
        line = _line_in(exc, filename)
        raise OnrampError(
            "ONR-TPL-001", f"{where}{f' line {line}' if line else ''}: {exc.message}"
        ) from exc


def _line_in(exc: BaseException, filename: str) -> int | None:
    """The template's line the error came from: jinja2 puts the template's own frames
    (its file name, its line numbers) into the traceback."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    return frames[-1].lineno if frames else None


# Order of a Connector's features in a router's config: a VRF before what lives in it, an
# interface before the rate bound to it (removal: the reverse).
SERVICE_FEATURES = ("vrf", "onramp_interface", "qos", "bgp_neighbor")


@dataclass
class RouterServices:
    router: str
    connectors: list[ConnectorIntent] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # to mask wherever this config is shown


def router_config(bb: Backbone, router: str, svc: RouterServices) -> str:
    """The whole config of an FRR-style router (replace semantics): backbone + services."""
    from onramp.network import intent  # with the first render: not for `use_overrides`

    platform = bb.routers[router].platform
    parts = [render("backbone", platform, intent.backbone(bb, router))]
    for data in svc.connectors:
        parts += [render(f, platform, data) for f in SERVICE_FEATURES]
    return "".join(parts)


def feature_config(platform: str, data: ConnectorIntent, remove: bool = False) -> str:
    """One Connector's config as a merge snippet (IOS-XR, Junos), or its removal."""
    features = reversed(SERVICE_FEATURES) if remove else SERVICE_FEATURES
    return "".join(render(f, platform, data, remove=remove) for f in features)
