"""The BGP-LS source's parsers (IOS-XR `show bgp link-state link-state detail`, Junos
`show route table lsdist.0 extensive`) on outputs written per case from the vendors'
documented formats for the default lab's backbone (tests/validation/recorded/bgp_ls/
<platform>/<case>/output.txt; not recorded from a live router: nothing here speaks
BGP-LS). They must give the same normalized database as the IS-IS parser on the lab's
own recorded database, so the edge choice cannot tell the sources apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from onramp.core.errors import OnrampError
from onramp.core.shapes import IgpDatabase
from onramp.flow import topology
from onramp.flow.edges import graph, reaches
from onramp.network.inventory import load
from onramp.network.platforms import PLATFORMS
from onramp.validation.parsers.bgp_ls import PARSERS
from onramp.validation.parsers.frr import ShowIsisDatabase

RECORDED = Path(__file__).parent / "recorded"
SPEAKERS = sorted(p for p, plat in PLATFORMS.items() if plat.bgp_ls)


def bgp_ls(platform: str, case: str) -> IgpDatabase:
    output = (RECORDED / "bgp_ls" / platform / case / "output.txt").read_text()
    db: IgpDatabase = PARSERS[platform](device=None).parse(output=output)
    return db


def isis(case: str) -> IgpDatabase:
    d = RECORDED / "isis" / case
    db: IgpDatabase = ShowIsisDatabase(device=None).parse(
        output=(d / "database.txt").read_text(), hostnames=(d / "hostname.txt").read_text()
    )
    return db


def test_every_bgp_ls_platform_has_a_parser() -> None:
    assert SPEAKERS == sorted(PARSERS) == ["iosxr", "junos"]


@pytest.mark.parametrize("platform", SPEAKERS)
def test_the_same_graph_as_the_isis_database(platform: str) -> None:
    """The same nodes, overload bits and metrics; not the LSP sequence numbers, which
    BGP-LS does not carry (one copy per node: BGP's best path)."""

    def graph(db: IgpDatabase) -> dict[str, dict[str, object]]:
        return {n: {k: v for k, v in node.items() if k != "seq"} for n, node in db["nodes"].items()}

    assert graph(bgp_ls(platform, "default")) == graph(isis("default"))


@pytest.mark.parametrize("platform", SPEAKERS)
def test_overload_bit_and_a_link_one_end_withdrew(platform: str) -> None:
    nodes = bgp_ls(platform, "overload")["nodes"]
    assert [n for n, node in nodes.items() if node["overload"]] == ["pe1-lon"]
    # pe1-lon no longer announces its link to p1-fra; p1-fra still does
    assert nodes["pe1-lon"]["neighbors"] == {"p1-par": 30}
    assert nodes["p1-fra"]["neighbors"]["pe1-lon"] == 50
    g = graph(nodes)
    assert not g.has_edge("p1-fra", "pe1-lon") and g.has_edge("pe1-lon", "p1-par")
    assert reaches(g, "pe1-lon", ["p1-fra"])  # through p1-par


@pytest.mark.parametrize("platform", SPEAKERS)
def test_prefix_nlris_do_not_touch_the_links(platform: str) -> None:
    """Each router's loopback prefix (metric 0) follows its links in the outputs."""
    nodes = bgp_ls(platform, "default")["nodes"]
    assert all(m > 0 for node in nodes.values() for m in node["neighbors"].values())


def test_a_backbone_without_a_bgp_ls_speaker_is_refused_before_connecting() -> None:
    bb = load(Path(__file__).parents[2] / "inventory")  # P routers on FRR: no BGP-LS
    with pytest.raises(OnrampError) as exc:
        topology.SOURCES["bgp-ls"](bb, None)  # type: ignore[arg-type]  # never reached
    assert exc.value.code == "ONR-TOPO-002" and "p1-par (frr)" in exc.value.reason
