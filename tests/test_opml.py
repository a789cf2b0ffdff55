"""OPML in and out: safe parsing, round trip, and imports that keep feeds.yaml as the user wrote it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.models import Feed
from monitor.opml import ImportReport, canonical_url, export_opml, import_into_config, parse_opml

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions of a reader</title></head>
  <body>
    <outline text="Robots weekly" title="Robots weekly" type="rss" xmlUrl="https://robots-weekly.example/rss"/>
    <outline text="Policy" title="Policy">
      <outline text="Harbor Gazette" type="rss" xmlUrl="https://harbor-gazette.example/feed/" htmlUrl="https://harbor-gazette.example/"/>
      <outline title="Inner folder">
        <outline text="Deep Lab Notes" xmlURL="https://deeplab.example/atom.xml" category="/labs/,safety"/>
      </outline>
    </outline>
    <outline text="Local file" xmlUrl="file:///etc/passwd"/>
    <outline text="Script" xmlUrl="javascript:alert(1)"/>
    <outline text="Nameless" xmlUrl="https://nameless.example/feed"/>
    <outline text="Robots again" xmlUrl="https://ROBOTS-WEEKLY.example/rss/"/>
  </body>
</opml>
"""

FEEDS_YAML = """\
# My monitor: edit freely, comments survive imports.
database: data/monitor.sqlite3   # next to this file

topics: []

feeds:
  # Labs
  - {url: "https://lab-one.example/feed.xml", name: Lab One, tags: [lab], interval: 3h}
  - {url: "https://harbor-gazette.example/feed", name: "Harbor: Gazette", tags: [news]}  # trailing slash differs
  # Block style, written by hand
  - url: https://blocky.example/rss
    name: Blocky
    tags:
      - news
      - policy
  - https://bare.example/atom.xml
  # the end of the list

site_title: "Watching"  # shown on every page
"""


def test_reader_export_gives_http_feeds_with_folder_tags_and_names():
    feeds = parse_opml(READER_EXPORT, path="subs.opml")
    assert [(f.url, f.name, f.tags) for f in feeds] == [
        ("https://robots-weekly.example/rss", "Robots weekly", ()),
        ("https://harbor-gazette.example/feed/", "Harbor Gazette", ("Policy",)),
        ("https://deeplab.example/atom.xml", "Deep Lab Notes", ("Policy", "Inner folder", "labs", "safety")),
        ("https://nameless.example/feed", "Nameless", ()),
    ]


def test_export_then_parse_gives_the_same_feeds():
    feeds = [
        Feed(url="https://a.example/feed", name="Alpha & Omega <news>", tags=("news",)),
        Feed(url="https://b.example/rss?x=1&y=2", name=None, tags=("lab", "safety")),
        Feed(url="https://c.example/atom", name='Quote "this"', tags=()),
        Feed(url="https://d.example/feed/", name="Delta", tags=("lab",)),
    ]
    data = export_opml(feeds, title="My <monitor>")
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    back = parse_opml(data, path="out.opml")
    key = lambda f: (f.url, f.name, f.tags)  # noqa: E731
    assert sorted(map(key, back)) == sorted(map(key, feeds))
    # grouped by first tag: both "lab" feeds sit in one folder
    assert data.count(b'<outline text="lab"') == 1
    assert b'type="rss"' in data and b"<title>My &lt;monitor&gt;</title>" in data


def test_export_of_the_shipped_feeds_round_trips():
    feeds = load_config("feeds.yaml").feeds
    back = parse_opml(export_opml(feeds, title="t"), path="t.opml")
    assert {(f.url, f.name, f.tags) for f in back} == {(f.url, f.name, f.tags) for f in feeds}


def test_hostile_names_stay_on_one_line_in_export():
    data = export_opml([Feed(url="https://x.example/f", name="evil\n\x1b[31mname\x00", tags=("a,b",))], title="t\x07")
    (feed,) = parse_opml(data, path="x.opml")
    assert feed.name == "evil [31mname"
    assert feed.tags == ("a b",)


