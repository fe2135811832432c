"""The Portal's engineers' backbone page and the placement tooltip, in headless Chromium
(as tests/api/test_portal.py): a topology recorded from the default lab with pe1-lon's
IS-IS overload bit set (tests/validation/recorded/isis/overload), drawn for an admin key
(6 routers, 9 adjacencies, pe1-lon marked), not for a tenant's; the tenant's Connector
tells why it is on pe2-lon when its PE is hovered. Screenshots go to tests/api/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from onramp.flow.edges import graph

from ..browser import HAVE_BROWSER, browser, rows, shot, sign_in, until
from .conftest import Api, keep_topology, recorded_topology, running_api

if not HAVE_BROWSER:
    pytest.skip("needs chromium and chromium-driver: run `make deps`", allow_module_level=True)

from selenium.webdriver.common.by import By

__all__ = ["browser"]  # the fixture, used by name


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with running_api(tmp_path_factory.mktemp("portal-backbone"),
                     topology={"source": "isis-ssh", "max_age_s": 3600}) as running:  # fmt: skip
        topo = recorded_topology("overload")
        topo["load"]["pe2-lon"] = {"connectors": 3, "used_mbps": 900, "capacity_mbps": 1000}
        keep_topology(running, topo)
        yield running


def test_engineers_see_the_backbone_drawn(browser: Any, api: Api) -> None:
    nodes = recorded_topology("overload")["nodes"]
    links = {frozenset(e) for e in graph(nodes).edges}  # both ends announce it
    assert (len(nodes), len(links)) == (6, 9)  # each PE to both Ps, and P to P
    sign_in(browser, api.url, api.keys["admin"])
    until(lambda: browser.find_element(By.ID, "backbone").is_displayed())
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "#backbone-map g.router"))
    drawn = browser.find_elements(By.CSS_SELECTOR, "#backbone-map g.router")
    assert sorted(g.get_attribute("data-router") for g in drawn) == sorted(nodes)
    lines = browser.find_elements(By.CSS_SELECTOR, "#backbone-map line.adjacency")
    assert {frozenset(x.get_attribute("data-link").split("--")) for x in lines} == links
    assert not browser.find_elements(By.CSS_SELECTOR, "#backbone-map line.adjacency-half")
    marked = browser.find_elements(By.CSS_SELECTOR, "#backbone-map g.router.overloaded")
    assert [g.get_attribute("data-router") for g in marked] == ["pe1-lon"]
    assert marked[0].get_attribute("data-state") == "excluded"
    assert "OVERLOAD" in marked[0].find_element(By.TAG_NAME, "title").get_attribute("textContent")
    pe2 = browser.find_element(By.CSS_SELECTOR, "#backbone-map g.router[data-router='pe2-lon']")
    assert "3 C, 900/1000" in pe2.text  # load per PE: Connectors, used/total Mb/s
    assert browser.find_elements(By.CSS_SELECTOR, "#backbone-legend text")
    assert "pe1-lon (overloaded: IS-IS overload bit set)" in browser.find_element(
        By.ID, "backbone-summary").text  # fmt: skip
    browser.execute_script("document.getElementById('backbone').scrollIntoView();")
    shot(browser, "7-backbone")


def test_a_tenant_key_cannot_open_it(browser: Any, api: Api) -> None:
    sign_in(browser, api.url, api.keys["acme"])
    assert not browser.find_element(By.ID, "backbone").is_displayed()
    assert not browser.find_elements(By.CSS_SELECTOR, "#backbone-map")
    got = api.call("GET", "/v1/topology", who="acme")
    assert got.status_code == 403


def test_hovering_the_pe_says_why_the_connector_is_there(browser: Any, api: Api) -> None:
    ent = {"onramp": "ent-lon", "kind": "enterprise", "bandwidth_mbps": 100,
           "customer_asn": 65101, "prefixes": ["192.168.10.0/24"]}  # fmt: skip
    made = api.call("POST", "/v1/connectors", json=ent).json()
    sign_in(browser, api.url, api.keys["acme"])
    until(lambda: [r for r in rows(browser) if r.startswith(made["id"][:8])])
    # found and hovered in one script: a redraw between the two would leave it stale
    browser.execute_script(
        "document.querySelector(arguments[0]).dispatchEvent(new MouseEvent('mouseenter'));",
        f"#connector-rows tr[data-id='{made['id']}'] td.where")  # fmt: skip
    tip = until(lambda: browser.find_element(By.ID, "placement-tip").text)
    assert "pe2-lon eth4: chosen" in tip
    assert "pe1-lon eth4: not available now" in tip
    assert "overload" not in tip and "[score" not in tip  # the engineers' words stay theirs
    shot(browser, "8-placement-tooltip")
