"""The Portal in headless Chromium (Debian's chromium + chromium-driver, selenium): sign
in with a key, order a Connector and see it listed with its state, see its history, a
refusal shown with its code, another tenant's key showing none of it. A screenshot of each
main page goes to tests/api/screenshots/ (not kept in git)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from onramp.store import ConnectorRow, move

from ..browser import HAVE_BROWSER, browser, rows, shot, sign_in, until
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
                           f"#connector-rows tr[data-id='{made['id']}'] button")  # fmt: skip
    text = until(lambda: browser.find_element(By.ID, "history").text)
    assert "requested" in text and "active" in text
    shot(browser, "3-history")


def test_another_tenant_sees_none_of_it(browser: Any, api: Api) -> None:
    mine = {c["id"][:8] for c in api.svc.connectors("acme")}
    sign_in(browser, api.url, api.keys["globex"])
    time.sleep(0.5)  # the first refresh has run
    assert not [r for r in rows(browser) if r[:8] in mine]
