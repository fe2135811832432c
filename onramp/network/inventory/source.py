"""The inventory config.yaml names: the YAML files (OnrampInventory) or Nautobot
(OnrampNautobotInventory), validated by the same checks either way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onramp.core.settings import Settings
from onramp.network.inventory.checks import Backbone, Finding, InventoryError, check, check_raw

NAUTOBOT = "OnrampNautobotInventory"


def is_nautobot(settings: Settings) -> bool:
    return bool(settings.nornir.get("inventory", {}).get("plugin") == NAUTOBOT)


def nautobot_plugin(settings: Settings) -> Any:
    """The Nautobot plugin with config.yaml's options (imported only when configured)."""
    from onramp.network.inventory.nautobot import OnrampNautobotInventory

    options = settings.nornir_kwargs()["inventory"].get("options", {})
    return OnrampNautobotInventory(**options)


def describe(source: Path | Settings) -> str:
    """Where the inventory is read from, for messages (never the token)."""
    if isinstance(source, Settings) and is_nautobot(source):
        options = source.nornir["inventory"].get("options", {})
        return f"nautobot {options.get('nautobot_url') or '$NAUTOBOT_URL'}"
    return str(source.inventory_dir if isinstance(source, Settings) else source)


def check_source(source: Path | Settings) -> tuple[Backbone | None, list[Finding]]:
    """Every problem in the inventory: a directory of YAML files, or the one config.yaml names."""
    if isinstance(source, Settings):
        if is_nautobot(source):
            plugin = nautobot_plugin(source)
            return check_raw(plugin.raw(), plugin.directory)
        source = source.inventory_dir
    return check(source)


def load_source(source: Path | Settings) -> Backbone:
    backbone, findings = check_source(source)
    if backbone is None:
        raise InventoryError(findings)
    return backbone
