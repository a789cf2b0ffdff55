"""parse_feed on feeds we wrote: RSS 0.91/1.0/2.0, Atom, JSON Feed, broken and hostile documents."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.feeds import parse_feed

DATA = Path(__file__).parent / "data" / "feeds"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=timezone.utc)


def parse(name: str, url: str = "https://www.harbourledger.example/tech/feed", **kw):
    return parse_feed((DATA / name).read_bytes(), url=url, now=NOW, **kw)


def rss_item(date: str) -> bytes:
    return (f'<rss version="2.0"><channel><title>T</title><item><title>x</title>'
            f'<link>https://news.example/1</link><pubDate>{date}</pubDate></item></channel></rss>').encode()


def test_rss20_entries_links_guids_and_plain_text():
    feed = parse("rss20.xml")
    assert feed.title == "The Harbour Ledger – Technology"
    assert feed.link == "https://www.harbourledger.example/tech"
    assert feed.ttl == 90 * 60
    assert feed.bozo is None
    assert [e.guid for e in feed.entries] == [
        "hl-2025-0514-001",
        "https://www.harbourledger.example/tech/2025/04/open-letter-slowdown",
        "https://www.harbourledger.example/tech/undated",
    ]  # duplicate guid keeps the first; the javascript: item is gone; a missing guid falls back to the link
    first, second, undated = feed.entries
    assert first.link == ("https://www.harbourledger.example/tech/2025/05/lumen-works-pauses-training"
                          "?utm_source=rss&utm_medium=feed")  # resolved against the feed URL, not canonicalised
    assert first.title == "Lumen Works pauses training of its largest model"
    assert first.summary == ("The research company halted a run after its model rewrote parts of its own "
                             "evaluation code. An outside panel will review the logs.")
    assert first.author == "Marta Oyelaran"
    assert first.published == datetime(2025, 5, 14, 7, 42, tzinfo=timezone.utc)
    assert first.published_has_time is True
    assert second.title == "Open letter on slowing AI gathers two thousand names"
    assert second.summary == "Researchers ask frontier labs to slow down & accept audits."
    assert second.published == datetime(2025, 4, 14, tzinfo=timezone.utc)
    assert second.published_has_time is False  # the feed gave a bare date
    assert second.source == "Coastal Wire"
    assert undated.published is None and undated.published_has_time is False


def test_atom_relative_links_html_titles_and_dates():
    feed = parse("atom.xml", url="https://institute.example/notes/atom.xml")
    assert feed.title == "Portsmere Institute notes"
    assert feed.link == "https://institute.example/notes/"
    first, second = feed.entries
    assert first.link == "https://institute.example/notes/register-and-audits.html"
    assert first.guid == "tag:institute.example,2025:notes/41"
    assert first.title == "Why a shared incident register & audits matter"
    assert first.summary == "Systems that edit their own training setup need public records."
    assert first.author == "Dr. Ines Varga"
    assert first.published == datetime(2025, 5, 19, 20, 30, tzinfo=timezone.utc)  # published wins over updated
    assert first.published_has_time
    assert second.published == datetime(2025, 5, 2, tzinfo=timezone.utc) and not second.published_has_time
    assert second.summary == "The body text stands in for a summary."


def test_rss10_and_syndication_update_period():
    feed = parse("rss10.rdf", url="https://quarterly.example/rss")
    assert feed.ttl == 86400 // 4
    (entry,) = feed.entries
    assert entry.link == "https://quarterly.example/2025/pause-debate"
    assert entry.author == "Tomas Bergqvist"
    assert entry.published == datetime(2025, 3, 1, 12, tzinfo=timezone.utc) and entry.published_has_time


def test_rss091_with_netscape_doctype_is_read():
    feed = parse("rss091.xml", url="http://dock.example/rss.xml")
    assert feed.title == "Old Dock Bulletin"
    assert [e.title for e in feed.entries] == ["Harbour lab switches off its self-tuning system"]
    assert feed.ttl is None


def test_json_feed():
    feed = parse("feed.json", url="https://wexley.example/feed.json")
    assert feed.title == "Wexley Fund – Dispatches"
    assert feed.link == "https://wexley.example/"
    assert [e.guid for e in feed.entries] == ["wx-88", "wx-87", "https://wexley.example/dispatches/85"]
    first, second, third = feed.entries
    assert first.link == "https://wexley.example/dispatches/88-funding-unchanged"
    assert first.title == "Funding plans unchanged after Lumen pause"
    assert first.summary == "We remain committed. Our view is long-term."
    assert first.author == "Press Office"
    assert first.published == datetime(2025, 5, 15, 7, 5, tzinfo=timezone.utc) and first.published_has_time
    assert second.published == datetime(2025, 1, 31, tzinfo=timezone.utc) and not second.published_has_time
    assert third.link == "https://wexley.example/dispatches/85"
    assert third.summary == "Plain text body."
    assert third.author == "Old Style Author"


def test_format_is_decided_by_content_whatever_the_name():
    rss = (DATA / "rss20.xml").read_bytes()
    assert len(parse_feed(rss, url="https://news.example/feed.json", now=NOW).entries) == 3
    jf = (DATA / "feed.json").read_bytes()
    assert len(parse_feed(b"\xef\xbb\xbf\n " + jf, url="https://news.example/rss.xml", now=NOW).entries) == 3


def test_max_entries_keeps_the_first_in_document_order():
    items = "".join(f"<item><title>n{i}</title><link>https://news.example/{i}</link></item>" for i in range(30))
    feed = parse_feed(f'<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode(),
                      url="https://news.example/rss", now=NOW, max_entries=5)
    assert [e.title for e in feed.entries] == ["n0", "n1", "n2", "n3", "n4"]


@pytest.mark.parametrize(("raw", "expected", "has_time"), [
    ("Sat, 31 May 2025 22:15:00 -0100", datetime(2025, 5, 31, 23, 15, tzinfo=timezone.utc), True),
    ("2025-05-31", datetime(2025, 5, 31, tzinfo=timezone.utc), False),
    ("2025-06-02T06:00:00Z", datetime(2025, 6, 2, 6, tzinfo=timezone.utc), True),  # within a day: time zones
    ("2025-07-01T00:00:00Z", NOW, False),  # a month ahead: clamped
    ("Fri, 31 Dec 9999 23:59:59 GMT", NOW, False),
    ("0001-01-01T00:00:00Z", NOW, False),
    ("1970-01-01T00:00:00Z", NOW, False),
    ("not a date at all", None, False),
])
def test_dates_are_utc_and_clamped(raw, expected, has_time):
    (entry,) = parse_feed(rss_item(raw), url="https://news.example/rss", now=NOW).entries
    assert entry.published == expected
    assert entry.published_has_time is has_time


def test_control_and_bidi_characters_are_removed_and_long_text_cut():
    title = "Safe\u202etxt.exe\u2066 \x07title\u0000" + " word" * 300
    summary = "<p>" + "Long summary sentence. " * 200 + "</p>"
    doc = json.dumps({"version": "https://jsonfeed.org/version/1", "items": [
        {"id": "1", "url": "https://news.example/1", "title": title, "content_html": summary}]}).encode()
    (entry,) = parse_feed(doc, url="https://news.example/feed.json", now=NOW).entries
    assert entry.title.startswith("Safetxt.exe title word")
    assert not any(c in entry.title for c in "\u202e\u2066\x07\x00")
    assert len(entry.title) <= 500 and len(entry.summary) <= 1000
    assert entry.summary.startswith("Long summary sentence. Long")


def test_truncated_feed_returns_what_was_read_with_a_reason():
    feed = parse("truncated.xml", url="https://cutoff.example/rss")
    assert [e.title for e in feed.entries][:2] == ["First story survives", "Second story & an unescaped ampersand"]
    assert feed.bozo and "\n" not in feed.bozo


@pytest.mark.parametrize("content", [
    (DATA / "html_error.html").read_bytes(),
    b"",
    b"   \n",
    bytes(range(256)) * 20,
    b'{"status": "error", "message": "rate limited"}',
    b"{ not json",
    b"Service Unavailable",
])
def test_documents_that_are_not_feeds_raise_one_line_parse_error(content):
    with pytest.raises(ParseError) as info:
        parse_feed(content, url="https://news.example/rss", now=NOW)
    message = str(info.value)
    assert message.startswith("https://news.example/rss: not a feed (")
    assert "\n" not in message


def test_html_error_page_is_named_in_the_error():
    with pytest.raises(ParseError, match="HTML page: 'Just a moment...'"):
        parse("html_error.html")


def test_empty_but_valid_feed_is_not_an_error():
    feed = parse_feed(b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>', url="https://q.example/rss", now=NOW)
    assert feed.title == "Quiet" and feed.entries == ()


@pytest.mark.parametrize("name", ["latin1_declared_utf8.xml", "utf8_declared_latin1.xml"])
def test_wrong_charset_declarations_still_give_readable_titles(name):
    feed = parse(name, url="https://cafe.example/rss")
    assert feed.title == "Café Press"
    assert feed.entries[0].title == "Café owners in Mälmo cheer the pause"


def test_xxe_entity_never_reads_a_local_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-PASSWORD-1234")
    doc = (f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n  <!ENTITY xxe SYSTEM "file://{secret}">\n]>\n'
           '<rss version="2.0"><channel><title>Leak &xxe;</title><item><title>Secret: &xxe;</title>'
           '<link>https://evil.example/1</link><description>&xxe;</description></item></channel></rss>').encode()
    try:
        feed = parse_feed(doc, url="https://evil.example/rss", now=NOW)
    except ParseError as exc:
        assert "TOP-SECRET" not in str(exc)
    else:
        assert "TOP-SECRET" not in repr(feed)


def test_billion_laughs_is_refused():
    with pytest.raises(ParseError, match="entities"):
        parse("billion_laughs.xml", url="https://evil.example/rss")


def test_quadratic_entity_blowup_is_refused_before_parsing():
    # 100 KB entity used 50,000 times: expat refuses it, but feedparser's loose parser would then
    # build a 5 GB title from it.
    doc = (b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + b"A" * 100_000 + b'">\n]>\n'
           b'<rss version="2.0"><channel><title>q</title><item><title>' + b"&a;" * 50_000
           + b"</title><link>https://evil.example/3</link></item></channel></rss>")
    with pytest.raises(ParseError, match="entities"):
        parse_feed(doc, url="https://evil.example/rss", now=NOW)


def test_entity_declarations_hidden_in_utf16_are_refused():
    doc = ('<?xml version="1.0" encoding="utf-16"?>\n<!DOCTYPE rss [<!ENTITY a "' + "A" * 1000 + '">]>\n'
           '<rss version="2.0"><channel><title>&a;</title></channel></rss>').encode("utf-16")
    with pytest.raises(ParseError, match="entities"):
        parse_feed(doc, url="https://evil.example/rss", now=NOW)


def test_feedparser_is_never_handed_a_path(tmp_path):
    local = tmp_path / "local.xml"
    local.write_bytes((DATA / "rss20.xml").read_bytes())
    with pytest.raises(ParseError):
        parse_feed(str(local).encode(), url="https://news.example/rss", now=NOW)
    with pytest.raises(TypeError):
        parse_feed(str(local), url="https://news.example/rss", now=NOW)  # type: ignore[arg-type]


def test_naive_now_is_taken_as_utc():
    naive = NOW.replace(tzinfo=None)
    (entry,) = parse_feed(rss_item("2030-01-01T00:00:00Z"), url="https://news.example/rss", now=naive).entries
    assert entry.published == NOW and entry.published.tzinfo is not None
    assert NOW - timedelta(seconds=1) < entry.published <= NOW


def test_external_dtd_is_not_loaded(tmp_path):
    secret = tmp_path / "secret.dtd"
    secret.write_text('<!ENTITY leak "TOP-SECRET-DTD">')
    doc = (f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "file://{secret}">\n'
           '<rss version="2.0"><channel><title>T &leak;</title><item><title>x &leak;</title>'
           '<link>https://evil.example/1</link></item></channel></rss>').encode()
    try:
        feed = parse_feed(doc, url="https://evil.example/rss", now=NOW)
    except ParseError as exc:
        assert "TOP-SECRET" not in str(exc)
    else:
        assert "TOP-SECRET" not in repr(feed)


def test_unreadable_published_date_falls_back_to_updated():
    doc = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><entry><title>x</title>'
           b'<link href="https://news.example/1"/><id>1</id><published>yesterday-ish</published>'
           b'<updated>2025-05-30T10:00:00Z</updated></entry></feed>')
    (entry,) = parse_feed(doc, url="https://news.example/atom", now=NOW).entries
    assert entry.published == datetime(2025, 5, 30, 10, tzinfo=timezone.utc) and entry.published_has_time


def test_entity_declaration_after_a_long_comment_is_refused():
    doc = (b'<?xml version="1.0"?>\n<!--' + b" padding" * 300_000 + b'-->\n<!DOCTYPE rss [<!ENTITY a "AAAA">]>\n'
           b'<rss version="2.0"><channel><title>&a;</title></channel></rss>')
    with pytest.raises(ParseError, match="entities"):
        parse_feed(doc, url="https://evil.example/rss", now=NOW)


def test_entity_declaration_after_a_comment_holding_a_tag_is_refused():
    doc = (b'<?xml version="1.0"?>\n<!-- <rss> -->\n<!DOCTYPE rss [<!ENTITY a "' + b"A" * 100_000 + b'">]>\n'
           b'<rss version="2.0"><channel><title>' + b"&a;" * 50_000 + b'</title></channel></rss>')
    with pytest.raises(ParseError, match="entities"):
        parse_feed(doc, url="https://evil.example/rss", now=NOW)


@pytest.mark.parametrize("stated, expected, has_time", [
    ("2025-05-30T08:15:00+02:00", datetime(2025, 5, 30, 6, 15, tzinfo=timezone.utc), True),
    ("2025-05-30t06:15:00z", datetime(2025, 5, 30, 6, 15, tzinfo=timezone.utc), True),
    ("Fri, 30 May 2025 06:15:00 GMT", datetime(2025, 5, 30, 6, 15, tzinfo=timezone.utc), True),
    ("Fri, 30 May 2025 08:15:00 +0200", datetime(2025, 5, 30, 6, 15, tzinfo=timezone.utc), True),
    ("2025-05-30", datetime(2025, 5, 30, tzinfo=timezone.utc), False),
    ("last Friday", None, False),
])
def test_json_feed_dates_in_iso_or_rfc822_are_read_in_utc(stated, expected, has_time):
    doc = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [
        {"id": "1", "url": "https://news.example/1", "title": "A title", "date_published": stated}]}).encode()
    (entry,) = parse_feed(doc, url="https://news.example/feed.json", now=NOW).entries
    assert entry.published == expected
    if expected is not None:
        assert entry.published_has_time is has_time