@pytest.mark.parametrize(
    ("data", "line", "why"),
    [
        (b"this is not xml", 1, "syntax error"),
        (b"", 1, "no element found"),
        (b'<?xml version="1.0"?>\n<opml version="2.0">\n<body>\n<outline text="x">\n</body></opml>', 5, "mismatched tag"),
        (b'<?xml version="1.0"?>\n<opml version="2.0"><head/>\n<body>\n</body></opml>', 3, "no <outline> with an xmlUrl"),
        (b'<opml><body><outline text="a" xmlUrl="ftp://x.example/f"/></body></opml>', 1, "none with an http(s) xmlUrl"),
        (b'<?xml version="1.0"?>\n<rss version="2.0"><channel/></rss>', 2, "the root element is <rss>, not <opml>"),
    ],
)
def test_bad_opml_is_one_line_naming_file_and_line(data, line, why):
    with pytest.raises(ConfigError) as info:
        parse_opml(data, path="subs.opml")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"subs.opml: not valid OPML (line {line}: ")
    assert why in message


def test_billion_laughs_and_external_entities_are_refused_before_expansion():
    levels = "\n".join(
        f' <!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    bomb = f"""<?xml version="1.0"?>
<!DOCTYPE opml [
 <!ENTITY l0 "ha">
{levels}
]>
<opml version="2.0"><body><outline text="&l9;" xmlUrl="https://x.example/f"/></body></opml>""".encode()
    with pytest.raises(ConfigError, match=r"^bomb.opml: not valid OPML \(line 3: entity declarations are not allowed"):
        parse_opml(bomb, path="bomb.opml")
    xxe = b'<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<opml><body><outline text="&e;" xmlUrl="https://x.example/f"/></body></opml>'
    with pytest.raises(ConfigError, match="entity declarations are not allowed"):
        parse_opml(xxe, path="xxe.opml")
    undeclared = b'<opml><body><outline text="&nope;" xmlUrl="https://x.example/f"/></body></opml>'
    with pytest.raises(ConfigError, match=r"line 1: undefined entity"):
        parse_opml(undeclared, path="u.opml")


def test_canonical_url_ignores_case_of_scheme_and_host_and_trailing_slash():
    assert canonical_url("HTTPS://Example.ORG/Feed/") == canonical_url("https://example.org/Feed")
    assert canonical_url("https://example.org/Feed") != canonical_url("https://example.org/feed")
    assert canonical_url("https://example.org/f?a=1") != canonical_url("https://example.org/f?a=2")


# -------------------------------------------------------------------------------------------- import

def test_import_into_a_commented_file_keeps_every_byte_and_adds_only_new_feeds(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(FEEDS_YAML, encoding="utf-8")
    report = import_into_config(path, parse_opml(READER_EXPORT, path="subs.opml"))

    assert isinstance(report, ImportReport)
    assert [f.url for f in report.added] == [
        "https://robots-weekly.example/rss",
        "https://deeplab.example/atom.xml",
        "https://nameless.example/feed",
    ]
    assert [f.url for f in report.skipped] == ["https://harbor-gazette.example/feed/"]

    text = path.read_text(encoding="utf-8")
    lines = FEEDS_YAML.splitlines(keepends=True)
    cut = lines.index("  - https://bare.example/atom.xml\n") + 1
    # everything before and after the insertion is unchanged, byte for byte
    assert text.startswith("".join(lines[:cut]))
    assert text.endswith("".join(lines[cut:]))
    inserted = text[len("".join(lines[:cut])): len(text) - len("".join(lines[cut:]))]
    # formatted like the last mapping in the list (block style here), at the list's indentation
    assert inserted == (
        '  - url: "https://robots-weekly.example/rss"\n'
        "    name: Robots weekly\n"
        '  - url: "https://deeplab.example/atom.xml"\n'
        "    name: Deep Lab Notes\n"
        "    tags: [Policy, Inner folder, labs, safety]\n"
        '  - url: "https://nameless.example/feed"\n'
        "    name: Nameless\n"
    )
    config = load_config(path)
    assert [f.url for f in config.feeds][-3:] == [f.url for f in report.added]
    assert config.feeds[0].interval == 3 * 3600 and config.site_title == "Watching"

    again = import_into_config(path, parse_opml(READER_EXPORT, path="subs.opml"))
    assert again.added == () and len(again.skipped) == 4
    assert path.read_text(encoding="utf-8") == text


def test_import_after_flow_style_entries_uses_flow_style(tmp_path):
    path = tmp_path / "feeds.yaml"
    original = 'feeds:\n  # labs\n  - {url: "https://a.example/f", name: A, tags: [lab]}\n\n  # news\n  - {url: "https://b.example/f", name: B}\n'
    path.write_text(original)
    import_into_config(path, [Feed(url="https://c.example/f", name="C", tags=("lab", "x y"))])
    assert path.read_text() == original + '  - {url: "https://c.example/f", name: C, tags: [lab, x y]}\n'


def test_import_after_a_block_style_entry_uses_block_style(tmp_path):
    path = tmp_path / "feeds.yaml"
    original = "feeds:\n# hand written\n-   url: https://one.example/rss   # first\n    name: One\n\n# after\nsite_title: X\n"
    path.write_text(original)
    import_into_config(path, [Feed(url="https://two.example/rss", name="Two: the sequel", tags=("news",))])
    assert path.read_text() == (
        "feeds:\n# hand written\n-   url: https://one.example/rss   # first\n    name: One\n"
        "-   url: \"https://two.example/rss\"\n    name: 'Two: the sequel'\n    tags: [news]\n"
        "\n# after\nsite_title: X\n"
    )
    assert [f.name for f in load_config(path).feeds] == ["One", "Two: the sequel"]


@pytest.mark.parametrize("original", ["site_title: X\n", "feeds:\nsite_title: X\n", "feeds: []\nsite_title: X\n"])
def test_import_into_a_file_without_feeds_creates_the_list(tmp_path, original):
    path = tmp_path / "feeds.yaml"
    path.write_text(original)
    report = import_into_config(path, [Feed(url="https://n.example/feed", name="N")])
    assert len(report.added) == 1
    config = load_config(path)
    assert [f.url for f in config.feeds] == ["https://n.example/feed"] and config.site_title == "X"


def test_hostile_names_are_written_as_one_line_yaml(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://a.example/f\n")
    report = import_into_config(path, [Feed(url="https://b.example/f", name='x\n- url: file:///etc/passwd\n"#', tags=("a]", "{b}"))])
    assert report.added[0].name == 'x - url: file:///etc/passwd "#'
    feeds = load_config(path).feeds
    assert [f.url for f in feeds] == ["https://a.example/f", "https://b.example/f"]
    assert feeds[1].name == 'x - url: file:///etc/passwd "#' and feeds[1].tags == ("a]", "{b}")


def test_unparsable_yaml_is_a_config_error_and_stays_untouched(tmp_path):
    path = tmp_path / "feeds.yaml"
    original = b"feeds:\n  - {url: https://a.example/f\n# unclosed\n"
    path.write_bytes(original)
    with pytest.raises(ConfigError, match=r"feeds.yaml:\d+: not valid YAML"):
        import_into_config(path, [Feed(url="https://b.example/f")])
    assert path.read_bytes() == original


def test_bad_opml_leaves_feeds_yaml_byte_identical(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(FEEDS_YAML)
    before = path.read_bytes()
    for bad in (b"not xml", b'<opml version="2.0"><body/></opml>', b'<!DOCTYPE o [<!ENTITY a "b">]><opml/>'):
        with pytest.raises(ConfigError):
            import_into_config(path, parse_opml(bad, path="bad.opml"))
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["feeds.yaml"]


def test_a_failed_write_leaves_the_file_and_no_temporary_behind(tmp_path, monkeypatch):
    path = tmp_path / "feeds.yaml"
    path.write_text(FEEDS_YAML)

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("monitor.files.os.replace", disk_full)
    with pytest.raises(ConfigError, match="cannot write: .*No space left"):
        import_into_config(path, [Feed(url="https://new.example/f")])
    assert path.read_text() == FEEDS_YAML and os.listdir(tmp_path) == ["feeds.yaml"]


def test_import_writes_through_a_symlink_and_keeps_the_mode(tmp_path):
    real = tmp_path / "real.yaml"
    real.write_text("feeds:\n  - https://a.example/f\n")
    real.chmod(0o640)
    link = tmp_path / "feeds.yaml"
    link.symlink_to(real)
    import_into_config(link, [Feed(url="https://b.example/f")])
    assert link.is_symlink()
    assert "https://b.example/f" in real.read_text()
    assert real.stat().st_mode & 0o777 == 0o640


def test_import_into_an_empty_flow_list_changes_only_that_line(tmp_path):
    shipped = (Path(__file__).resolve().parent.parent / "feeds.yaml").read_text()
    lines = [line for line in shipped.splitlines(keepends=True) if not line.startswith("  - {url")]
    lines = ["feeds: []\n" if line == "feeds:\n" else line for line in lines]
    path = tmp_path / "feeds.yaml"
    path.write_text("".join(lines))
    import_into_config(path, [Feed(url="https://n.example/feed", name="N", tags=("news",))])
    after = path.read_text().splitlines(keepends=True)
    at = lines.index("feeds: []\n")
    assert after == lines[:at] + ["feeds:\n", '  - {url: "https://n.example/feed", name: N, tags: [news]}\n'] + lines[at + 1:]
