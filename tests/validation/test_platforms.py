"""Platforms as data (onramp.network.platforms): what each one names exists, so the code
that asks `PLATFORMS[name].<field>` finds it."""

from __future__ import annotations

from importlib import import_module

import pytest
from hier_config import Platform as HierPlatform

from onramp.core.settings import ROOT
from onramp.network.platforms import PLATFORMS, Platform


@pytest.mark.parametrize("platform", PLATFORMS.values(), ids=lambda p: p.name)
def test_what_a_platform_names_exists(platform: Platform) -> None:
    assert platform.hier_config in HierPlatform.__members__
    assert platform.valid_interface(platform.numbered_interface.format(1))
    if platform.gate_parser is not None:
        parsers = import_module(f"onramp.validation.parsers.{platform.gate_parser}")
        assert parsers.ShowBgpVrfAllSummary and parsers.ShowBgpVrfRoutes
    # the lab runs the whole flow on a platform it runs as itself: commit-confirm, the gate
    assert not platform.lab_native or (platform.commit_confirm and platform.gate_parser)


def matrix() -> str:
    """The README's platform table, from PLATFORMS and the files each capability needs."""
    yes = {True: "yes", False: "no"}
    rows = ["| platform | render | syntax check offline | compliance (hier_config) "
            "| commit-confirm deploy | gate |", "|---|---|---|---|---|---|"]  # fmt: skip
    for p in PLATFORMS.values():
        render = (ROOT / "templates" / "backbone" / f"{p.name}.j2").exists()
        rules = (ROOT / "validation" / "compliance" / f"{p.name}.yaml").exists()
        rows.append(f"| {p.name} | {yes[render]} | {yes[bool(p.syntax_check)]} "
                    f"| {yes[rules]} | {yes[p.commit_confirm]} "
                    f"| {yes[p.gate_parser is not None]} |")  # fmt: skip
    return "\n".join(rows) + "\n"


def test_the_readme_platform_matrix_is_true() -> None:
    assert matrix() in (ROOT / "README.md").read_text(), "paste into README.md:\n" + matrix()
