"""`onramp validate`: the CI gate, run without any router.

1. inventory: the checks `onramp inventory check` runs (schema, duplicates, core links,
   on-ramp ports);
2. render: every host's whole intended config (backbone + every Connector and Link the
   store holds as configured), with the deploy's templates;
3. FRR syntax: each rendered FRR config through FRR's own parser (`vtysh -C -f`, no daemon);
4. parse-back: each rendered feature parsed back with the TTP templates
   (validation/parse.py) to the intent it was rendered from;
5. CSP constraints: every stored Connector that holds resources checked again against
   its provider's rules (they may have changed since it was ordered); and that its
   routers' platforms take a safe deploy (ONR-PLAT-001);
6. golden files: the built-in templates still render validation/golden/ as kept.

A project's template overrides (its templates/) take part in 2-4 as the built-in ones
do; the golden files are the built-in templates' own, so 6 renders without overrides.

A finding: {check, target, code, reason}. Passing means no finding.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select

from onramp.core.errors import Code, OnrampError
from onramp.core.model import RELEASED_STATES, ConnectorRequest, State
from onramp.core.settings import Settings
from onramp.core.shapes import CheckFinding, ValidationReport
from onramp.core.store import ConnectorRow
from onramp.flow import request
from onramp.flow.render import services
from onramp.flow.service import Service
from onramp.network import intent
from onramp.network.inventory import Backbone
from onramp.network.inventory.source import check_source
from onramp.network.platforms import PLATFORMS, undeployable
from onramp.network.templates import (
    SERVICE_FEATURES,
    RouterServices,
    builtin_only,
    overridden,
    render,
    router_config,
)
from onramp.validation import golden
from onramp.validation.parse import PARSERS, parse, project

Finding = CheckFinding


def _finding(check_: str, target: str, exc: BaseException) -> Finding:
    code: Code = exc.code if isinstance(exc, OnrampError) else "ONR-TPL-001"
    reason = exc.reason if isinstance(exc, OnrampError) else f"{type(exc).__name__}: {exc}"
    return {"check": check_, "target": target, "code": code, "reason": reason[:500]}


def inventory(source: Path | Settings) -> tuple[Backbone | None, list[Finding]]:
    """A YAML inventory directory, or the inventory config.yaml names (YAML or Nautobot)."""
    backbone, found = check_source(source)
    return backbone, [{"check": "inventory", "target": f.host, "code": f.code,
                       "reason": f"{f.field}: {f.reason}"} for f in found]  # fmt: skip


def rendered(
    svc: Service | None, bb: Backbone
) -> tuple[dict[str, str], dict[str, RouterServices], list[Finding]]:
    """Every host's whole config, and its services (empty without a store)."""
    routers = sorted(bb.routers)
    per: dict[str, RouterServices] = {r: RouterServices(r) for r in routers}
    if svc is not None:
        with svc.store.session() as s:
            per = services(s, bb, svc.vault, routers)
    configs: dict[str, str] = {}
    found: list[Finding] = []
    for r in routers:
        try:
            configs[r] = router_config(bb, r, per[r])
        except Exception as exc:  # a template error names the router it broke on
            found.append(_finding("render", r, exc))
    return configs, per, found


def frr_syntax(
    configs: dict[str, str], argv: Sequence[str] = PLATFORMS["frr"].syntax_check
) -> list[Finding]:
    """An OS's own parser (`argv`: FRR's by default) on each config ({name: text})."""
    if shutil.which(argv[0]) is None:
        return [{"check": "frr-syntax", "target": "-", "code": "ONR-VAL-001",
                 "reason": "vtysh not installed: FRR's parser is needed (apt-get install frr)"}]  # fmt: skip
    found: list[Finding] = []
    with tempfile.TemporaryDirectory() as d:
        for router, text in configs.items():
            path = Path(d) / f"{router}.conf"
            path.write_text(text)
            proc = subprocess.run([*argv, str(path)], capture_output=True, text=True,
                                  check=False)  # fmt: skip
            if proc.returncode != 0:
                why = (proc.stdout + proc.stderr).strip().splitlines()
                found.append({"check": "frr-syntax", "target": router, "code": "ONR-VAL-002",
                              "reason": "; ".join(why[-3:])[:500]})  # fmt: skip
    return found


