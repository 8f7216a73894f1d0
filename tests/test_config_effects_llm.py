"""Each documented [llm], [llm.stages.*], [judge] and [tournament] key changes what is sent or what comes out.

The real judge and tournament stages run on DAY of a store (tests/config_lab.py) against the
fake OpenAI server; the observation is the requests it received (model, options, prompts),
the day's digest, and the error a run stopped with.
"""

from __future__ import annotations

import json
import logging

import pytest

from .config_lab import DAY, Lab, day_papers, fault_server, merge, topic_model
from .fake_openai import PATH, error, ok
from .loopback import Reply

FULL_TEXT = "<html><body><p>Full text: we measure sharpness along the whole training run.</p></body></html>"


@pytest.fixture(scope="module")
def server():
    with pytest.MonkeyPatch.context() as mp, fault_server() as server:
        mp.setenv("TEST_LLM_KEY", "sk-test")
        for name in ("NO_PROXY", "no_proxy"):
            mp.setenv(name, "127.0.0.1,localhost")
        for p in day_papers(DAY):
            server.replay.always(f"/html/{p.arxiv_id}v1", Reply.text(FULL_TEXT * 20, content_type="text/html"))
        yield server


BASE = {"prefilter": {"shortlist_size": 10, "explore_fraction": 0.0}}


@pytest.fixture(scope="module")
def unjudged(tmp_path_factory, server):
    """DAY embedded and prefiltered: the judge has not run."""
    lab = Lab(tmp_path_factory.mktemp("judge-lab"), server, BASE)
    lab.seed(judged=False)
    lab.run_in_place(stages=["embed", "prefilter"])
    return lab


@pytest.fixture(scope="module")
def judged(tmp_path_factory, server):
    """DAY judged as well: the tournament's pool is ready."""
    lab = Lab(tmp_path_factory.mktemp("tournament-lab"), server, BASE)
    lab.seed(judged=False)
    lab.run_in_place(stages=["embed", "prefilter", "judge"])
    return lab


def _sent(lab: Lab, mark: int) -> list:
    out = []
    for r in lab.server.replay.requests[mark:]:
        body = r.json() if r.path == PATH else None
        out.append((r.path, body and {k: v for k, v in body.items() if k != "stream"}))
    # Requests in flight together may arrive in any order.
    return sorted(out, key=lambda x: json.dumps(x, sort_keys=True))


def run(stages, *, context: dict | None = None, script=(), usage: bool = False):
    """An observer: run ``stages`` with ``context`` and the probe's change; what was sent and what came out."""

    def observe(lab: Lab, change: dict) -> dict:
        lab.server.script.clear()
        lab.server.queue(*script)
        mark = len(lab.server.replay.requests)
        out: dict = {}
        try:
            outcome = lab.run(merge(context or {}, change), stages=stages)
            if "digest" in stages:
                out["digest"] = outcome.usage() if usage else outcome.digest()
        except Exception as exc:  # the run stopping is an observable too
            out["error"] = f"{type(exc).__name__}: {exc}"
        out["sent"] = _sent(lab, mark)
        lab.server.script.clear()
        return out

    return observe


JUDGE = run(["judge", "digest"])
USAGE = run(["judge", "digest"], usage=True)
TITLES = run(["judge", "digest"], context={"judge": {"title_pass": True}})
TOURNAMENT = run(["tournament", "digest"])
PAIRS = run(["tournament", "digest"], context={"tournament": {"group_size": 2}})
LONG_PAIRS = run(["tournament", "digest"], context={"tournament": {"group_size": 2, "budget": 40, "batch_size": 2}})
PERSONAL = run(["tournament", "digest"], context={"tournament": {"personal_budget": 4}})
FULL = run(["tournament", "digest"], context={"tournament": {"full_text": True}})
FAILING = run(["judge", "digest"], script=[error(500, "down")] * 12)
FLAKY = run(["judge", "digest"], script=[error(500, "down")])
GARBLED = run(["judge", "digest"], script=[ok("no JSON here")])


def slow_first(lab: Lab, change: dict) -> dict:
    """The first answer comes late: a short timeout gives up on it and asks again."""

    def late(request) -> Reply:
        body = json.dumps(topic_model(request.json())["body"]).encode()
        return Reply(200, body, {"Content-Type": "application/json"}, delay=0.6)

    lab.server.replay.add(PATH, late, method="POST")
    return JUDGE(lab, change)


def logged_pauses(lab: Lab, change: dict) -> list[str]:
    """The back-off pause the client logs before its retry."""
    handler = _Collect()
    logging.getLogger("paperradar").addHandler(handler)
    try:
        FLAKY(lab, change)
    finally:
        logging.getLogger("paperradar").removeHandler(handler)
    return [m for m in handler.messages if "retry" in m]


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


