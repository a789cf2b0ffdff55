"""Regenerate docs/img/home.png and docs/img/story.png: build the invented test archive, serve it on
127.0.0.1 and photograph it with Debian's headless chromium.

    .venv/bin/python scripts/screenshots.py [--dark] [--width 1280]
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_site import NOW, fixture_archive  # noqa: E402

from monitor.site import build_site, story_path  # noqa: E402


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def chromium(user_data_dir: str, *, width: int, height: int) -> webdriver.Chrome:
    """Headless chromium with every background network feature off (the machine has no internet)."""
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={user_data_dir}", f"--window-size={width},{height}",
                "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def serve(directory: Path) -> ThreadingHTTPServer:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(directory)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--dark", action="store_true", help="photograph the dark scheme")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = ap.parse_args()
    stories, feeds = fixture_archive()
    stories = [s for s in stories if s.id != 4]  # the hostile story is for tests, not for the picture
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        build_site(stories, feeds, site_dir=site, work_dir=Path(tmp) / "work", title="AI Pause Watch", now=NOW)
        httpd = serve(site)
        driver = chromium(str(Path(tmp) / "profile"), width=args.width, height=1000)
        try:
            base = f"http://127.0.0.1:{httpd.server_address[1]}/"
            args.out.mkdir(parents=True, exist_ok=True)
            for name, path in (("home", ""), ("story", story_path(stories[0]))):
                driver.get(base + path)
                if args.dark:
                    driver.execute_script("localStorage.setItem(location.pathname.replace(/[^/]*$/,'')"
                                          "+'.__palette', JSON.stringify({index:1}))")
                    driver.get(base + path)
                height = driver.execute_script("return document.documentElement.scrollHeight")
                driver.set_window_size(args.width, min(height, 2400))
                suffix = "-dark" if args.dark else ""
                driver.save_screenshot(str(args.out / f"{name}{suffix}.png"))
                print(args.out / f"{name}{suffix}.png")
        finally:
            driver.quit()
            httpd.shutdown()


if __name__ == "__main__":
    main()
