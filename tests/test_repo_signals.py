"""SignalRepository on a real SQLite file: what HN is asked about next."""

from __future__ import annotations

import datetime as dt

import pytest

from paperradar.core.models import Candidate
from paperradar.core.repositories.signals import Signal
from paperradar.core.store import Store

from .conftest import make_paper

NOW = dt.datetime(2026, 2, 24, 12, tzinfo=dt.UTC)


def hn(arxiv_id: str, ref: str, points: int, posted: dt.datetime) -> Signal:
    return Signal(arxiv_id=arxiv_id, source="hn", ref=ref, observed_at=NOW, posted_at=posted, value=points)


@pytest.mark.postgres
def test_discussed_papers_come_most_points_first_since_the_start(tmp_path, store_location):
    with Store(store_location) as store:
        old = NOW - dt.timedelta(days=30)
        saved = store.signals.save(
            [
                hn("2602.00001", "1", 10, NOW),
                hn("2602.00002", "2", 50, NOW),
                hn("2602.00001", "3", 90, NOW),  # a second story: the paper's best counts
                hn("2602.00003", "4", 500, old),
                Signal(arxiv_id="2602.00004", source="hf", ref="2026-02-24", observed_at=NOW, posted_at=NOW, value=9),
            ]
        )
        assert saved == 5
        since = (NOW - dt.timedelta(days=7)).date().isoformat()
        assert store.signals.discussed("hn", since) == ["2602.00001", "2602.00002"]
        assert store.signals.discussed("hf", since) == ["2602.00004"]


@pytest.mark.postgres
def test_shortlisted_are_the_window_days_newest_first_best_rank_first(tmp_path, store_location):
    with Store(store_location) as store:
        days = [dt.date(2026, 2, d) for d in (20, 23, 24)]
        for n, day in enumerate(days):
            papers = [make_paper(f"2602.{n}000{i}", f"P{n}{i}", "Abstract.", announced=day) for i in range(3)]
            store.upsert_papers(papers)
            ranked = [Candidate(paper=p, score=1.0 - i / 10) for i, p in enumerate(papers)]
            store.save_candidates(day, "h", ranked, shortlist_size=2)

        got = store.signals.shortlisted(dt.date(2026, 2, 20), dt.date(2026, 2, 24))
        assert got == ["2602.20000", "2602.20001", "2602.10000", "2602.10001"]
        assert store.signals.shortlisted(dt.date(2026, 2, 24), dt.date(2026, 2, 25)) == []
