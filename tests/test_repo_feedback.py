"""FeedbackRepository on a real SQLite file: the log, the derived state, and the filters."""

from __future__ import annotations

import pytest

from paperradar.core.repositories.feedback import FeedbackEvent, FeedbackState
from paperradar.core.store import Store

from .conftest import make_paper

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(store_location):
    with Store(store_location) as s:
        s.upsert_papers([make_paper(f"2602.0000{i}", f"Paper {i}", "Abstract.") for i in range(1, 5)])
        yield s


def test_the_state_follows_the_latest_clicks(store):
    fb = store.feedback
    fb.add("2602.00001", "up", None, "2026-02-24T10:00:00+00:00")
    fb.add("2602.00001", "save", None, "2026-02-24T10:01:00+00:00")
    fb.add("2602.00002", "down", None, "2026-02-24T10:02:00+00:00")
    fb.add("2602.00002", "clear", None, "2026-02-24T10:03:00+00:00")

    one = fb.state("2602.00001")
    assert (one.vote, one.saved, one.title, one.label) == ("up", True, "Paper 1", 1)
    assert fb.state("2602.00002").vote is None
    assert fb.state("2602.00004") is None
    assert set(fb.states(["2602.00001", "2602.00003"])) == {"2602.00001"}
    assert set(fb.states()) == {"2602.00001", "2602.00002"}


def test_opinions_filter_and_order_most_recent_first(store):
    fb = store.feedback
    fb.add("2602.00001", "up", None, "2026-02-24T10:00:00+00:00")
    fb.add("2602.00002", "down", None, "2026-02-24T10:01:00+00:00")
    fb.add("2602.00003", "save", None, "2026-02-24T10:02:00+00:00")
    fb.add("2602.00004", "note", "read later", "2026-02-24T10:03:00+00:00")

    assert [s.arxiv_id for s in fb.opinions()] == ["2602.00004", "2602.00003", "2602.00002", "2602.00001"]
    assert [s.arxiv_id for s in fb.opinions("up")] == ["2602.00001"]
    assert [s.arxiv_id for s in fb.opinions("down")] == ["2602.00002"]
    assert fb.opinions("saved") == [
        FeedbackState("2602.00003", None, True, None, "2026-02-24T10:02:00+00:00", "Paper 3")
    ]


def test_events_are_every_click_in_order_with_the_paper_title(store):
    fb = store.feedback
    fb.add("2602.00001", "up", None, "t1")
    fb.add("2602.00001", "note", "good", "t2")

    assert fb.events() == [
        FeedbackEvent(1, "2602.00001", "up", "t1", None, "Paper 1"),
        FeedbackEvent(2, "2602.00001", "note", "t2", "good", "Paper 1"),
    ]
