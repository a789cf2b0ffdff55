"""The store on PostgreSQL (`database: postgresql://...`, psycopg 3): the same SQL, translated where the two differ.

The store writes one set of SQL, in SQLite's spelling with `?` parameters. `Connection` gives the few
methods of sqlite3.Connection the store calls (execute, executemany, close) on a psycopg connection, and
rewrites each statement once (`translate`, cached): `?` becomes `%s` (every `%` doubled), and so does
`?NNN` (a parameter by number), its value put in place; SQLite's `IS NOT x` / `IS x` (null-safe
comparisons) are `IS [NOT] DISTINCT FROM x`; `INDEXED BY` hints are dropped (PostgreSQL's planner picks
the partial indexes itself); `json_each(?)` of a JSON list of ids is `json_array_elements_text`.
`BEGIN IMMEDIATE` is `BEGIN` and a transaction-level advisory lock: as on SQLite, one write transaction at
a time on a database (processes of one installation never interleave their read-then-write steps), while
reads never wait. Parameters are bound on the client (psycopg's ClientCursor), as SQLite types them: by
value, so `? IS NULL` needs no cast; a bool is stored as 0/1 like SQLite stores it. Rows are read by name
or by position, as sqlite3.Row.

The schema is not written twice: `schema_statements` turns each migration step's SQLite DDL into
PostgreSQL's (INTEGER -> BIGINT, INTEGER PRIMARY KEY -> an identity column, REAL -> DOUBLE PRECISION,
BLOB -> BYTEA, TEXT compared byte by byte (COLLATE "C"), as SQLite's BINARY collation does; a table
without an integer key gets an identity `rowid`, SQLite's implicit one, which `ORDER BY rowid` reads;
foreign keys to tables made later in the same step are added at its end). A new database runs the
same migrations as a SQLite file; tests/test_store.py compares the tables, columns and indexes both get.
The schema version is the meta row `schema_version` (SQLite's is PRAGMA user_version).

Transactions run at PostgreSQL's default READ COMMITTED, serialised by that write lock; one publisher at
a time holds the run lock (`AdvisoryLock`, pg_try_advisory_lock).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterable, Sequence

import psycopg
from psycopg.adapt import Dumper

from ..errors import LockedError, StoreError
from .base import shown

Error = psycopg.Error
LOCK_KEYS = (0x6D6F6E69, 1)  # pg_try_advisory_lock(int, int): "moni", the run lock
WRITE_KEYS = (0x6D6F6E69, 2)  # pg_advisory_xact_lock: every write transaction, one at a time


# --- statements -------------------------------------------------------------------------------

_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+", re.I)
_JSON_IDS = re.compile(r"SELECT\s+value\s+FROM\s+json_each\(\?\)", re.I)
_IS_NOT = re.compile(r"\bIS\s+NOT\s+(?!NULL\b|TRUE\b|FALSE\b|DISTINCT\b)", re.I)
_IS = re.compile(r"\bIS\s+(?!NOT\b|NULL\b|TRUE\b|FALSE\b|DISTINCT\b)", re.I)


@lru_cache(maxsize=2048)
def translate(sql: str) -> tuple[str, tuple[int, ...] | None]:
    """One statement of the store in PostgreSQL's spelling with psycopg's `%s` parameters, and which of the
    given parameters each `%s` takes (None: each the next one, as given)."""
    sql = _INDEXED_BY.sub("", sql)
    sql = _JSON_IDS.sub("SELECT value::bigint FROM json_array_elements_text(?::json)", sql)
    sql = _IS.sub("IS NOT DISTINCT FROM ", _IS_NOT.sub("IS DISTINCT FROM ", sql))
    out: list[str] = []
    order: list[int] = []
    quote: str | None = None
    i = 0
    while i < len(sql):
        ch = sql[i]
        i += 1
        if ch == "%":
            out.append("%%")  # psycopg reads % anywhere in the text, quoted or not
        elif quote is not None:
            out.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        elif ch == "?":
            digits = re.match(r"\d*", sql[i:]).group()  # type: ignore[union-attr]  # \d* always matches
            i += len(digits)
            # SQLite's numbering: ?NNN is that parameter; a bare ? the one after the highest so far
            order.append(int(digits) - 1 if digits else max(order, default=-1) + 1)
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out), (None if order == list(range(len(order))) else tuple(order))


class _BoolAsInt(Dumper):
    """True/False as 1/0, as sqlite3 stores them (the flags are INTEGER columns)."""

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"

    def quote(self, obj: bool) -> bytes:
        return self.dump(obj)


@lru_cache(maxsize=256)
def _row_class(names: tuple[str, ...]) -> type:
    index = {n: i for i, n in enumerate(names)}

    class Row(tuple):
        """A row read by position or by column name (sqlite3.Row's two ways)."""

        __slots__ = ()

        def __getitem__(self, key):
            return tuple.__getitem__(self, index[key] if isinstance(key, str) else key)

        def keys(self) -> list[str]:
            return list(names)

    return Row


def _rows(cursor: psycopg.Cursor):
    cls = _row_class(tuple(c.name for c in cursor.description or ()))
    return cls


class Connection:
    """The part of sqlite3.Connection the store uses, on one psycopg connection in autocommit mode (the store
    writes BEGIN and COMMIT itself)."""

    def __init__(self, conn: psycopg.Connection):
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:  # a psycopg cursor, read as sqlite3 rows are
        if sql == "BEGIN IMMEDIATE":  # SQLite's: the write lock now, not at the first write
            self._conn.execute("BEGIN")
            return self._conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", WRITE_KEYS)
        text, order = translate(sql)
        return self._conn.execute(text, params if order is None else [params[k] for k in order])

    def executemany(self, sql: str, seq: Iterable[Sequence[Any]]) -> psycopg.Cursor:
        text, order = translate(sql)
        cur = self._conn.cursor()
        cur.executemany(text, [p if order is None else [p[k] for k in order] for p in seq])
        return cur

    def close(self) -> None:
        self._conn.close()


def connect(url: str) -> Connection:
    """A connection to the database at `url`; StoreError (naming the URL without its password) if there is none."""
    try:
        conn = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor, row_factory=_rows,
                               connect_timeout=30)
    except psycopg.Error as exc:
        raise StoreError(f"{shown(url)}: cannot connect to the database: {_one_line(exc)}") from exc
    conn.adapters.register_dumper(bool, _BoolAsInt)
    return Connection(conn)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


