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

import pytest

from onramp.core import project

# what none of these commands uses: the routers' stack, the API, the workers, the
# migrations, the renderer, rich's output (--json), PostgreSQL's dialect on a SQLite store
HEAVY = {"alembic", "celery", "fastapi", "genie", "jinja2", "napalm", "networkx", "nornir",
         "paramiko", "pyats", "rich", "sqlalchemy.dialects.postgresql"}  # fmt: skip
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
]
# the process's modules, written when it exits (the command ends in SystemExit)
PROBE = """
import atexit, json, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv[0] = "onramp"
from onramp.cli.main import app
app()
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


def loaded(folder: Path, argv: list[str]) -> set[str]:
    out = folder / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONRAMP_")}
    done = subprocess.run([sys.executable, "-c", PROBE, str(out), *argv], cwd=folder, env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return set(json.loads(out.read_text()))


def heavy_in(modules: set[str]) -> set[str]:
    return {m for m in modules if m in HEAVY or m.split(".")[0] in HEAVY}


@pytest.mark.parametrize("argv", READS_THE_STORE, ids=" ".join)
def test_a_command_that_reads_the_store_loads_no_heavy_library(
    workdir: Path, argv: list[str]
) -> None:
    modules = loaded(workdir, argv)
    assert "sqlalchemy" in modules  # it did read the store: the probe saw the command run
    assert heavy_in(modules) == set()


@pytest.mark.parametrize("argv", NO_STORE, ids=" ".join)
def test_help_and_the_inventory_load_no_store(workdir: Path, argv: list[str]) -> None:
    modules = loaded(workdir, argv)
    assert heavy_in(modules) == set()
    assert "sqlalchemy" not in modules
