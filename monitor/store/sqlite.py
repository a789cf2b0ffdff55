"""What Store.open and its migrations do on SQLite (postgres.py's PostgresDialect is the other backend)."""

from __future__ import annotations

import sqlite3


class SqliteDialect:
    errors = (sqlite3.Error,)
    shares_database = False  # a file with any other table is not the monitor's

    def version(self, db: sqlite3.Connection) -> int:
        return db.execute("PRAGMA user_version").fetchone()[0]

    def set_version(self, db: sqlite3.Connection, version: int) -> None:
        db.execute(f"PRAGMA user_version = {int(version)}")

    def tables(self, db: sqlite3.Connection) -> list[str]:
        return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]

    def statements(self, sql: str) -> list[str]:
        return [s for s in sql.split(";") if s.strip()]

    def integrity_ok(self, db: sqlite3.Connection) -> bool:
        return db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
