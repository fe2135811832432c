"""A project's templates/ comes before the built-in templates (one search path, as netlab's);
`onramp validate` takes an override as it takes a built-in, the golden files stay the
built-in templates' own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from onramp.cli.main import app
from onramp.core import project
from onramp.network import templates
from onramp.network.inventory import load
from onramp.network.templates import RouterServices, router_config

EXTRA = "log syslog informational"


@pytest.fixture
def overridden(tmp_path: Path) -> Iterator[Path]:
    """A project whose templates/backbone/frr.j2 is the built-in one and one more line."""
    project.init(tmp_path / "proj")
    override = tmp_path / "proj" / "templates" / "backbone" / "frr.j2"
    override.parent.mkdir()
    override.write_text((templates.TEMPLATES / "backbone" / "frr.j2").read_text() + EXTRA + "\n")
    yield tmp_path / "proj"
    templates.use_overrides(None)


def test_the_project_template_comes_first(overridden: Path) -> None:
    bb = load(overridden / "inventory")
    builtin = router_config(bb, "pe1-par", RouterServices("pe1-par"))
    templates.use_overrides(overridden / "templates")
    assert router_config(bb, "pe1-par", RouterServices("pe1-par")) == builtin + EXTRA + "\n"
    with templates.builtin_only():
        assert router_config(bb, "pe1-par", RouterServices("pe1-par")) == builtin
    assert templates.overridden() == ["backbone/frr.j2"]


def test_validate_renders_and_checks_the_override_and_keeps_golden_for_built_ins(
    overridden: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(overridden)
    monkeypatch.delenv("ONRAMP_CONFIG", raising=False)
    ok = CliRunner().invoke(app, ["validate", "--no-store", "--json"])
    assert ok.exit_code == 0, ok.output  # the override parses in FRR; golden: built-ins


def test_validate_finds_an_override_frr_refuses(
    overridden: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(overridden)
    monkeypatch.delenv("ONRAMP_CONFIG", raising=False)
    broken = overridden / "templates" / "backbone" / "frr.j2"
    broken.write_text(broken.read_text() + "this is not frr\n")
    bad = CliRunner().invoke(app, ["validate", "--no-store", "--json"])
    codes = {f["code"] for f in json.loads(bad.stdout)["findings"]}
    assert bad.exit_code == 1 and codes == {"ONR-VAL-002"}, bad.output
