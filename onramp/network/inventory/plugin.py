"""Nornir inventory plugin: SimpleInventory's files, refused at load time when invalid."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

from nornir import InitNornir
from nornir.core import Nornir
from nornir.core.inventory import Defaults, Group, Groups, Host, Hosts, Inventory, ParentGroups
from nornir.plugins.inventory.simple import (
    SimpleInventory,
    _get_defaults,
    _get_inventory_element,
)

from onramp.core.settings import Settings, load_settings
from onramp.network.inventory.checks import inventory_path, load

# Nornir logs every failed task with its traceback; with its logging off (config.yaml) and
# no handler configured, Python's last-resort handler printed that to the user's terminal.
# Failures are results, reported by whoever runs the task; a configured logger still gets them.
logging.getLogger("nornir").addHandler(logging.NullHandler())


class _ArgumentNames(logging.Filter):
    """Nornir logs each run as "Running task %r with args %s on %d hosts": the keyword
    arguments whole, and onramp's carry rendered candidates (BGP keys in clear) and the
    secrets to mask. The record keeps the task, the arguments' names and the host count."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        running = isinstance(record.msg, str) and record.msg.startswith("Running task")
        if running and isinstance(args, tuple) and len(args) == 3:
            name, kwargs, hosts = args
            if isinstance(kwargs, dict):
                record.args = (name, "{" + ", ".join(f"{k}=..." for k in kwargs) + "}", hosts)
        return True


logging.getLogger("nornir.core").addFilter(_ArgumentNames())


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
        return resolve_paths(inv, self.directory)


def nornir_inventory(raw: dict[str, dict[str, Any]], directory: Path) -> Inventory:
    """A Nornir Inventory from the checked shape every source gives (`checks.check_raw`),
    built as SimpleInventory builds it from its files (its own helpers, so both agree)."""
    defaults = _get_defaults(raw["defaults"])
    groups = Groups({n: _get_inventory_element(Group, g or {}, n, defaults)
                     for n, g in raw["groups"].items()})  # fmt: skip
    hosts = Hosts({n: _get_inventory_element(Host, h or {}, n, defaults)
                   for n, h in raw["hosts"].items()})  # fmt: skip
    for element in [*groups.values(), *hosts.values()]:
        names = cast(list[str], element.groups or [])  # names until here, as in SimpleInventory
        element.groups = ParentGroups([groups[g] for g in names])
    return resolve_paths(Inventory(hosts=hosts, groups=groups, defaults=defaults), directory)


def resolve_paths(inv: Inventory, directory: Path) -> Inventory:
    """known_hosts made absolute: the driver would read a relative one against the cwd."""
    layers: list[Defaults | Host | Group] = [
        inv.defaults,
        *inv.groups.values(),
        *inv.hosts.values(),
    ]
    for layer in layers:
        napalm = layer.connection_options.get("napalm")
        args = (napalm.extras or {}).get("optional_args") if napalm else None
        if isinstance(args, dict) and args.get("known_hosts"):
            args["known_hosts"] = str(inventory_path(directory, args["known_hosts"]))
    return inv


_QUIET = ("nornir", "napalm", "netmiko", "paramiko", "ncclient", "jnpr")


def init_nornir(settings: Settings | None = None) -> Nornir:
    """Nornir from config.yaml's `nornir:` section, inventory path resolved against the file.

    Routers without an SSH key of their own get the lab's (the lab installs it on every
    router it builds); a real network sets `key_file` in the inventory's connection options.
    """
    settings = settings or load_settings()
    for name in _QUIET:
        # a handler of their own keeps Python's last-resort stderr printer off their
        # records (a task's traceback, Netmiko's advice): onramp reports each failure in
        # one line (tasks/failure.py); an application that configures logging still gets them
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
    if settings.nornir.get("inventory", {}).get("plugin") == "OnrampNautobotInventory":
        # registered here too: the entry point exists only once onramp is installed again
        from nornir.core.plugins.inventory import InventoryPluginRegister

        from onramp.network.inventory.nautobot import OnrampNautobotInventory

        InventoryPluginRegister.register("OnrampNautobotInventory", OnrampNautobotInventory)
    nr = InitNornir(**settings.nornir_kwargs())
    napalm = nr.inventory.defaults.connection_options.get("napalm")
    if napalm is not None:
        extras = napalm.extras if napalm.extras is not None else {}
        extras.setdefault("optional_args", {}).setdefault(
            "key_file", str(settings.lab.state_dir / settings.lab.name / "id_ed25519")
        )
        napalm.extras = extras
    return nr