# --- the schema -------------------------------------------------------------------------------

_TYPES = {"INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION", "BLOB": "BYTEA", "TEXT": 'TEXT COLLATE "C"'}
_CREATE = re.compile(r"^\s*CREATE\s+TABLE\s+(\w+)\s*\((.*)\)\s*$", re.S | re.I)
_ADD = re.compile(r"^\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+(.*)$", re.S | re.I)
_REFERENCES = re.compile(r"(?:^|\s+)REFERENCES\s+(\w+\s*\(\s*\w+\s*\))", re.I)


def schema_statements(sql: str) -> list[str]:
    """One migration step's SQLite statements (separated by ";") as PostgreSQL statements."""
    out: list[str] = []
    foreign_keys: list[str] = []
    for statement in (s.strip() for s in sql.split(";")):
        if not statement:
            continue
        if m := _CREATE.match(statement):
            table, defs = m.group(1), _split_top_level(m.group(2))
            columns, has_key = [], False
            for d in defs:
                if re.match(r"(PRIMARY\s+KEY|UNIQUE|FOREIGN\s+KEY|CHECK|CONSTRAINT)\b", d, re.I):
                    columns.append(d)
                    continue
                column, key = _column(d, table, foreign_keys)
                has_key = has_key or key
                columns.append(column)
            if not has_key:
                columns.append("rowid BIGINT GENERATED ALWAYS AS IDENTITY")
            out.append(f"CREATE TABLE {table} (\n    " + ",\n    ".join(columns) + "\n)")
        elif m := _ADD.match(statement):
            column, _ = _column(m.group(2), None, None)
            out.append(f"ALTER TABLE {m.group(1)} ADD COLUMN {column}")
        else:
            out.append(statement)
    return out + foreign_keys


def _column(definition: str, table: str | None, foreign_keys: list[str] | None) -> tuple[str, bool]:
    """A column definition in PostgreSQL's types; (definition, whether it is SQLite's INTEGER PRIMARY KEY).
    With `foreign_keys`, its REFERENCES clause moves there (added once every table of the step exists)."""
    name, kind, rest = (definition.strip().split(None, 2) + ["", ""])[:3]
    if kind.upper() == "INTEGER" and re.match(r"PRIMARY\s+KEY\b", rest, re.I):
        return f"{name} BIGINT GENERATED BY DEFAULT AS IDENTITY {rest}".strip(), True
    if foreign_keys is not None and (ref := _REFERENCES.search(rest)):
        foreign_keys.append(f"ALTER TABLE {table} ADD FOREIGN KEY ({name}) REFERENCES {ref.group(1)}")
        rest = _REFERENCES.sub("", rest)
    return f"{name} {_TYPES.get(kind.upper(), kind)} {rest}".strip(), False


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


class PostgresDialect:
    """What Store.open and its migrations do differently on PostgreSQL (SqliteDialect is the other one)."""

    errors = (psycopg.Error,)
    shares_database = True  # other applications' tables may be there (the task queue's): only a clash is refused

    def version(self, db: Connection) -> int:
        # read pg_tables, not to_regclass: inside a transaction begun before another process made the table,
        # to_regclass may still answer from a stale catalog cache (a plain query reads the committed rows)
        if not db.execute("SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
                          "AND tablename = 'meta'").fetchone()[0]:
            return 0
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return int(row[0]) if row else 0

    def set_version(self, db: Connection, version: int) -> None:
        db.execute("INSERT INTO meta(key, value) VALUES ('schema_version', ?) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(version),))

    def tables(self, db: Connection) -> list[str]:
        return [r[0] for r in db.execute("SELECT table_name FROM information_schema.tables "
                                         "WHERE table_schema = current_schema() ORDER BY table_name")]

    def statements(self, sql: str) -> list[str]:
        return schema_statements(sql)

    def integrity_ok(self, db: Connection) -> bool:
        return db.execute("SELECT 1").fetchone()[0] == 1  # PostgreSQL checks its own pages; nothing to ask


class AdvisoryLock:
    """The run lock on PostgreSQL: a session advisory lock held on a connection of its own for the run, so a
    second publisher on the same database raises LockedError at once (the server releases it if this
    process dies)."""

    def __init__(self, url: str):
        self.url = url
        self._db: Connection | None = None

    def __enter__(self) -> "AdvisoryLock":
        db = connect(self.url)
        try:
            held = db.execute("SELECT pg_try_advisory_lock(?, ?)", LOCK_KEYS).fetchone()[0]
        except psycopg.Error as exc:
            db.close()
            raise StoreError(f"{shown(self.url)}: {_one_line(exc)}") from exc
        if not held:
            db.close()
            raise LockedError(f"{shown(self.url)}: another monitor run is in progress; exiting")
        self._db = db
        return self

    def __exit__(self, *exc) -> None:
        if self._db is not None:
            self._db.close()  # ends the session, and with it the lock
            self._db = None
