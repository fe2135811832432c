"""The Portal in headless Chromium (Debian's chromium + chromium-driver, selenium): sign
in with a key, order a Connector and see it listed with its state, see its history, a
refusal shown with its code, another tenant's key showing none of it. A screenshot of each
main page goes to tests/api/screenshots/ (not kept in git)."""

from __future__ import annotations

from typing import Any

import pytest

from onramp.core.store import ConnectorRow, move, now

from ..browser import HAVE_BROWSER, browser, rows, shot, sign_in, until
from .conftest import AWS as AWS_ORDER
from .conftest import Api

if not HAVE_BROWSER:
    pytest.skip("needs chromium and chromium-driver: run `make deps`", allow_module_level=True)

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

__all__ = ["browser"]  # the fixture, used by name


def test_order_a_connector_and_watch_it_in_the_portal(browser: Any, api: Api) -> None:
    browser.get(api.url + "/")
    shot(browser, "1-sign-in")
    browser.find_element(By.ID, "key").send_keys("onr_nothere_x")
    browser.find_element(By.ID, "signin").click()
    assert "ONR-API-001" in until(lambda: browser.find_element(By.ID, "login-error").text)
    browser.find_element(By.ID, "key").clear()
    sign_in(browser, api.url, api.keys["acme"])

    Select(browser.find_element(By.ID, "onramp")).select_by_value("aws-dx-par")
    Select(browser.find_element(By.ID, "kind")).select_by_value("aws-hosted-vif")
    browser.find_element(By.ID, "prefixes").send_keys("10.100.0.0/24")
    browser.find_element(By.ID, "fact-aws_account").send_keys("12345")  # too short
    browser.find_element(By.ID, "order-button").click()
    error = until(lambda: browser.find_element(By.ID, "order-error").text)
    assert "ONR-REQ-008" in error and "aws_account" in error
    field = browser.find_element(By.ID, "fact-aws_account")
    field.clear()
    field.send_keys("123456789012")
    before = set(c["id"] for c in api.svc.connectors("acme"))
    browser.find_element(By.ID, "order-button").click()
    (made,) = until(lambda: [c for c in api.svc.connectors("acme") if c["id"] not in before])
    assert ("connector", made["id"]) in api.submitted  # the Portal went through /v1
    row = until(lambda: [r for r in rows(browser) if r.startswith(made["id"][:8])])[0]
    assert "allocated" in row and "pe1-par" in row
    # the workers take it to active: the Portal's refresh shows it
    api.svc.store.transact(
        lambda s: move(s, s.get(ConnectorRow, made["id"]), "active", "test", "made")
    )
    until(lambda: any(r.startswith(made["id"][:8]) and "active" in r for r in rows(browser)))
    shot(browser, "2-connectors")
    # found and clicked in one script: a redraw between the two would leave it stale
    browser.execute_script("document.querySelector(arguments[0]).click();",
                           f"#connector-rows tr[data-id='{made['id']}'] button.history")  # fmt: skip
    text = until(lambda: browser.find_element(By.ID, "history").text)
    assert "requested" in text and "active" in text
    shot(browser, "3-history")


def test_another_tenant_sees_none_of_it(browser: Any, api: Api) -> None:
    """Acme's Connectors (one ordered here, so the check never runs on none) are not in
    globex's Portal once every call of its sign-in has answered."""
    api.call("POST", "/v1/connectors", json=AWS_ORDER).raise_for_status()
    mine = {c["id"][:8] for c in api.svc.connectors("acme")}
    sign_in(browser, api.url, api.keys["globex"])
    assert not [r for r in rows(browser) if r[:8] in mine]


