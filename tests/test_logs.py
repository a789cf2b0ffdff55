"""Logging: one line per event in the file, quiet stderr, rotation, escaping of hostile values."""

from __future__ import annotations

import logging
import re

import pytest

from monitor.logs import event, file_event, format_event, setup_logging

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+ .+$")


@pytest.fixture(autouse=True)
def restore_logging():
    """setup_logging changes global state: put the root and monitor loggers back afterwards."""
    root, ours = logging.getLogger(), logging.getLogger("monitor")
    saved = (list(root.handlers), root.level, ours.level)
    yield
    for handler in root.handlers[:]:
        if handler not in saved[0]:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(saved[1])
    ours.setLevel(saved[2])


def test_format_event_quotes_and_keeps_one_line():
    assert format_event("feed failed", url="https://x.example/feed.xml", error="HTTP 500") == (
        'feed failed url=https://x.example/feed.xml error="HTTP 500"'
    )
    hostile = 'Title\n2025-01-01T00:00:00Z ERROR monitor.fake forged\r\x1b[2J "quoted" back\\slash'
    text = format_event("entry", title=hostile, count=3, ok=True, missing=None, empty="")
    assert "\n" not in text and "\r" not in text and "\x1b" not in text
    assert text == (
        'entry title="Title 2025-01-01T00:00:00Z ERROR monitor.fake forged [2J \\"quoted\\" back\\\\slash"'
        ' count=3 ok=true empty=""'
    )
    assert len(format_event("x", body="y" * 5000)) < 1100


def test_a_log_line_never_shows_a_password_in_a_url(tmp_path):
    setup_logging(log_file=tmp_path / "m.log", quiet=True)
    file_event(logging.getLogger("monitor.ingest"), logging.INFO, "feed failed", url="https://reader:s3cret@x.example/feed.xml",
               error="https://reader:s3cret@x.example/feed.xml: HTTP 401; also postgresql://monitor:pw@db/news")
    line = (tmp_path / "m.log").read_text()
    assert "s3cret" not in line and ":pw@" not in line
    assert "url=https://reader:***@x.example/feed.xml" in line and "postgresql://monitor:***@db/news" in line


def test_file_gets_one_line_per_event_and_quiet_stderr_hides_info(tmp_path, capsys):
    log_file = tmp_path / "logs" / "monitor.log"
    setup_logging(log_file=log_file, quiet=True)
    log = logging.getLogger("monitor.fetch")
    event(log, logging.INFO, "feed ok", url="https://a.example/feed", entries=12)
    event(log, logging.WARNING, "feed failed", url="https://b.example/feed", error="HTTP 500\nbody: <html>")
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        log.exception("stage crashed url=%s", "https://c.example/")
    logging.getLogger("httpx").info("HTTP Request: GET https://a.example/feed")  # a library's chatter
    for handler in logging.getLogger().handlers:
        handler.flush()

    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3, lines
    assert all(LINE.match(line) for line in lines), lines
    assert lines[0].endswith(" INFO monitor.fetch feed ok url=https://a.example/feed entries=12")
    assert lines[1].endswith(' WARNING monitor.fetch feed failed url=https://b.example/feed error="HTTP 500 body: <html>"')
    assert "ERROR monitor.fetch stage crashed url=https://c.example/\\nTraceback" in lines[2]
    assert "ValueError: bad\\nthing" in lines[2]

    err = capsys.readouterr().err
    assert "feed ok" not in err  # quiet: no info on stderr
    assert 'WARNING monitor.fetch: feed failed url=https://b.example/feed error="HTTP 500 body: <html>"' in err
    assert len(err.splitlines()) == 2


def test_not_quiet_shows_info_and_verbose_shows_debug(tmp_path, capsys):
    setup_logging(log_file=None, quiet=False)
    log = logging.getLogger("monitor.site")
    log.info("site built pages=3")
    log.debug("hidden detail")
    assert capsys.readouterr().err == "INFO monitor.site: site built pages=3\n"
    setup_logging(log_file=None, quiet=False, verbose=True)
    log.debug("shown detail")
    assert capsys.readouterr().err == "DEBUG monitor.site: shown detail\n"


