"""Feeds in and out of OPML, the subscription-list format every feed reader speaks.

    parse_opml(data, path=...)          OPML bytes -> [Feed]   (folder titles and `category` become tags)
    export_opml(feeds, title=...)       [Feed] -> OPML 2.0 bytes, one folder per first tag
    import_into_config(path, feeds)     append the new feeds to feeds.yaml, keeping every other byte

OPML files come from elsewhere and are treated as hostile: they are read with the standard library's
expat parser with every entity declaration refused (no billion laughs, no external entities, no
network), the way defusedxml does it, so no extra dependency is needed. Only http(s) feed URLs are
taken; names and tags lose control characters. Problems raise ConfigError in one line naming the file
and line.

`import_into_config` never rewrites what it does not have to: new entries are inserted as text right
after the last entry of the `feeds:` list, formatted like that entry (flow `{url: ..}` or block style,
same indentation). ruamel.yaml (round-trip mode) finds the place and formats the new scalars; the
result is parsed again and must equal the old document plus the new feeds, otherwise the file is left
alone. The write is atomic (monitor.files: temporary file, fsync, rename).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from .config import MAX_TAGS  # tags per feed: its folders and its categories
from .errors import ConfigError
from .files import atomic_write
from .logs import event
from .models import Feed
from .text import clean_text
from .urlcheck import is_http_url

log = logging.getLogger("monitor.opml")

MAX_NAME = 200
MAX_DEPTH = 20  # folders inside folders; readers export one or two levels


# --------------------------------------------------------------------------------------------- parse

class _Refused(Exception):
    """Raised from inside expat handlers to stop the parse."""


def parse_opml(data: bytes, *, path: str) -> list[Feed]:
    """Every outline with an http(s) xmlUrl, in document order, without repeats.

    The titles of the folders (outlines without xmlUrl) around a feed become its tags, followed by
    the words of its `category` attribute. Raises ConfigError("<path>: not valid OPML (line N: ...)").
    """
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[str] = []  # element names from the root down
    folders: list[str | None] = []  # per open <outline>: its folder title, or None for a feed outline
    found: list[Feed] = []
    refused: list[str] = []
    body_line = 1

    def refuse_entity(name, *_args):
        raise _Refused(f"line {parser.CurrentLineNumber}: entity declarations are not allowed (<!ENTITY {_clean(str(name))}>)")

    def refuse_external(*_args):
        raise _Refused(f"line {parser.CurrentLineNumber}: external entities are not allowed")

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal body_line
        if not stack and name != "opml":
            raise _Refused(f"line {parser.CurrentLineNumber}: the root element is <{_clean(name)[:40]}>, not <opml>")
        stack.append(name)
        if name == "body" and len(stack) == 2:
            body_line = parser.CurrentLineNumber
        if name != "outline":
            return
        if stack[1:2] != ["body"]:
            folders.append(None)
            return
        if len(folders) >= MAX_DEPTH:  # each feed would carry every folder title above it
            raise _Refused(f"line {parser.CurrentLineNumber}: outlines nested more than {MAX_DEPTH} deep")
        lower = {k.lower(): v for k, v in attrs.items()}
        url = (lower.get("xmlurl") or "").strip()
        title = _clean(lower.get("text") or lower.get("title") or "")[:MAX_NAME]
        if not url:
            folders.append(title or None)
            return
        folders.append(None)
        if not is_http_url(url, exact=True):
            refused.append(url)
            return
        tags = [t for t in folders[:-1] if t]
        for item in (lower.get("category") or "").split(","):
            tag = _clean(item).strip("/").strip()
            if tag:
                tags.append(tag)
        tags = list(dict.fromkeys(tags))
        if len(tags) > MAX_TAGS:
            raise _Refused(f"line {parser.CurrentLineNumber}: the feed {_clean(url)[:100]!r} has {len(tags)} tags "
                           f"(folders and categories; at most {MAX_TAGS})")
        name_ = title if title and title != url else None
        found.append(Feed(url=url, name=name_, tags=tuple(dict.fromkeys(tags))))

    def end(name: str) -> None:
        stack.pop()
        if name == "outline":
            folders.pop()

    parser.EntityDeclHandler = refuse_entity
    parser.UnparsedEntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = refuse_external
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise ConfigError(f"{path}: not valid OPML ({exc})") from None
    except expat.ExpatError as exc:
        raise ConfigError(f"{path}: not valid OPML (line {exc.lineno}: {expat.ErrorString(exc.code)})") from None
    for url in refused:
        event(log, logging.WARNING, "opml outline skipped", file=path, url=url, reason="not an http(s) URL")
    if not found:
        what = f"{len(refused)} outlines, none with an http(s) xmlUrl" if refused else "no <outline> with an xmlUrl"
        raise ConfigError(f"{path}: not valid OPML (line {body_line}: {what})")
    feeds: dict[str, Feed] = {}
    for feed in found:
        feeds.setdefault(canonical_url(feed.url), feed)
    return list(feeds.values())


def canonical_url(url: str) -> str:
    """The form two feed URLs are compared in: lower-case scheme and host, no trailing slash or fragment."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, ""))


