"""Compliance: each router's running config against its intended config, per feature.

- **Backup** (`backup`): every router's running config (NAPALM `get_config` through
  nornir-napalm, in parallel), stored encrypted with its time and SHA-256 (of the
  canonical form); a config unchanged since the last backup is not stored again.
- **Intended** (`intended_configs`): the whole config of each router from the inventory
  and every active Connector and Link in the store, rendered by the deploy's templates.
- **Compare** (`compare`): both parsed by hier_config; the lines each lacks of the other
  (hier_config's `difference`, both ways) sorted into features by the rules of the
  platform (`validation/compliance/<platform>.yaml`: a line's path, the lines above it
  joined with " / ", matched against each feature's patterns). Per feature: compliant,
  missing lines, extra lines; per router a score (the share of features compliant); per
  run the mean of the routers judged, where a router not read counts 0 (`verdict`).
  Secrets are masked in every line reported.
- **Remediation**: `deploy.make_router_plan` (the router's intended config as a plan that
  `onramp apply` applies with commit-confirm and the pyATS gate).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from hier_config import HConfig, Platform, get_hconfig
from nornir.core import Nornir
from sqlalchemy import select

from onramp.core.errors import OnrampError
from onramp.core.model import State
from onramp.core.secrets import mask
from onramp.core.settings import PACKAGE
from onramp.core.shapes import (
    Backups,
    BackupTaken,
    Comparison,
    ComplianceRun,
    FeatureReport,
    RouterReport,
)
from onramp.core.store import ComplianceReportRow, ConfigBackupRow, ConnectorRow, LinkRow, now
from onramp.flow import render
from onramp.flow.service import Service
from onramp.network import templates
from onramp.network.platforms import PLATFORMS
from onramp.tasks.config import fingerprint, running_config
from onramp.tasks.failure import failed

RULES = PACKAGE / "validation" / "compliance"  # the built-in rules, in the package
# what no report may show: the value after these words (also masked by the known keys)
NO_CHANGE = render.Change()  # the store as it is
OTHER = "other"  # lines no feature claims: reported, never silently compliant


@dataclass(frozen=True)
class Feature:
    name: str
    patterns: tuple[re.Pattern[str], ...]
    ordered: bool = False


@dataclass(frozen=True)
class Rules:
    platform: str
    features: tuple[Feature, ...]
    ignore: tuple[re.Pattern[str], ...]

    def feature_of(self, path: str) -> str | None:
        """The feature owning a line (by its path), None if the line is ignored."""
        if any(p.match(path) for p in self.ignore):
            return None
        for f in self.features:
            if any(p.match(path) for p in f.patterns):
                return f.name
        return OTHER


@cache
def rules(platform: str) -> Rules:
    path = RULES / f"{platform}.yaml"
    if not path.exists():
        raise OnrampError("ONR-COMP-001", f"no compliance rules for {platform} ({path})")
    data = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
    return Rules(
        platform,
        tuple(
            Feature(name, tuple(re.compile(p) for p in f["match"]), bool(f.get("ordered")))
            for name, f in data["features"].items()
        ),
        tuple(re.compile(p) for p in data.get("ignore", [])),
    )


def _outline(text: str) -> Iterator[tuple[int, str]]:
    """(depth, line) of each line of an indented config, by its indentation. `!` and the
    top-level `exit` lines are punctuation, not configuration: left out."""
    indents: list[int] = []
    for line in text.splitlines():
        body = line.strip()
        if not body or body == "!" or line == "exit":
            continue
        indent = len(line) - len(line.lstrip())
        while indents and indents[-1] >= indent:
            indents.pop()
        yield len(indents), body
        indents.append(indent)


def tree(platform: str, text: str) -> HConfig:
    """hier_config's tree of a config. A rendered config may open one section twice (FRR's
    vrf and neighbor features both write `router bgp N vrf X`, IOS-XR's backbone and
    neighbor both `router bgp N`), which the router merges when it loads it; hier_config's
    own parser refuses the second, so each line is added here under its parents, joining
    a section that is already there."""
    known = PLATFORMS.get(platform)
    root = get_hconfig(Platform[known.hier_config] if known else Platform.GENERIC)
    parents: list[Any] = [root]
    for depth, body in _outline(text):
        del parents[depth + 1 :]
        parents.append(parents[depth].add_child(body, return_if_present=True))
    return root


def paths(text: str, r: Rules) -> frozenset[str]:
    """Every line of an indented config as its path ("a / b / c"), the ignored ones left
    out: two configs with the same paths are the same config to hier_config."""
    out: set[str] = set()
    above: list[str] = []
    for depth, body in _outline(text):
        del above[depth:]
        path = f"{above[-1]} / {body}" if above else body
        above.append(path)
        out.add(path)
    return frozenset(p for p in out if not any(i.match(p) for i in r.ignore))


def _leaves(diff: HConfig) -> list[str]:
    """Every leaf of a difference tree as its path ("a / b / c")."""
    return [" / ".join(c.text for c in leaf.lineage()) for leaf in diff.all_children()
            if not leaf.children]  # fmt: skip


def compare(
    platform: str,
    intended_text: str,
    running_text: str,
    secrets: list[str] | None = None,
    by: Rules | None = None,
) -> Comparison:
    """Per feature: compliant, missing (in intended, not running) and extra lines; `by`:
    other rules than the platform's file."""
    r = by or rules(platform)
    features: dict[str, FeatureReport] = {
        f.name: {"compliant": True, "missing": [], "extra": []} for f in r.features
    }
    if not any(f.ordered for f in r.features) and paths(intended_text, r) == paths(running_text, r):
        # the same lines under the same parents: nothing for hier_config to find (a
        # compliant router, most of them, costs a set comparison instead of two trees)
        return {"score": 100.0, "features": features}
    want, have = tree(platform, intended_text), tree(platform, running_text)
    sides: tuple[tuple[Literal["missing", "extra"], HConfig], ...] = (
        ("missing", want.difference(have)), ("extra", have.difference(want)))  # fmt: skip
    for side, diff in sides:
        for path in _leaves(diff):
            name = r.feature_of(path)
            if name is None:
                continue
            entry = features.setdefault(name, {"compliant": True, "missing": [], "extra": []})
            entry[side].append(_masked(path, secrets or []))
            entry["compliant"] = False
    for f in r.features:
        if f.ordered:
            _check_order(f, want, have, features[f.name])
    total = len(features)
    good = sum(1 for f in features.values() if f["compliant"])
    return {"score": round(100.0 * good / total, 1) if total else 100.0, "features": features}


