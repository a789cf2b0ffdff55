"""Read and validate feeds.yaml into a `Config`, before anything runs.

Every problem is reported as one line naming the file, the line and the key:

    feeds.yaml:14: feeds[2].url: 'file:///etc/passwd' is not an http(s) URL

`load_config` raises ConfigError with the first problem; `check_config` returns all of them (for
`monitor check`). Relative paths are relative to the configuration file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.parser import RoundTripParser

from .errors import ConfigError
from .models import Feed, Topic
from .urlcheck import is_http_url

DEFAULT_INTERVAL = 3600
MAX_TAGS = 20  # per feed
MAX_NESTING = 50  # levels of lists and mappings in feeds.yaml (it needs four)
MAX_NODES = 1_000_000  # values in feeds.yaml once its aliases are expanded (10,000 feeds need about 60,000)


@dataclass(frozen=True)
class Config:
    path: Path
    feeds: tuple[Feed, ...]
    topics: tuple[Topic, ...]
    database: Path | str  # a SQLite file, or a postgresql:// URL (kept as written: never a path)
    site_dir: Path
    allow_private_networks: bool = False
    site_title: str = "News monitor"
    site_url: str | None = None
    relevance_threshold: float | None = None  # None: the scorer's default
    time_budget: int = 45 * 60  # seconds a run may take before it leaves the rest to the next run
    max_entries_per_feed: int = 200
    max_articles_per_run: int = 2000
    per_host_connections: int = 4
    home_stories: int = 50  # stories on the home page whatever their dates; older ones in the monthly archive


TOP_KEYS = {
    "feeds", "topics", "database", "site_dir", "allow_private_networks", "site_title", "site_url",
    "relevance_threshold", "time_budget", "max_entries_per_feed", "max_articles_per_run", "per_host_connections",
    "home_stories",
}
FEED_KEYS = {"url", "name", "interval", "tags", "aggregator"}
TOPIC_KEYS = {"name", "phrases", "terms", "exclude"}
_DURATION = re.compile(r"^\s*(\d{1,12}(?:\.\d{1,12})?)\s*(s|m|h|d)?\s*$")
MAX_DURATION = 10 * 365 * 86400  # a longer wait is a typo, and would overflow the date arithmetic
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def load_config(path: str | Path) -> Config:
    """The validated configuration, or ConfigError naming the first problem."""
    config, problems = check_config(path)
    if problems:
        raise ConfigError(problems[0])
    assert config is not None
    return config


def check_config(path: str | Path) -> tuple[Config | None, list[str]]:
    """(config, []) when valid, else (None, every problem found, one line each)."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [f"{path}: no such file (create one from the shipped feeds.yaml)"]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{path}: cannot read: {exc}"]
    try:
        data = _load_checked(raw)
    except (YAMLError, RecursionError, _ShapeError):  # the message comes from the reading in two steps
        data, problem = _load_in_two_steps(raw, path)
        if problem:
            return None, [problem]
    checker = _Checker(path)
    config = checker.config(data)
    return (None, checker.problems) if checker.problems else (config, [])


def _load_in_two_steps(raw: str, path: Path) -> tuple[Any, str | None]:
    """(document, None), or (None, its problem): the shape of the whole event stream is checked first, then the
    document is loaded. A document that breaks a limit and is also not valid YAML is reported by the limit
    unless the parser stops before it."""
    try:
        shape = _shape_problem(raw, path)
        if shape:
            return None, shape
        return YAML(typ="rt").load(raw), None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        return None, f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}"
    except RecursionError:  # the shape check should have caught it; never a traceback
        return None, f"{path}: not valid YAML: nested too deeply"


class _ShapeError(Exception):
    """The document's shape broke a limit of `_Shape`, found while it was being read."""


class _Shape:
    """The limits `_shape_problem` states, counted event by event: `see` returns the problem, if any."""

    def __init__(self) -> None:
        self.sizes: dict[str, int] = {}
        self.open: list[tuple[str | None, int]] = []
        self.total = 0

    def see(self, event: Any) -> str | None:
        """None, or the problem as "<line>: <what>" (the line 1-based)."""
        if isinstance(event, AliasEvent):
            self.total += self.sizes.get(event.anchor, 1)
        elif isinstance(event, ScalarEvent):
            self.total += 1
            if event.anchor:
                self.sizes[event.anchor] = 1
        elif isinstance(event, (SequenceStartEvent, MappingStartEvent)):
            self.total += 1
            self.open.append((event.anchor, self.total))
            if len(self.open) > MAX_NESTING:
                return f"{event.start_mark.line + 1}: nested more than {MAX_NESTING} levels deep"
        elif isinstance(event, (SequenceEndEvent, MappingEndEvent)) and self.open:
            anchor, start = self.open.pop()
            if anchor:
                self.sizes[anchor] = self.total - start + 1
        if self.total > MAX_NODES:
            return (f"{event.start_mark.line + 1}: its aliases expand to more than {MAX_NODES:,} values "
                    "(an anchor repeated inside anchors?)")
        return None


