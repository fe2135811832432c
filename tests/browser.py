"""Headless Chromium for the Portal's tests (Debian's chromium + chromium-driver, driven
by selenium): the `browser` fixture, waiting for what the page shows, and the screenshot
folder (tests/api/screenshots/, not kept in git). Modules that use it skip themselves
when the browser is missing (`make deps` installs it)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HAVE_BROWSER = bool(shutil.which("chromium") and shutil.which("chromedriver"))
SHOTS = Path(__file__).parent / "api" / "screenshots"


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1280,900"):  # fmt: skip
        options.add_argument(arg)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver") or "")
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def until(check: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if got := check():
            return got
        time.sleep(0.1)
    raise AssertionError("the page never showed it")


def sign_in(browser: Any, url: str, key: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(url + "/")
    browser.find_element(By.ID, "key").send_keys(key)
    browser.find_element(By.ID, "signin").click()
    until(lambda: browser.find_element(By.ID, "connectors").is_displayed())
    # every call of the sign-in has answered: a check that something is absent means it
    until(lambda: browser.execute_script("return document.body.dataset.ready === '1';"))


def rows(browser: Any, table: str = "connector-rows") -> list[str]:
    """The rows' text, read in one script: the page redraws its tables every 2 s, and an
    element found before a redraw is stale after it."""
    script = "return [...document.querySelectorAll(arguments[0])].map(r => r.innerText);"
    texts: list[str] = browser.execute_script(script, f"#{table} tr")
    return [" ".join(t.split()) for t in texts]


def shot(browser: Any, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(SHOTS / f"{name}.png"))
