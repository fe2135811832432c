"""Shared fixtures: a writable copy of the default inventory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from onramp.settings import ROOT

FILES = ("hosts", "groups", "defaults", "backbone")


@dataclass
class InventoryCopy:
    directory: Path
    data: dict[str, Any]  # the four files, parsed: edit them, then write()

    def write(self) -> Path:
        for name in FILES:
            (self.directory / f"{name}.yaml").write_text(
                yaml.safe_dump(self.data[name], sort_keys=False)
            )
        return self.directory


def copy_default_inventory(directory: Path) -> InventoryCopy:
    """The default inventory, parsed, to be edited and written into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    data = {n: yaml.safe_load((ROOT / "inventory" / f"{n}.yaml").read_text()) for n in FILES}
    return InventoryCopy(directory, data)


@pytest.fixture
def inventory_copy(tmp_path: Path) -> InventoryCopy:
    return copy_default_inventory(tmp_path / "inventory")
