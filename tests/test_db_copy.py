"""`paperradar db copy SRC DST`: every row arrives, the checks catch a row that did not, a full store is refused."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from typer.testing import CliRunner

from paperradar.cli import app
from paperradar.core import dbcopy
from paperradar.core.dbcopy import Checksum, copy_store, normalise
from paperradar.core.repositories.tables import TableRepository
from paperradar.core.store import Store
from paperradar.outputs.web.data import keyword_search

from .conftest import DAY, make_paper
from .webdata import fill_store


def filled_store(config) -> str:
    """The web tests' store (papers, vectors, candidates, judgments, matches) plus runs and feedback."""
    fill_store(config)
    with Store(config.database) as store:
        run = store.start_run(DAY, "run")
        store.record_stage(run, "ingest", "2026-02-24T06:00:00", 1.25, {"papers": 31})
        store.finish_run(run, "ok")
        store.feedback.add("2602.00001", "up", "a note with ünïcode", "2026-02-24T08:00:00")
        store.feedback.add("2602.00001", "save", None, "2026-02-24T08:01:00")
    return str(config.database)


def rows_of(location: str, *, rowid: bool = True) -> dict[str, list[tuple]]:
    """Every table's rows, sorted: what the two stores must agree on (with the insertion order, ``rowid``)."""
    with Store(location) as store:
        repo = TableRepository(store.db)
        out = {}
        for name in repo.names():
            info = repo.info(name)
            columns = [c for c in info.columns if rowid or c != "rowid"]
            out[name] = sorted(r for batch in repo.batches(name, columns, info.key) for r in batch)
        return out


def test_a_sqlite_store_is_copied_whole_and_every_table_checks_out(config, tmp_path):
    source = filled_store(config)
    target = tmp_path / "copy" / "radar.db"
    result = CliRunner().invoke(app, ["db", "copy", source, str(target)])
    assert result.exit_code == 0, result.output
    assert "all match" in result.output
    before, after = rows_of(source), rows_of(str(target))
    assert after == before
    assert before["papers"] and before["embeddings"] and before["feedback"] and before["run_stages"]
    lines = result.stdout.splitlines()
    for table in before:  # one line per table in the printed report, each ok
        assert [line for line in lines if f" {table} " in line and line.rstrip("│ ").endswith("ok")], table
    with Store(target) as store:
        # The derived full-text index was rebuilt by the destination's own triggers.
        assert [h.paper.arxiv_id for h in keyword_search(store, "grokking").hits] == ["2602.00001"]
        # New ids follow the copied ones instead of colliding with them.
        copied = max(r["id"] for r in store.runs())
        assert store.start_run(DAY, "run") == copied + 1


def test_a_destination_with_rows_is_refused_and_left_alone_unless_forced(config, tmp_path):
    source = filled_store(config)
    target = str(tmp_path / "other.db")
    with Store(target) as store:
        store.upsert_papers([make_paper("2699.00001", "Only in the destination", "kept unless forced")], day=DAY)
    refused = CliRunner().invoke(app, ["db", "copy", source, target, "-q"])
    assert refused.exit_code == 1
    assert "is not empty: papers (1 rows), announcements (1 rows)" in refused.output
    assert "--force" in refused.output
    with Store(target) as store:
        assert store.count("papers") == 1

    forced = CliRunner().invoke(app, ["db", "copy", source, target, "--force", "-q"])
    assert forced.exit_code == 0, forced.output
    assert "Replaced the rows" in forced.output
    assert rows_of(target) == rows_of(source)
    with Store(target) as store:
        assert store.get_paper("2699.00001") is None


def test_a_copy_that_does_not_match_is_rolled_back(config, tmp_path, monkeypatch):
    source = filled_store(config)
    target = str(tmp_path / "bad.db")
    real_insert = TableRepository.insert

    def drop_a_feedback_note(self, table, columns, rows):
        if table == "feedback":
            at = columns.index("note")
            rows = [r[:at] + ("changed",) + r[at + 1 :] for r in rows]
        real_insert(self, table, columns, rows)

    monkeypatch.setattr(TableRepository, "insert", drop_a_feedback_note)
    result = CliRunner().invoke(app, ["db", "copy", source, target, "-q"])
    assert result.exit_code == 1
    assert "DIFFERS" in result.stdout and "the copy of feedback did not match" in result.output
    with Store(target) as store:  # one transaction: nothing of the copy stayed
        assert store.count("papers") == 0 and store.count("feedback") == 0


def test_a_missing_source_or_the_same_store_twice_is_an_error_that_names_it(config, tmp_path):
    missing = tmp_path / "nothing-here.db"
    result = CliRunner().invoke(app, ["db", "copy", str(missing), str(tmp_path / "b.db"), "-q"])
    assert result.exit_code == 1 and f"There is no store at {missing}" in result.output
    assert not missing.exists() and not (tmp_path / "b.db").exists()

    source = filled_store(config)
    result = CliRunner().invoke(app, ["db", "copy", source, source, "-q"])
    assert result.exit_code == 1 and "both the source and the destination" in result.output


def test_values_are_normalised_so_both_engines_spellings_compare_equal():
    assert normalise(3) == normalise(3.0) == normalise(decimal.Decimal("3")) != normalise(2)
    assert normalise(True) == normalise(1) and normalise(False) == normalise(0.0)
    assert normalise(0.1) == normalise(decimal.Decimal("0.1")) != normalise(0.1000001)
    assert normalise(b"\x00\x01") == normalise(memoryview(b"\x00\x01")) == normalise(bytearray(b"\x00\x01"))
    assert normalise("1") != normalise(1) and normalise(None) != normalise("") != normalise(b"")
    assert normalise(dt.date(2026, 2, 24)) == normalise("2026-02-24")
    with pytest.raises(dbcopy.CopyError, match="cannot be checked"):
        normalise(object())


