"""Config where the engineer stands: --config, ONRAMP_CONFIG, ./config.yaml or the nearest
folder above with one, the user's config folder; the environment over the file;
`onramp config show` says where each value came from; `onramp init` writes a project."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from onramp.cli.main import app
from onramp.core.settings import EXAMPLE, load_settings

DUPLICATE_LOOPBACK = ("loopback: 10.255.0.1/32", "loopback: 10.255.0.2/32")


@pytest.fixture(autouse=True)
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ONRAMP_* from the caller, and a HOME of the test's own (no user config)."""
    for name in [n for n in os.environ if n.startswith("ONRAMP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))


def onramp(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def broken_copy(where: Path) -> Path:
    """The example project copied, with two routers sharing a loopback."""
    shutil.copyfile(EXAMPLE / "config.yaml", where / "config.yaml")
    shutil.copytree(EXAMPLE / "inventory", where / "inventory")
    hosts = where / "inventory" / "hosts.yaml"
    hosts.write_text(hosts.read_text().replace(*DUPLICATE_LOOPBACK))
    return where


def test_a_copy_checks_its_own_inventory_from_inside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # before: the config.yaml next to the code was read, so the original inventory passed
    project = broken_copy(tmp_path)
    for here in (project, project / "inventory"):  # the folder, or one below it (as git)
        monkeypatch.chdir(here)
        code, output = onramp("inventory", "check", "--json")
        assert code == 1 and "10.255.0.2" in output, output


def test_config_then_env_then_cwd_then_the_user_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(Exception, match="ONR-CFG-002"):  # nothing anywhere: what to do
        load_settings()
    user = tmp_path / "home" / ".config" / "onramp" / "config.yaml"
    user.parent.mkdir(parents=True)
    shutil.copyfile(EXAMPLE / "config.yaml", user)
    assert load_settings().path == user
    (elsewhere / "config.yaml").write_text(yaml.safe_dump({"nornir": {}}))
    assert load_settings().path == elsewhere / "config.yaml"
    named = tmp_path / "named.yaml"
    named.write_text(yaml.safe_dump({"nornir": {}}))
    monkeypatch.setenv("ONRAMP_CONFIG", str(named))
    assert load_settings().path == named
    assert load_settings(user).path == user  # --config


def test_every_setting_from_the_environment_and_where_it_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump({"nornir": {}, "lab": {"name": "filed", "converge_timeout_s": 5}})
    )
    (tmp_path / "k").write_text("the-key-itself")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ONRAMP_LAB__NAME", "fromenv")
    monkeypatch.setenv("ONRAMP_WORKER__RETRY_MAX", "3")
    monkeypatch.setenv("ONRAMP_STORE_URL", "postgresql+psycopg://onramp:hunter2@db/onramp")
    monkeypatch.setenv("ONRAMP_SECRET_KEY_FILE", "k")
    monkeypatch.setenv("ONRAMP_INVENTORY", str(tmp_path / "inv"))  # the old short name
    s = load_settings()
    assert (s.lab.name, s.lab.converge_timeout_s, s.worker.retry_max) == ("fromenv", 5, 3)
    assert s.inventory_dir == tmp_path / "inv"
    assert s.secret_key_path == tmp_path / "k"  # relative to the config file

    code, output = onramp("config", "show", "--json")
    assert code == 0, output
    shown = {r["key"]: r for r in json.loads(output)["settings"]}
    assert shown["lab.name"]["source"] == "env ONRAMP_LAB__NAME"
    assert shown["lab.converge_timeout_s"]["source"] == str(config)
    assert shown["monitor.probes"]["source"] == "default"
    assert shown["nornir.inventory.options.directory"]["source"] == "env ONRAMP_INVENTORY"
    assert shown["store_url"]["value"] == "postgresql+psycopg://onramp:***@db/onramp"
    assert "hunter2" not in output and "the-key-itself" not in output


def test_init_writes_a_project_that_works_and_refuses_a_second_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = onramp("init", "proj")
    assert code == 0, output
    project = tmp_path / "proj"
    assert {p.name for p in project.iterdir()} >= {
        "config.yaml",
        "inventory",
        "templates",
        "runbooks",
    }
    assert not any(p.is_symlink() for p in project.rglob("*"))  # files, not links into onramp
    monkeypatch.chdir(project / "templates")
    code, output = onramp("inventory", "check", "--json")
    assert code == 0 and json.loads(output)["ok"], output
    assert onramp("init", str(project))[0] == 2  # ONR-CFG-003: a project is never overwritten


def test_init_without_a_folder_makes_the_project_where_the_engineer_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`onramp init`, like `git init`, takes the current folder when given none."""
    here = tmp_path / "repo"
    here.mkdir()
    monkeypatch.chdir(here)
    code, output = onramp("init", "--json")
    assert code == 0, output
    assert json.loads(output)["project"] == str(here)
    assert (here / "config.yaml").is_file() and (here / "inventory" / "hosts.yaml").is_file()


@pytest.mark.parametrize("existing", ["inventory/hosts.yaml", "config.yaml", "runbooks/README"])
def test_init_overwrites_nothing_an_engineer_already_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: str
) -> None:
    """A folder without config.yaml may still be someone's repository: `onramp init` there
    refuses (ONR-CFG-003, naming the file) and leaves every file as it was."""
    theirs = tmp_path / existing
    theirs.parent.mkdir(parents=True, exist_ok=True)
    theirs.write_text("mine\n")
    monkeypatch.chdir(tmp_path)
    code, output = onramp("init", ".", "--json")
    assert code == 2, output
    error = json.loads(output)["error"]
    assert error["code"] == "ONR-CFG-003" and existing in error["reason"]
    assert theirs.read_text() == "mine\n"
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert written == {existing}  # nothing half-written


def test_init_keeps_the_folders_gitignore_and_adds_var_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".gitignore").write_text("*.pyc")  # no final newline
    monkeypatch.chdir(tmp_path)
    assert onramp("init")[0] == 0
    assert (tmp_path / ".gitignore").read_text() == "*.pyc\nvar/\n"


# environments as engineers' and containers' shells have them; the file sets some of them too
ENVIRONMENTS = [
    {},
    {"ONRAMP_LAB__NAME": "x", "ONRAMP_WORKER__RETRY_MAX": "3", "ONRAMP_STORE_URL": "sqlite:///x"},
    {"onramp_lab__enterprise_asn": "65200"},  # any case
    {"ONRAMP_CSP": '{"aws": {"endpoint_url": "http://h:1", "region": "r"}}'},  # JSON
    {"ONRAMP_CSP__AZURE__ACCOUNT": "sub", "ONRAMP_TOPOLOGY__WEIGHTS__LOAD": "2"},
    {"ONRAMP_LAB": '{"name": 5}'},  # refused by both
    {"ONRAMP_WORKER__RETRY_MAX": "many"},
    {"ONRAMP_CONFIG": "elsewhere.yaml", "ONRAMP_INVENTORY": "inv", "ONRAMP_NOT_A_SETTING": "1"},
]


@pytest.mark.parametrize("env", ENVIRONMENTS, ids=lambda env: ",".join(env) or "none")
def test_settings_are_what_pydantic_settings_makes_of_the_file_and_environment(
    env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pydantic-settings is imported only when a variable names a setting (~20 ms of every
    read-only command otherwise): whatever the environment, the settings are those of a
    BaseSettings of the same fields, config and sources (as they were), or the same refusal."""
    from pydantic import ValidationError
    from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

    from onramp.core.settings import ENV_PREFIX, Settings, validated

    class AsBefore(Settings, BaseSettings):
        model_config = SettingsConfigDict(
            extra="forbid", env_prefix=ENV_PREFIX, env_nested_delimiter="__"
        )

        @classmethod
        def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource, **_: PydanticBaseSettingsSource
        ) -> tuple[PydanticBaseSettingsSource, ...]:  # fmt: skip
            return env_settings, init_settings

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    values = yaml.safe_load((EXAMPLE / "config.yaml").read_text())
    values |= {"path": tmp_path / "config.yaml", "lab": {"name": "file", "enterprise_asn": 65100}}

    def made(make: Any) -> Any:
        try:
            return make().model_dump()
        except ValidationError as exc:
            return [(e["type"], e["loc"]) for e in exc.errors()]

    assert made(lambda: validated(values)) == made(lambda: AsBefore(**values))
