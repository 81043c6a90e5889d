"""Debian's headless Chromium through its chromedriver, cut off from every host but this machine.

Every page test runs offline: host names other than 127.0.0.1 do not resolve and any proxied
request goes to a closed port, so a page that needed the internet (a CDN script, a web font)
would fail its test. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
OFFLINE = ("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--proxy-server=http://127.0.0.1:9",
           "--proxy-bypass-list=127.0.0.1")


def start_chromium() -> webdriver.Chrome:
    chromedriver = shutil.which("chromedriver")
    assert chromedriver, "install Debian's chromium and chromium-driver (scripts/setup.sh --test does)"
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1600,1000", *OFFLINE):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(chromedriver), options=options)


def screenshot(driver: webdriver.Chrome, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def foreign_requests(driver: webdriver.Chrome, origin: str) -> list[str]:
    """Resources the page loaded from anywhere but ``origin``."""
    loaded = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    return [url for url in loaded if not url.startswith(origin) and not url.startswith(("data:", "blob:"))]


def wait_until(driver: webdriver.Chrome, condition, seconds: float = 30):
    return WebDriverWait(driver, seconds).until(lambda d: condition(d))