def test_a_links_kpis_are_plotted_against_its_sla(browser: Any, api: Api) -> None:
    """Windows stored the way a monitoring round stores them (monitor.record: the SLA
    judged, a breach opened and closed); the Portal plots latency, jitter and loss with the
    SLA line and the breach shaded."""
    from datetime import timedelta

    from onramp.flow import monitor

    a, b = (api.call("POST", "/v1/connectors", json=AWS_ORDER).json() for _ in range(2))
    for c in (a, b):
        api.svc.store.transact(
            lambda s, i=c["id"]: move(s, s.get(ConnectorRow, i), "active", "test", "made")
        )
    link = api.call("POST", "/v1/links", json={"a": a["id"], "b": b["id"], "bandwidth_mbps": 100})
    lid = link.json()["id"]
    start = now() - timedelta(minutes=10)
    for n, lost in enumerate([0, 0, 30, 25, 0, 0]):  # windows a minute apart; 2 over the SLA
        w = monitor.Window(lid, 100, 100 - lost, 0.2 + n / 10, 0.3 + n / 10, 0.05)
        monitor.record(api.svc, [w], start + timedelta(minutes=n))
    sign_in(browser, api.url, api.keys["acme"])
    row = f"#link-rows tr[data-id='{lid}'] button.kpis"
    until(lambda: browser.find_elements(By.CSS_SELECTOR, row))  # the list is drawn after sign-in
    browser.execute_script("document.querySelector(arguments[0]).click();", row)
    until(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#charts svg")) == 3)
    titles = [
        e.get_attribute("data-title") for e in browser.find_elements(By.CSS_SELECTOR, "#charts svg")
    ]
    assert titles == ["latency", "jitter", "loss"]
    loss_chart = browser.find_element(By.CSS_SELECTOR, "#charts svg[data-title='loss']")
    assert len(loss_chart.find_elements(By.CSS_SELECTOR, "rect.breach")) == 1
    assert loss_chart.find_elements(By.CSS_SELECTOR, "line.sla")  # silver: 0.5 %
    facts = browser.find_element(By.ID, "monitor-facts").text
    assert "6 windows" in facts and "SLA met 66.667 %" in facts
    assert "breach loss" in browser.find_element(By.ID, "monitor-events").text
    shot(browser, "4-link-kpis")


def test_a_connectors_traffic_is_plotted_against_its_rate_and_at_its_limit(
    browser: Any, api: Api
) -> None:
    """Counter samples stored as a monitoring round stores them: a 100 Mb/s Connector at
    97, 98, 99 Mb/s toward its cloud. Its traffic plot has a line at its rate, and the
    Portal flags it as running at its limit."""
    from datetime import timedelta

    from onramp.core.store import TrafficSampleRow

    c = api.call("POST", "/v1/connectors", json=AWS_ORDER).json()
    api.svc.store.transact(lambda s: move(s, s.get(ConnectorRow, c["id"]), "active", "t", "made"))
    start, tx = now() - timedelta(minutes=10), 0
    for n, mbps in enumerate([0, 40, 97, 98, 99]):
        tx += int(mbps * 1e6 * 60 / 8)
        api.svc.store.transact(lambda s, n=n, tx=tx: s.add(TrafficSampleRow(
            connector_id=c["id"], at=start + timedelta(minutes=n), router="pe1-par",
            interface="eth3.2", rx_octets=0, tx_octets=tx)))  # fmt: skip
    sign_in(browser, api.url, api.keys["acme"])
    row = f"#connector-rows tr[data-id='{c['id']}'] button"
    until(lambda: browser.find_elements(By.CSS_SELECTOR, row))
    browser.execute_script(
        "[...document.querySelectorAll(arguments[0])].find(b => b.textContent === 'traffic')"
        ".click();", row)  # fmt: skip
    (plot,) = until(lambda: browser.find_elements(By.CSS_SELECTOR, "#charts svg"))
    assert plot.get_attribute("data-title") == "bitrate pe1-par eth3.2"
    assert plot.find_elements(By.CSS_SELECTOR, "line.rate")  # the configured rate
    assert "rate 100 Mb/s" in plot.text
    facts = browser.find_element(By.ID, "monitor-facts")
    assert facts.text.startswith("AT ITS LIMIT: rate 100 Mb/s")
    assert "at-limit" in (facts.get_attribute("class") or "")
    shot(browser, "7-connector-at-its-limit")


def test_engineers_see_compliance_tenants_do_not(browser: Any, api: Api) -> None:
    from onramp.core.store import ComplianceReportRow

    report = {"at": now().isoformat(), "score": 50.0, "compliant": False, "routers": {
        "pe1-par": {"platform": "frr", "score": 88.9, "features": {
            "static": {"compliant": False, "missing": [], "extra": ["ip route 10.9.0.0/16 Null0"]},
            "bgp_core": {"compliant": True, "missing": [], "extra": []}}},
        "p1-par": {"error": "unreachable"}}}  # fmt: skip
    api.svc.store.transact(lambda s: s.add(ComplianceReportRow(
        at=now(), score=50.0, compliant=False, report=report)))  # fmt: skip
    sign_in(browser, api.url, api.keys["admin"])
    until(lambda: browser.find_element(By.ID, "compliance").is_displayed())
    assert "NOT compliant" in browser.find_element(By.ID, "compliance-summary").text
    assert rows(browser, "compliance-rows") == ["pe1-par 88.9 % static", "p1-par - unreachable"]
    browser.execute_script("document.getElementById('compliance').scrollIntoView();")
    shot(browser, "5-compliance")
    browser.find_element(By.ID, "logout").click()
    sign_in(browser, api.url, api.keys["acme"])
    assert not browser.find_element(By.ID, "compliance").is_displayed()


def test_an_enterprise_connectors_router_config_in_the_portal(browser: Any, api: Api) -> None:
    """An enterprise Connector has a "router config" button: the customer picks its
    router's OS and gets the configuration (key included) to read and download."""
    ent = {"onramp": "ent-par", "kind": "enterprise", "bandwidth_mbps": 100,
           "customer_asn": 65101, "prefixes": ["192.168.10.0/24"]}  # fmt: skip
    made = api.call("POST", "/v1/connectors", json=ent).json()
    sign_in(browser, api.url, api.keys["acme"])
    until(lambda: [r for r in rows(browser) if r.startswith(made["id"][:8])])
    browser.execute_script("document.querySelector(arguments[0]).click();",
                           f"#connector-rows tr[data-id='{made['id']}'] button.router-config")  # fmt: skip
    Select(browser.find_element(By.ID, "customer-platform")).select_by_value("frr")
    browser.find_element(By.ID, "customer-config-show").click()
    text = until(lambda: browser.find_element(By.ID, "customer-config-text").text)
    assert "router bgp 65101" in text and "password" in text
    link = browser.find_element(By.ID, "customer-config-download")
    assert link.get_attribute("download") == f"onramp-{made['id'][:8]}-frr.conf"
    shot(browser, "6-customer-config")
    assert [r["platform"] for r in api.svc.reveals(made["id"])] == ["frr"]


def test_delete_in_the_portal_refuses_a_linked_connector_and_decommissions_a_link(
    browser: Any, api: Api
) -> None:
    """The Portal's delete buttons call DELETE /v1/...: a Connector in a live Link is refused
    with its code shown; the Link goes to decommissioning (the workers remove it)."""
    from selenium.common.exceptions import NoAlertPresentException

    order = {**AWS_ORDER, "tenant": "acme"}
    a, b = (api.svc.create_connector(api.svc.connector_request(order)) for _ in range(2))
    for c in (a, b):  # as the workers leave them
        api.svc.store.transact(lambda s, c=c: move(s, s.get(ConnectorRow, c["id"]), "active", "t"))
    link = api.svc.create_link(api.svc.link_request(
        {"tenant": "acme", "a": a["id"], "b": b["id"], "bandwidth_mbps": 100}))  # fmt: skip
    sign_in(browser, api.url, api.keys["acme"])
    until(lambda: any(r.startswith(link["id"][:8]) for r in rows(browser, "link-rows")))

    def delete(table: str, ident: str) -> None:
        browser.execute_script(
            "[...document.querySelectorAll(arguments[0])].find(b => b.textContent === 'delete')"
            ".click();", f"#{table} tr[data-id='{ident}'] button")  # fmt: skip

    def alert() -> Any:
        try:
            return browser.switch_to.alert
        except NoAlertPresentException:
            return None

    delete("connector-rows", a["id"])
    shown = until(alert)
    assert "ONR-REQ-015" in shown.text and "delete its Links first" in shown.text
    shown.accept()
    assert api.svc.connector(a["id"])["state"] == "active"
    delete("link-rows", link["id"])
    until(lambda: any(r.startswith(link["id"][:8]) and "decommissioning" in r
                      for r in rows(browser, "link-rows")))  # fmt: skip
    assert api.submitted[-1] == ("link", link["id"])  # handed to the workers
    shot(browser, "4-decommissioning")


def test_a_connectors_prefixes_changed_in_the_portal(browser: Any, api: Api) -> None:
    """The row's `prefixes` action asks for the whole list and PATCHes it with the ETag
    it read: the Connector goes modifying with the new list recorded."""
    made = api.call("POST", "/v1/connectors", json={**AWS_ORDER, "prefixes": ["10.100.0.0/24"]})
    ident = made.json()["id"]
    api.svc.store.transact(lambda s: move(s, s.get(ConnectorRow, ident), "active", "test", "made"))
    browser.get(api.url + "/")
    sign_in(browser, api.url, api.keys["acme"])
    until(lambda: any(r.startswith(ident[:8]) and "active" in r for r in rows(browser)))
    browser.execute_script("document.querySelector(arguments[0]).click();",
                           f"#connector-rows tr[data-id='{ident}'] button.prefixes")  # fmt: skip
    ask = until(lambda: _alert(browser))
    assert ask.text.startswith("Prefixes you announce")
    ask.send_keys("10.100.0.0/24 10.101.0.0/24")
    ask.accept()
    changed = until(lambda: (c := api.svc.connector(ident))["state"] == "modifying" and c)
    assert changed["change"]["to_prefixes"] == ["10.100.0.0/24", "10.101.0.0/24"]
    assert ("connector", ident) in api.submitted  # through /v1, handed to the workers


def _alert(browser: Any) -> Any:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        return browser.switch_to.alert
    except NoAlertPresentException:  # no prompt open yet
        return None


def test_an_order_without_prefixes_says_how_to_add_them(browser: Any, api: Api) -> None:
    """Prefixes are optional, and none means the router accepts no route from the cloud
    (its inbound filter lists what was declared): the Portal says so when the order is
    taken, and says nothing of it when prefixes were given."""
    sign_in(browser, api.url, api.keys["acme"])
    note = browser.find_element(By.ID, "order-note")
    for prefixes, account in (("", "111122223333"), ("10.100.0.0/24", "111122224444")):
        Select(browser.find_element(By.ID, "onramp")).select_by_value("aws-dx-par")
        Select(browser.find_element(By.ID, "kind")).select_by_value("aws-hosted-vif")
        browser.find_element(By.ID, "prefixes").clear()
        browser.find_element(By.ID, "prefixes").send_keys(prefixes)
        browser.find_element(By.ID, "fact-aws_account").clear()
        browser.find_element(By.ID, "fact-aws_account").send_keys(account)
        before = {c["id"] for c in api.svc.connectors("acme")}
        browser.find_element(By.ID, "order-button").click()
        (made,) = until(
            lambda b=before: [c for c in api.svc.connectors("acme") if c["id"] not in b]
        )
        if not prefixes:
            text = until(lambda: note.text)
            assert made["id"][:8] in text and "no route" in text and "prefixes" in text, text
            shot(browser, "4-order-without-prefixes")
        else:
            until(lambda: browser.execute_script("return document.body.dataset.ready === '1';"))
            assert note.text == "", note.text
