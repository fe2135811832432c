"""Render `templates/<feature>/<platform>.j2` from intent data. Nothing else renders config."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from onramp.core.errors import OnrampError
from onramp.core.settings import ROOT
from onramp.core.shapes import ConnectorIntent
from onramp.network import intent
from onramp.network.inventory import Backbone

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
    feature: str,
    platform: str,
    data: Mapping[str, Any],
    root: Path | None = None,
    remove: bool = False,
) -> str:
    """The template's text for `data`; a value it needs and `data` lacks is ONR-TPL-001
    naming the template file, its line and the value (never jinja2's traceback)."""
    root = root or TEMPLATES  # read at call time: a test points it at a copy
    name = template_name(feature, platform, remove)
    try:
        return _environment(root).get_template(name).render(**data)
    except jinja2.UndefinedError as exc:
        where = f"{root.name}/{name}"
        line = _line_in(exc, str(root / name))
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
    platform = bb.routers[router].platform
    parts = [render("backbone", platform, intent.backbone(bb, router))]
    for data in svc.connectors:
        parts += [render(f, platform, data) for f in SERVICE_FEATURES]
    return "".join(parts)


def feature_config(platform: str, data: ConnectorIntent, remove: bool = False) -> str:
    """One Connector's config as a merge snippet (IOS-XR, Junos), or its removal."""
    features = reversed(SERVICE_FEATURES) if remove else SERVICE_FEATURES
    return "".join(render(f, platform, data, remove=remove) for f in features)
