"""napalm's BaseTestGetters, unchanged, on napalm_frr: the method signatures against
napalm's NetworkDriver, and every getter on the cases recorded from lab routers
(mocked_data/<test>/<case>/). Getters FRR cannot answer raise NotImplementedError, which
the suite skips (napalm_frr/README.md lists them and why)."""

from __future__ import annotations

import pytest
from napalm.base.test.getters import BaseTestGetters

from .recorded import SUITE, cases


@pytest.mark.usefixtures("set_device_parameters")
class TestGetter(BaseTestGetters):  # type: ignore[misc]
    """napalm's suite as napalm's own drivers run it."""


@pytest.mark.parametrize("test", SUITE)
def test_every_supported_getter_has_a_recorded_case(test: str) -> None:
    """Without one napalm's suite would fail with 'no test case found'; this says which."""
    assert cases(test), f"record one: python -m tests.napalm_frr.recorded CASE HOST KEY {test}"
