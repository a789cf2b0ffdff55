"""What a reader sees in a real browser: Debian's headless chromium on the built invented archive.

One built site and one browser session for every check: served from a loopback HTTP server (as `monitor
serve` does) and opened from disk (file://, as the README says a reader may). The accessibility check
injects npm's axe-core (installed by .ci/run into .ci/axe; set AXE_CORE to another axe.min.js).
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
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
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))  # the invented archive lives in test_site.py
from test_site import HOME, HOSTILE_TITLE, NOW, fixture_archive  # noqa: E402

REL = {"nofollow", "noopener", "noreferrer"}
AXE = Path(os.environ.get("AXE_CORE", Path(__file__).parent.parent / ".ci/axe/node_modules/axe-core/axe.min.js"))


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    stories, feeds = fixture_archive()
    site = tmp / "site"
    build_site(stories, feeds, site_dir=site, work_dir=tmp / "work", title="AI Pause Watch", now=NOW, home_stories=HOME)
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
        yield driver, f"http://127.0.0.1:{httpd.server_address[1]}/", stories, site
    finally:
        driver.quit()
        httpd.shutdown()


def _severe(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_what_a_reader_sees(browser):
    driver, base, stories, _ = browser
    s1, hostile = stories[0], stories[3]

    driver.get(base)
    heads = [h.text for h in driver.find_elements(By.CSS_SELECTOR, ".mn-day h3.mn-row__title a")]
    assert heads[0] == s1.title
    assert HOSTILE_TITLE in heads  # shown as text, nothing ran
    assert driver.execute_script("return window.__pwned === undefined")
    top = driver.find_element(By.CSS_SELECTOR, "section.mn-top")
    assert top.find_element(By.TAG_NAME, "h2").text == "Top stories this week"
    first = driver.find_element(By.CSS_SELECTOR, ".mn-day article.mn-row")
    assert "5 outlets" in first.text and "Harbor Tech Daily" in first.text and "First reported" in first.text  # the sixth only carries a copy
    assert driver.find_element(By.CSS_SELECTOR, "svg.mn-volume").is_displayed()
    assert not _severe(driver)

    driver.find_element(By.CSS_SELECTOR, ".mn-day").find_element(By.LINK_TEXT, s1.title).click()
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
    assert not _severe(driver)

    driver.get(base + story_path(hostile))
    assert driver.find_element(By.CSS_SELECTOR, ".mn-story h1").text == HOSTILE_TITLE
    assert not driver.find_elements(By.CSS_SELECTOR, ".mn-story script, .mn-story iframe, .mn-story img")
    assert not _severe(driver)

    driver.get(base + "outlets/index.html")
    assert "Orbit Review failing (3 failures)" in driver.find_element(By.CSS_SELECTOR, ".mn-home").text
    driver.get(base + "about.html")
    assert driver.find_element(By.CSS_SELECTOR, "svg.mn-volume").is_displayed()
    assert not _severe(driver)


def test_every_link_opens_a_page_from_disk(browser):
    """Opened as file://.../index.html, every internal link leads to a page, never to a folder listing."""
    driver, _, stories, site = browser
    home = (site / "index.html").as_uri()
    driver.get(home)
    to_visit, seen = [home], set()
    while to_visit:
        url = to_visit.pop()
        if url in seen:
            continue
        seen.add(url)
        driver.get(url)
        assert driver.find_elements(By.CSS_SELECTOR, "article.md-content__inner"), (url, driver.title)
        for a in driver.find_elements(By.CSS_SELECTOR, "a[href]"):
            href = a.get_attribute("href").split("#")[0]
            if href.startswith("file://") and href.endswith(".html"):
                to_visit.append(href)
            elif href.startswith("file://"):
                assert href.endswith((".xml", ".json")), (url, href)  # never a folder
    visited = {u[len(site.as_uri()) + 1:] for u in seen}
    assert {story_path(s) for s in stories} <= visited
    assert {"archive/index.html", "archive/2026-09.html", "outlets/index.html", "outlets/orbit-review.html",
            "search.html", "about.html"} <= visited

    driver.get((site / "search.html").as_uri())
    status = driver.find_element(By.ID, "mn-search-status").text
    assert "opened from disk" in status and "monitor serve" in status
    assert not driver.find_element(By.ID, "mn-q").is_enabled()


def test_an_old_folder_address_opens_the_story_from_disk_and_from_the_server(browser):
    """Story pages were folders (stories/<slug>/) before they became files: links people cited still open them."""
    driver, base, stories, site = browser
    story = stories[1]
    folder = story_path(story)[:-len(".html")] + "/"
    for old, new in (((site / folder / "index.html").as_uri(), (site / story_path(story)).as_uri()),
                     (base + folder, base + story_path(story))):
        driver.get(old)
        WebDriverWait(driver, 10).until(lambda d: d.current_url == new and d.find_elements(By.CSS_SELECTOR, ".mn-story h1"))
        assert driver.find_element(By.CSS_SELECTOR, ".mn-story h1").text == story.title