def _check_order(f: Feature, want: HConfig, have: HConfig, entry: FeatureReport) -> None:
    """An ordered feature's sections hold the same lines in the same order."""
    for section in want.children:
        if not any(p.match(section.text) for p in f.patterns):
            continue
        there = have.get_child(equals=section.text)
        if there is None:
            continue
        mine = [c.text for c in section.children]
        theirs = [c.text for c in there.children if c.text in set(mine)]
        if theirs != mine:
            entry["compliant"] = False
            entry.setdefault("order", []).append(section.text)


def _masked(line: str, secrets: list[str]) -> str:
    return mask(line, secrets, marker="<removed>")


# ------------------------------------------------------------------ the network
def intended_configs(
    svc: Service, routers: list[str], change: render.Change = NO_CHANGE
) -> tuple[dict[str, str], list[str]]:
    """({router: its whole intended config}, the secrets in them); `change`: as a plan just
    applied left them (a removal whose Connector is still decommissioning, say)."""
    with svc.store.session() as s:
        services = render.services(s, svc.backbone, svc.vault, routers, change)
    configs = {r: templates.router_config(svc.backbone, r, services[r]) for r in routers}
    return configs, [k for r in services.values() for k in r.secrets]


def backup(svc: Service, nr: Nornir, at: datetime | None = None) -> Backups:
    """Every router's running config, collected in parallel; stored (encrypted) when it
    differs from the router's last backup. Returns {router: {sha256, stored | error}} and
    the texts (for the comparison that follows)."""
    at = at or now()
    results = nr.run(task=running_config, on_failed=True)
    texts: dict[str, str] = {}
    out: dict[str, BackupTaken] = {}
    for host, r in results.items():
        if r.failed:
            code, why = failed(r[0], "ONR-DEPLOY-001")
            out[host] = {"error": f"{code}: {why}"[:300]}
            continue
        texts[host] = r[0].result["running"]
        out[host] = {"sha256": r[0].result["sha256"], "stored": False}

    def store(s: Any) -> None:
        for host, text in texts.items():
            last = s.scalars(select(ConfigBackupRow).where(ConfigBackupRow.router == host)
                             .order_by(ConfigBackupRow.taken_at.desc()).limit(1)).first()  # fmt: skip
            if last is None or last.sha256 != out[host]["sha256"]:
                s.add(ConfigBackupRow(router=host, taken_at=at, sha256=out[host]["sha256"],
                                      config=svc.vault.encrypt(text)))  # fmt: skip
                out[host]["stored"] = True

    svc.store.transact(store)
    return {"routers": out, "texts": texts}


