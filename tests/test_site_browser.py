"""What a reader sees in a real browser: Debian's headless chromium on the built invented archive.

One browser session for every check, served from a loopback HTTP server.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from monitor.site import build_site, story_path

pytestmark = pytest.mark.browser

if not (os.path.exists("/usr/bin/chromium") and os.path.exists("/usr/bin/chromedriver")):
    pytest.skip("needs /usr/bin/chromium and /usr/bin/chromedriver", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
sys.path.insert(0, str(Path(__file__).parent))  # the invented archive lives in test_site.py
from test_site import HOSTILE_TITLE, NOW, fixture_archive  # noqa: E402

REL = {"nofollow", "noopener", "noreferrer"}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    stories, feeds = fixture_archive()
    site = tmp / "site"
    build_site(stories, feeds, site_dir=site, work_dir=tmp / "work", title="AI Pause Watch", now=NOW)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={tmp / 'profile'}", "--window-size=1280,1000"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        yield driver, f"http://127.0.0.1:{httpd.server_address[1]}/", stories
    finally:
        driver.quit()
        httpd.shutdown()


def _severe(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_what_a_reader_sees(browser):
    driver, base, stories = browser
    s1, hostile = stories[0], stories[3]

    driver.get(base)
    heads = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "h3.mn-row__title a")]
    assert heads[0] == s1.title
    assert HOSTILE_TITLE in heads  # shown as text, nothing ran
    assert driver.execute_script("return window.__pwned === undefined")
    first = driver.find_element(By.CSS_SELECTOR, "article.mn-row")
    assert "5 outlets" in first.text and "Harbor Tech Daily" in first.text  # the sixth only carries a copy
    assert driver.find_element(By.CSS_SELECTOR, "svg.mn-volume").is_displayed()
    assert not _severe(driver)

    driver.find_element(By.LINK_TEXT, s1.title).click()  # the headline leads to the story page
    assert driver.current_url == base + story_path(s1)
    assert driver.find_element(By.CSS_SELECTOR, ".mn-story h1").text == s1.title
    outlets = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".mn-tl__outlet")]
    assert outlets == ["Harbor Tech Daily", "Northwind Wire", "Meridian Ledger", "Civic Signal", "Orbit Review"]
    facts = driver.find_elements(By.CSS_SELECTOR, "li.mn-fact")
    assert facts[0].find_element(By.CSS_SELECTOR, ".mn-fact__text").text == "40%"
    assert facts[0].find_element(By.CSS_SELECTOR, ".mn-fact__count").text == "reported by 4 of 5 outlets"  # 5 independent outlets, a sixth carries a copy
    links = driver.find_elements(By.CSS_SELECTOR, ".mn-story a[rel]")
    assert len(links) > 10
    for a in links:
        assert a.get_attribute("href").startswith(("http://", "https://"))
        assert set(a.get_attribute("rel").split()) == REL
    copies = driver.find_element(By.CSS_SELECTOR, ".mn-tl__copies")
    assert "Also carried by Lakeside Chronicle" in copies.text
    assert not _severe(driver)

    driver.get(base + story_path(hostile))
    assert driver.find_element(By.CSS_SELECTOR, ".mn-story h1").text == HOSTILE_TITLE
    body = driver.find_element(By.CSS_SELECTOR, ".mn-story").text
    assert "[click](javascript:alert(4))" in body and '--8<-- "/etc/passwd"' in body
    assert not driver.find_elements(By.CSS_SELECTOR, ".mn-story script, .mn-story iframe, .mn-story img")
    for a in driver.find_elements(By.CSS_SELECTOR, ".mn-story a"):
        assert a.get_attribute("href").startswith(("http://", "https://"))
    assert not _severe(driver)

    driver.get(base + "outlets/")
    assert "failing (3 failures)" in driver.find_element(By.CSS_SELECTOR, ".mn-outlets").text
    driver.get(base + "about/")
    assert driver.find_element(By.CSS_SELECTOR, "svg.mn-volume").is_displayed()
    assert not _severe(driver)
