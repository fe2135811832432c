"""The IS-IS database parser on outputs recorded from lab routers (one folder per case)."""

from __future__ import annotations

from pathlib import Path

import pytest

from onramp.core.shapes import IgpDatabase
from onramp.validation.parsers.frr import ShowDaemons, ShowIsisDatabase

CASES = Path(__file__).parent / "recorded" / "isis"


def parsed(case: str) -> IgpDatabase:
    d = CASES / case
    db: IgpDatabase = ShowIsisDatabase(device=None).parse(
        output=(d / "database.txt").read_text(), hostnames=(d / "hostname.txt").read_text()
    )
    return db


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir()))
def test_every_adjacency_is_announced_by_both_ends(case: str) -> None:
    nodes = parsed(case)["nodes"]
    assert nodes
    for name, node in nodes.items():
        assert node["name"] == name and node["router_id"] and node["system_id"]
        for neighbor in node["neighbors"]:
            assert name in nodes[neighbor]["neighbors"], (name, neighbor)


def test_twelve_routers_named_with_metrics_and_no_overload() -> None:
    nodes = parsed("twelve")["nodes"]
    assert len(nodes) == 12
    assert nodes["pe3"] == {"name": "pe3", "system_id": "0000.0000.0005",
                            "router_id": "10.255.0.5", "overload": False, "seq": 2,
                            "neighbors": {"p1": 10, "p2": 10}}  # fmt: skip
    assert len(nodes["p1"]["neighbors"]) == 11


def test_overload_bit_is_read() -> None:
    nodes = parsed("overload")["nodes"]
    assert nodes["pe1-lon"]["overload"]
    assert not any(n["overload"] for name, n in nodes.items() if name != "pe1-lon")


def test_daemons() -> None:
    assert ShowDaemons(device=None).parse(output=" zebra isisd staticd\n") == {
        "daemons": ["zebra", "isisd", "staticd"]
    }