def changing(
    svc: Service, routers: list[str], exclude: frozenset[str] = frozenset()
) -> dict[str, str]:
    """{router: what is changing it}: routers a Connector or Link is being configured on,
    verified, rolled back or taken off (its config is in flight: comparing now would
    report the change as drift). `exclude`: ids whose change is over (a plan just applied)."""
    moving = [x.value for x in (State.CONFIGURING, State.VERIFYING, State.ROLLING_BACK,
                                State.DECOMMISSIONING)]  # fmt: skip
    out: dict[str, str] = {}
    with svc.store.session() as s:
        rows = s.scalars(select(ConnectorRow).where(ConnectorRow.state.in_(moving)))
        for c in rows:
            for a in c.attachments if c.id not in exclude else []:
                out.setdefault(a.router, f"connector {c.id[:8]} {c.state}")
        for lk in s.scalars(select(LinkRow).where(LinkRow.state.in_(moving))):
            if lk.id in exclude:
                continue
            for cid in (lk.a_id, lk.b_id):
                end = s.get(ConnectorRow, cid)
                for a in end.attachments if end else []:
                    out.setdefault(a.router, f"link {lk.id[:8]} {lk.state}")
    return {r: why for r, why in out.items() if r in routers}


def touched(change: render.Change) -> frozenset[str]:
    """The ids a change is about (their own change is over when it was applied)."""
    return (change.add_connectors | change.remove_connectors | change.add_links
            | change.remove_links | change.quiesce_connectors)  # fmt: skip


def run(
    svc: Service,
    nr: Nornir,
    routers: list[str] | None = None,
    change: render.Change = NO_CHANGE,
) -> ComplianceRun:
    """Back up, render intended, compare: the report (JSON-ready, secrets masked), stored.
    A router with a change in flight is reported busy, not judged."""
    wanted = routers or sorted(svc.backbone.routers)
    busy = changing(svc, wanted, touched(change))
    nr = nr.filter(filter_func=lambda h: h.name in wanted)
    at = now()
    taken = backup(svc, nr, at)
    configs, secrets = intended_configs(svc, [r for r in wanted if r in taken["texts"]], change)
    report: ComplianceRun = {"at": at, "routers": {}}
    for router in wanted:
        if router in busy:
            report["routers"][router] = {"busy": busy[router]}
            continue
        if router not in taken["texts"]:
            report["routers"][router] = {"error": taken["routers"].get(router, {}).get(
                "error", "not in the inventory")}  # fmt: skip
            continue
        platform = svc.backbone.routers[router].platform
        try:
            got = compare(platform, configs[router], taken["texts"][router], secrets)
        except OnrampError as exc:  # no rules for its platform: that router only
            report["routers"][router] = {"platform": platform, "error": str(exc)}
            continue
        report["routers"][router] = {"platform": platform,
                                     "backup_sha256": taken["routers"][router]["sha256"],
                                     "backup_stored": taken["routers"][router]["stored"],
                                     "running_matches_intended": fingerprint(configs[router])
                                     == taken["routers"][router]["sha256"],
                                     "score": got["score"], "features": got["features"]}  # fmt: skip
    report["score"], report["compliant"] = verdict(list(report["routers"].values()))
    svc.store.transact(lambda s: s.add(ComplianceReportRow(
        at=at, score=report["score"], compliant=report["compliant"],
        report=json.loads(json.dumps(report, default=str)))))  # fmt: skip
    return report


def verdict(routers: list[RouterReport]) -> tuple[float | None, bool]:
    """(score, compliant) of a run. A busy router is not judged and not counted; a router
    not read (unreachable, no rules for its platform) is not known compliant: it counts 0.
    So compliant <=> every judged router scores 100 <=> the score is 100 (None: none judged).
    """
    judged = [r for r in routers if "busy" not in r]
    compliant = all(r.get("score") == 100.0 for r in judged)
    if not judged:
        return None, compliant
    score = round(sum(r.get("score", 0.0) for r in judged) / len(judged), 1)
    return (99.9 if score == 100.0 and not compliant else score), compliant  # no rounding up


def latest(svc: Service) -> ComplianceRun | None:
    """The newest stored report."""
    with svc.store.session() as s:
        row = s.scalars(select(ComplianceReportRow).order_by(ComplianceReportRow.id.desc())
                        .limit(1)).first()  # fmt: skip
        return None if row is None else row.report.copy()


def html(report: ComplianceRun) -> str:
    """The report as one HTML page (autoescaped: config lines are data)."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(loader=FileSystemLoader(Path(__file__).parent),
                      autoescape=select_autoescape(default=True), undefined=StrictUndefined)  # fmt: skip
    return env.get_template("compliance.html.j2").render(report=report)
