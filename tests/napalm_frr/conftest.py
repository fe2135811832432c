"""napalm's own getter suite on the recorded cases, wired as napalm's drivers wire it
(their test/unit/conftest.py): the suite's tests are parametrized by the case folders in
mocked_data/<test>/, and the driver under test answers from the recordings."""

from __future__ import annotations

from typing import Any

import pytest
from napalm.base.test import conftest as napalm_conftest

from napalm_frr import FRRDriver

from .recorded import RecordedFRR


@pytest.fixture(scope="class")
def set_device_parameters(request: Any) -> None:
    request.cls.driver = FRRDriver
    request.cls.patched_driver = RecordedFRR
    request.cls.vendor = "frr"
    napalm_conftest.set_device_parameters(request)


def pytest_generate_tests(metafunc: Any) -> None:
    napalm_conftest.pytest_generate_tests(metafunc, __file__)
