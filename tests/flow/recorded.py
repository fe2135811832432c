"""The topology as recorded from the ted lab's routers (tests/validation/recorded/): one
router's copy of the IS-IS database, or several (isis-copies/<case>/<router>/), with
every router healthy unless a test says otherwise."""

from __future__ import annotations

from pathlib import Path

from onramp.core.shapes import IgpDatabase, TopologyView
from onramp.validation.parsers.frr import ShowIsisDatabase

RECORDED = Path(__file__).parent.parent / "validation" / "recorded"
DAEMONS = ("zebra", "isisd", "bgpd")


def database(folder: Path) -> IgpDatabase:
    db: IgpDatabase = ShowIsisDatabase(device=None).parse(
        output=(folder / "database.txt").read_text(),
        hostnames=(folder / "hostname.txt").read_text(),
    )
    return db


def copies(case: str) -> dict[str, IgpDatabase]:
    """Each router's copy of one moment's database: router -> its copy."""
    return {d.name: database(d) for d in sorted((RECORDED / "isis-copies" / case).iterdir())}


def healthy(db: IgpDatabase, rrs: list[str]) -> TopologyView:
    """A topology of `db` where every router answered with every daemon and iBGP up."""
    nodes = db["nodes"]
    rr_ids = [nodes[r]["router_id"] for r in rrs]
    return {"source": "recorded", "read_at": "", "age_s": 0.0, "read_s": 0.0, "nodes": nodes,
            "health": {n: {"reachable": True, "daemons": dict.fromkeys(DAEMONS, True),
                           "rr_sessions": dict.fromkeys(rr_ids, "Established"), "error": ""}
                       for n in nodes},
            "load": {}}  # fmt: skip


def topology(case: str, rrs: list[str]) -> TopologyView:
    return healthy(database(RECORDED / "isis" / case), rrs)
