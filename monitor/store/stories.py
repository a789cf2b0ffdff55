"""The store's story tables: what the stories stages (monitor/stories.py) read and write.

`StoryTables` is a mixin of `Store`: it uses the connection (`self.db`) and `self.transaction()`, and
takes and returns plain values or models dataclasses, so no SQL is written outside the store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence


class StoryTables:
    """Stories, story assignments, and the per-document feature cache of the clustering."""

    # --- features kept between runs (monitor/features.py Parts) ------------------------------

    def doc_parts(self, kind: str, digests: Mapping[int, bytes]) -> dict[int, bytes]:
        """The stored parts of each id whose stored digest matches (its text has not changed since)."""
        out: dict[int, bytes] = {}
        ids = list(digests)
        for s in range(0, len(ids), 500):
            chunk = ids[s : s + 500]
            rows = self.db.execute(
                f"SELECT id, digest, parts FROM doc_parts WHERE kind = ? AND id IN ({','.join('?' * len(chunk))})",
                [kind, *chunk]).fetchall()
            out.update((r[0], r[2]) for r in rows if r[1] == digests[r[0]])
        return out

    def save_doc_parts(self, kind: str, parts: Iterable[tuple[int, bytes, bytes]], *, keep: Sequence[int] | None = None) -> None:
        """Store (id, digest, parts) rows; with `keep`, forget the parts of every other id of this kind (a
        window's articles are the only ones clustered again)."""
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO doc_parts(kind, id, digest, parts) VALUES (?, ?, ?, ?)",
                           [(kind, i, d, p) for i, d, p in parts])
            if keep is not None:
                db.execute("DELETE FROM doc_parts WHERE kind = ? AND id NOT IN (SELECT value FROM json_each(?))",
                           (kind, json.dumps(list(keep))))