def _clean(text: str) -> str:
    """One line of valid text (see monitor.text)."""
    return clean_text(text)


# -------------------------------------------------------------------------------------------- export

def export_opml(feeds: Sequence[Feed], *, title: str) -> bytes:
    """OPML 2.0: feeds without tags at the top, the others in one folder per first tag (in first-seen order).

    Every tag is also listed in the outline's `category` attribute, so `parse_opml` gives back the
    same URLs, names and tags. Intervals are not part of OPML and are not written.
    """
    groups: dict[str, list[str]] = {}
    order: list[tuple[str, str]] = []  # ("feed", line) or ("group", tag)
    for feed in feeds:
        line = _outline(feed)
        tag = _tag_text(feed.tags[0]) if feed.tags else None
        if not tag:
            order.append(("feed", line))
            continue
        if tag not in groups:
            groups[tag] = []
            order.append(("group", tag))
        groups[tag].append(line)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{escape(_xml_text(title))}</title>",
        "  </head>",
        "  <body>",
    ]
    for kind, value in order:
        if kind == "feed":
            out.append(f"    {value}")
        else:
            out.append(f"    <outline text={quoteattr(value)} title={quoteattr(value)}>")
            out.extend(f"      {line}" for line in groups[value])
            out.append("    </outline>")
    out += ["  </body>", "</opml>", ""]
    return "\n".join(out).encode("utf-8")


def _outline(feed: Feed) -> str:
    text = _xml_text(feed.name or "") or feed.url
    attrs = [("type", "rss"), ("text", text), ("title", text), ("xmlUrl", _xml_text(feed.url))]
    tags = [t for t in map(_tag_text, feed.tags) if t]
    if tags:
        attrs.append(("category", ",".join(tags)))
    return "<outline " + " ".join(f"{k}={quoteattr(v, {chr(10): '&#10;', chr(13): '&#13;', chr(9): '&#9;'})}" for k, v in attrs) + "/>"


def _tag_text(tag: str) -> str:
    """A tag as OPML can carry it: `category` separates tags with commas, so a comma becomes a space."""
    return _xml_text(tag.replace(",", " ")) or ""


def _xml_text(text: str) -> str:
    """Text XML 1.0 can carry on one line (control characters, lone surrogates and non-characters dropped)."""
    return clean_text(text)


# -------------------------------------------------------------------------------------------- import

@dataclass(frozen=True)
class ImportReport:
    added: tuple[Feed, ...]
    skipped: tuple[Feed, ...]  # already present (same canonical URL) or repeated in the import


def import_into_config(config_path: Path, feeds: Sequence[Feed]) -> ImportReport:
    """Append the feeds not yet listed to the `feeds:` list of an existing feeds.yaml.

    Comments, order, quoting and flow style of everything already there are kept byte for byte.
    Raises ConfigError (and leaves the file untouched) if it cannot be read, parsed or written.
    """
    config_path = Path(config_path)
    target = config_path.resolve()  # write through a symlink, not over it
    try:
        raw = target.read_bytes()
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{config_path}: cannot read: {exc}") from None
    data = _load_yaml(text, config_path)
    if data is None:
        data = CommentedMap()
    if not isinstance(data, dict):
        raise ConfigError(f"{config_path}:1: the file must be a mapping of keys (feeds:, topics:, ...)")
    existing = data.get("feeds")
    if existing is not None and not isinstance(existing, list):
        raise ConfigError(f"{config_path}: feeds: must be a list to import into")
    present = {canonical_url(u) for u in map(_item_url, existing or []) if u}
    feeds = [_tidy(feed, config_path) for feed in feeds]
    added: list[Feed] = []
    skipped: list[Feed] = []
    for feed in feeds:
        key = canonical_url(feed.url)
        if key in present:
            skipped.append(feed)
        else:
            present.add(key)
            added.append(feed)
    if not added:
        return ImportReport(added=(), skipped=tuple(skipped))
    new_text = _insert_text(text, data, added) if existing else None
    if new_text is None or not _same_plus(data, new_text, added):
        new_text = _round_trip(text, added, config_path)
        if not _same_plus(data, new_text, added):
            raise ConfigError(f"{config_path}: cannot add feeds without changing other entries; edit it by hand")
    _write_atomically(target, new_text.encode("utf-8"))
    return ImportReport(added=tuple(added), skipped=tuple(skipped))


