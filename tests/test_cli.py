"""The command line in-process (click's CliRunner): what a user types and what comes back."""

from __future__ import annotations

import json
import subprocess
import sys


def test_run_with_a_bad_config_fails_before_loading_the_pipeline(tmp_path):
    # `monitor run` from cron with a broken feeds.yaml must answer as fast as `monitor check`: the
    # stages (scipy, scikit-learn, mkdocs) are only imported once the configuration is known to be good
    bad = tmp_path / "feeds.yaml"
    bad.write_text("feeds:\n  - url: ftp://example.org/feed\n", encoding="utf-8")
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from monitor.cli import main\n"
        f"r = CliRunner().invoke(main, ['run', '--config', {str(bad)!r}])\n"
        "print(r.exit_code, 'monitor.pipeline' in sys.modules, 'scipy' in sys.modules)\n"
        "print(r.output.strip())\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60).stdout.splitlines()
    assert out[0] == "2 False False"
    assert out[1] == f"monitor: error: {bad}:2: feeds[0].url: 'ftp://example.org/feed' is not an http(s) URL"


def test_an_unexpected_error_inside_a_fetch_stops_the_run_loudly(server, tmp_path, monkeypatch):
    # a fetch that fails ends as a FetchError, stored on its feed; any other exception is a bug (or an httpx
    # whose internals changed) and must not pass for "time budget reached" with exit 0
    import pytest

    from monitor.config import load_config
    from monitor.fetch import Fetcher
    from monitor.pipeline import run

    from .sample import serve_sample, write_config

    serve_sample(server)
    config = load_config(write_config(tmp_path, server))

    async def broken(self, url, **options):
        raise RuntimeError("transport internals changed")

    monkeypatch.setattr(Fetcher, "get", broken)
    with pytest.raises(RuntimeError, match="transport internals changed"):
        run(config, extract_workers=0)


# --- monitor cluster: JSON lines on stdin, one {"id", "story"} line out per article -------------------------


def _lines(docs, ids) -> str:
    return "".join(json.dumps({"id": i, "title": d.title, "text": d.text, "source": d.source, "url": f"https://news.example/{n}",
                               "published": d.published.isoformat()}) + "\n" for n, (i, d) in enumerate(zip(ids, docs)))


def test_cluster_reads_stdin_and_prints_one_story_line_per_article_in_input_order(cli):
    from .coverage_cases import FIVE, OFF_TOPIC, RIVAL

    docs = [FIVE[0], OFF_TOPIC[0], *FIVE[1:], RIVAL[0], OFF_TOPIC[1], RIVAL[1], OFF_TOPIC[2]]
    ids = ["f1", 7, "f2", "f3", "f4", "f5", 101, "o2", 102, "o2"]  # ids as given: numbers stay numbers, twice is twice
    text = _lines(docs, ids)
    result = cli("cluster", "-", input=text[:400] + text[400:].replace("\n", "\n\n", 1))  # a blank line is skipped
    assert result.exit_code == 0 and result.stderr == ""
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"id": "f1", "story": 1}, {"id": 7, "story": 2}, {"id": "f2", "story": 1}, {"id": "f3", "story": 1},
        {"id": "f4", "story": 1}, {"id": "f5", "story": 1}, {"id": 101, "story": 3}, {"id": "o2", "story": 4},
        {"id": 102, "story": 3}, {"id": "o2", "story": 5},
    ]  # story numbers follow the input order of each story's first article
    explained = cli("cluster", "--explain", "-", input=text)
    assert explained.exit_code == 0 and explained.stdout == result.stdout  # stdout keeps its contract
    notes = explained.stderr.splitlines()
    assert [n.split(":")[0] for n in notes] == ["story 1", "story 3"]  # one line per story of two or more
    assert notes[0].startswith("story 1: 5 articles (f1, f2, f3, f4, f5)") and "Mara Venn (5)" in notes[0]
    assert notes[1].startswith("story 3: 2 articles (101, 102)") and "Corvex AI (2)" in notes[1]


def test_cluster_refuses_a_line_without_an_id_and_prints_nothing(cli):
    good = json.dumps({"id": "a", "title": "Floods close the coastal road"})
    result = cli("cluster", "-", input=f"{good}\n{json.dumps({'title': 'No id here'})}\n")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "monitor: error: line 2: missing or invalid 'id'\n"
    broken = cli("cluster", "-", input=good + "\n{not json\n")
    assert broken.exit_code == 2 and broken.stdout == ""
    assert broken.stderr.startswith("monitor: error: line 2: not valid JSON (") and broken.stderr.count("\n") == 1
