"""napalm's BaseTestGetters, unchanged, on napalm_frr: the method signatures against
napalm's NetworkDriver, and every getter on the cases recorded from lab routers
(mocked_data/<test>/<case>/). Getters FRR cannot answer raise NotImplementedError, which
the suite skips (napalm_frr/README.md lists them and why)."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap

import pytest
from napalm.base import NetworkDriver
from napalm.base.test.getters import BaseTestGetters

from napalm_frr import FRRDriver
from onramp.core.settings import ROOT

from .recorded import SUITE, cases


@pytest.mark.usefixtures("set_device_parameters")
class TestGetter(BaseTestGetters):  # type: ignore[misc]
    """napalm's suite as napalm's own drivers run it."""


@pytest.mark.parametrize("test", SUITE)
def test_every_supported_getter_has_a_recorded_case(test: str) -> None:
    """Without one napalm's suite would fail with 'no test case found'; this says which."""
    assert cases(test), f"record one: python -m tests.napalm_frr.recorded CASE HOST KEY {test}"


def _implemented(name: str) -> bool:
    """Answers rather than raising NotImplementedError (napalm's base or the driver)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(getattr(FRRDriver, name))))
    body = [s for s in tree.body[0].body if not isinstance(s, ast.Expr)]  # type: ignore[attr-defined]
    first = body[0] if body else None
    return not (isinstance(first, ast.Raise) and "NotImplementedError" in ast.dump(first))


def test_the_readme_support_matrix_is_true() -> None:
    text = (ROOT / "napalm_frr" / "README.md").read_text()
    rows = re.findall(r"^\| ([a-z0-9_ /]+) \| (yes|no) \|", text, re.M)
    listed = {name: answer == "yes" for names, answer in rows for name in names.split(" / ")}
    public = {n for n, _ in inspect.getmembers(NetworkDriver, inspect.isfunction)}
    assert {n for n in public if not n.startswith("_")} == set(listed)
    assert {n: _implemented(n) for n in listed} == listed
