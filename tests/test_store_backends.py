"""The same run on both backends: `monitor run` on the demo corpus with `database: postgresql://...` publishes the
same stories.json as with a SQLite file (one loopback server, one clock, for both)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from monitor.config import load_config
from monitor.demo import build_routes, demo_config, load_corpus
from monitor.loopback import LoopbackServer
from monitor.pipeline import export_articles, run
from monitor.store import RunLock, Store

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def _run(server, workdir, database):
    workdir.mkdir()
    text = demo_config(server.base, workdir)
    if database is not None:
        text = text.replace(json.dumps(str(workdir.resolve() / "monitor.sqlite3")), database)
    (workdir / "feeds.yaml").write_text(text, encoding="utf-8")
    config = load_config(workdir / "feeds.yaml")
    assert (config.database == database) if database else str(config.database).endswith(".sqlite3")
    summary = run(config, now=lambda: NOW, extract_workers=0)
    again = run(config, now=lambda: NOW, extract_workers=0)
    assert again.new_articles == 0 and not again.site_built  # nothing due, nothing changed: nothing rebuilt
    with Store.open(config.database, create=False) as store:
        exported = list(export_articles(store))
    return summary, json.loads((config.site_dir / "stories.json").read_text(encoding="utf-8")), exported


@pytest.mark.slow
def test_the_demo_run_publishes_the_same_stories_on_sqlite_and_postgres(tmp_path, postgres_url):
    with LoopbackServer() as server:
        server.routes.update(build_routes(load_corpus(), server.base))
        lite_summary, lite, lite_articles = _run(server, tmp_path / "sqlite", None)
        pg_summary, pg, pg_articles = _run(server, tmp_path / "postgres", postgres_url)
    assert lite["stories"] and len(lite["stories"]) >= 3
    assert pg == lite
    assert pg_articles == lite_articles
    counts = ("new_articles", "new_stories", "merged_stories", "updated_stories")
    assert [getattr(pg_summary, c, None) for c in counts] == [getattr(lite_summary, c, None) for c in counts]


def test_monitor_run_on_a_postgres_database_refuses_a_second_publisher(tmp_path, postgres_url):
    path = tmp_path / "feeds.yaml"
    path.write_text(f"database: {postgres_url}\nsite_dir: public\nallow_private_networks: true\nfeeds: []\n", encoding="utf-8")
    command = [sys.executable, "-m", "monitor.cli", "run", "--config", str(path)]
    with RunLock(postgres_url):
        refused = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 75, refused.stderr
    assert f"{postgres_url}: another monitor run is in progress; exiting" in refused.stderr
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "public" / "index.html").exists() and not (tmp_path / "monitor.sqlite3").exists()
    check = subprocess.run([sys.executable, "-m", "monitor.cli", "check", "--config", str(path)], capture_output=True, text=True)
    assert check.returncode == 0 and "ok (0 feeds" in check.stdout
