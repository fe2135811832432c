"""Nornir inventory plugin: SimpleInventory's files, refused at load time when invalid."""

from __future__ import annotations

from pathlib import Path

from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.inventory import Defaults, Host, Inventory
from nornir.plugins.inventory.simple import SimpleInventory

from onramp.core.settings import Settings, load_settings
from onramp.network.inventory.checks import inventory_path, load


class OnrampInventory:
    def __init__(self, directory: str = "inventory") -> None:
        self.directory = Path(directory)

    def load(self) -> Inventory:
        load(self.directory)  # raises InventoryError listing what is wrong
        inv = SimpleInventory(
            host_file=str(self.directory / "hosts.yaml"),
            group_file=str(self.directory / "groups.yaml"),
            defaults_file=str(self.directory / "defaults.yaml"),
        ).load()
        # the driver would read a relative known_hosts against the process's cwd
        layers: list[Defaults | Host] = [inv.defaults, *inv.groups.values(), *inv.hosts.values()]
        for layer in layers:
            napalm = layer.connection_options.get("napalm")
            args = (napalm.extras or {}).get("optional_args") if napalm else None
            if isinstance(args, dict) and args.get("known_hosts"):
                args["known_hosts"] = str(inventory_path(self.directory, args["known_hosts"]))
        return inv


def init_nornir(settings: Settings | None = None) -> Nornir:
    """Nornir from config.yaml's `nornir:` section, inventory path resolved against the file.

    Routers without an SSH key of their own get the lab's (the lab installs it on every
    router it builds); a real network sets `key_file` in the inventory's connection options.
    """
    settings = settings or load_settings()
    nr = InitNornir(**settings.nornir_kwargs())
    napalm = nr.inventory.defaults.connection_options.get("napalm")
    if napalm is not None:
        extras = napalm.extras if napalm.extras is not None else {}
        extras.setdefault("optional_args", {}).setdefault(
            "key_file", str(settings.lab.state_dir / settings.lab.name / "id_ed25519")
        )
        napalm.extras = extras
    return nr
