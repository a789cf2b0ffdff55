"""`monitor demo`, the README's first command: the whole cycle on the bundled corpus, no network."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

from monitor.demo import load_corpus


def test_demo_builds_a_site_of_the_bundled_corpus(tmp_path):
    site = tmp_path / "public"
    result = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "demo", "--site-dir", str(site), "--workdir", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert f"The demo site is at {site / 'index.html'}" in result.stdout
    # the printed preview command names the site by its absolute path: it works from any folder
    # the printed command runs this same monitor from any folder (here: started as python -m monitor.cli)
    assert f"Preview it with: {sys.executable} -m monitor.cli serve --site-dir {site.absolute()}" in result.stdout
    # the broken and the down feed are reported, one line each, and the run went on
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 2
    assert any("feed partly read" in w for w in warnings) and any('error="HTTP 500"' in w for w in warnings)

    corpus = load_corpus()
    stories = json.loads((site / "stories.json").read_text())["stories"]
    on_subject = {a.story for a in corpus.articles if a.relevant}
    off_titles = {a.title for a in corpus.articles if not a.relevant}
    assert len(on_subject) <= len(stories) <= 2 * len(on_subject)
    published = {a["title"] for s in stories for a in s["articles"]}
    assert not published & off_titles  # off-subject coverage stays off the site
    assert max(len(s["sources"]) for s in stories) >= 4  # one event, many outlets, one story
    assert (site / "feed.xml").exists() and (site / "outlets" / "index.html").exists()

    db = sqlite3.connect(tmp_path / "work" / "monitor.sqlite3")
    copies = db.execute("SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL").fetchone()[0]
    assert copies == sum(1 for a in corpus.articles if a.copy_of)  # every syndicated copy merged
    # every article outside the truncated feed is stored once: tracking links and the AMP link fold into it
    broken = {o.key for o in corpus.outlets for f in o.feeds if f.behaviour == "broken"}
    stored = [r[0] for r in db.execute("SELECT url FROM articles")]
    for article in corpus.articles:
        if article.outlet not in broken:
            assert sum(url.endswith(article.path) for url in stored) == 1, article.id
