"""What a Link changes on a router that already holds Connectors, as FRR's own frr-reload
diffs it (`--test --input`, the dry run's diff; it needs no daemon): adding a Link only adds
lines, so the commit takes the one-pass way (napalm_frr: no "Lines To Delete", no `no ...`
among the additions); adding a second Link leaves the first one's lines alone; removing
them puts the router back exactly as it was; a prefix two Links bring (a drain's old and
new Link) keeps its line, at its number, whichever of them goes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from onramp.core.model import LinkRequest, State
from onramp.core.secrets import Vault
from onramp.core.store import ConnectorRow, LinkRow, Store
from onramp.flow import allocate as al
from onramp.flow.render import Change
from onramp.network.inventory import Backbone
from onramp.network.templates import router_config

from .test_allocation import req
from .test_intended import on, set_state

FRR_RELOAD = shutil.which("frr-reload.py") or "/usr/lib/frr/frr-reload.py"
pytestmark = pytest.mark.skipif(not Path(FRR_RELOAD).exists(), reason="FRR not installed")
ROUTER = "pe1-par"


def config(store: Store, bb: Backbone, vault: Vault, change: Change | None = None) -> str:
    return router_config(bb, ROUTER, on(store, bb, vault, ROUTER, change))


def diff(tmp: Path, running: str, candidate: str) -> tuple[list[str], list[str]]:
    """frr-reload's (lines to delete, lines to add) from `running` to `candidate`."""
    (tmp / "running.conf").write_text(running)
    (tmp / "candidate.conf").write_text(candidate)
    out = subprocess.run(
        [FRR_RELOAD, "--test", "--stdout", "--input", str(tmp / "running.conf"),
         str(tmp / "candidate.conf")],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    sections: dict[str, list[str]] = {"Lines To Delete": [], "Lines To Add": []}
    where: list[str] | None = None
    for line in out.splitlines():
        if line in sections:
            where = sections[line]
        elif where is not None and line.strip() and not set(line) <= {"="}:
            where.append(line.strip())
    return sections["Lines To Delete"], sections["Lines To Add"]


def additions_only(tmp: Path, running: str, candidate: str) -> list[str]:
    """The lines added, after checking nothing is deleted the way napalm_frr's commit
    judges it: no line to delete, no `no ...` among the adds the candidate lacks."""
    deleted, added = diff(tmp, running, candidate)
    mine = {line.strip() for line in candidate.splitlines()}
    assert deleted == [], deleted
    assert [a for a in added if a.startswith("no ") and a not in mine] == [], added
    return added


def test_adding_links_only_adds_and_removing_them_restores_the_router(
    store: Store, backbone: Backbone, vault: Vault, tmp_path: Path
) -> None:
    aws = al.create_connector(store, backbone, req("aws", prefixes=["10.1.0.0/16"]), vault)
    ent = al.create_connector(store, backbone, req("ent"), vault)  # 192.168.10.0/24
    ent2 = al.create_connector(
        store, backbone, req("ent", customer_asn=65202, prefixes=["172.16.0.0/16"]), vault
    )
    for c in (aws, ent, ent2):
        set_state(store, ConnectorRow, c["id"], State.ACTIVE)
    alone = config(store, backbone, vault)  # three Connectors, no Link

    def link(a: str, b: str) -> str:
        lk = al.create_link(
            store, backbone, LinkRequest(tenant="acme", a=a, b=b, bandwidth_mbps=50)
        )
        return str(lk["id"])

    # the first Link: AWS <-> the first site
    first = link(aws["id"], ent["id"])
    planned = config(store, backbone, vault, Change(add_links=frozenset({first})))
    added = additions_only(tmp_path, alone, planned)
    assert f"ip prefix-list {aws['vrf']}-out seq" in " ".join(added)  # the site's routes
    set_state(store, LinkRow, first, State.ACTIVE)
    one = config(store, backbone, vault)
    assert one == planned  # re-planning an active Link changes nothing
    assert diff(tmp_path, one, config(store, backbone, vault)) == ([], [])

    # a second Link on the same AWS Connector, whose site's prefix sorts before the first's
    second = link(aws["id"], ent2["id"])
    planned = config(store, backbone, vault, Change(add_links=frozenset({second})))
    added = additions_only(tmp_path, one, planned)
    assert not any("192.168.10.0" in a for a in added)  # the first Link's entry stays as it is
    set_state(store, LinkRow, second, State.ACTIVE)
    two = config(store, backbone, vault)

    # removing the first leaves the second's entries where they are; removing both: as before
    without_first = config(store, backbone, vault, Change(remove_links=frozenset({first})))
    deleted, added = diff(tmp_path, two, without_first)
    assert not any("172.16.0.0" in line for line in deleted + added), (deleted, added)
    both = Change(remove_links=frozenset({first, second}))
    assert config(store, backbone, vault, both) == alone


def test_a_prefix_two_links_bring_stays_where_it_is_when_either_goes(
    store: Store, backbone: Backbone, vault: Vault, tmp_path: Path
) -> None:
    """A drain's make-before-break: the site's replacement Connector announces the same
    prefix, linked to the same AWS Connector, before the old Link goes. Removing either
    Link must not touch the AWS side's line for that prefix: a line moved to another
    number is deleted, then added, and the cloud loses the route in between."""
    aws = al.create_connector(store, backbone, req("aws", prefixes=["10.1.0.0/16"]), vault)
    site = al.create_connector(store, backbone, req("ent"), vault)  # 192.168.10.0/24
    again = al.create_connector(store, backbone, req("ent", customer_asn=65202), vault)
    for c in (aws, site, again):
        set_state(store, ConnectorRow, c["id"], State.ACTIVE)
    links = []
    for other in (site, again):
        lk = al.create_link(
            store,
            backbone,
            LinkRequest(tenant="acme", a=aws["id"], b=other["id"], bandwidth_mbps=50),
        )
        set_state(store, LinkRow, lk["id"], State.ACTIVE)
        links.append(str(lk["id"]))
    both = config(store, backbone, vault)
    (line,) = [ln for ln in both.splitlines() if f"{aws['vrf']}-out" in ln and "192.168.10.0" in ln]
    for going in links:
        without = config(store, backbone, vault, Change(remove_links=frozenset({going})))
        assert line in without.splitlines()
        deleted, added = diff(tmp_path, both, without)
        assert not [ln for ln in deleted + added if "192.168.10.0" in ln], (deleted, added)
    # the last Link that brings it gone: its line goes too
    gone = config(store, backbone, vault, Change(remove_links=frozenset(links)))
    assert line not in gone.splitlines()
