"""CandidateRepository on a real SQLite file: the day's ranking and what the judge made of it."""

from __future__ import annotations

import datetime as dt

import pytest

from paperradar.core.models import Candidate, Reason
from paperradar.core.repositories.candidates import JudgedDay
from paperradar.core.store import JudgedDay as StoreJudgedDay
from paperradar.core.store import Store

from .conftest import make_paper

pytestmark = pytest.mark.postgres

DAY = dt.date(2026, 2, 24)
LATER = dt.date(2026, 2, 25)
IDS = ["2602.00001", "2602.00002", "2602.00003", "2602.00004"]


def ranked(day: dt.date) -> list[Candidate]:
    papers = [make_paper(i, f"Paper {i}", "a", announced=day) for i in IDS]
    reason = Reason(kind="keyword", label="transformers", score=0.5)
    return [
        Candidate(paper=papers[0], score=0.9, reasons=[reason]),
        Candidate(paper=papers[1], score=0.8, excluded=True),
        Candidate(paper=papers[2], score=0.7),
        Candidate(paper=papers[3], score=0.1),
    ]


@pytest.fixture
def store(store_location):
    with Store(store_location) as s:
        for day in (DAY, LATER):
            s.upsert_papers([c.paper for c in ranked(day)], day)
        yield s


def judge(store: Store, day: dt.date, arxiv_id: str, status: str, selected: bool) -> None:
    store.conn.execute(
        "INSERT INTO judgments (day, arxiv_id, model, stage, criteria_hash, status, selected, created_at) "
        "VALUES (?, ?, 'm', 'judge', 'c', ?, ?, 't')",
        (day.isoformat(), arxiv_id, status, int(selected)),
    )


def test_a_saved_ranking_shortlists_the_best_eligible_and_a_rerun_replaces_it(store):
    candidates = store.candidates
    candidates.save(DAY, "old", ranked(DAY)[:1], 1)
    candidates.save(DAY, "hash", ranked(DAY), 2, explored=["2602.00004"], profile_version="v1")

    assert candidates.seen(DAY) == 4 and candidates.seen(LATER) == 0
    assert candidates.profile_hash(DAY) == "hash" and candidates.profile_hash(LATER) is None
    assert candidates.days() == ["2026-02-24"]
    # Rank 2 is excluded, so only the first is shortlisted; the explored one comes along on request.
    assert [c.paper.arxiv_id for c in candidates.for_day(DAY)] == ["2602.00001"]
    assert [c.paper.arxiv_id for c in candidates.for_day(DAY, explored=True)] == ["2602.00001", "2602.00004"]
    everything = candidates.for_day(DAY, shortlisted_only=False)
    assert [(c.paper.arxiv_id, c.excluded) for c in everything] == [
        ("2602.00001", False),
        ("2602.00002", True),
        ("2602.00003", False),
        ("2602.00004", False),
    ]
    assert everything[0].reasons == [Reason(kind="keyword", label="transformers", score=0.5)]
    assert everything[0].paper.announced == DAY and everything[0].paper.title == "Paper 2602.00001"


def test_judged_days_report_what_the_judge_read_and_picked_before_a_day(store):
    assert StoreJudgedDay is JudgedDay
    store.candidates.save(DAY, "h", ranked(DAY), 2, explored=["2602.00004"], profile_version="v1")
    store.candidates.save(LATER, "h", ranked(LATER), 2)
    judge(store, DAY, "2602.00001", "ok", True)
    judge(store, DAY, "2602.00004", "ok", False)
    judge(store, DAY, "2602.00003", "failed", False)
    judge(store, LATER, "2602.00001", "ok", True)

    assert store.candidates.judged_days(LATER, 5) == [
        JudgedDay(
            day="2026-02-24",
            ranking=["2602.00001", "2602.00003", "2602.00004"],
            shortlisted=1,
            explored=["2602.00004"],
            read={"2602.00001", "2602.00004"},
            picked={"2602.00001"},
            profile_version="v1",
        )
    ]
    assert [d.day for d in store.candidates.judged_days(LATER + dt.timedelta(days=1), 5)] == [
        "2026-02-24",
        "2026-02-25",
    ]
    assert [d.day for d in store.candidates.judged_days(LATER + dt.timedelta(days=1), 1)] == ["2026-02-25"]
    assert store.candidates.judged_days(DAY, 5) == []
