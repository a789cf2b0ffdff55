"""The store is the only home of SQL: no other module of monitor/ writes a statement or reaches for the
connection (the import contracts in pyproject.toml check the imports; this checks the text)."""

import re
from pathlib import Path

import monitor

PACKAGE = Path(monitor.__file__).parent
SQL = re.compile(r"\b(SELECT\s+\S+.*\bFROM|UPDATE\s+\w+\s+SET|INSERT\s+(OR\s+\w+\s+)?INTO|DELETE\s+FROM|PRAGMA\s+\w+)\b", re.S)
CONNECTION = re.compile(r"\.(transaction|db)\b\s*[.(]|\bimport sqlite3\b|\bsqlite3\.")


def test_only_the_store_holds_sql_or_touches_the_connection():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent.name == "store":
            continue
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if SQL.search(line) or CONNECTION.search(line):
                found.append(f"{path.relative_to(PACKAGE)}:{lineno}: {line.strip()}")
    assert found == []


def test_the_check_finds_sql_where_it_is():
    store_sql = [p for p in (PACKAGE / "store").glob("*.py") if SQL.search(p.read_text(encoding="utf-8"))]
    assert len(store_sql) >= 5  # the check's patterns do match the statements the store holds
