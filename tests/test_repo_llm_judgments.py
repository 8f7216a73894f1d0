"""The llm_calls and judgments repositories on a real SQLite file: typed records in and out."""

from __future__ import annotations

import pytest

from paperradar.core.repositories.judgments import Judgment, Selection
from paperradar.core.repositories.llm_calls import LLMCall
from paperradar.core.store import Store

from .conftest import DAY

pytestmark = pytest.mark.postgres

TODAY = DAY.isoformat()


@pytest.fixture
def store(store_location):
    with Store(store_location) as s:
        yield s


def call(**kw) -> LLMCall:
    fields = {
        "stage": "judge",
        "backend": "openai",
        "model": "m",
        "cache_key": "k",
        "messages": [{"role": "user", "content": "é"}],
        "options": {"temperature": 0},
        "created_at": "2026-02-24T10:00:00+00:00",
        "day": TODAY,
        "response": "{}",
        "input_tokens": 10,
        "output_tokens": 5,
        "cost_usd": 0.5,
    }
    return LLMCall(**(fields | kw))


def verdict(arxiv_id: str, **kw) -> Judgment:
    fields = {
        "day": TODAY,
        "arxiv_id": arxiv_id,
        "model": "m",
        "stage": "judge",
        "criteria_hash": "h",
        "status": "ok",
        "created_at": "2026-02-24T10:00:00+00:00",
        "relevance": 7,
        "novelty": 6,
    }
    return Judgment(**(fields | kw))


def test_cache_serves_the_latest_usable_paid_answer_and_logs_the_hit(store):
    calls = store.llm_calls
    old = calls.log(call(response="old"))
    new = calls.log(call(response="new", input_tokens=20))
    calls.log(call(response=None, error="HTTP 500"))
    assert calls.serve_cached(call(cache_key="other")) is None
    hit = calls.serve_cached(call(response=None, cost_usd=None))
    assert (hit.cached_from, hit.response, hit.input_tokens) == (new, "new", 20)
    calls.mark_unusable(new, "unusable: no ids")
    calls.mark_unusable(hit.call_id, "ignored: a hit row is never marked")
    again = calls.serve_cached(call())
    assert (again.cached_from, again.response) == (old, "old")
    logged = {c.id: c for c in calls.recent(limit=10)}
    assert logged[hit.call_id].cached and logged[hit.call_id].error is None and logged[hit.call_id].cost_usd == 0
    assert logged[new].error == "unusable: no ids"


def test_usage_filters_and_an_unknown_price_is_never_a_small_cost(store):
    calls = store.llm_calls
    calls.log(call(run_id=1))
    calls.log(call(run_id=2, stage="title", cost_usd=None))
    calls.log(call(run_id=2, model="a", day="2026-02-25", error="timed out", response=None, output_tokens=0))
    (judge,) = calls.usage(stage="judge", day=DAY)
    assert (judge.calls, judge.total_tokens, judge.cost_usd, judge.unpriced) == (1, 15, 0.5, 0)
    (m,) = calls.usage(day=TODAY)
    assert (m.calls, m.cost_usd, m.unpriced) == (2, None, 1)
    assert [(u.model, u.calls, u.errors) for u in calls.usage(run_id=2)] == [("a", 1, 1), ("m", 1, 0)]
    assert [c.stage for c in calls.recent(stage="title")] == ["title"]


def test_a_logged_error_is_redacted(store):
    call_id = store.llm_calls.log(call(response=None, error="HTTP 401 for key sk-abcdefghijklmnop1234"))
    (row,) = store.llm_calls.recent()
    assert row.id == call_id and "sk-abcdefghijklmnop" not in row.error and "HTTP 401" in row.error


def test_verdicts_round_trip_replace_select_and_read_back_with_their_backend(store):
    call_id = store.llm_calls.log(call(backend="local"))
    store.judgments.save(
        [
            verdict("2602.00001", call_id=call_id, criterion="MoE", comment="fits"),
            verdict("2602.00002", relevance=3),
            verdict("2602.00003", status="failed", relevance=None, novelty=None, error="no answer for this id"),
            verdict("2602.00004", model="other"),
            verdict("2602.00005", stage="title", status="title-rejected", relevance=2, novelty=None),
        ]
    )
    store.judgments.save([verdict("2602.00002", relevance=9)])  # a rerun's answer replaces the first
    assert store.judgments.reusable(DAY, "m", "h") == {"2602.00001", "2602.00002", "2602.00005"}
    assert store.judgments.reusable(DAY, "m", "changed criteria") == set()

    def decide(j: Judgment) -> Selection:
        ok = j.status == "ok"
        return Selection(j.arxiv_id, j.relevance + 0.1 if ok else None, ok and j.relevance >= 7)

    assert store.judgments.select(DAY, "relevance", decide) == 3
    rows = store.judgments.for_day(DAY)
    assert [r.arxiv_id for r in rows][:3] == ["2602.00002", "2602.00001", "2602.00004"]
    first = next(r for r in rows if r.arxiv_id == "2602.00001")
    assert (first.backend, first.criterion, first.comment, first.score, first.selected, first.sort) == (
        "local",
        "MoE",
        "fits",
        7.1,
        True,
        "relevance",
    )
    failed = next(r for r in rows if r.status == "failed")
    assert (failed.error, failed.score, failed.selected, failed.backend) == ("no answer for this id", None, False, None)
