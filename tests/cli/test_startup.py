"""What `onramp`'s read-only commands load (issue 23 item 6: engineers run them in loops, CI
per change): the libraries a command does not use stay out of its process. Read from
`sys.modules` of a real `onramp` process in a project `onramp init` wrote, not timed
(bench/cli_speed.py measures the time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from onramp.cli.main import only
from onramp.core import project

# what none of these commands uses: the routers' stack, the API, the workers, the
# migrations, the renderer, rich's output (--json), PostgreSQL's dialect on a SQLite store,
# the vault's cipher (a list shows no key)
HEAVY = {"alembic", "celery", "cryptography", "fastapi", "genie", "jinja2", "napalm",
         "networkx", "nornir", "paramiko", "pyats", "rich", "sqlalchemy.dialects.postgresql"}  # fmt: skip
READS_THE_STORE = [
    ["catalogue", "--json"],
    ["connector", "list", "--json"],
    ["link", "list", "--json"],
    ["tenant", "list", "--json"],
    ["worker", "status", "--json"],
    ["ticket", "list", "--json"],
]
NO_STORE = [
    ["--help"],
    ["connector", "--help"],
    ["inventory", "check", "--json"],
    ["inventory", "show", "--json"],
    ["config", "show", "--json"],
    ["lab", "status", "--json"],  # no lab here: it answers "not running" and exits 1
]
# the process's modules and the cyclic collections it ran, written when it exits (the
# command ends in SystemExit), through the script's own entry point
PROBE = """
import atexit, gc, json, sys
out = sys.argv.pop(1)
ran = lambda: sum(g["collections"] for g in gc.get_stats())
sys.argv[0] = "onramp"
import onramp.cli
onramp.cli.GC_AFTER_S = 3600  # the collector's return is not raced on a busy machine
before = ran()  # the interpreter's own start, not the command's
plugins = lambda: getattr(sys.modules.get("pydantic.plugin._loader"), "_plugins", None)
atexit.register(lambda: open(out, "w").write(json.dumps(
    {"modules": sorted(sys.modules), "collections": ran() - before,
     "plugins_looked_up": plugins() is not None})))
onramp.cli.run()
"""


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project as an engineer's: `onramp init`, one template of its own (a provider's
    override: the renderer must still wait for a render), its store made by a first run."""
    folder = tmp_path_factory.mktemp("project")
    project.init(folder)
    override = folder / "templates" / "vrf" / "frr.j2"
    override.parent.mkdir(parents=True, exist_ok=True)
    override.write_text("vrf {{ vrf }}\n")
    loaded(folder, ["tenant", "list", "--json"])  # the first run migrates (Alembic): not timed
    return folder


def probed(folder: Path, argv: list[str], **more_env: str) -> dict[str, Any]:
    out = folder / "modules.json"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ONRAMP_") and k != "PYDANTIC_DISABLE_PLUGINS"}  # fmt: skip
    env.update(more_env)
    done = subprocess.run([sys.executable, "-c", PROBE, str(out), *argv], cwd=folder, env=env,
                          capture_output=True, text=True)  # fmt: skip
    # `lab status` answers 1 while no lab has converged; a traceback would show in stderr
    assert done.returncode == 0 or (argv[:2] == ["lab", "status"] and done.returncode == 1
                                    and not done.stderr), done.stderr  # fmt: skip
    found: dict[str, Any] = json.loads(out.read_text())
    return found


def loaded(folder: Path, argv: list[str]) -> set[str]:
    return set(probed(folder, argv)["modules"])


def heavy_in(modules: set[str]) -> set[str]:
    return {m for m in modules if m in HEAVY or m.split(".")[0] in HEAVY}


@pytest.mark.parametrize("argv", READS_THE_STORE, ids=" ".join)
def test_a_command_that_reads_the_store_loads_no_heavy_library(
    workdir: Path, argv: list[str]
) -> None:
    modules = loaded(workdir, argv)
    assert "sqlalchemy" in modules  # it did read the store: the probe saw the command run
    assert heavy_in(modules) == set()


# what a read of the store does not need: SQLAlchemy's ORM and our classes mapped on its
# tables (~0.09 s of CPU of each such command: it reads through Core, onramp.flow.reads),
# nor what allocates (the Service that writes); nor pydantic-settings (~0.02 s) while no
# ONRAMP_* variable names a setting (onramp.core.settings reads the environment through it)
UNREAD = {"sqlalchemy.orm", "onramp.core.store", "onramp.flow.allocate", "onramp.flow.service",
          "pydantic_settings"}  # fmt: skip


@pytest.mark.parametrize("argv", READS_THE_STORE, ids=" ".join)
def test_a_command_that_reads_the_store_loads_no_orm(workdir: Path, argv: list[str]) -> None:
    modules = loaded(workdir, argv)
    assert "onramp.core.tables" in modules  # it did read the store
    assert modules & UNREAD == set()


