"""The backbone inventory: schema, checks and the Nornir inventory plugin."""

from onramp.network.inventory.checks import (
    Backbone,
    Finding,
    InventoryError,
    check,
    check_raw,
    load,
)

__all__ = ["Backbone", "Finding", "InventoryError", "check", "check_raw", "load"]
