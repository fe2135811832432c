"""The error codes as a type: `errors.Code` lists exactly the catalogue's codes, so mypy
refuses an `OnrampError` with a code the catalogue does not have."""

from __future__ import annotations

from itertools import groupby
from typing import get_args

from onramp.core.errors import _SPECS, CATALOGUE, Code


def literal(codes: list[str]) -> str:
    """The `Code = Literal[...]` text for errors.py: one line per family."""
    ordered = sorted(codes, key=lambda c: (c.rsplit("-", 1)[0], c))
    lines = [" ".join(f'"{c}",' for c in family)
             for _, family in groupby(ordered, key=lambda c: c.rsplit("-", 1)[0])]  # fmt: skip
    return "Code = Literal[\n" + "".join(f"    {line}\n" for line in lines) + "]\n"


def test_code_is_the_catalogue() -> None:
    declared = list(get_args(Code))
    assert sorted(declared) == sorted(CATALOGUE), "paste into errors.py:\n" + literal(
        list(CATALOGUE)
    )
    assert len(set(declared)) == len(declared)


def test_every_code_is_in_the_catalogue_once() -> None:
    assert len(_SPECS) == len(CATALOGUE)