@pytest.mark.parametrize("argv", READS_THE_STORE, ids=" ".join)
def test_a_list_that_shows_no_model_loads_none(workdir: Path, argv: list[str]) -> None:
    """The requests' and views' pydantic models (~0.01 s) load with a read that builds one:
    a Link, the states of `worker status`; not for the rest (this project's store holds no
    Link; the catalogue's on-ramps are a shape, shapes.OnrampView)."""
    modules = loaded(workdir, argv)
    assert ("onramp.core.model" in modules) == (argv[:2] == ["worker", "status"])


@pytest.mark.parametrize("argv", READS_THE_STORE[1:], ids=" ".join)
def test_a_read_that_shows_no_router_reads_no_inventory(workdir: Path, argv: list[str]) -> None:
    """The inventory (its models, its files or Nautobot: ~0.02 s) is read when a read first
    needs it (onramp.flow.reads `Reader.backbone`): the catalogue, a Connector's or a Link's
    view; not for tenants, tickets or the workers' leases, nor a list with no row (this
    project's store holds none)."""
    modules = loaded(workdir, argv)
    assert "onramp.core.tables" in modules  # it did read the store
    assert {m for m in modules if m.startswith("onramp.network.inventory")} == set()


@pytest.mark.parametrize("argv", NO_STORE, ids=" ".join)
def test_help_and_the_inventory_load_no_store(workdir: Path, argv: list[str]) -> None:
    modules = loaded(workdir, argv)
    assert heavy_in(modules) == set()
    assert "sqlalchemy" not in modules
    assert "pydantic_settings" not in modules


@pytest.mark.parametrize("argv", [["catalogue", "--json"], ["--help"]], ids=" ".join)
def test_a_short_command_runs_no_cyclic_collection(workdir: Path, argv: list[str]) -> None:
    """Start-up's ~500,000 objects all live until exit: walking them (while they load, and
    at exit) was ~25 % of a read-only command's CPU."""
    assert probed(workdir, argv)["collections"] == 0


@pytest.mark.parametrize("argv", [READS_THE_STORE[0], ["lab", "status", "--json"]], ids=" ".join)
def test_a_command_looks_up_no_pydantic_plugin(workdir: Path, argv: list[str]) -> None:
    """pydantic looks for its plugins in every installed package's metadata (~6 ms of each
    start) when it builds the first model; onramp uses none, so the CLI turns them off,
    unless the variable is set (empty: have them)."""
    assert probed(workdir, argv)["plugins_looked_up"] is False
    assert probed(workdir, argv, PYDANTIC_DISABLE_PLUGINS="")["plugins_looked_up"] is True


def test_a_long_command_collects_again(workdir: Path) -> None:
    """A worker, the API or `lab up` outlives the first seconds: its collector is back on.
    The timer is joined, not waited for with a sleep."""
    script = """
import gc, sys, threading
import onramp.cli
onramp.cli.GC_AFTER_S = 0.1
sys.argv = ["onramp", "config", "show", "--json"]
try:
    onramp.cli.run()
except SystemExit:
    pass
timers = [t for t in threading.enumerate() if isinstance(t, threading.Timer)]
for t in timers:
    t.join()
print(len(timers), gc.isenabled())
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONRAMP_")}
    done = subprocess.run([sys.executable, "-c", script], cwd=workdir, env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    timers, enabled = done.stdout.split()[-2:]
    # the timer may have fired already on a busy machine (then none is left to join)
    assert timers in {"0", "1"} and enabled == "True"


def test_only_the_invoked_group_is_built() -> None:
    def app_of_three() -> typer.Typer:
        root, group = typer.Typer(), typer.Typer()
        group.command("list")(lambda: None)
        group.command("add")(lambda: None)
        root.add_typer(group, name="tenant")
        root.add_typer(typer.Typer(), name="link")
        root.command("init")(lambda: None)
        return root

    def names(root: typer.Typer) -> list[str | None]:
        return [g.name for g in root.registered_groups] + [c.name for c in root.registered_commands]

    def in_tenant(root: typer.Typer) -> list[str | None]:
        (tenant,) = [g.typer_instance for g in root.registered_groups if g.name == "tenant"]
        assert tenant is not None
        return names(tenant)

    for argv, kept, kept_in_tenant in [
        (["tenant", "list", "--json"], ["tenant"], ["list"]),
        (["tenant", "--help"], ["tenant"], ["list", "add"]),  # the group's help lists them all
        (["tenant", "lst"], ["tenant"], ["list", "add"]),  # "no such command" as before
    ]:
        root = app_of_three()
        only(root, argv)
        assert (names(root), in_tenant(root)) == (kept, kept_in_tenant), argv
    for argv, kept in [
        (["tenant", "list"], ["tenant"]),
        (["init"], ["init"]),
        (["--help"], ["tenant", "link", "init"]),  # help lists them all
        (["--config", "x.yaml", "tenant", "list"], ["tenant", "link", "init"]),  # not guessed
        (["tenat"], ["tenant", "link", "init"]),  # Click's "no such command" as before
        ([], ["tenant", "link", "init"]),
    ]:
        root = app_of_three()
        only(root, argv)
        assert names(root) == kept, argv