def test_calling_setup_twice_does_not_double_lines(tmp_path, capsys):
    log_file = tmp_path / "monitor.log"
    setup_logging(log_file=log_file, quiet=False)
    setup_logging(log_file=log_file, quiet=False)
    logging.getLogger("monitor.run").warning("once")
    assert capsys.readouterr().err.count("once") == 1
    assert log_file.read_text().count("once") == 1


def test_the_file_rotates_past_its_size(tmp_path):
    log_file = tmp_path / "monitor.log"
    setup_logging(log_file=log_file, quiet=True, max_bytes=2000, backups=2)
    log = logging.getLogger("monitor.fetch")
    for i in range(100):
        event(log, logging.INFO, "feed ok", url=f"https://outlet-{i}.example/feed.xml", entries=i)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["monitor.log", "monitor.log.1", "monitor.log.2"]
    for path in tmp_path.iterdir():
        assert path.stat().st_size <= 2000
        assert all(LINE.match(line) for line in path.read_text().splitlines())
    assert "url=https://outlet-99.example/feed.xml" in log_file.read_text().splitlines()[-1]


def test_stderr_handler_follows_a_replaced_sys_stderr(monkeypatch):
    import io

    setup_logging(log_file=None, quiet=True)
    swapped = io.StringIO()
    monkeypatch.setattr("sys.stderr", swapped)
    logging.getLogger("monitor.run").warning("to the new stream")
    assert swapped.getvalue() == "WARNING monitor.run: to the new stream\n"


def test_file_event_reaches_the_file_only(tmp_path, capsys):
    from monitor.logs import file_event

    log_file = tmp_path / "monitor.log"
    setup_logging(log_file=log_file, quiet=False)
    file_event(logging.getLogger("monitor.ingest"), logging.INFO, "feed fetched", url="https://x.example/f")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "feed fetched" not in capsys.readouterr().err
    assert "feed fetched url=https://x.example/f" in log_file.read_text()


def test_a_warning_prints_above_the_progress_line_not_onto_it(capsys):
    from monitor.logs import ProgressLine

    setup_logging(log_file=None, quiet=False)
    with ProgressLine() as line:
        line.show("feeds  [###...] 3/10")
        event(logging.getLogger("monitor.ingest"), logging.WARNING, "feed failed", url="https://x.example/f")
        line.show("feeds  [####..] 4/10")
    err = capsys.readouterr().err
    # the bar is cleared, the warning gets a line of its own starting at column 0, the bar comes back under it
    assert "\r\x1b[KWARNING monitor.ingest: feed failed url=https://x.example/f\n\r\x1b[Kfeeds  [###...] 3/10" in err
    assert err.endswith("4/10\r\x1b[K")  # cleared on leaving, so the summary starts on a clean line
    assert "3/10WARNING" not in err


def test_run_log_has_a_line_per_feed_and_the_summary(tmp_path, server):
    from click.testing import CliRunner

    from monitor.cli import main
    from .sample import serve_sample, write_config

    serve_sample(server)
    config = write_config(tmp_path, server, extra_feeds=["/missing.xml"])
    log_file = tmp_path / "run.log"
    runner = CliRunner()
    for _ in range(2):  # the second run finds every feed not due yet
        result = runner.invoke(main, ["run", "--config", str(config), "--quiet", "--log-file", str(log_file)])
        assert result.exit_code == 0, result.output
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = log_file.read_text().splitlines()
    assert all(LINE.match(x) for x in lines)
    runs = [x for x in lines if " monitor.run monitor: feeds: " in x]
    assert len(runs) == 2
    first, second = lines[: lines.index(runs[0]) + 1], lines[lines.index(runs[0]) + 1:]
    fetched = [x for x in first if " feed fetched url=" in x]
    assert len(fetched) == 2 and any("/ledger/rss.xml" in x for x in fetched)
    assert len([x for x in first if "feed failed url=" in x and "/missing.xml" in x]) == 1
    not_due = [x for x in second if " feed not due url=" in x]
    assert len(not_due) == 3 and all("next_due=" in x for x in not_due)


def test_a_log_line_keeps_its_spacing_but_no_control_bidi_or_separator_character():
    import logging as _logging

    from monitor.logs import OneLineFormatter

    record = _logging.LogRecord("monitor.x", _logging.WARNING, __file__, 1, "a\tb  c\u2028d\x1b[2Je\u202ef\nend", None, None)
    assert OneLineFormatter("%(message)s").format(record) == "a b  c d [2Jef\\nend"
