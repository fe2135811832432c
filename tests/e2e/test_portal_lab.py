"""The Portal on the lab-backed demo: `onramp demo --via api --serve` tells the story (its
own lab, simulators, workers), then stays up; a customer signs in to the Portal in headless
Chromium with acme's key, sees the demo's Connectors and Link active, orders one more AWS
Connector in the page and watches it reach active through the real workers, the AWS
simulator and the pyATS gate on the lab's routers. Screenshots: tests/api/screenshots/."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests

from ..browser import HAVE_BROWSER, browser, rows, shot, sign_in, until
from .conftest import leftovers, served_demo

if not HAVE_BROWSER:
    pytest.skip("needs chromium and chromium-driver: run `make deps`", allow_module_level=True)

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

__all__ = ["browser"]  # the fixture, used by name
LAB, OCTET = "tpl", 55


def test_order_in_the_portal_and_watch_it_become_active(browser: Any, tmp_path: Path) -> None:
    with served_demo(LAB, tmp_path, OCTET) as served:
        url, key, aws_lan = served.url, served.key, served.lans["aws-dx-par"]
        sign_in(browser, url, key)
        # the demo's story, as the customer sees it
        until(lambda: len([r for r in rows(browser) if " active" in r]) == 2)
        until(lambda: [r for r in rows(browser, "link-rows") if "active" in r])
        Select(browser.find_element(By.ID, "onramp")).select_by_value("aws-dx-par")
        Select(browser.find_element(By.ID, "kind")).select_by_value("aws-hosted-vif")
        browser.find_element(By.ID, "prefixes").send_keys(str(aws_lan))
        browser.find_element(By.ID, "fact-aws_account").send_keys("210987654321")
        before = {r[:8] for r in rows(browser)}
        browser.find_element(By.ID, "order-button").click()
        start = time.monotonic()
        (row,) = until(lambda: [r for r in rows(browser) if r[:8] not in before])
        assert " active" not in row, row  # just ordered: the workers have it now
        shot(browser, "lab-1-ordered")
        until(lambda: all(" active" in r for r in rows(browser)), 180)
        took = time.monotonic() - start
        shot(browser, "lab-2-active")
        (made,) = [c for c in requests.get(f"{url}/v1/connectors", timeout=10,
                                           headers={"X-API-Key": key}).json()["items"]
                   if c["id"][:8] not in before]  # fmt: skip
        shown = requests.get(f"{url}/v1/connectors/{made['id']}", timeout=10,
                             headers={"X-API-Key": key}).json()  # fmt: skip
        steps = [(h["to"], h["actor"].split(":")[0]) for h in shown["history"]]
        assert steps[-3:] == [("configuring", "worker"), ("verifying", "worker"),
                              ("active", "worker")], steps  # fmt: skip
        assert made["request"]["aws_account"] == "210987654321"

        # the demo's workers measure every 10 s: the Link's quality, the Connectors' traffic
        click = "document.querySelector(arguments[0]).click();"
        browser.execute_script(click, "#link-rows tr button.kpis")  # the demo's Link: KPIs
        until(lambda: len(browser.find_elements(By.CSS_SELECTOR, "#charts svg")) == 3, 60)
        assert "availability 100 %" in browser.find_element(By.ID, "monitor-facts").text
        browser.execute_script("document.getElementById('monitor').scrollIntoView();")
        shot(browser, "lab-3-link-kpis")
        browser.execute_script(click, f"#connector-rows tr[data-id='{made['id']}'] button.traffic")
        until(lambda: "Established" in browser.find_element(By.ID, "monitor-facts").text
              and browser.find_elements(By.CSS_SELECTOR, "#charts svg[data-title^='bitrate']"), 60)  # fmt: skip
        browser.execute_script("document.getElementById('monitor').scrollIntoView();")
        shot(browser, "lab-4-connector-traffic")
        print(f"ordered in the Portal -> shown active: {took:.1f} s")
    assert served.process.returncode == 0, served.log.read_text()[-3000:]
    assert leftovers(LAB) == []
