"""`onramp apply --revert-in N --check-timeout C`: the confirm timer must leave the check
10 s (ONR-PLAN-005's hint: "at least the check timeout + 10 s"); checked before the plan
is even looked up."""

from __future__ import annotations

from pathlib import Path

import pytest

from onramp.core.errors import OnrampError
from onramp.core.settings import load_settings, local_config
from onramp.flow.apply import apply_plan
from onramp.flow.service import Service


@pytest.mark.parametrize(("revert_in", "code"), [(39, "ONR-PLAN-005"), (40, "ONR-PLAN-001")])
def test_the_timer_may_be_exactly_the_check_plus_ten(
    tmp_path: Path, revert_in: int, code: str
) -> None:
    svc = Service.open(load_settings(local_config(tmp_path)))
    with pytest.raises(OnrampError) as got:  # no such plan: past the timer check
        apply_plan(svc, "nosuch", revert_in=revert_in, check_timeout=30)
    assert got.value.code == code
