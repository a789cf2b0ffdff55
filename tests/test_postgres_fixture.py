"""The test PostgreSQL server: a fresh, empty database per test."""

import psycopg


def test_each_test_gets_an_empty_database_of_its_own(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
        assert tables == 0
        conn.execute("CREATE TABLE t (x int)")
        assert conn.execute("SELECT current_database()").fetchone()[0] in postgres_url


def test_the_database_of_another_test_is_not_seen(postgres_url):
    with psycopg.connect(postgres_url) as conn:
        assert conn.execute("SELECT to_regclass('public.t')").fetchone()[0] is None


def test_a_server_that_cannot_be_reached_is_a_reason_to_skip(monkeypatch):
    # what the session fixture turns into a skip (printed by -rs): the reason, not a traceback
    import pytest

    from tests.postgres import ENV_URL, PostgresServer, PostgresUnavailable

    monkeypatch.setenv(ENV_URL, "postgresql://postgres@127.0.0.1:1/postgres")
    with pytest.raises(PostgresUnavailable, match="cannot connect to the test server"):
        PostgresServer.start()
