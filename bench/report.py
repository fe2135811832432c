"""How every benchmark prints its figures: JSON with --json, else one aligned line each."""

from __future__ import annotations

import json
from typing import Any


def report(figures: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(figures, indent=2, default=str))
        return
    width = max(map(len, figures), default=0) + 2
    for k, v in figures.items():
        print(f"{k:{width}}{v}")
