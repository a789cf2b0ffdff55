"""What a person who runs feeds uses: per-feed intervals, `monitor feeds`, `monitor check`, OPML via the CLI."""

from __future__ import annotations

import json
import re
import select
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from monitor.config import load_config
from monitor.pipeline import run

from .sample import serve_sample, write_config

MONITOR = [sys.executable, "-m", "monitor.cli"]


def monitor(*args) -> subprocess.CompletedProcess:
    return subprocess.run(MONITOR + list(args), capture_output=True, text=True, timeout=120)


def test_a_six_hour_feed_waits_for_its_turn(server, tmp_path):
    serve_sample(server)
    path = write_config(tmp_path, server)
    path.write_text(path.read_text().replace("    name: The Circuit Ledger\n", "    name: The Circuit Ledger\n    interval: 6h\n"))
    config = load_config(path)
    t0 = datetime.now(timezone.utc)
    run(config, now=lambda: t0, extract_workers=0)
    hourly = run(config, now=lambda: t0 + timedelta(hours=1, minutes=1), extract_workers=0)
    assert hourly.feeds_due == 1  # only the hourly feed
    assert [r.path for r in server.requests[-1:]] == ["/tribune/atom.xml"]
    later = run(config, now=lambda: t0 + timedelta(hours=6, minutes=1), extract_workers=0)
    assert later.feeds_due == 2


def test_feeds_command_shows_health_as_table_and_json(server, tmp_path, cli):
    serve_sample(server)
    path = write_config(tmp_path, server, extra_feeds=["/down.xml"])
    config = load_config(path)
    run(config, extract_workers=0)
    table = cli("feeds", "--config", path)
    assert table.exit_code == 0 and table.stderr == ""
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["outlet", "last", "success", "last", "error", "next", "due", "links", "articles", "url"]
    when = r"\d{4}-\d\d-\d\d \d\d:\d\d"
    assert re.fullmatch(rf"The Circuit Ledger +{when} +- +{when} +- +2 +{re.escape(server.url('/ledger/rss.xml'))}", lines[1])
    assert re.fullmatch(rf"Northgate Tribune +{when} +- +{when} +- +2 +{re.escape(server.url('/tribune/atom.xml'))}", lines[2])
    # a feed with no name shows its host; its error says how many times in a row it failed
    assert re.fullmatch(rf"127\.0\.0\.1 +- +\(1x\) HTTP 404 +{when} +- +0 +{re.escape(server.url('/down.xml'))}", lines[3])
    assert len(lines) == 4
    listed = cli("feeds", "--config", path, "--json")
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["url"] for r in rows] == [f.url for f in config.feeds]
    assert [r["articles"] for r in rows] == [2, 2, 0]
    assert rows[2]["failures"] == 1 and rows[2]["last_error"] == f"{server.url('/down.xml')}: HTTP 404" and rows[0]["last_error"] is None
    assert rows[0]["next_due"] > rows[0]["last_success"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[0]["last_success"])  # the public UTC format
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[0]["next_due"])


def test_check_lists_every_problem_and_exits_2(tmp_path, cli):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: file:///etc/passwd\n  - url: https://ok.example/feed\n    interval: 2s\n")
    result = cli("check", "--config", path)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:2: feeds[0].url: 'file:///etc/passwd' is not an http(s) URL",
        f"{path}:4: feeds[1].interval: '2s' is not a duration of at least 1m (e.g. 30m, 6h, 1d)",
    ]
    path.write_text("feeds:\n  - url: https://ok.example/feed\n")
    ok = cli("check", "--config", path)
    assert ok.exit_code == 0 and ok.stderr == ""
    assert ok.stdout == f"{path}: ok (1 feeds, 0 topics)\n"


SOURCE = (
    "# my feeds\nsite_title: Lab watch\nfeeds:\n  # labs\n  - {url: 'https://a.example/feed', name: Lab A, tags: [lab]}\n"
    "  - url: https://b.example/rss\n    name: News B & Co\n    tags: [news]\n"
)


def test_opml_export_then_import_round_trip_through_the_cli(tmp_path, cli):
    source = tmp_path / "feeds.yaml"
    source.write_text(SOURCE)
    exported = cli("feeds", "--config", source, "export", "-o", tmp_path / "out.opml")
    assert exported.exit_code == 0 and exported.stdout == "" and exported.stderr == ""
    target = tmp_path / "other.yaml"
    target.write_text("# another config\nfeeds:\n  # keep me\n  - url: https://b.example/rss\n")
    imported = cli("feeds", "import", tmp_path / "out.opml", "--config", target)
    assert imported.exit_code == 0, imported.stderr
    assert imported.stdout.splitlines() == [
        "added   https://a.example/feed  (Lab A)",
        f"skipped https://b.example/rss  (already in {target})",
        "1 added, 1 skipped",
    ]
    assert target.read_text() == (  # comments and order kept, the new feed appended
        "# another config\nfeeds:\n  # keep me\n  - url: https://b.example/rss\n"
        '  - url: "https://a.example/feed"\n    name: Lab A\n    tags: [lab]\n'
    )
    feeds = load_config(target).feeds
    assert [f.url for f in feeds] == ["https://b.example/rss", "https://a.example/feed"]
    assert feeds[1].name == "Lab A" and feeds[1].tags == ("lab",)