# key -> (lab, change, observe): observe(lab, change) differs from observe(lab, {}).
PROBES = {
    "llm.backend": ("unjudged", {"llm": {"backend": "local"}}, JUDGE),
    "llm.base_url": ("unjudged", {"llm": {"base_url": "URL/elsewhere/v1"}}, JUDGE),
    "llm.api_key_env": ("unjudged", {"llm": {"api_key_env": "UNSET_LLM_KEY"}}, JUDGE),
    "llm.model": ("unjudged", {"llm": {"model": "gpt-4.1-mini"}}, JUDGE),
    "llm.structured_output": ("unjudged", {"llm": {"structured_output": "json_object"}}, JUDGE),
    "llm.temperature": ("unjudged", {"llm": {"temperature": 0.7}}, JUDGE),
    "llm.max_tokens": ("unjudged", {"llm": {"max_tokens": 900}}, JUDGE),
    # Comparisons between two refits default to 2 x concurrency, so the schedule changes with it.
    "llm.concurrency": ("judged", {"llm": {"concurrency": 3}}, TOURNAMENT),
    "llm.max_retries": ("unjudged", {"llm": {"max_retries": 0}}, FLAKY),
    "llm.retry_wait_seconds": ("unjudged", {"llm": {"retry_wait_seconds": 0.2}}, logged_pauses),
    "llm.timeout_seconds": ("unjudged", {"llm": {"timeout_seconds": 0.2}}, slow_first),
    "llm.budget_tokens": ("unjudged", {"llm": {"budget_tokens": 3000}}, JUDGE),
    "llm.max_cost_per_run": ("unjudged", {"llm": {"max_cost_per_run": 0.0005}}, JUDGE),
    "llm.budget_usd": ("unjudged", {"llm": {"budget_usd": 0.0005}}, JUDGE),
    "llm.max_consecutive_failures": ("unjudged", {"llm": {"max_consecutive_failures": 1}}, FAILING),
    "llm.prices": (
        "unjudged",
        {"llm": {"prices": {"gpt-4o-mini": {"input_per_million": 90, "output_per_million": 90}}}},
        USAGE,
    ),
    "llm.stages.judge": ("unjudged", {"llm": {"stages": {"judge": {"model": "judge-model"}}}}, JUDGE),
    "llm.stages.title": ("unjudged", {"llm": {"stages": {"title": {"model": "title-model"}}}}, TITLES),
    "llm.stages.assess": ("judged", {"llm": {"stages": {"assess": {"model": "assess-model"}}}}, TOURNAMENT),
    "llm.stages.match": ("judged", {"llm": {"stages": {"match": {"model": "match-model"}}}}, TOURNAMENT),
    "judge.enabled": ("unjudged", {"judge": {"enabled": "off"}}, JUDGE),
    "judge.batch_size": ("unjudged", {"judge": {"batch_size": 3}}, JUDGE),
    "judge.max_abstract_chars": ("unjudged", {"judge": {"max_abstract_chars": 100}}, JUDGE),
    "judge.attempts": ("unjudged", {"judge": {"attempts": 1}}, GARBLED),
    "judge.title_pass": ("unjudged", {"judge": {"title_pass": True}}, JUDGE),
    "judge.title_batch_size": ("unjudged", {"judge": {"title_batch_size": 3}}, TITLES),
    "judge.title_min_relevance": ("unjudged", {"judge": {"title_min_relevance": 1}}, TITLES),
    "judge.sort": ("unjudged", {"judge": {"sort": "novelty"}}, JUDGE),
    "judge.min_relevance": ("unjudged", {"judge": {"min_relevance": 10}}, JUDGE),
    "judge.min_novelty": ("unjudged", {"judge": {"min_novelty": 6}}, JUDGE),
    "judge.rubric": ("unjudged", {"judge": {"rubric": "Score 10 only for papers about grokking."}}, JUDGE),
    "tournament.enabled": ("judged", {"tournament": {"enabled": "off"}}, TOURNAMENT),
    "tournament.budget": ("judged", {"tournament": {"budget": 2}}, TOURNAMENT),
    "tournament.group_size": ("judged", {"tournament": {"group_size": 2}}, TOURNAMENT),
    "tournament.personal_budget": ("judged", {"tournament": {"personal_budget": 3}}, TOURNAMENT),
    "tournament.order_shortlist_by": ("judged", {"tournament": {"order_shortlist_by": "personal"}}, PERSONAL),
    "tournament.target_ssr": ("judged", {"tournament": {"target_ssr": 0.5}}, LONG_PAIRS),
    "tournament.both_orders": ("judged", {"tournament": {"both_orders": True}}, PAIRS),
    "tournament.batch_size": ("judged", {"tournament": {"batch_size": 5}}, TOURNAMENT),
    "tournament.full_text": ("judged", {"tournament": {"full_text": True}}, TOURNAMENT),
    "tournament.max_text_chars": ("judged", {"tournament": {"max_text_chars": 1000}}, FULL),
    "tournament.html_base_url": ("judged", {"tournament": {"html_base_url": "URL/nowhere"}}, FULL),
    "tournament.prior_sd": ("judged", {"tournament": {"prior_sd": 0.2}}, TOURNAMENT),
    "tournament.leaderboard_size": ("judged", {"tournament": {"leaderboard_size": 2}}, TOURNAMENT),
    "tournament.max_abstract_chars": ("judged", {"tournament": {"max_abstract_chars": 100}}, TOURNAMENT),
}


@pytest.mark.parametrize("key", sorted(PROBES))
def test_llm_key_changes_what_is_sent_or_shown(request, server, key):
    which, change, observe = PROBES[key]
    lab = request.getfixturevalue(which)
    change = json.loads(json.dumps(change).replace("URL", server.replay.url))
    before, after = lab.differs(change, observe)
    assert before != after
