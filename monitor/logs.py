"""Logging for runs from cron: short lines on stderr, one line per event in a rotated file.

Team convention
---------------
* Loggers are named by stage: ``logging.getLogger("monitor.<stage>")`` (monitor.fetch,
  monitor.parse, monitor.extract, monitor.store, monitor.site, ...).
* Each event is ONE line that names the feed or URL it is about, as ``what key=value ...``::

      feed failed url=https://x.example/feed.xml error="HTTP 500"

  Write it with ``event(log, logging.WARNING, "feed failed", url=feed.url, error="HTTP 500")``:
  values that contain spaces, quotes or ``=`` are double-quoted, and control characters (newlines,
  tabs, terminal escapes) are turned into spaces, so text taken from a feed can neither split a line
  nor forge one. Fields whose value is None are left out.
* Levels: DEBUG for detail, INFO for what a run did (one line per feed or stage), WARNING for a
  feed or page that failed, ERROR for a run that could not finish.

``setup_logging`` sends INFO and up to stderr (WARNING and up with ``quiet``, DEBUG with
``verbose``) and, given a file, everything from INFO (DEBUG with ``verbose``) to a rotating file
(5 files of 5 MB) as ``2025-01-31T08:00:00.123Z WARNING monitor.fetch feed failed url=...`` in UTC.
Both handlers escape line breaks in every record, tracebacks included, so a file line is an event.
Third-party libraries only reach the handlers at WARNING and up (httpx logs each request at INFO).

``file_event`` writes a line to the log file only (one per feed, the run's summary line): the terminal
shows a progress line and the summary instead. ``ProgressLine`` is that progress line: while it is shown,
the stderr handler clears it before a record and draws it again below, so a warning never prints onto it.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .dates import iso_z
from .text import clean_text, one_line

MAX_BYTES = 5 * 1024 * 1024
BACKUPS = 5
MAX_VALUE = 1000  # characters kept of one field value
_MARK = "_monitor_handler"
_FILE_ONLY = "monitor_file_only"
_NEEDS_QUOTES = re.compile(r'[\s"=\\]')
# a password in a URL's userinfo (a feed behind basic auth, a database URL): a log line shows `user:***@`
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^/\s:@]*):[^@/\s]*@", re.IGNORECASE)
NOISY = ("trafilatura", "htmldate", "courlan", "justext", "charset_normalizer", "readability")


def event(logger: logging.Logger, level: int, what: str, /, **fields: Any) -> None:
    """Log `what key=value key="quoted value"` as one line (see the module docstring)."""
    if not logger.isEnabledFor(level):
        return
    logger.log(level, "%s", format_event(what, **fields), stacklevel=2)


def file_event(logger: logging.Logger, level: int, what: str, /, **fields: Any) -> None:
    """Like `event`, for the log file only (stderr leaves it out)."""
    if not logger.isEnabledFor(level):
        return
    logger.log(level, "%s", format_event(what, **fields), stacklevel=2, extra={_FILE_ONLY: True})


def format_event(what: str, /, **fields: Any) -> str:
    """The text `event` logs: pure, for tests and for messages built elsewhere."""
    parts = [_one_line(str(what))]
    for key, value in fields.items():
        if value is None:
            continue
        parts.append(f"{key}={_value(value)}")
    return " ".join(p for p in parts if p)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = iso_z(value)
    elif isinstance(value, date):
        text = value.isoformat()
    elif isinstance(value, float):
        text = f"{value:.6g}"
    else:
        text = str(value)
    text = _one_line(text)
    if len(text) > MAX_VALUE:
        text = text[:MAX_VALUE] + "..."
    if text and not _NEEDS_QUOTES.search(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _one_line(text: str) -> str:
    """Control characters (line breaks, tabs, escapes) become single spaces; see monitor.text."""
    return clean_text(one_line(text))


class OneLineFormatter(logging.Formatter):
    """A formatter whose output never spans lines: breaks become a visible `\\n`, other controls spaces."""

    def __init__(self, fmt: str, *, utc_iso: bool = False):
        super().__init__(fmt)
        self.utc_iso = utc_iso

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if not self.utc_iso:
            return super().formatTime(record, datefmt)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{stamp}.{int(record.msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        text = text.replace("\r\n", "\n").replace("\n", "\\n")
        return without_passwords(one_line(text))


def without_passwords(text: str) -> str:
    """`text` with the password of every URL in it (`scheme://user:password@host`) replaced by `***`."""
    return _URL_PASSWORD.sub(r"\1:***@", text)


class ProgressLine:
    """A progress line on a terminal (stderr), redrawn in place; log records print above it, never onto it."""

    active: "ProgressLine | None" = None

    def __init__(self) -> None:
        self.text = ""

    def __enter__(self) -> "ProgressLine":
        ProgressLine.active = self
        return self

    def __exit__(self, *exc) -> None:
        self.clear()
        ProgressLine.active = None

    def show(self, text: str) -> None:
        self.text = text
        sys.stderr.write("\r\033[K" + text)
        sys.stderr.flush()

    def clear(self) -> None:
        if self.text:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
        self.text = ""


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the event (click's runner and pytest swap it), above the
    progress line when one is shown; leaves out the records meant for the log file only."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.addFilter(lambda record: not getattr(record, _FILE_ONLY, False))

    def emit(self, record: logging.LogRecord) -> None:
        line = ProgressLine.active
        if line is None or not line.text:
            return super().emit(record)
        text = line.text
        line.clear()
        super().emit(record)
        line.show(text)

    @property
    def stream(self):  # logging.StreamHandler sets it in __init__: here it is always the current sys.stderr
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging(*, log_file: Path | None, quiet: bool, verbose: bool = False,
                  max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
    """Install the stderr handler and, given `log_file`, the rotating file handler.

    Calling it again replaces the handlers it installed before (nothing is doubled); handlers that
    others installed (pytest's, for instance) are left alone.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
            handler.close()
    detail = logging.DEBUG if verbose else logging.INFO

    stderr = _Stderr()
    stderr.setLevel(logging.WARNING if quiet else detail)
    stderr.setFormatter(OneLineFormatter("%(levelname)s %(name)s: %(message)s"))
    handlers: list[logging.Handler] = [stderr]
    if log_file is not None:
        log_file = Path(log_file)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        rotating = logging.handlers.RotatingFileHandler(
            log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
        rotating.setLevel(detail)
        rotating.setFormatter(OneLineFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", utc_iso=True))
        handlers.append(rotating)
    for handler in handlers:
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    # Our loggers pass `detail`; everyone else's only problems.
    root.setLevel(logging.WARNING)
    logging.getLogger("monitor").setLevel(detail)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.ERROR)
