"""Shared fixtures: the default inventory, and writable copies of it to break on purpose."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from onramp.settings import ROOT

FILES = ("hosts", "groups", "defaults", "backbone")
DEFAULT_INVENTORY = ROOT / "inventory"


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def write_yaml(path: Path, content: Any) -> Path:
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


@dataclass
class InventoryCopy:
    """The four inventory files, parsed, to edit in place and then `write()`.

    `data[name]` is written as YAML; a `str` is written verbatim (to test unreadable
    files), and a file taken out of `data` is not written at all (to test a missing one).
    """

    directory: Path
    data: dict[str, Any]

    @property
    def hosts(self) -> dict[str, Any]:
        return self.data["hosts"]  # type: ignore[no-any-return]

    def write(self) -> Path:
        for name in FILES:
            path = self.directory / f"{name}.yaml"
            content = self.data.get(name, ...)
            if content is ...:
                path.unlink(missing_ok=True)
            elif isinstance(content, str):
                path.write_text(content)
            else:
                write_yaml(path, content)
        return self.directory


def copy_default_inventory(directory: Path) -> InventoryCopy:
    """The default inventory, parsed, to be edited and written into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    data = {n: read_yaml(DEFAULT_INVENTORY / f"{n}.yaml") for n in FILES}
    return InventoryCopy(directory, data)


@pytest.fixture
def inventory_copy(tmp_path: Path) -> InventoryCopy:
    return copy_default_inventory(tmp_path / "inventory")
