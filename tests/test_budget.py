"""One cost budget for the whole run, shared by every stage and thread."""

from __future__ import annotations

import json
import threading

import pytest

from paperradar.core.budget import BudgetConfigError, BudgetExceeded, RunBudget, run_budget
from paperradar.core.config import LLMConfig
from paperradar.core.llm import LLM
from paperradar.core.models import Candidate
from paperradar.core.store import Store
from paperradar.stages.judge import judge_shortlist

from .conftest import DAY, SAMPLE_PAPERS
from .fake_openai import FakeOpenAI, ids_in, ok, scores

pytestmark = pytest.mark.postgres


def test_concurrent_reservations_never_cross_the_cap():
    budget = RunBudget(max_tokens=10_000)
    granted: list = []
    lock = threading.Lock()

    def worker():
        for _ in range(50):
            try:
                r = budget.reserve("judge", "m", 100, 100)  # worst case 125 + 100
            except BudgetExceeded:
                return
            with lock:
                granted.append(r)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 10_000 // 225
    for r in granted:
        budget.settle(r, 225, None)
    assert budget.spent_tokens <= 10_000 and budget.reserved_tokens == 0


def test_settling_frees_what_was_not_used():
    budget = RunBudget(max_tokens=1_000)
    r = budget.reserve("judge", "m", 400, 400)  # 900 held
    with pytest.raises(BudgetExceeded, match="budget_tokens"):
        budget.reserve("tournament", "m", 60, 60)
    budget.settle(r, 300, None)
    assert budget.remaining_tokens() == 700
    budget.reserve("tournament", "m", 60, 60)
    assert budget.by_stage["tournament"].refused == 1 and budget.by_stage["judge"].tokens == 300


def test_dollar_cap_uses_prices_and_the_cli_override():
    cfg = LLMConfig(model="gpt-4o-mini", max_cost_per_run=1.0)
    assert run_budget(cfg).max_usd == 1.0
    assert run_budget(cfg, max_cost=0.01).max_usd == 0.01
    # The older key name still sets the same cap.
    assert run_budget(LLMConfig(budget_usd=0.5)).max_usd == 0.5
    budget = run_budget(LLMConfig(), max_cost=0.001)
    # gpt-4o-mini: $0.15 / $0.60 per million; 1000 prompt + 1000 completion reserve ~ $0.0008.
    budget.reserve("judge", "gpt-4o-mini", 1000, 1000)
    with pytest.raises(BudgetExceeded, match="--max-cost"):
        budget.reserve("judge", "gpt-4o-mini", 1000, 1000)
    with pytest.raises(BudgetConfigError, match='llm.prices."mystery"'):
        budget.reserve("judge", "mystery", 10, 10)


def test_affordable_counts_items_that_fit():
    budget = RunBudget(max_tokens=1_000)
    assert budget.affordable("m", (100, 100)) == 1_000 // 225
    assert RunBudget().affordable("m", (100, 100)) is None


@pytest.fixture
def server():
    # Usage as a real server reports it: about a token per four characters of prompt.
    def answer(req):
        ids, prompt = ids_in(req), len(json.dumps(req["messages"])) // 4
        if ids:
            return ok(scores(ids), prompt_tokens=prompt, completion_tokens=50)
        return ok('{"winner": 1, "reason": "first"}', prompt_tokens=prompt, completion_tokens=50)

    with FakeOpenAI(default=answer) as s:
        yield s


@pytest.mark.postgres
def test_stages_share_one_run_budget(tmp_path, config, server, monkeypatch, store_location):
    """The judge spends first; the next stage gets only what is left, and the run never passes the cap."""
    config.llm = server.llm_config(monkeypatch, concurrency=1, max_tokens=60)
    config.judge.batch_size = 1
    cap = 3_000
    budget = RunBudget(max_tokens=cap)
    with Store(store_location) as store:
        store.upsert_papers(SAMPLE_PAPERS, DAY)
        judge_llm = LLM.from_config(config, store, day=DAY.isoformat(), budget=budget)
        cands = [Candidate(paper=p, score=5.0 - i) for i, p in enumerate(SAMPLE_PAPERS[:3])]
        result = judge_shortlist(store, config, DAY, cands, judge_llm)
        assert result.judged == 3 and result.stopped is None
        other = LLM.from_config(config, store, day=DAY.isoformat(), budget=budget)
        sent = 0
        with pytest.raises(BudgetExceeded):
            for i in range(100):
                other.complete("match", [{"role": "user", "content": f"compare pair {i}"}])
                sent += 1
        spent = store.conn.execute("SELECT SUM(input_tokens + output_tokens) FROM llm_calls").fetchone()[0]
    judge_tokens = budget.by_stage["judge"].tokens
    match_tokens = budget.by_stage["match"].tokens
    assert spent == budget.spent_tokens == judge_tokens + match_tokens <= cap
    # The matches got only what the judge left: alone, the same budget buys many more.
    assert 0 < sent < (cap - 60) // (match_tokens // sent)
    assert budget.by_stage["match"].refused == 1


def test_run_day_gives_every_stage_the_same_budget(config, embedder, server, monkeypatch):
    from paperradar.core.pipeline import run_day

    config.llm = server.llm_config(monkeypatch, concurrency=1, max_tokens=60, budget_tokens=1_500)
    config.judge.batch_size = 1
    with Store(config.database) as s:
        s.upsert_papers(SAMPLE_PAPERS, DAY)
    ctx = run_day(config, DAY, embedder=embedder, stages=["embed", "prefilter", "judge", "digest"])
    with Store(config.database) as s:
        paid = s.conn.execute("SELECT SUM(input_tokens + output_tokens) FROM llm_calls").fetchone()[0]
    assert ctx.budget.max_tokens == 1_500
    assert paid == ctx.budget.spent_tokens <= 1_500 and len(server.requests) >= 1
    # The papers the cap left out are named in the digest, best-ranked ones were judged.
    md = ctx.paths["markdown"].read_text()
    assert "Not judged because of the run's cost cap" in md and "Estimated LLM cost of the day" in md
