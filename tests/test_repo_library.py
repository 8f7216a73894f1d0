"""LibraryRepository on a real SQLite file: updates, vectors per model, newest first."""

from __future__ import annotations

import numpy as np
import pytest

from paperradar.core.repositories.library import LibraryRecord, LibraryText, StoredItem
from paperradar.core.store import Store

pytestmark = pytest.mark.postgres


def record(key: str, title: str, imported_at: str, **kw) -> LibraryRecord:
    return LibraryRecord(
        item_key=key, title=title, source_format="bibtex", source_file="refs.bib", imported_at=imported_at, **kw
    )


@pytest.fixture
def store(store_location):
    with Store(store_location) as s:
        lib = s.library
        lib.insert(record("arxiv:2001.08361", "Scaling laws", "2026-01-01", arxiv_id="2001.08361", authors=["J. K"]))
        lib.insert(record("doi:10.1/b", "A journal paper", "2026-01-02", doi="10.1/b", year=2020))
        lib.insert(record("title:c", "A book", "2026-01-03"))
        yield s


def test_vectors_are_kept_per_model_and_an_update_can_clear_them(store):
    lib = store.library
    lib.set_vectors("m1", [("arxiv:2001.08361", "h1", np.ones(3)), ("doi:10.1/b", "h2", np.zeros(3))])

    assert lib.stored("arxiv:2001.08361") == StoredItem("arxiv:2001.08361", "h1")
    assert lib.stored("title:nope") is None
    assert lib.unembedded("m1") == [LibraryText("title:c", "A book", "")]
    assert {t.item_key for t in lib.unembedded("m2")} == {"arxiv:2001.08361", "doi:10.1/b", "title:c"}
    [v] = [v for v in lib.vectors("m1") if v.item_key == "arxiv:2001.08361"]
    assert (v.title, v.arxiv_id) == ("Scaling laws", "2001.08361") and v.vector.tolist() == [1.0, 1.0, 1.0]
    assert lib.vectors("m2") == []

    lib.update(record("arxiv:2001.08361", "Scaling laws (v2)", "2026-02-01"), keep_vector=True)
    lib.update(record("doi:10.1/b", "A journal paper, retitled", "2026-02-01"), keep_vector=False)
    assert lib.stored("arxiv:2001.08361").content_hash == "h1"
    assert lib.stored("doi:10.1/b").content_hash is None
    assert [v.item_key for v in lib.vectors("m1")] == ["arxiv:2001.08361"]
    # The update rewrote every field the export gives, the arXiv id included.
    assert lib.arxiv_ids() == []


def test_newest_vectors_are_the_latest_imports_up_to_the_limit(store):
    lib = store.library
    lib.set_vectors("m1", [(k, "h", np.ones(2)) for k in ("arxiv:2001.08361", "doi:10.1/b", "title:c")])

    assert [v.item_key for v in lib.newest_vectors("m1", 2)] == ["title:c", "doi:10.1/b"]
    assert lib.newest_vectors("m2", 2) == []


def test_rows_show_newest_first_with_their_embedded_flag(store):
    lib = store.library
    lib.set_vectors("m1", [("doi:10.1/b", "h", np.ones(2))])

    rows = lib.rows()
    assert [(r.key, r.year, r.embedded) for r in rows] == [
        ("title:c", None, False),
        ("doi:10.1/b", 2020, True),
        ("arxiv:2001.08361", None, False),
    ]
    assert lib.count() == 3
    assert lib.arxiv_ids() == ["2001.08361"]
    assert store.conn.execute("SELECT authors FROM library_items WHERE item_key = 'arxiv:2001.08361'").fetchone() == (
        '["J. K"]',
    )
