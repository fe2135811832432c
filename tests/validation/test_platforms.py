"""Platforms as data (onramp.network.platforms): what each one names exists, so the code
that asks `PLATFORMS[name].<field>` finds it."""

from __future__ import annotations

from importlib import import_module

import pytest
from hier_config import Platform as HierPlatform

from onramp.core.settings import ROOT
from onramp.network.platforms import PLATFORMS, Platform


@pytest.mark.parametrize("platform", PLATFORMS.values(), ids=lambda p: p.name)
def test_what_a_platform_names_exists(platform: Platform) -> None:
    assert platform.hier_config in HierPlatform.__members__
    assert platform.valid_interface(platform.numbered_interface.format(1))
    if platform.gate_parser is not None:
        parsers = import_module(f"onramp.validation.parsers.{platform.gate_parser}")
        assert parsers.ShowBgpVrfAllSummary and parsers.ShowBgpVrfRoutes
    # the lab runs the whole flow on a platform it runs as itself: commit-confirm, the gate
    assert not platform.lab_native or (platform.commit_confirm and platform.gate_parser)


FEATURES = sorted(
    d.name
    for d in (ROOT / "templates").iterdir()
    if d.is_dir() and (ROOT / "templates" / "ttp" / d.name).is_dir()
)  # the backbone's features (customer/ is the customer's side)
E2E = ROOT / "tests" / "e2e"


def _count(pattern: str, platform: str) -> int:
    return sum(bool(list(ROOT.glob(pattern.format(f=f, p=platform)))) for f in FEATURES)


def _lab(test: str) -> str:
    """Verified in the lab by an end-to-end test, if that test exists."""
    assert (E2E / test).exists(), test
    return f"lab (tests/e2e/{test})"


def cells(p: Platform) -> dict[str, str]:
    """Each capability of one platform and how it was verified, from PLATFORMS and the
    files each capability needs (templates, golden files, TTP, rules, recordings)."""
    no_device = "not verified on a device"
    recorded = sorted(ROOT.glob(f"tests/napalm_{p.napalm_driver}/mocked_data/*/*running_config*"))
    samples = sorted((ROOT / "tests" / "validation" / "recorded").glob(f"{p.name}-*.txt"))
    gate_recorded = p.gate_parser == "frr" and any(
        (ROOT / "tests" / "validation" / "recorded" / "bgp").glob("*/*/*.txt")
    )  # the recorded gate outputs are FRR's
    n = len(FEATURES)

    def share(k: int, how: str) -> str:
        return f"{k}/{n} features; {how}" if k else "no"

    return {
        "rendered": share(
            _count("templates/{f}/{p}.j2", p.name),
            _lab("test_lab.py") if p.lab_native else no_device,
        ),
        "golden-tested": share(_count("validation/golden/{f}/{p}*.txt", p.name), "offline"),
        "parsed back (TTP)": share(
            _count("templates/ttp/{f}/{p}.ttp", p.name),
            "render round trip; recorded device output"
            if recorded
            else "render round trip; hand-made sample in the device's format, " + no_device
            if samples
            else "render round trip only",
        ),
        "syntax-checked offline": f"yes; `{' '.join(p.syntax_check)}`" if p.syntax_check else "no",
        "compliance-checked": (
            f"yes; {_lab('test_compliance.py') if p.lab_native else 'rendered configs, ' + no_device}"
            if (ROOT / "validation" / "compliance" / f"{p.name}.yaml").exists()
            else "no"
        ),
        "deployable with commit-confirm": (
            f"yes; {_lab('test_deploy.py') if p.lab_native else no_device}"
            if p.commit_confirm
            else "no"
        ),
        "gated (BGP gate)": (
            "no"
            if not p.gate_parser
            else f"yes; {_lab('test_deploy.py')}"
            + (", recorded device output" if gate_recorded else "")
            if p.lab_native
            else f"yes; {no_device}"
        ),
        # monitoring reads BGP sessions through the gate's parser and counters through NAPALM
        "monitored": (
            f"yes; {_lab('test_monitor.py') if p.lab_native else no_device}"
            if p.gate_parser
            else "no"
        ),
    }


def matrix() -> str:
    """The README's platform table: a capability per row, a platform per column."""
    columns = {p.name: cells(p) for p in PLATFORMS.values()}
    rows = ["| capability | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for capability in next(iter(columns.values())):
        rows.append(
            f"| {capability} | " + " | ".join(c[capability] for c in columns.values()) + " |"
        )
    return "\n".join(rows) + "\n"


def test_the_readme_platform_matrix_is_true() -> None:
    assert matrix() in (ROOT / "README.md").read_text(), "paste into README.md:\n" + matrix()


def test_the_matrix_follows_the_data() -> None:
    """A platform onramp has nothing for reads "no" everywhere: the cells come from
    PLATFORMS and the files, not from a copy of the table."""
    bare = Platform("vyos", "vyos", "lo", r"eth\d+")
    assert set(cells(bare).values()) == {"no"}
