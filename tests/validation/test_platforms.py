"""Platforms as data (onramp.network.platforms): what each one names exists, so the code
that asks `PLATFORMS[name].<field>` finds it."""

from __future__ import annotations

from importlib import import_module

import pytest
from hier_config import Platform as HierPlatform

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
