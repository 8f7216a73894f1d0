"""The LLM layer against a real loopback OpenAI-compatible server."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import BaseModel

from paperradar.core.config import LLMConfig, LLMPrice
from paperradar.core.llm import (
    LLM,
    BudgetExceeded,
    LLMError,
    LLMOutputError,
    MissingAPIKey,
    extract_json,
)
from paperradar.core.store import Store

from .fake_openai import HANG, FakeOpenAI, error, ok


class Answer(BaseModel):
    papers: list[dict]


MESSAGES = [{"role": "system", "content": "Reply with JSON."}, {"role": "user", "content": "hello"}]


@pytest.fixture
def server():
    with FakeOpenAI(default=None) as s:
        yield s


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "s.db") as s:
        yield s


def make_llm(store, server, monkeypatch, **kw) -> LLM:
    return LLM(server.llm_config(monkeypatch, **{"max_retries": 2, **kw}), store, day="2026-02-24")


# -- JSON extraction ------------------------------------------------------------------------


def test_extract_plain_json():
    assert extract_json('{"papers": []}') == {"papers": []}


def test_extract_json_wrapped_in_prose_with_stray_brackets():
    text = 'Sure! Here are my scores [see below]:\n{"papers": [{"id": "1", "relevance": 3}]}\nHope it helps {:'
    assert extract_json(text) == {"papers": [{"id": "1", "relevance": 3}]}


def test_extract_json_from_code_fence():
    text = 'Scores:\n```json\n{"papers": [{"id": "a"}]}\n```\nDone.'
    assert extract_json(text) == {"papers": [{"id": "a"}]}


def test_extract_jsonl_gives_a_list():
    text = '{"id": "a", "relevance": 1}\n{"id": "b", "relevance": 2}\n'
    assert extract_json(text) == [{"id": "a", "relevance": 1}, {"id": "b", "relevance": 2}]


def test_extract_without_json_raises():
    with pytest.raises(ValueError, match="no JSON"):
        extract_json("I cannot rate these papers.")


# -- requests ---------------------------------------------------------------------------------


def test_missing_key_names_the_variable(store, monkeypatch):
    monkeypatch.delenv("MY_LLM_KEY", raising=False)
    llm = LLM(LLMConfig(api_key_env="MY_LLM_KEY"), store)
    with pytest.raises(MissingAPIKey, match="MY_LLM_KEY"):
        llm.complete("judge", MESSAGES)


def test_structured_output_sends_schema_and_validates(store, server, monkeypatch):
    server.queue(ok({"papers": [{"id": "x"}]}, prompt_tokens=1000, completion_tokens=500))
    llm = make_llm(store, server, monkeypatch)
    res = llm.complete("judge", MESSAGES, schema=Answer, schema_name="scores")
    assert res.parsed.papers == [{"id": "x"}]
    fmt = server.requests[0]["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "scores"
    assert server.requests[0]["model"] == "gpt-4o-mini"
    # 1000 * 0.15 / 1e6 + 500 * 0.60 / 1e6
    assert res.cost_usd == pytest.approx(0.00045)
    row = store.llm_calls.recent()[0]
    assert (row.stage, row.input_tokens, row.output_tokens, row.error) == ("judge", 1000, 500, None)


def test_no_response_format_when_server_lacks_it(store, server, monkeypatch):
    server.queue(ok('Here you go: {"papers": []} '))
    llm = make_llm(store, server, monkeypatch, structured_output="none")
    assert llm.complete("judge", MESSAGES, schema=Answer).parsed.papers == []
    assert "response_format" not in server.requests[0]


def test_stage_model_override_and_price_table(store, server, monkeypatch):
    server.queue(ok("{}", prompt_tokens=2_000_000, completion_tokens=0))
    llm = make_llm(
        store,
        server,
        monkeypatch,
        stages={"judge": {"model": "my-model"}},
        prices={"my-model": LLMPrice(input_per_million=1.0, output_per_million=2.0)},
    )
    res = llm.complete("judge", MESSAGES)
    assert server.requests[0]["model"] == "my-model"
    assert res.cost_usd == pytest.approx(2.0)


def test_429_is_retried_and_each_attempt_logged(store, server, monkeypatch, caplog):
    server.queue(error(429, headers={"retry-after": "0"}), ok("{}"))
    llm = make_llm(store, server, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="paperradar.core.llm"):
        res = llm.complete("judge", MESSAGES)
    assert res.text == "{}"
    assert len(server.requests) == 2
    rows = list(reversed(store.llm_calls.recent()))
    assert [r.attempt for r in rows] == [1, 2]
    assert "HTTP 429" in rows[0].error and rows[1].error is None
    assert "retry 1 of 2" in caplog.text


def test_timeout_is_retried(store, server, monkeypatch):
    server.queue(HANG, ok("{}"))
    llm = make_llm(store, server, monkeypatch, timeout_seconds=0.5)
    assert llm.complete("judge", MESSAGES).text == "{}"
    rows = list(reversed(store.llm_calls.recent()))
    assert "timed out" in rows[0].error
    assert len(server.requests) == 2


def test_retries_give_up_with_a_clear_error(store, server, monkeypatch):
    server.queue(error(503), error(502), error(500))
    llm = make_llm(store, server, monkeypatch, max_retries=2)
    with pytest.raises(LLMError, match="failed 3 times"):
        llm.complete("judge", MESSAGES)
    assert len(server.requests) == 3


def test_client_error_is_not_retried(store, server, monkeypatch):
    server.queue(error(401, "bad key"))
    llm = make_llm(store, server, monkeypatch)
    with pytest.raises(LLMError, match="401"):
        llm.complete("judge", MESSAGES)
    assert len(server.requests) == 1


# -- cache and budget ----------------------------------------------------------------------------------


def test_identical_call_is_served_from_the_log(store, server, monkeypatch):
    server.queue(ok('{"papers": []}', prompt_tokens=10, completion_tokens=5))
    llm = make_llm(store, server, monkeypatch)
    first = llm.complete("judge", MESSAGES, schema=Answer)
    # A new LLM object (a rerun) with no key at all: the log answers.
    monkeypatch.delenv("TEST_LLM_KEY")
    again = LLM(llm.config, store).complete("judge", MESSAGES, schema=Answer)
    assert len(server.requests) == 1
    assert again.cached and not first.cached and again.text == first.text
    totals = store.llm_calls.usage()[0]
    assert (totals.calls, totals.cached, totals.total_tokens) == (1, 1, 15)


def test_changed_prompt_or_options_is_not_served_from_cache(store, server, monkeypatch):
    server.queue(ok("{}"), ok("{}"), ok("{}"))
    llm = make_llm(store, server, monkeypatch)
    llm.complete("judge", MESSAGES)
    llm.complete("judge", [*MESSAGES[:1], {"role": "user", "content": "other"}])
    llm.config.temperature = 0.5
    llm.complete("judge", MESSAGES)
    assert len(server.requests) == 3


def test_unusable_answer_is_logged_as_error_and_not_cached(store, server, monkeypatch):
    server.queue(ok("Sorry, I can't."), ok('{"papers": []}'))
    llm = make_llm(store, server, monkeypatch)
    with pytest.raises(LLMOutputError):
        llm.complete("judge", MESSAGES, schema=Answer)
    assert store.llm_calls.recent()[0].error.startswith("invalid output")
    assert llm.complete("judge", MESSAGES, schema=Answer).parsed.papers == []
    assert len(server.requests) == 2


def test_token_budget_stops_before_the_request(store, server, monkeypatch):
    server.queue(ok("{}", prompt_tokens=900, completion_tokens=100))
    # The request reserves its prompt plus max_tokens: 1000 fits the first, not the second.
    llm = make_llm(store, server, monkeypatch, budget_tokens=1000, max_tokens=50)
    llm.complete("judge", MESSAGES)
    with pytest.raises(BudgetExceeded, match="budget_tokens"):
        llm.complete("judge", [{"role": "user", "content": "next"}])
    assert len(server.requests) == 1
    # Cached answers cost nothing, so they are still served.
    assert llm.complete("judge", MESSAGES).cached


def test_dollar_budget_needs_a_price(store, server, monkeypatch):
    llm = make_llm(store, server, monkeypatch, budget_usd=0.01, model="unknown-model")
    with pytest.raises(LLMError, match='llm.prices."unknown-model"'):
        llm.complete("judge", MESSAGES)
    assert server.requests == []


def test_calls_store_prompt_and_response(store, server, monkeypatch):
    server.queue(ok('{"a": 1}'))
    make_llm(store, server, monkeypatch).complete("judge", MESSAGES)
    row = store.conn.execute("SELECT messages, response, day, cache_key FROM llm_calls").fetchone()
    assert json.loads(row[0]) == MESSAGES
    assert row[1] == '{"a": 1}' and row[2] == "2026-02-24" and len(row[3]) == 64
