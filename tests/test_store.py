import datetime as dt
import sqlite3

import numpy as np
import pytest

from paperradar.core.errors import StoreError
from paperradar.core.migrations import MIGRATIONS
from paperradar.core.store import Store

from .conftest import DAY, SAMPLE_PAPERS, make_paper


def tables(path):
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_fresh_file_gets_every_migration_and_wal(tmp_path):
    path = tmp_path / "new.db"
    store = Store(path)
    assert store.schema_version == len(MIGRATIONS)
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"papers", "announcements", "runs", "embeddings", "run_stages", "candidates"} <= tables(path)
    store.close()
    # Opening again applies nothing new.
    with Store(path) as again:
        assert again.migrate() == []


def test_previous_schema_version_is_migrated_keeping_data(tmp_path):
    path = tmp_path / "old.db"
    old = Store(path, migrate=False)
    old.migrate(upto=1)
    assert old.schema_version == 1
    old.upsert_papers(SAMPLE_PAPERS[:2], DAY)
    old.close()
    assert "embeddings" not in tables(path)

    store = Store(path)
    assert store.schema_version == len(MIGRATIONS)
    assert "embeddings" in tables(path)
    assert [p.arxiv_id for p in store.papers_for_day(DAY)] == ["2602.00001", "2602.00002"]
    store.close()


def test_unopenable_path_names_the_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="file/db.sqlite"):
        Store(blocker / "db.sqlite")


@pytest.mark.postgres
def test_upsert_keeps_authors_order_and_counts(tmp_path, store_location):
    with Store(store_location) as store:
        r = store.upsert_papers(SAMPLE_PAPERS, DAY)
        assert (r.new, r.updated, r.unchanged) == (5, 0, 0)
        r = store.upsert_papers(SAMPLE_PAPERS, DAY)
        assert (r.new, r.updated, r.unchanged) == (0, 0, 5)
        assert store.get_paper("2602.00001").authors == ["Ada Lovelace", "Alan Turing"]
        assert store.count("announcements") == 5


@pytest.mark.postgres
def test_replacement_updates_record_but_not_the_days_digest(tmp_path, store_location):
    later = DAY + dt.timedelta(days=1)
    with Store(store_location) as store:
        store.upsert_papers(SAMPLE_PAPERS[:1], DAY)
        v2 = SAMPLE_PAPERS[0].model_copy(
            update={"version": 2, "title": "Grokking, revised", "announce_type": "replace"}
        )
        r = store.upsert_papers([v2], later)
        assert r.updated == 1
        assert store.get_paper("2602.00001").title == "Grokking, revised"
        assert store.papers_for_day(later) == []
        assert [p.version for p in store.papers_for_day(later, include_replacements=True)] == [2]
        # The original day still lists it, with the new text.
        assert store.papers_for_day(DAY)[0].title == "Grokking, revised"


@pytest.mark.postgres
def test_older_version_never_overwrites_newer(tmp_path, store_location):
    with Store(store_location) as store:
        v3 = make_paper("2602.00009", "Third version", "text", version=3)
        store.upsert_papers([v3], DAY)
        store.upsert_papers([make_paper("2602.00009", "First version", "text", version=1)], DAY)
        assert store.get_paper("2602.00009").title == "Third version"


@pytest.mark.postgres
def test_transaction_rolls_back_everything(tmp_path, store_location):
    with Store(store_location) as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.upsert_papers(SAMPLE_PAPERS[:2], DAY)
            raise RuntimeError("crash mid-write")
        assert store.count("papers") == 0
        assert store.count("announcements") == 0


@pytest.mark.postgres
def test_embeddings_roundtrip_float32(tmp_path, store_location):
    with Store(store_location) as store:
        v = np.arange(4, dtype=np.float32) / 10
        store.put_embeddings("m", [("2602.00001", "h1", v)])
        got = store.get_embeddings(["2602.00001", "2602.99999"], "m")
        assert list(got) == ["2602.00001"]
        assert got["2602.00001"][0] == "h1"
        np.testing.assert_array_equal(got["2602.00001"][1], v)
        assert store.get_embeddings(["2602.00001"], "other-model") == {}


@pytest.mark.postgres
def test_failed_migration_leaves_nothing_behind(tmp_path, monkeypatch, store_location):
    from paperradar.core import migrations

    def broken(conn):
        conn.executescript("CREATE TABLE half (x INTEGER);\nCREATE TABLE broken (;")

    monkeypatch.setattr(migrations, "MIGRATIONS", [*migrations.MIGRATIONS, broken])
    monkeypatch.setattr("paperradar.core.store.MIGRATIONS", migrations.MIGRATIONS)
    with pytest.raises(StoreError, match="Migration broken failed"):
        Store(store_location)
    with Store(store_location, migrate=False) as store:
        names = store.db.table_names()
    assert "half" not in names and "papers" in names


@pytest.mark.postgres
def test_read_helpers_for_titles_days_and_vectors(tmp_path, store_location):
    from paperradar.core.models import Candidate

    with Store(store_location) as store:
        store.upsert_papers(SAMPLE_PAPERS, DAY)
        ids = [p.arxiv_id for p in SAMPLE_PAPERS]
        assert store.titles([ids[1], "9999.99999"]) == {ids[1]: SAMPLE_PAPERS[1].title}
        assert store.candidates_seen(DAY) == 0 and store.candidate_days() == []
        store.save_candidates(DAY, "h", [Candidate(paper=p, score=0.5) for p in SAMPLE_PAPERS], 2)
        assert store.candidates_seen(DAY) == len(SAMPLE_PAPERS)
        assert store.candidate_days() == [DAY.isoformat()]
        vec = np.ones(4, dtype=np.float32)
        store.put_embeddings("m", [(ids[2], "h2", vec), (ids[0], "h0", vec)])
        assert store.embedded_ids("m") == sorted([ids[0], ids[2]]) and store.embedded_ids("other") == []


@pytest.mark.postgres
def test_each_thread_has_its_own_connection_and_finished_threads_give_theirs_back(tmp_path, store_location):
    import threading

    store = Store(store_location)
    seen = []
    together = threading.Barrier(4)

    def work():
        seen.append(store.conn)
        with store.transaction() as conn:
            conn.execute("INSERT INTO runs (day, command, started_at, status) VALUES ('2026-02-24', 'x', 'now', 'ok')")
        together.wait()  # all four alive at once, each with its connection

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in seen}) == 4 and all(c is not store.conn for c in seen)
    assert store.count("runs") == 4
    assert store.db.open_connections == 5
    # A new thread's connection closes those of the four finished threads.
    last = threading.Thread(target=lambda: store.conn)
    last.start()
    last.join()
    assert store.db.open_connections == 2
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.conn.execute("SELECT 1")