def test_feeds_export_without_output_prints_the_opml(tmp_path, cli):
    import xml.etree.ElementTree as ET

    source = tmp_path / "feeds.yaml"
    source.write_text(SOURCE)
    printed = cli("feeds", "export", "--config", source)
    assert printed.exit_code == 0 and printed.stderr == ""
    root = ET.fromstring(printed.stdout_bytes)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Lab watch"
    # one folder per tag, as feed readers show them
    folders = {folder.get("text"): [(o.get("xmlUrl"), o.get("text"), o.get("type")) for o in folder]
               for folder in root.findall("body/outline")}
    assert folders == {"lab": [("https://a.example/feed", "Lab A", "rss")],
                       "news": [("https://b.example/rss", "News B & Co", "rss")]}
    # the same bytes as with -o: a shell redirect and the option give one file
    cli("feeds", "export", "--config", source, "-o", tmp_path / "out.opml")
    assert printed.stdout_bytes == (tmp_path / "out.opml").read_bytes()


def test_every_command_documents_itself_with_an_example():
    from monitor.cli import main

    def walk(group, prefix=()):
        for name, command in group.commands.items():
            yield prefix + (name,), command
            if hasattr(command, "commands"):
                yield from walk(command, prefix + (name,))

    for path, command in walk(main):
        assert command.help and "Example: monitor" in command.help, path


def serving(path, *options) -> tuple[subprocess.Popen, str]:
    """`monitor serve` as a real process (it serves until stopped) on a free port: the process and its URL."""
    proc = subprocess.Popen(MONITOR + ["serve", "--config", str(path), "--port", "0", *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 120)
    first = proc.stdout.readline() if ready else ""
    if not first:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"monitor serve did not start: {err}")
    match = re.fullmatch(r"Serving (.+) on (http://127\.0\.0\.1:\d+/) \(Ctrl-C stops\)\n", first)
    assert match, first
    return proc, match[2]


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(10)


def test_serve_previews_the_built_site(server, tmp_path):
    import httpx

    serve_sample(server)
    path = write_config(tmp_path, server)
    config = load_config(path)
    run(config, extract_workers=0)
    built = json.loads((config.site_dir / "stories.json").read_text())
    proc, url = serving(path)
    try:
        home = httpx.get(url)
        assert home.status_code == 200 and home.headers["content-type"] == "text/html"
        assert home.text == (config.site_dir / "index.html").read_text()
        assert httpx.get(url + "stories.json").json() == built
    finally:
        stop(proc)


def test_serve_rebuild_brings_back_the_site_from_the_database_and_serves_it(server, tmp_path):
    import shutil

    import httpx
    import lxml.html

    serve_sample(server)
    path = write_config(tmp_path, server)
    config = load_config(path)
    run(config, extract_workers=0)
    before = json.loads((config.site_dir / "stories.json").read_text())["stories"]
    shutil.rmtree(config.site_dir)
    # and the title changed since: the site served is built now, from the database and today's feeds.yaml
    path.write_text("site_title: Rebuilt Desk\n" + path.read_text())
    requests = len(server.requests)
    proc, url = serving(path, "--rebuild")
    try:
        assert (config.site_dir / "index.html").exists()
        home = httpx.get(url)
        assert home.status_code == 200
        assert lxml.html.fromstring(home.text).findtext(".//title").strip().endswith("Rebuilt Desk")
        stories = httpx.get(url + "stories.json").json()["stories"]
        assert [(s["id"], s["title"], s["page"]) for s in stories] == [(s["id"], s["title"], s["page"]) for s in before]
        page = httpx.get(url + stories[0]["page"])
        assert page.status_code == 200 and stories[0]["title"] in lxml.html.fromstring(page.text).findtext(".//h1")
    finally:
        stop(proc)
    assert len(server.requests) == requests  # nothing fetched


def test_serve_rebuild_of_a_config_never_run_says_so_in_one_line(tmp_path, cli):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://ok.example/feed\n")
    result = cli("serve", "--config", path, "--rebuild", "--port", "0")
    assert result.exit_code == 3 and result.stdout == ""
    assert result.stderr == f"monitor: error: {tmp_path / 'data' / 'monitor.sqlite3'}: no database yet (run `monitor run` first)\n"
