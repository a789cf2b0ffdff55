"""feeds.yaml validation: each mistake is one line naming the file, the line and the key."""

from pathlib import Path

import pytest

from monitor.config import check_config, load_config, parse_duration
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_feeds_yaml_is_valid_and_curated():
    config = load_config(ROOT / "feeds.yaml")
    assert len(config.feeds) >= 25
    assert all(f.url.startswith("https://") for f in config.feeds)
    assert {t.name for t in config.topics} == {"AI self-improvement", "Calls to slow or pause frontier AI"}
    assert config.allow_private_networks is False
    assert config.database == ROOT / "data" / "monitor.sqlite3"  # relative to the config file


def test_minimal_config_gets_defaults_and_relative_paths(tmp_path):
    path = write(tmp_path, "feeds:\n  - url: https://example.org/feed.xml\n    name: Example\n    interval: 6h\n    tags: [blog]\n")
    config = load_config(path)
    assert config.feeds[0].name == "Example" and config.feeds[0].interval == 6 * 3600 and config.feeds[0].tags == ("blog",)
    assert config.topics == ()
    assert config.database == tmp_path / "data" / "monitor.sqlite3"
    assert config.site_dir == tmp_path / "data" / "site"


def test_database_may_be_a_postgresql_url_kept_as_written(tmp_path):
    from click.testing import CliRunner

    from monitor.cli import main

    url = "postgresql://monitor@db.internal:5432/news"
    path = write(tmp_path, f"database: {url}\nfeeds:\n  - url: https://example.org/feed.xml\n")
    assert load_config(path).database == url
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 0 and "ok (1 feeds" in result.output
    bad = write(tmp_path, "database: mysql://monitor@db.internal/news\nfeeds: []\n")
    assert check_config(bad)[1] == [f"{bad}:1: database: 'mysql://...' is neither a file path nor a postgresql:// URL"]


@pytest.mark.parametrize(
    "text, line, needle",
    [
        ("feeds:\n  - url: file:///etc/passwd\n", 2, "feeds[0].url: 'file:///etc/passwd' is not an http(s) URL"),
        ("feeds:\n  - url: ftp://example.org/x\n", 2, "is not an http(s) URL"),
        ("feeds:\n  - url: gopher://example.org/x\n", 2, "is not an http(s) URL"),
        ("feeds:\n  - url: 'data:text/xml,<rss/>'\n", 2, "is not an http(s) URL"),
        ("feeds:\n  - url: https://a.example:99999/f\n", 2, "'https://a.example:99999/f' is not an http(s) URL"),
        ("feeds:\n  - name: no url\n", 2, "feeds[0].url: missing"),
        ("feeds:\n  - url: https://a.example/f\n    interval: soon\n", 3, "feeds[0].interval"),
        ("feeds:\n  - url: https://a.example/f\n    colour: red\n", 3, "feeds[0].colour: unknown key"),
        ("feeds:\n  - url: https://a.example/f\n  - url: https://a.example/f\n", 3, "listed twice (first on line 2)"),
        ("feedz: []\nfeeds: []\n", 1, "feedz: unknown key"),
        ("feeds: []\nallow_private_networks: yes please\n", 2, "allow_private_networks: must be true or false"),
        ("feeds: []\ntopics: AI\n", 2, "topics: must be a list"),
        ("feeds: []\ntopics:\n  - name: x\n    phrases: [ok]\n    exclude: 3\n", 5, "topics[0].exclude: must be a list"),
        ("feeds:\n  - url: https://a.example/f\n   name: bad indent\n", 3, "not valid YAML"),
        ("feeds: []\nsite_url: javascript:alert(1)\n", 2, "site_url"),
        ("feeds: []\ntime_budget: forever\n", 2, "time_budget"),
    ],
)
def test_each_mistake_is_one_line_naming_file_line_and_key(tmp_path, text, line, needle):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: "), message
    assert needle in message


def test_check_lists_every_problem(tmp_path):
    path = write(tmp_path, "feeds:\n  - url: file:///x\n  - url: https://ok.example/f\n    interval: 1s\ntopics: 3\n")
    config, problems = check_config(path)
    assert config is None
    assert len(problems) == 3
    assert [p.split(":")[1] for p in problems] == ["2", "4", "5"]


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: no such file"):
        load_config(tmp_path / "nope.yaml")


def test_empty_topics_and_phrase_shorthand(tmp_path):
    config = load_config(write(tmp_path, "feeds: [https://a.example/f]\ntopics: [AI pause]\n"))
    assert config.feeds[0].url == "https://a.example/f"
    assert config.topics[0].phrases == ("AI pause",)


def test_durations():
    assert parse_duration("90s") == 90 and parse_duration("30m") == 1800 and parse_duration("1d") == 86400
    assert parse_duration(7200) == 7200
    assert parse_duration("3x") is None and parse_duration(True) is None and parse_duration(-5) is None
