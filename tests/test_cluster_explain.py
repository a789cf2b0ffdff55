"""`monitor cluster --explain`: stdout keeps its contract, stderr says why each story's articles were joined."""

import json

from click.testing import CliRunner

from monitor.cli import main
from tests.coverage_cases import FIVE, OFF_TOPIC, RIVAL


def _write(path, docs):
    path.write_text("".join(json.dumps({"id": d.id, "title": d.title, "text": d.text, "source": d.source,
                                        "published": d.published.isoformat()}) + "\n" for d in docs))


def test_explain_keeps_stdout_and_names_the_shared_signals(tmp_path):
    docs = [*FIVE, *RIVAL, *OFF_TOPIC]
    path = tmp_path / "articles.jsonl"
    _write(path, docs)
    plain = CliRunner().invoke(main, ["cluster", str(path)])
    got = CliRunner().invoke(main, ["cluster", str(path), "--explain"])
    assert plain.exit_code == got.exit_code == 0
    assert got.stdout == plain.stdout  # the output contract is unchanged
    assert [json.loads(x)["id"] for x in got.stdout.splitlines()] == [d.id for d in docs]
    notes = got.stderr.splitlines()
    assert len(notes) == 2  # one line per story of 2+ articles; the three singletons get none
    five = next(n for n in notes if "(f1, f2, f3, f4, f5)" in n)
    assert five.startswith("story 1: 5 articles")
    for shared in ("Mara Venn (5)", "Tomas Reyes (5)", "80% (5)", "eight times (5)"):
        assert shared in five
    rival = next(n for n in notes if "(r1, r2)" in n)
    assert "Corvex AI (2)" in rival and "Idris Calloway (2)" in rival
    assert "weakest pair" in rival and "embeddings" in rival


def test_explain_with_only_singletons_prints_nothing_extra(tmp_path):
    path = tmp_path / "articles.jsonl"
    _write(path, OFF_TOPIC)
    got = CliRunner().invoke(main, ["cluster", str(path), "--explain"])
    assert got.exit_code == 0 and got.stderr == ""
    assert [json.loads(x)["story"] for x in got.stdout.splitlines()] == [1, 2, 3]
