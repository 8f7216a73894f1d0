"""The throwaway cluster the PostgreSQL tests run on: it starts, isolates tests, and stops."""

from __future__ import annotations

import psycopg


def test_each_test_gets_its_own_empty_database(pg_cluster):
    first, second = pg_cluster.new_database(), pg_cluster.new_database()
    assert first != second
    with psycopg.connect(first, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (x integer)")
        conn.execute("INSERT INTO t VALUES (1)")
    with psycopg.connect(second, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 't'").fetchone()[0] == 0
    for url in (first, second):
        pg_cluster.drop_database(url)


def test_listens_on_loopback_only(pg_url):
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
