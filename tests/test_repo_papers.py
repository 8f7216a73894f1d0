"""PaperRepository on a real SQLite file: upserts, announcement days and reads by id."""

from __future__ import annotations

import datetime as dt

import pytest

from paperradar.core.repositories.papers import PaperRepository, UpsertResult
from paperradar.core.store import Store
from paperradar.core.store import UpsertResult as StoreUpsertResult

from .conftest import make_paper

DAY = dt.date(2026, 2, 24)
LATER = dt.date(2026, 2, 25)


@pytest.mark.postgres
def test_a_new_version_replaces_the_text_but_an_empty_field_never_wipes_one(tmp_path, store_location):
    with Store(store_location) as store:
        papers = store.papers
        assert isinstance(papers, PaperRepository) and StoreUpsertResult is UpsertResult

        first = papers.upsert([make_paper("2602.00001", "First", "An abstract.", authors=("Ada", "Alan"))], DAY)
        assert (first.new, first.updated, first.unchanged) == (1, 0, 0)
        assert papers.upsert([make_paper("2602.00001", "First", "An abstract.", authors=("Ada", "Alan"))], DAY) == (
            UpsertResult(unchanged=1)
        )

        v2 = make_paper("2602.00001", "First, revised", "", authors=(), version=2, announce_type="replace")
        result = papers.upsert([v2], LATER)
        assert (result.updated, result.kept) == (1, ["2602.00001: abstract, authors"])

        stored = papers.get("2602.00001")
        assert (stored.version, stored.title, stored.abstract, stored.authors) == (
            2,
            "First, revised",
            "An abstract.",
            ["Ada", "Alan"],
        )
        assert stored.announced == DAY  # the first announcement day is kept
        assert papers.get("2602.99999") is None


@pytest.mark.postgres
def test_papers_for_a_day_leave_out_replacements_unless_asked(tmp_path, store_location):
    with Store(store_location) as store:
        papers = store.papers
        papers.upsert(
            [make_paper("2602.00002", "New", "x"), make_paper("2602.00001", "Cross", "y", announce_type="cross")], DAY
        )
        papers.upsert([make_paper("2602.00003", "Replaced", "z", announce_type="replace")], DAY)
        papers.upsert([make_paper("2602.00004", "Tomorrow", "w")], LATER)

        assert [p.arxiv_id for p in papers.for_day(DAY)] == ["2602.00001", "2602.00002"]
        assert [(p.arxiv_id, p.announce_type) for p in papers.for_day(DAY, include_replacements=True)] == [
            ("2602.00001", "cross"),
            ("2602.00002", "new"),
            ("2602.00003", "replace"),
        ]
        assert papers.days() == ["2026-02-25", "2026-02-24"]
        assert papers.titles(["2602.00004", "2602.00002", "2602.99999"]) == {
            "2602.00004": "Tomorrow",
            "2602.00002": "New",
        }
        by_id = papers.by_ids(["2602.00003", "2602.00003", "2602.00001", "2602.99999"])
        assert sorted(by_id) == ["2602.00001", "2602.00003"] and by_id["2602.00003"].title == "Replaced"


@pytest.mark.postgres
def test_reads_by_id_cross_the_chunk_size(tmp_path, store_location):
    with Store(store_location) as store:
        ids = [f"2602.{i:05d}" for i in range(1, 1203)]
        store.papers.upsert([make_paper(i, f"Paper {i}", "a") for i in ids], DAY)

        assert len(store.papers.by_ids(ids)) == len(store.papers.titles(ids)) == 1202
        many = store.papers.get_many([*ids, "9999.99999"])
        assert len(many) == 1202 and "9999.99999" not in many
        assert many[ids[700]] == store.papers.get(ids[700])  # the same record get() gives, announced day included