def parse_back(bb: Backbone, per: dict[str, RouterServices]) -> list[Finding]:
    found: list[Finding] = []
    for router, svc in per.items():
        platform = bb.routers[router].platform
        pieces: list[tuple[str, Mapping[str, Any]]] = [("backbone", intent.backbone(bb, router))]
        pieces += [(f, data) for data in svc.connectors for f in SERVICE_FEATURES]
        for feature, data in pieces:
            if (feature, platform) not in PARSERS:
                continue
            try:
                got = parse(feature, platform, render(feature, platform, data))
                if got != project(feature, data):
                    found.append({"check": "parse-back", "target": f"{router} {feature}",
                                  "code": "ONR-VAL-003",
                                  "reason": "the rendered config parses back to other intent"})  # fmt: skip
            except Exception as exc:
                found.append(_finding("parse-back", f"{router} {feature}", exc))
    return found


def constraints(svc: Service | None, bb: Backbone) -> list[Finding]:
    if svc is None:
        return []
    found = []
    held = [s.value for s in State if s not in RELEASED_STATES]
    with svc.store.session() as s:
        rows = list(s.scalars(select(ConnectorRow).where(ConnectorRow.state.in_(held))))
    for row in rows:
        try:
            request.connector(ConnectorRequest.model_validate(row.request), bb)
        except Exception as exc:
            found.append(_finding("csp-constraints", f"connector {row.id[:8]}", exc))
    return found


def platforms(svc: Service | None, bb: Backbone) -> list[Finding]:
    """Every stored Connector that holds resources on a router its platform keeps deploys
    from (ONR-PLAT-001); such routers may be in the inventory, not carry Connectors."""
    if svc is None:
        return []
    held = [s.value for s in State if s not in RELEASED_STATES]
    with svc.store.session() as s:
        rows = list(s.scalars(select(ConnectorRow).where(ConnectorRow.state.in_(held))))
        on = {row.id: {a.router for a in row.attachments if a.router in bb.routers} for row in rows}
    found: list[Finding] = []
    for cid, routers in on.items():
        for router, why in sorted(
            undeployable({r: bb.routers[r].platform for r in routers}).items()
        ):
            found.append({"check": "platforms", "target": f"connector {cid[:8]}",
                          "code": "ONR-PLAT-001", "reason": f"on {router} ({why})"})  # fmt: skip
    return found


def golden_files() -> list[Finding]:
    try:
        with builtin_only():
            changed = golden.changed()
    except OnrampError as exc:  # a template the golden case cannot render (ONR-TPL-001)
        return [_finding("golden", "-", exc)]
    return [{"check": "golden", "target": name, "code": "ONR-VAL-004",
             "reason": "the templates render it differently: review, then UPDATE_GOLDEN=1 "
                       ".venv/bin/pytest tests/templates"} for name in changed]  # fmt: skip


def run(
    source: Path | Settings, svc: Service | None, progress: Callable[[str], None] = lambda _: None
) -> ValidationReport:
    """Every check; the report: {ok, checks: {name: findings count}, findings}."""
    counts: dict[str, int] = {}
    if names := overridden():
        progress(f"the project's templates/ overrides {', '.join(names)}")
    bb, found = inventory(source)
    counts["inventory"] = len(found)
    progress(f"inventory: {len(found)} findings")
    if bb is not None:
        configs, per, more = rendered(svc, bb)
        # each config through its platform's own parser, where it has one offline
        checked: dict[tuple[str, ...], dict[str, str]] = {}
        for r, c in configs.items():
            if argv := PLATFORMS[bb.routers[r].platform].syntax_check:
                checked.setdefault(argv, {})[r] = c
        steps: list[tuple[str, Callable[[], list[Finding]]]] = [
            ("render", lambda: more),
            ("frr-syntax", lambda: [f for a, cs in checked.items() for f in frr_syntax(cs, a)]),
            ("parse-back", lambda: parse_back(bb, per)),
            ("csp-constraints", lambda: constraints(svc, bb)),
            ("platforms", lambda: platforms(svc, bb)),
            ("golden", golden_files),
        ]
        for name, step in steps:
            got = step()
            counts[name] = len(got)
            found += got
            progress(f"{name}: {len(got)} findings")
    return {"ok": not found, "checks": counts, "findings": found,
            "routers": len(bb.routers) if bb else 0}  # fmt: skip
