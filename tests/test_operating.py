"""What a person who runs feeds uses: per-feed intervals, `monitor feeds`, `monitor check`, OPML via the CLI."""

from __future__ import annotations

import json
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


def test_feeds_command_shows_health_as_table_and_json(server, tmp_path):
    serve_sample(server)
    path = write_config(tmp_path, server, extra_feeds=["/down.xml"])
    config = load_config(path)
    run(config, extract_workers=0)
    table = monitor("feeds", "--config", str(path))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:2] == ["outlet", "last"]
    ledger = next(line for line in lines if line.startswith("The Circuit Ledger"))
    assert ledger.split()[-2] == "2"  # articles stored
    down = next(line for line in lines if "down.xml" in line)
    assert "(1x) " in down and "404" in down
    rows = [json.loads(line) for line in monitor("feeds", "--config", str(path), "--json").stdout.splitlines()]
    assert [r["articles"] for r in rows] == [2, 2, 0]
    assert rows[2]["failures"] == 1 and rows[0]["last_error"] is None and rows[0]["next_due"] > rows[0]["last_success"]
    assert rows[0]["last_success"].endswith("Z") and rows[0]["next_due"].endswith("Z")  # the public UTC format


def test_check_lists_every_problem_and_exits_2(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: file:///etc/passwd\n  - url: https://ok.example/feed\n    interval: 2s\n")
    result = monitor("check", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"{path}:2: feeds[0].url: 'file:///etc/passwd' is not an http(s) URL",
        f"{path}:4: feeds[1].interval: '2s' is not a duration of at least 1m (e.g. 30m, 6h, 1d)",
    ]
    path.write_text("feeds:\n  - url: https://ok.example/feed\n")
    ok = monitor("check", "--config", str(path))
    assert ok.returncode == 0 and "ok (1 feeds" in ok.stdout


def test_opml_export_then_import_round_trip_through_the_cli(tmp_path):
    source = tmp_path / "feeds.yaml"
    source.write_text(
        "# my feeds\nfeeds:\n  # labs\n  - {url: 'https://a.example/feed', name: Lab A, tags: [lab]}\n"
        "  - url: https://b.example/rss\n    name: News B\n    tags: [news]\n"
    )
    exported = monitor("feeds", "--config", str(source), "export", "-o", str(tmp_path / "out.opml"))
    assert exported.returncode == 0, exported.stderr
    target = tmp_path / "other.yaml"
    target.write_text("# another config\nfeeds:\n  # keep me\n  - url: https://b.example/rss\n")
    imported = monitor("feeds", "import", str(tmp_path / "out.opml"), "--config", str(target))
    assert imported.returncode == 0, imported.stderr
    assert "1 added, 1 skipped" in imported.stdout
    text = target.read_text()
    assert "# another config" in text and "# keep me" in text
    feeds = load_config(target).feeds
    assert [f.url for f in feeds] == ["https://b.example/rss", "https://a.example/feed"]
    assert feeds[1].name == "Lab A" and feeds[1].tags == ("lab",)


def test_every_command_documents_itself_with_an_example():
    from monitor.cli import main

    def walk(group, prefix=()):
        for name, command in group.commands.items():
            yield prefix + (name,), command
            if hasattr(command, "commands"):
                yield from walk(command, prefix + (name,))

    for path, command in walk(main):
        assert command.help and "Example: monitor" in command.help, path


def test_serve_previews_the_built_site(server, tmp_path):
    import socket
    import time

    import httpx

    serve_sample(server)
    path = write_config(tmp_path, server)
    run(load_config(path), extract_workers=0)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(MONITOR + ["serve", "--config", str(path), "--port", str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert f"http://127.0.0.1:{port}/" in proc.stdout.readline()
        for _ in range(50):
            try:
                home = httpx.get(f"http://127.0.0.1:{port}/")
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        assert home.status_code == 200 and "Halcyon" in home.text
        assert httpx.get(f"http://127.0.0.1:{port}/stories.json").json()["stories"]
    finally:
        proc.terminate()
        proc.wait(10)