class _CheckedParser(RoundTripParser):
    """ruamel's round-trip parser, each event checked by `_Shape` as the composer takes it: the whole stream
    is seen, and found within the limits, before anything is constructed (the composer takes the last event,
    the end of the stream, before it hands the document over)."""

    def __init__(self, loader: Any) -> None:
        super().__init__(loader)
        self.shape = _Shape()

    def get_event(self) -> Any:
        event = super().get_event()
        if self.shape.see(event):
            raise _ShapeError()
        return event


def _load_checked(raw: str) -> Any:
    """The document, read once: parsed, checked against the limits of `_shape_problem` and built. Raises
    _ShapeError, YAMLError (or RecursionError) when it does not load; `_load_in_two_steps` then says why."""
    yaml = YAML(typ="rt")
    yaml.Parser = _CheckedParser
    return yaml.load(raw)


def _shape_problem(raw: str, path: Path) -> str | None:
    """A problem with the document's shape, read from the parser's events before anything is built: nesting
    deeper than MAX_NESTING (the composer recurses: 100,000 brackets ended in RecursionError), or aliases
    that expand to more than MAX_NODES values (a 600-byte "billion laughs" of anchors ran out of memory).
    Each alias counts as the size of what its anchor names."""
    shape = _Shape()
    for event in YAML(typ="rt").parse(raw):
        problem = shape.see(event)
        if problem:
            return f"{path}:{problem}"
    return None


