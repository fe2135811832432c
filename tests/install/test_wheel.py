"""The wheel, installed as a provider installs it: built from this tree, put into a fresh
venv in a temporary folder outside the repository, then used from a project folder that
`onramp init` writes. Nothing of the checkout is on the path: the wheel's own files are
what runs (its dependencies come from this venv's site-packages through a path entry, so
the test needs no package index and takes seconds, not minutes).

Builds a lab of its own (name `twh`, 172.20.65.0/24): run it under the lab lock,
`flock /tmp/onramp-lab.lock env PYTHONPATH=$PWD .venv/bin/pytest tests/install -x`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from onramp.core.settings import ROOT
from onramp.lab.run import NEEDED

pytestmark = pytest.mark.lab
LAB = {"name": "twh", "octet": 65}
# an extra line in the project's own backbone template: FRR keeps it in its running config
OVERRIDE_LINE = "log syslog informational"


@dataclass
class Installed:
    bin: Path  # the fresh venv's bin/
    project: Path  # what `onramp init` wrote
    env: dict[str, str]

    def onramp(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(self.bin / "onramp"), *args], cwd=self.project,
                              env=self.env, capture_output=True, text=True, timeout=300)  # fmt: skip
        if ok:
            assert done.returncode == 0, f"onramp {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done


def build_wheel(out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(out)],
                   check=True, capture_output=True)  # fmt: skip
    (wheel,) = out.glob("onramp_interconnect-*.whl")
    for scratch in ("build", "onramp_interconnect.egg-info"):  # setuptools' in the tree
        shutil.rmtree(ROOT / scratch, ignore_errors=True)
    return wheel


def fresh_venv(where: Path, wheel: Path, env: dict[str, str]) -> Path:
    """A venv with the wheel alone installed; the dependencies: this venv's site-packages
    as a plain path entry (its .pth files, the checkout's editable install among them, are
    not processed, so nothing of the checkout is importable)."""
    venv.create(where, with_pip=False)
    purelib = Path(
        sysconfig.get_paths(vars={"base": str(where), "platbase": str(where)})["purelib"]
    )
    (purelib / "_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(where / "bin" / "python"),
                    "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True, env=env)  # fmt: skip
    return where / "bin"


def clean_env(home: Path) -> dict[str, str]:
    """No PYTHONPATH (the checkout stays off the path), no ONRAMP_*, a HOME of its own."""
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONPATH" and not k.startswith("ONRAMP_")}  # fmt: skip
    return {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    if os.geteuid() != 0 or not all(p.exists() for p in NEEDED):
        pytest.skip("the installed lab needs root, FRR and sshd: run `make deps`")
    tmp = tmp_path_factory.mktemp("wheel")
    assert not tmp.resolve().is_relative_to(ROOT.resolve())
    wheel = build_wheel(tmp / "dist")
    env = clean_env(tmp / "home")
    bin_ = fresh_venv(tmp / "venv", wheel, env)
    init = subprocess.run([str(bin_ / "onramp"), "init", "proj"], cwd=tmp, env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert init.returncode == 0, init.stderr
    inst = Installed(bin_, tmp / "proj", env)
    own_lab(inst.project)
    yield inst
    inst.onramp("lab", "down", ok=False)


def own_lab(project: Path) -> None:
    """The project's lab: a name and management subnet no other test uses."""
    config = project / "config.yaml"
    data = yaml.safe_load(config.read_text())
    data["lab"].update(name=LAB["name"], mgmt_subnet=f"172.20.{LAB['octet']}.0/24",
                       state_dir="var/lab")  # fmt: skip
    config.write_text(yaml.safe_dump(data))
    hosts = project / "inventory" / "hosts.yaml"
    hosts.write_text(
        hosts.read_text().replace("hostname: 172.20.20.", f"hostname: 172.20.{LAB['octet']}.")
    )


def test_the_wheel_carries_everything_under_onramp(installed: Installed) -> None:
    (wheel,) = (installed.bin.parent.parent / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"onramp", "napalm_frr"}  # no top-level csp, tasks, validation, ...
    for data in ("onramp/templates/backbone/frr.j2", "onramp/templates/ttp/backbone/frr.ttp",
                 "onramp/validation/golden/backbone/frr.txt",
                 "onramp/validation/compliance/frr.yaml", "onramp/csp/aws/constraints.yaml",
                 "onramp/core/migrations/script.py.mako", "onramp/lab/templates/cloud_edge/frr.j2",
                 "onramp/api/portal/index.html", "onramp/example/config.yaml",
                 "onramp/example/inventory/hosts.yaml"):  # fmt: skip
        assert data in names
    where = subprocess.run([str(installed.bin / "python"), "-c",
                            "import onramp, napalm.base; print(onramp.__file__);"
                            "print(napalm.base.get_network_driver('frr').__module__)"],
                           env=installed.env, cwd=installed.project, capture_output=True, text=True, check=True)  # fmt: skip
    onramp_file, driver = where.stdout.split()
    assert Path(onramp_file).is_relative_to(installed.bin.parent)  # the wheel's, not the tree's
    assert driver == "napalm_frr.frr"  # napalm still finds our driver by its module name


def test_a_project_from_init_checks_validates_and_runs_its_lab(installed: Installed) -> None:
    check = installed.onramp("inventory", "check", "--json")
    assert json.loads(check.stdout)["ok"]
    shown = json.loads(installed.onramp("config", "show", "--json").stdout)
    assert shown["config"] == str(installed.project / "config.yaml")
    validate = json.loads(installed.onramp("validate", "--json").stdout)
    assert validate["ok"] and validate["routers"] == 6, validate["findings"]

    installed.onramp("lab", "up")
    plan = json.loads(installed.onramp("plan", "router", "pe1-par", "--json").stdout)
    assert plan["state"] == "planned" and "pe1-par" in plan["devices"]
    assert OVERRIDE_LINE not in json.dumps(plan["devices"])  # the lab runs what was rendered


def test_a_template_override_in_the_project_changes_the_rendered_config(
    installed: Installed,
) -> None:
    site = subprocess.run([str(installed.bin / "python"), "-c",
                           "from onramp.network.templates import TEMPLATES; print(TEMPLATES)"],
                          env=installed.env, cwd=installed.project, capture_output=True, text=True, check=True)  # fmt: skip
    builtin = Path(site.stdout.strip())
    override = installed.project / "templates" / "backbone" / "frr.j2"
    override.parent.mkdir(parents=True, exist_ok=True)
    override.write_text((builtin / "backbone" / "frr.j2").read_text() + OVERRIDE_LINE + "\n")
    try:
        plan = json.loads(installed.onramp("plan", "router", "pe1-par", "--json").stdout)
        assert OVERRIDE_LINE in json.dumps(plan["devices"])
        # validate takes the override as it takes a built-in: rendered, FRR-parsed, parsed
        # back; the golden files stay the built-in templates' own, so they still pass
        validate = installed.onramp("validate", "--json", ok=False)
        report = json.loads(validate.stdout)
        assert report["ok"], report["findings"]
    finally:
        override.unlink()
