"""How every benchmark prints its figures: JSON with --json, else one aligned line each."""

from __future__ import annotations

import itertools
import json
from typing import Any


def report(figures: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(figures, indent=2, default=str))
        return
    width = max(map(len, figures), default=0) + 2
    for k, v in figures.items():
        print(f"{k:{width}}{v}")


def split(history: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds in each state on the way to active, from a service's transition rows
    (`Orchestrator.history`)."""
    out: dict[str, float] = {}
    for a, b in itertools.pairwise(history):
        if a["to"] == "active":
            break
        out[a["to"]] = out.get(a["to"], 0.0) + (b["at"] - a["at"]).total_seconds()
    return out