class _UnderSubpath(SimpleHTTPRequestHandler):
    """Serves the site at /sub/path/ and its 404.html, with status 404, for every missing address (as a web
    server configured with an error page does)."""

    def log_message(self, *args):
        pass

    def send_head(self):
        if not self.path.startswith("/sub/path/"):
            return self._not_found()
        self.path = self.path[len("/sub/path"):]
        path = Path(self.translate_path(self.path))
        if not (path.is_file() or (path / "index.html").is_file()):
            return self._not_found()
        return super().send_head()

    def _not_found(self):
        body = (Path(self.directory) / "404.html").read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return __import__("io").BytesIO(body)


def test_the_404_page_works_under_a_subpath_without_site_url(browser):
    driver, _, _, site = browser
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_UnderSubpath, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    root = f"http://127.0.0.1:{httpd.server_address[1]}/sub/path/"
    try:
        driver.get(root + "stories/no-such-story.html")
        assert driver.find_element(By.TAG_NAME, "h1").text == "Page not found"
        wait = WebDriverWait(driver, 10)
        home = driver.find_element(By.LINK_TEXT, "Go to the home page")
        wait.until(lambda d: home.get_attribute("href") == root + "index.html")
        # the site's own stylesheet loads from under the subpath
        wait.until(lambda d: d.execute_script(
            "var l = document.querySelector('link[href*=\"monitor.css\"]');"
            "try { return l.sheet.cssRules.length > 0; } catch (e) { return false; }"))
        driver.find_element(By.LINK_TEXT, "archive").click()
        assert driver.current_url == root + "archive/index.html"
        assert driver.find_element(By.CSS_SELECTOR, ".mn-home h1").text == "Archive"
    finally:
        httpd.shutdown()
        driver.get_log("browser")  # the 404 page's first tries at its root-anchored assets: not the next test's


def test_search_shows_headline_date_outlets_and_filters(browser):
    driver, base, stories, _ = browser
    driver.get(base + "search.html")
    box = driver.find_element(By.ID, "mn-q")
    box.send_keys("pause")
    wait = WebDriverWait(driver, 20)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#mn-results li"))
    results = driver.find_elements(By.CSS_SELECTOR, "#mn-results li")
    titles = [r.find_element(By.CSS_SELECTOR, ".mn-result__title a").text for r in results]
    assert stories[1].title in titles
    hit = results[titles.index(stories[1].title)]
    meta = hit.find_element(By.CSS_SELECTOR, ".mn-result__meta").text
    assert meta.startswith("First reported 13 Oct 2026") and "4 outlets: Meridian Ledger" in meta
    # the outlet filter narrows the results to stories that outlet covered
    Select(driver.find_element(By.ID, "mn-outlet")).select_by_value("Northwind Wire")
    wait.until(lambda d: stories[1].title not in d.find_element(By.ID, "mn-results").text)
    left = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#mn-results .mn-result__title a")]
    assert left and all(t != stories[1].title for t in left)
    Select(driver.find_element(By.ID, "mn-outlet")).select_by_value("")
    box.clear()  # a month alone lists that month's stories
    Select(driver.find_element(By.ID, "mn-month")).select_by_value("2026-09")
    wait.until(lambda d: "Parliament debates" in d.find_element(By.ID, "mn-results").text)
    assert stories[1].title not in driver.find_element(By.ID, "mn-results").text
    link = driver.find_element(By.CSS_SELECTOR, "#mn-results .mn-result__title a")
    link.click()
    assert "/stories/" in driver.current_url and driver.find_element(By.CSS_SELECTOR, ".mn-story h1")
    assert not _severe(driver)


def _axe(driver) -> list[str]:
    driver.execute_script(AXE.read_text())
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}).then(r => done(r.violations))")
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['html'][:120]} {v['nodes'][0].get('failureSummary', '')[:200]}"
            for v in result if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations(browser, scheme):
    if not AXE.is_file():
        pytest.skip(f"axe-core not installed at {AXE} (npm install --prefix .ci/axe axe-core@4)")
    driver, base, stories, _ = browser
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                           {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
    try:
        problems = {}
        for page in ("index.html", story_path(stories[0]), "outlets/orbit-review.html", "outlets/index.html",
                     "archive/index.html", "archive/2026-09.html", "search.html"):
            driver.get(base + page)
            time.sleep(0.2)  # the palette is applied by the theme's script
            found = _axe(driver)
            if found:
                problems[page] = found
        assert not problems, problems
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_readable_on_a_390_px_phone(browser):
    driver, base, stories, _ = browser
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    try:
        for page in ("index.html", story_path(stories[0]), "outlets/harbor-tech-daily.html"):
            driver.get(base + page)
            assert driver.execute_script("return document.documentElement.scrollWidth") <= 390, page
            sizes = driver.execute_script(
                "return [...document.querySelectorAll('svg.mn-chart text')].map(t => t.getBoundingClientRect().height)")
            assert sizes and min(sizes) >= 9, (page, sizes)  # axis labels, in CSS pixels
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