def test_a_checksum_depends_on_the_rows_not_on_the_order_they_were_read_in():
    rows = [("b", 2, b"x"), ("a", 1, None), ("c", 3.5, "y")]
    first, second, third = (Checksum(("k", "n", "v"), ("k",)) for _ in range(3))
    first.add(rows)
    second.add(reversed(rows))
    third.add([("b", 2, b"x"), ("a", 1, None), ("c", 3.5, "z")])
    assert first.hexdigest() == second.hexdigest() != third.hexdigest()


def test_the_report_counts_every_row(config, tmp_path):
    source = filled_store(config)
    seen: list[tuple[str, int]] = []
    totals: list[int] = []
    report = copy_store(
        source, str(tmp_path / "c.db"), on_start=totals.append, on_rows=lambda t, n: seen.append((t, n))
    )
    assert report.ok and report.committed
    assert totals == [report.rows] == [sum(n for _, n in seen)]
    assert {t.name for t in report.tables} == set(rows_of(source))


@pytest.mark.postgres
def test_the_same_rows_read_from_sqlite_and_from_postgresql_have_one_checksum(pg_url, tmp_path):
    import sqlite3

    import psycopg

    rows = [(1, 2.5, b"\x00\xff", "ünïcode", None, 3.0), (2, -0.1, b"", "", 7, 1e300), (10, 0.0, None, "x", -5, 2.0)]
    columns = ("id", "x", "b", "t", "n", "r")
    lite = sqlite3.connect(tmp_path / "values.db")
    lite.execute("CREATE TABLE v (id INTEGER PRIMARY KEY, x REAL, b BLOB, t TEXT, n INTEGER, r REAL)")
    lite.executemany("INSERT INTO v VALUES (?,?,?,?,?,?)", rows)
    from_sqlite = lite.execute("SELECT * FROM v").fetchall()
    lite.close()
    with psycopg.connect(pg_url, autocommit=True) as pg:
        pg.execute(
            "CREATE TABLE v (id BIGINT PRIMARY KEY, x DOUBLE PRECISION, b BYTEA, t TEXT, n BIGINT, r DOUBLE PRECISION)"
        )
        with pg.cursor() as cur:
            cur.executemany("INSERT INTO v VALUES (%s,%s,%s,%s,%s,%s)", rows)
        from_postgres = pg.execute("SELECT * FROM v ORDER BY t DESC").fetchall()  # another order on purpose
        total = pg.execute("SELECT sum(n) FROM v").fetchone()[0]  # numeric: a Decimal
    assert isinstance(total, decimal.Decimal) and normalise(total) == normalise(2)
    assert isinstance(from_postgres[0][2], bytes | memoryview) or from_postgres[0][2] is None
    sqlite_sum, postgres_sum = Checksum(columns, ("id",)), Checksum(columns, ("id",))
    sqlite_sum.add(from_sqlite)
    postgres_sum.add(from_postgres)
    assert sqlite_sum.hexdigest() == postgres_sum.hexdigest()
    postgres_sum.add([(11, 0.1, None, "y", 1, 1.0)])
    assert sqlite_sum.hexdigest() != postgres_sum.hexdigest()


def test_sqlite_to_postgresql_and_back_loses_nothing(config, tmp_path, pg_url):
    source = filled_store(config)
    there = CliRunner().invoke(app, ["db", "copy", source, pg_url, "-q"])
    assert there.exit_code == 0, there.output
    assert "all match" in there.output and "postgresql://" in there.output
    back = str(tmp_path / "back.db")
    result = CliRunner().invoke(app, ["db", "copy", pg_url, back, "-q"])
    assert result.exit_code == 0, result.output
    assert rows_of(back, rowid=False) == rows_of(source, rowid=False)
    # The insertion order travels too where PostgreSQL keeps it (search ranks recent papers by it).
    assert rows_of(back)["papers"] == rows_of(source)["papers"]
    with Store(pg_url) as store:
        assert [h.paper.arxiv_id for h in keyword_search(store, "grokking").hits] == ["2602.00001"]
        copied = max(r["id"] for r in store.runs())
        assert store.start_run(DAY, "run") == copied + 1
        assert store.get_paper("2602.00001") is not None


def test_a_postgresql_destination_with_rows_is_refused_and_a_bad_copy_rolled_back(config, pg_url, monkeypatch):
    source = filled_store(config)
    real_insert = TableRepository.insert

    def change_a_vector(self, table, columns, rows):
        if table == "embeddings" and getattr(self.db, "dialect", "sqlite") == "postgresql":
            at = columns.index("vector")
            rows = [r[:at] + (bytes([r[at][0] ^ 0xFF]) + bytes(r[at])[1:],) + r[at + 1 :] for r in rows]
        real_insert(self, table, columns, rows)

    with monkeypatch.context() as m:
        m.setattr(TableRepository, "insert", change_a_vector)
        bad = CliRunner().invoke(app, ["db", "copy", source, pg_url, "-q"])
    assert bad.exit_code == 1 and "the copy of embeddings did not match" in bad.output
    with Store(pg_url) as store:
        assert store.count("papers") == 0
    assert CliRunner().invoke(app, ["db", "copy", source, pg_url, "-q"]).exit_code == 0
    refused = CliRunner().invoke(app, ["db", "copy", source, pg_url, "-q"])
    assert refused.exit_code == 1 and "is not empty" in refused.output
