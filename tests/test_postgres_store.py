"""The PostgreSQL backend: the same schema as SQLite, config checks, and errors a user can act on."""

from __future__ import annotations

import socket

import pytest

from paperradar.core.config import Config
from paperradar.core.db_postgres import redact_url, to_pyformat
from paperradar.core.errors import StoreError
from paperradar.core.store import Store


def test_the_same_migrations_build_the_same_tables_and_columns_on_both(tmp_path, pg_url):
    with Store(tmp_path / "s.db") as lite, Store(pg_url) as pg:
        assert lite.applied_migrations() == pg.applied_migrations()
        lite_tables = {t for t in lite.db.table_names() if not t.startswith(("papers_fts", "sqlite_"))}
        assert lite_tables == set(pg.db.table_names())
        for table in sorted(lite_tables):
            lite_cols = {r["name"] for r in lite.db.query(f'PRAGMA table_info("{table}")')}
            pg_cols = {
                r["column_name"]
                for r in pg.db.query(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ?", (table,)
                )
            }
            # PostgreSQL adds rowid (insertion order) and papers.search (full-text vector), nothing else;
            # every table has an insertion order: its integer id or that rowid.
            assert pg_cols - {"rowid", "search"} == lite_cols, table
            assert "rowid" in pg_cols or "id" in pg_cols, table


def test_a_store_reopened_runs_no_migration_twice(pg_url):
    with Store(pg_url) as first:
        n = first.schema_version
    with Store(pg_url) as again:
        assert again.schema_version == n and again.migrate() == []


def test_an_unreachable_server_names_the_database_and_the_fix():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    with pytest.raises(StoreError) as err:
        Store(f"postgresql://radar@127.0.0.1:{port}/radar")
    text = str(err.value)
    assert f"127.0.0.1:{port}/radar" in text and "PAPERRADAR_DATABASE_PASSWORD" in text and "database" in text


def test_config_takes_a_postgres_url_but_never_a_password_in_it():
    cfg = Config(database="postgresql://radar@db.lab:5432/radar")
    assert cfg.database_is_postgres and cfg.database == "postgresql://radar@db.lab:5432/radar"
    assert not Config(database="radar.db").database_is_postgres
    with pytest.raises(ValueError, match="PAPERRADAR_DATABASE_PASSWORD"):
        Config(database="postgresql://radar:hunter2@db.lab/radar")
    with pytest.raises(ValueError, match="mysql://"):
        Config(database="mysql://radar@db.lab/radar")


def test_question_marks_become_placeholders_only_outside_quotes():
    assert to_pyformat("SELECT a FROM t WHERE b = ? AND c = '?' AND d LIKE '5%'") == (
        "SELECT a FROM t WHERE b = %s AND c = '?' AND d LIKE '5%%'"
    )
    assert redact_url("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"
