"""Golden files (validation/golden.py says what and why): each rendered file compared;
a missing value in the intent data is an error, never an empty line.

After a deliberate change: `UPDATE_GOLDEN=1 .venv/bin/pytest tests/templates` rewrites
the files; review their diff before committing.
"""

from __future__ import annotations

import os
import re

import pytest

from onramp.core.errors import OnrampError
from onramp.network import intent
from onramp.network.inventory import Backbone
from onramp.network.templates import SERVICE_FEATURES, render
from onramp.validation import golden


@pytest.fixture(scope="module")
def bb() -> Backbone:
    return golden.backbone()


@pytest.fixture(scope="module")
def rendered(bb: Backbone) -> dict[str, str]:
    return golden.rendered(bb)


def test_every_golden_file_is_rendered_as_kept(rendered: dict[str, str]) -> None:
    for name, text in rendered.items():
        path = golden.GOLDEN / name
        if os.environ.get("UPDATE_GOLDEN"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1 and review it"
        assert text == path.read_text(), f"{name} changed: review, then UPDATE_GOLDEN=1"
    kept = {str(p.relative_to(golden.GOLDEN)) for p in golden.GOLDEN.rglob("*.txt")}
    assert kept == set(rendered)  # no stale file either
    assert golden.changed() == []  # what `onramp validate` reports


def test_a_changed_template_is_reported(bb: Backbone, monkeypatch: pytest.MonkeyPatch) -> None:
    text = golden.rendered(bb)
    monkeypatch.setattr(
        golden, "rendered", lambda _: {**text, "vrf/frr.txt": text["vrf/frr.txt"] + "!\n"}
    )
    assert golden.changed(bb) == ["vrf/frr.txt"]


@pytest.mark.parametrize("platform", golden.PLATFORM_NAMES)
def test_qinq_carries_the_c_tag_after_the_s_tag(rendered: dict[str, str], platform: str) -> None:
    assert "7" in rendered[f"onramp_interface/{platform}.qinq.txt"].split("120", 1)[1]


@pytest.mark.parametrize("platform", golden.PLATFORM_NAMES)
@pytest.mark.parametrize("feature", ["backbone", *SERVICE_FEATURES])
def test_a_missing_value_is_an_error_not_an_empty_line(
    bb: Backbone, platform: str, feature: str
) -> None:
    data = (intent.backbone(bb, golden.ROUTER[platform]) if feature == "backbone"
            else golden.case(bb, platform))  # fmt: skip
    needed = {
        "backbone": "isis",
        "vrf": "vrf",
        "onramp_interface": "interfaces",
        "qos": "interfaces",
    }
    broken = {k: v for k, v in data.items() if k != needed.get(feature, "neighbors")}
    with pytest.raises(OnrampError) as exc:
        render(feature, platform, broken)
    assert exc.value.code == "ONR-TPL-001"  # naming the file, its line and the value
    assert re.match(rf"templates/{feature}/{platform}\.j2 line \d+: '\w+' is undefined",
                    exc.value.reason), exc.value.reason  # fmt: skip