def _tidy(feed: Feed, path: Path) -> Feed:
    """The feed as it will be written: stripped URL, one-line name and tags."""
    url = feed.url.strip()
    if not is_http_url(url, exact=True):
        raise ConfigError(f"{path}: cannot import {url!r}: not an http(s) URL")
    name = _clean(feed.name or "")[:MAX_NAME] or None
    tags = tuple(dict.fromkeys(t for t in (_clean(t) for t in feed.tags) if t))
    return replace(feed, url=url, name=name, tags=tags)


def _load_yaml(text: str, path: Path) -> Any:
    try:
        return YAML(typ="rt").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML: {_clean(str(problem))}") from None


def _item_url(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and isinstance(item.get("url"), str):
        return item["url"]
    return None


def _entry(feed: Feed, *, flow: bool) -> CommentedMap:
    entry = CommentedMap()
    entry["url"] = DoubleQuotedScalarString(feed.url)
    if feed.name:
        entry["name"] = feed.name
    if feed.tags:
        tags = CommentedSeq(feed.tags)
        tags.fa.set_flow_style()
        entry["tags"] = tags
    if flow:
        entry.fa.set_flow_style()
    return entry


def _dump(value: Any) -> str:
    yaml = YAML(typ="rt")
    yaml.width = 1 << 16  # never fold a long URL
    out = io.StringIO()
    yaml.dump(value, out)
    return out.getvalue()


def _insert_text(text: str, data: Any, feeds: Sequence[Feed]) -> str | None:
    """The new entries inserted as lines after the last entry of a block-style `feeds:` list, or None."""
    seq = data["feeds"]
    if seq.fa.flow_style() or not seq:
        return None
    lines = text.splitlines(keepends=True)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    last = len(seq) - 1
    line_no, value_col = seq.lc.item(last)
    first = lines[line_no]
    dash_col = len(first) - len(first.lstrip(" "))
    if first[dash_col:dash_col + 1] != "-" or value_col <= dash_col:
        return None
    end = line_no
    for i in range(line_no + 1, len(lines)):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(lines[i]) - len(lines[i].lstrip(" ")) <= dash_col:
            break
        end = i
    mappings = [item for item in seq if isinstance(item, CommentedMap)]
    flow = not mappings or bool(mappings[-1].fa.flow_style())
    new_lines: list[str] = []
    for feed in feeds:
        body = _dump(_entry(feed, flow=flow)).rstrip("\n").split("\n")
        new_lines.append(" " * dash_col + "-" + " " * (value_col - dash_col - 1) + body[0] + newline)
        new_lines.extend(" " * value_col + line + newline for line in body[1:])
    if not lines[end].endswith("\n"):
        lines[end] += newline
    return "".join(lines[: end + 1] + new_lines + lines[end + 1:])


def _round_trip(text: str, feeds: Sequence[Feed], path: Path) -> str:
    """Fallback for a missing, empty or flow-style `feeds:` list: a full ruamel round trip."""
    from ruamel.yaml.util import load_yaml_guess_indent

    try:
        _, indent, seq_indent = load_yaml_guess_indent(text)
    except YAMLError:
        indent, seq_indent = 2, 2
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 16
    yaml.indent(mapping=indent or 2, sequence=(indent or 2), offset=seq_indent or 0)
    try:
        data = yaml.load(text)
    except YAMLError:
        data = _load_yaml(text, path)
    if data is None:
        data = CommentedMap()
    seq = data.get("feeds")
    if not isinstance(seq, CommentedSeq):
        seq = CommentedSeq()
        data["feeds"] = seq
    if not seq:
        seq.fa.set_block_style()
    flow = not seq.fa.flow_style()
    for feed in feeds:
        seq.append(_entry(feed, flow=flow))
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _same_plus(old: Any, new_text: str, feeds: Sequence[Feed]) -> bool:
    """True when new_text parses to `old` with exactly `feeds` appended to its feeds list."""
    try:
        new = YAML(typ="rt").load(new_text)
    except YAMLError:
        return False
    if not isinstance(new, dict) or not isinstance(new.get("feeds"), list):
        return False
    old_plain, new_plain = _plain(old), _plain(new)
    old_feeds = old_plain.pop("feeds", None) or []
    new_feeds = new_plain.pop("feeds")
    if old_plain != new_plain or new_feeds[: len(old_feeds)] != old_feeds:
        return False
    wanted = [_plain(_entry(f, flow=True)) for f in feeds]
    return new_feeds[len(old_feeds):] == wanted


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def _write_atomically(target: Path, data: bytes) -> None:
    try:
        atomic_write(target, data)
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write: {exc}") from None