def parse_duration(value: Any) -> int | None:
    """Seconds from 3600, "90s", "30m", "3h" or "1d"; None if it is not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = value
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    else:
        return None
    return int(seconds) if 0 < seconds <= MAX_DURATION else None  # inf and NaN fail here too


class _Checker:
    """Walks the parsed YAML, collecting problems with line numbers."""

    def __init__(self, path: Path):
        self.path = path
        self.problems: list[str] = []

    def fail(self, node: Any, key: Any, where: str, message: str) -> None:
        self.problems.append(f"{self.path}:{_line(node, key)}: {where}: {message}")

    def config(self, data: Any) -> Config | None:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            self.problems.append(f"{self.path}:1: the file must be a mapping of keys (feeds:, topics:, ...)")
            return None
        for key in data:
            if key not in TOP_KEYS:
                self.fail(data, key, str(key), f"unknown key (known: {', '.join(sorted(TOP_KEYS))})")
        base = self.path.resolve().parent
        feeds = self.feeds(data)
        topics = self.topics(data)
        values: dict[str, Any] = {}
        values["database"] = self.database(data, base)
        values["site_dir"] = base / self.string(data, "site_dir", "data/site")
        values["site_title"] = self.string(data, "site_title", Config.site_title)
        site_url = data.get("site_url")
        if site_url is not None and not (isinstance(site_url, str) and is_http_url(site_url)):
            self.fail(data, "site_url", "site_url", f"{_shown(site_url)} is not an http(s) URL")
        values["site_url"] = str(site_url) if site_url else None
        allow = data.get("allow_private_networks", False)
        if not isinstance(allow, bool):
            self.fail(data, "allow_private_networks", "allow_private_networks", "must be true or false")
        values["allow_private_networks"] = allow is True
        threshold = data.get("relevance_threshold")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))):
            self.fail(data, "relevance_threshold", "relevance_threshold", "must be a number")
            threshold = None
        values["relevance_threshold"] = float(threshold) if threshold is not None else None
        budget = data.get("time_budget", Config.time_budget)
        seconds = parse_duration(budget)
        if seconds is None:
            self.fail(data, "time_budget", "time_budget", f"{_shown(budget)} is not a duration like 45m or 2700")
        values["time_budget"] = seconds or Config.time_budget
        for key in ("max_entries_per_feed", "max_articles_per_run", "per_host_connections", "home_stories"):
            value = data.get(key, getattr(Config, key))
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                self.fail(data, key, key, "must be a whole number of at least 1")
                value = getattr(Config, key)
            values[key] = value
        if self.problems:
            return None
        return Config(path=self.path, feeds=feeds, topics=topics, **values)

    def database(self, data: dict, base: Path) -> Path | str:
        """A path (SQLite, relative to feeds.yaml) or a postgresql:// URL (the store on PostgreSQL)."""
        value = self.string(data, "database", "data/monitor.sqlite3")
        if value.startswith(("postgresql://", "postgres://")):
            return value
        if "://" in value:
            self.fail(data, "database", "database", f"{_shown(value.split('://', 1)[0] + '://...')} is neither a file path "
                      "nor a postgresql:// URL")
        return base / value

    def string(self, data: dict, key: str, default: str) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or not value.strip():
            self.fail(data, key, key, "must be a non-empty string")
            return default
        return value

    def feeds(self, data: dict) -> tuple[Feed, ...]:
        items = data.get("feeds")
        if items is None:
            self.fail(data, None, "feeds", "missing: list the feeds to watch")
            return ()
        if not isinstance(items, list):
            self.fail(data, "feeds", "feeds", "must be a list of mappings with url (and optional name, interval, tags)")
            return ()
        feeds: list[Feed] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            where = f"feeds[{i}]"
            node: Any
            key: Any  # where a problem with the URL is reported: the list's item, or the mapping's url key
            if isinstance(item, str):  # a bare URL is a convenient shorthand
                item = {"url": item}
                node, key = items, i
            elif isinstance(item, dict):
                node, key = item, "url"
            else:
                self.fail(items, i, where, "must be a mapping with url")
                continue
            for k in item:
                if k not in FEED_KEYS:
                    self.fail(item, k, f"{where}.{k}", f"unknown key (known: {', '.join(sorted(FEED_KEYS))})")
            url = item.get("url")
            if not isinstance(url, str) or not url.strip():
                self.fail(node, key if "url" in item else None, f"{where}.url", "missing")
                continue
            url = url.strip()
            if not is_http_url(url):
                self.fail(node, key, f"{where}.url", f"{_shown(url)} is not an http(s) URL")
                continue
            line = _line(node, key)
            if url in seen:
                self.fail(node, key, f"{where}.url", f"{_shown(url)} is listed twice (first on line {seen[url]})")
                continue
            seen[url] = line
            name = item.get("name")
            if name is not None and not isinstance(name, str):
                self.fail(item, "name", f"{where}.name", "must be a string")
                name = None
            interval = DEFAULT_INTERVAL
            if "interval" in item:
                interval = parse_duration(item["interval"]) or 0
                if interval < 60:
                    self.fail(item, "interval", f"{where}.interval",
                              f"{_shown(item['interval'])} is not a duration of at least 1m (e.g. 30m, 6h, 1d)")
                    interval = DEFAULT_INTERVAL
            tags = item.get("tags", [])
            if isinstance(tags, str):
                tags = [tags]
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                self.fail(item, "tags", f"{where}.tags", "must be a list of words")
                tags = []
            elif len(tags) > MAX_TAGS:
                self.fail(item, "tags", f"{where}.tags", f"{len(tags)} tags; at most {MAX_TAGS}")
                tags = []
            aggregator = item.get("aggregator", False)
            if not isinstance(aggregator, bool):
                self.fail(item, "aggregator", f"{where}.aggregator", "must be true or false")
                aggregator = False
            feeds.append(Feed(url=url, name=name.strip() if name else None, interval=interval, tags=tuple(tags),
                              aggregator=aggregator))
        return tuple(feeds)

    def topics(self, data: dict) -> tuple[Topic, ...]:
        items = data.get("topics", [])
        if items is None:
            return ()
        if not isinstance(items, list):
            self.fail(data, "topics", "topics", "must be a list (an empty list makes every article relevant)")
            return ()
        topics: list[Topic] = []
        for i, item in enumerate(items):
            where = f"topics[{i}]"
            if isinstance(item, str) and item.strip():
                topics.append(Topic(name=item.strip(), phrases=(item.strip(),)))
                continue
            if not isinstance(item, dict):
                self.fail(items, i, where, "must be a phrase or a mapping with name, phrases, terms, exclude")
                continue
            for k in item:
                if k not in TOPIC_KEYS:
                    self.fail(item, k, f"{where}.{k}", f"unknown key (known: {', '.join(sorted(TOPIC_KEYS))})")
            lists = {}
            for k in ("phrases", "terms", "exclude"):
                value = item.get(k, [])
                if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                    self.fail(item, k, f"{where}.{k}", "must be a list of phrases")
                    value = []
                lists[k] = tuple(v.strip() for v in value)
            if not lists["phrases"] and not lists["terms"]:
                self.fail(items, i, where, "needs at least one phrase or term")
            name = item.get("name") or (lists["phrases"] or lists["terms"] or ("topic",))[0]
            topics.append(Topic(name=str(name), **lists))
        return tuple(topics)


def _shown(value: Any) -> str:
    """A value for a one-line message: its repr, cut short (a value may be a huge list)."""
    if not isinstance(value, (str, int, float, bool, type(None))):
        return f"a {type(value).__name__.removeprefix('Commented').lower()}"
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _line(node: Any, key: Any) -> int:
    """1-based line of `key` inside a ruamel mapping/sequence (or of the node itself)."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return 1
    try:
        if key is not None:
            return lc.key(key)[0] + 1 if isinstance(node, dict) else lc.item(key)[0] + 1
    except (KeyError, IndexError, TypeError):
        pass
    return (lc.line or 0) + 1
