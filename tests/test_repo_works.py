"""WorkRepository on a real SQLite file: identifiers, locations, merges and citing works."""

from __future__ import annotations

import datetime as dt

import pytest

from paperradar.core.models import Location
from paperradar.core.repositories.works import CitingWork, StoredLocation
from paperradar.core.store import Store

from .conftest import make_paper

pytestmark = pytest.mark.postgres

DAY = dt.date(2026, 2, 24)
LATER = dt.date(2026, 2, 25)


@pytest.fixture
def store(store_location):
    with Store(store_location) as s:
        s.upsert_papers([make_paper("2602.00001", "First", "An abstract."), make_paper("2602.00002", "Second", "")])
        yield s


def test_an_identifier_keeps_the_first_work_it_was_recorded_for(store):
    works = store.works
    works.add_identifiers("2602.00001", [("arxiv", "2602.00001"), ("doi", "10.1/x"), ("title", "first|author")])
    works.add_identifiers("2602.00002", [("doi", "10.1/x"), ("arxiv", "2602.00002")])

    assert works.key_for("doi", "10.1/x") == "2602.00001"
    assert works.key_for("arxiv", "2602.00002") == "2602.00002"
    assert works.key_for("doi", "10.1/unknown") is None
    assert works.identifiers("2602.00001") == {"arxiv": ["2602.00001"], "doi": ["10.1/x"], "title": ["first|author"]}
    assert works.identifiers("2602.00002") == {"arxiv": ["2602.00002"]}


def test_a_location_keeps_its_first_day_and_highest_version_and_gains_facts(store):
    works = store.works
    first = Location(source="iclr", kind="openreview", source_id="abc", url="https://x/abc", version=2, extra={"a": 1})
    works.put_location("2602.00001", first, DAY, "2026-02-24T10:00:00+00:00")
    again = Location(source="iclr", kind="openreview", source_id="abc", url=None, version=1, extra={"b": 2})
    works.put_location("2602.00001", again, LATER, "2026-02-25T10:00:00+00:00")

    assert works.location("iclr", "abc") == StoredLocation(key="2602.00001", version=2)
    assert works.location("iclr", "other") is None
    [loc] = works.locations(["2602.00001"])["2602.00001"]
    assert (loc.url, loc.version, loc.extra) == ("https://x/abc", 2, {"a": 1, "b": 2})
    first_seen = store.conn.execute("SELECT first_seen FROM paper_locations WHERE source_id = 'abc'").fetchone()[0]
    assert first_seen == DAY.isoformat()
    assert works.locations(["2602.00002"]) == {"2602.00002": []}


def test_filling_gaps_and_the_doi_never_overwrite_what_is_stored(store):
    works = store.works
    works.fill_gaps("2602.00002", "Supplied abstract.", ["B. Writer"])
    works.fill_gaps("2602.00002", "Another abstract.", ["C. Other"])
    works.fill_gaps("2602.00001", "Not wanted.", ["D. Nobody"])
    works.set_doi("2602.00001", "10.1/first")
    works.set_doi("2602.00001", "10.1/second")

    assert store.get_paper("2602.00002").abstract == "Supplied abstract."
    assert store.get_paper("2602.00001").abstract == "An abstract."
    assert store.get_paper("2602.00001").authors == ["A. Author"]
    assert works.dois(["2602.00001", "2602.00002", "9999.99999"]) == {"2602.00001": "10.1/first"}


def test_a_replacement_is_announced_once_and_never_over_a_listing(store):
    works = store.works
    assert works.announced_on("2602.00001", DAY) and not works.announced_before("2602.00001", DAY)
    works.announce_replacement("2602.00001", LATER, 3)
    works.announce_replacement("2602.00001", DAY, 3)  # already listed that day: kept as it was

    assert works.announced_on("2602.00001", LATER) and works.announced_before("2602.00001", LATER)
    rows = store.conn.execute(
        "SELECT day, announce_type, version FROM announcements WHERE arxiv_id = '2602.00001' ORDER BY day"
    ).fetchall()
    assert rows == [(DAY.isoformat(), "new", 1), (LATER.isoformat(), "replace", 3)]


def test_fetches_are_recorded_per_source_and_day(store):
    works = store.works
    assert not works.any_fetched(DAY)
    works.record_fetch("elife", DAY, 12, "2026-02-24T10:00:00+00:00")
    assert works.fetched("elife", DAY) and works.any_fetched(DAY)
    assert not works.fetched("arxiv", DAY) and not works.any_fetched(LATER)


def test_citing_works_are_those_first_seen_that_day_with_a_cites_fact(store):
    works = store.works
    cites = Location(source="s2", kind="s2", source_id="c1", url="https://s2/c1", extra={"cites": ["Mine"]})
    plain = Location(source="s2", kind="s2", source_id="c2", url="https://s2/c2", extra={"citations": 4})
    works.put_location("2602.00001", cites, DAY, "t")
    works.put_location("2602.00002", plain, DAY, "t")

    assert works.citing(DAY) == [CitingWork(arxiv_id="2602.00001", title="First", url="https://s2/c1", cites=["Mine"])]
    assert works.citing(LATER) == []
    assert store.works.has_paper("2602.00001") and not store.works.has_paper("2602.99999")
