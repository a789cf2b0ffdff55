"""Text from strangers made safe to store and show: the one cleaning every stage uses.

Feed fields, page metadata, OPML titles and log values all come from outside. `clean_text` makes them
valid UTF-8 (a lone surrogate such as "\\ud800" is legal in JSON but cannot be encoded, and SQLite
refuses it), drops C0/C1 controls, bidi embedding/override/isolate characters and non-characters, and
collapses whitespace to one line.
"""

from __future__ import annotations

import re

# C0/C1 controls except tab/newline/CR (whitespace, collapsed below), bidi embeddings, overrides and
# isolates, BOM and non-characters, and the surrogate range (never valid on its own in a str).
_DROP = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0),
                       *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF, 0xFFFE, 0xFFFF,
                       *range(0xD800, 0xE000)])
_SPACE = re.compile(r"\s+")
# for one_line: every other control character (line breaks, tabs, escapes) and the line/paragraph separators
_ONE_LINE = _DROP | dict.fromkeys([*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029], " ")


def drop_bad_chars(text: str) -> str:
    """`text` without the characters `clean_text` drops, whitespace left as it is."""
    return text.translate(_DROP)


def one_line(text: str) -> str:
    """`text` on one line with its spacing kept: controls (line breaks and tabs included) become spaces, the
    other characters `clean_text` drops are dropped. For a line that is already laid out (a log line)."""
    return text.translate(_ONE_LINE)


def clean_text(text: str | None, limit: int | None = None) -> str:
    """One line of valid text: bad characters dropped, whitespace collapsed, cut to `limit` characters
    (on a word, with an ellipsis)."""
    if not text:
        return ""
    text = _SPACE.sub(" ", text.translate(_DROP)).strip()
    if limit is not None and len(text) > limit:
        cut = text[: limit - 1]
        space = cut.rfind(" ")
        text = (cut[:space] if space > limit // 2 else cut).rstrip() + "…"
    return text


def valid_utf8(text: str) -> bool:
    """True when `text` can be stored (encoded as UTF-8): it holds no lone surrogate."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
