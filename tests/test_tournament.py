"""Assessments, comparisons and tournaments against the loopback OpenAI-compatible server."""

from __future__ import annotations

import json
import re

import pytest

from paperradar.core.config import Config, TournamentConfig
from paperradar.core.digest import build_digest
from paperradar.core.llm import LLM
from paperradar.core.models import Candidate
from paperradar.core.pipeline import digest_enrichers
from paperradar.core.store import Store
from paperradar.outputs.markdown import render_markdown as render_digest
from paperradar.stages.assess import assess_papers
from paperradar.stages.match import compare
from paperradar.stages.pools import State, leaderboard, make_pool
from paperradar.stages.tournament import run_tournament

from .conftest import DAY, make_paper
from .fake_openai import FakeOpenAI, ok

pytestmark = pytest.mark.postgres

PAPERS = [
    make_paper(f"2602.1000{i}", f"Paper number {i}", f"An abstract about method {i}.", categories=["cs.LG"])
    for i in range(6)
]
# Hidden quality: the fake judge always prefers the higher number.
STRENGTH = {p.arxiv_id: i for i, p in enumerate(PAPERS)}

ASSESSMENT = {
    "contribution": "A new method.",
    "strengths": ["clear", "simple"],
    "concerns": ["small experiments"],
    "impact": "Moderate, for practitioners.",
    "audience": "ML engineers",
    "significance": 6,
    "rigor": 5,
    "novelty": "7/10",
    "clarity": 8.0,
    "overall": 6,
}

PAIR = re.compile(r'<paper_(\d) id="([^"]+)">')


def pair_in(request: dict) -> tuple[str, str]:
    found = dict(PAIR.findall(request["messages"][1]["content"]))
    return found["1"], found["2"]


def is_match(request: dict) -> bool:
    return "<paper_1" in request["messages"][1]["content"]


def fake_judge(request: dict) -> dict:
    if not is_match(request):
        pid = re.search(r'<paper id="([^"]+)">', request["messages"][1]["content"]).group(1)
        return ok({**ASSESSMENT, "overall": 1 + STRENGTH.get(pid, 0)})
    a, b = pair_in(request)
    winner = 1 if STRENGTH[a] > STRENGTH[b] else 2
    return ok({"winner": winner, "reason": f"{a if winner == 1 else b} is stronger."})


@pytest.fixture
def server():
    with FakeOpenAI(default=fake_judge) as s:
        yield s


@pytest.fixture
def store(store_location):
    with Store(store_location) as s:
        s.upsert_papers(PAPERS, DAY)
        yield s


@pytest.fixture
def llm(store, server, monkeypatch):
    cfg = server.llm_config(monkeypatch, concurrency=2, structured_output="none")
    return LLM(cfg, store, day=DAY.isoformat())


TC = TournamentConfig(batch_size=4)


def match_requests(server) -> list[tuple[str, str]]:
    return [pair_in(r) for r in server.requests if is_match(r)]


# -- assessments ------------------------------------------------------------------------------


def test_assessment_is_parsed_coerced_and_stored_per_model(store, llm, server):
    report = assess_papers(store, llm, PAPERS[:2], TC)
    assert (report.assessed, report.failed) == (2, {})
    got = store.assessments.for_papers([PAPERS[1].arxiv_id])[PAPERS[1].arxiv_id]
    assert (got.novelty, got.clarity, got.overall, got.model) == (7, 8, 2, "gpt-4o-mini")
    assert got.strengths == ["clear", "simple"] and got.generated_at.startswith("20")
    # A rerun reuses them and asks nothing.
    n = len(server.requests)
    assert assess_papers(store, llm, PAPERS[:2], TC).reused == 2
    assert len(server.requests) == n


def test_malformed_assessment_is_asked_again(store, llm, server):
    server.queue(ok("Sure! Here is my review: the paper is good."))
    report = assess_papers(store, llm, PAPERS[:1], TC)
    assert report.assessed == 1
    assert len(server.requests) == 2
    assert "JSON object only" in server.requests[1]["messages"][-1]["content"]


def test_refusal_and_out_of_range_ratings_fail_without_storing(store, llm, server):
    server.queue(ok("I'm sorry, but I can't help with reviewing this paper."), ok({**ASSESSMENT, "overall": 11}))
    report = assess_papers(store, llm, PAPERS[:1], TC)
    assert report.assessed == 0 and PAPERS[0].arxiv_id in report.failed
    assert store.assessments.for_papers([PAPERS[0].arxiv_id]) == {}
    errors = store.conn.execute("SELECT count(*) FROM llm_calls WHERE error IS NOT NULL").fetchone()[0]
    assert errors == 2  # both unusable answers are marked, so neither is served from the cache


# -- single comparisons ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"winner": 1, "reason": "a"}, "first"),
        ({"winner": "Paper 2", "reason": "b"}, "second"),
        ({"winner": "tie", "reason": "c"}, "tie"),
        ('```json\n{"winner": "2", "reason": "fenced"}\n```', "second"),
    ],
)
def test_match_answer_forms(llm, server, answer, expected):
    server.queue(ok(answer))
    v = compare(llm, PAPERS[0], PAPERS[1], TC)
    assert v.outcome == expected and v.reason
    assert (v.first_id, v.second_id) == (PAPERS[0].arxiv_id, PAPERS[1].arxiv_id)


def test_match_refusal_then_bad_winner_raises(llm, server):
    from paperradar.core.llm import LLMOutputError

    server.queue(ok("I cannot compare these papers."), ok({"winner": 3, "reason": "x"}))
    with pytest.raises(LLMOutputError):
        compare(llm, PAPERS[0], PAPERS[1], TC)


def test_match_prompt_carries_both_papers_and_assessments(store, llm, server):
    assess_papers(store, llm, PAPERS[:2], TC)
    found = store.assessments.for_papers([p.arxiv_id for p in PAPERS[:2]])
    compare(llm, PAPERS[0], PAPERS[1], TC, found[PAPERS[0].arxiv_id], found[PAPERS[1].arxiv_id])
    text = server.requests[-1]["messages"][1]["content"]
    assert text.index('<paper_1 id="2602.10000">') < text.index('<paper_2 id="2602.10001">')
    assert text.count("<assessment>") == 2


# -- tournaments ---------------------------------------------------------------------------


def category_pool(store):
    return make_pool(store, DAY, category="cs.LG")


def test_tournament_respects_budget_and_ranks_by_hidden_strength(store, llm, server):
    pool = category_pool(store)
    assert len(pool.papers) == 6
    report = run_tournament(store, llm, TC, pool, budget=14, target_ssr=1.0)
    asked = match_requests(server)
    assert len(asked) == report.comparisons == 14
    assert len(set(asked)) == 14
    assert report.stopped == "comparison budget spent"
    board = leaderboard(store, pool, TC)
    assert [r.arxiv_id for r in board.rows][:2] == [PAPERS[5].arxiv_id, PAPERS[4].arxiv_id]
    top = board.rows[0]
    assert top.losses == 0 and top.wins == top.matches and top.win_rate == 1.0
    assert top.rating > board.rows[-1].rating and top.uncertainty > 0
    assert all(g["reason"] for g in top.games)
    assert sum(r.wins for r in board.rows) == sum(r.losses for r in board.rows) == 14
    assert board.coherence == pytest.approx(1.0)  # overall ratings follow the same hidden order
    assert 0 <= board.ssr <= 1


def test_adding_papers_never_replays_old_matches(store, llm, server):
    small = make_pool(store, DAY, category="cs.LG")
    small.papers = small.papers[:4]
    run_tournament(store, llm, TC, small, budget=12, target_ssr=1.0)
    first_round = match_requests(server)
    assert len(first_round) == 12  # all ordered pairs of 4 papers
    again = run_tournament(store, llm, TC, small, budget=5, target_ssr=1.0)
    assert again.comparisons == 0 and again.stopped == "every pair has been judged"
    full = category_pool(store)
    report = run_tournament(store, llm, TC, full, budget=8, target_ssr=1.0)
    second_round = match_requests(server)[12:]
    assert report.existing == 12 and len(second_round) == 8
    assert not set(second_round) & set(first_round)
    # Every new comparison involves at least one newcomer: they are the uncertain ones.
    newcomers = {PAPERS[4].arxiv_id, PAPERS[5].arxiv_id}
    assert all(set(p) & newcomers for p in second_round)
    assert len(State.load(store, full.ids).matches) == 20


def test_failed_comparisons_are_counted_and_skipped(store, llm, server):
    llm.config.concurrency = 1  # so both unusable answers go to the same comparison
    server.queue(ok("no opinion"), ok("still no opinion"))
    pool = category_pool(store)
    report = run_tournament(store, llm, TC, pool, budget=4, target_ssr=1.0, assess=False)
    assert report.failed == 1 and report.comparisons == 3


def test_reliability_target_stops_early(store, llm, server):
    pool = category_pool(store)
    report = run_tournament(store, llm, TC, pool, budget=30, target_ssr=0.05, assess=False)
    assert report.stopped.startswith("reliability target reached")
    assert report.comparisons < 30


def test_position_bias_is_reported(store, llm, server):
    server.default = lambda r: ok({"winner": 1, "reason": "shown first"}) if is_match(r) else fake_judge(r)
    pool = category_pool(store)
    run_tournament(store, llm, TC, pool, budget=12, target_ssr=1.0, assess=False)
    board = leaderboard(store, pool, TC)
    assert board.first_position_win_rate == 1.0
    assert board.position_bias > 0.5


def test_digest_gets_leaderboard_section(store, llm, server):
    store.save_candidates(DAY, "h", [Candidate(paper=p, score=0.5) for p in PAPERS], shortlist_size=6)
    run_tournament(store, llm, TC, make_pool(store, DAY), budget=10, target_ssr=1.0)
    digest = build_digest(store, DAY, digest_enrichers(Config()))
    board = digest.sections["leaderboard"][0]
    assert board["pool"] == f"shortlist/day/{DAY.isoformat()}"
    assert board["rows"][0]["arxiv_id"] == PAPERS[5].arxiv_id
    assert any(e.assessment and e.assessment["overall"] for e in digest.entries)
    md = render_digest(digest)
    assert "## Impact leaderboard" in md and "| 1 | [Paper number 5]" in md
    json.dumps(digest.model_dump(mode="json"))  # the JSON digest can carry it


def test_leaderboard_size_limits_the_digest_leaderboard(store, llm, server):
    from paperradar.outputs.html import render_html

    store.save_candidates(DAY, "h", [Candidate(paper=p, score=0.5) for p in PAPERS], shortlist_size=6)
    run_tournament(store, llm, TC, make_pool(store, DAY), budget=10, target_ssr=1.0)
    full = build_digest(store, DAY, digest_enrichers(Config()))
    cut = build_digest(store, DAY, digest_enrichers(Config(tournament=TournamentConfig(leaderboard_size=2))))
    assert len(full.sections["leaderboard"][0]["rows"]) == 6
    rows = cut.sections["leaderboard"][0]["rows"]
    assert [r["arxiv_id"] for r in rows] == [r["arxiv_id"] for r in full.sections["leaderboard"][0]["rows"][:2]]
    md = render_digest(cut)
    assert "| 2 | [" in md and "| 3 | [" not in md
    assert render_html(cut).count("Paper number") < render_html(full).count("Paper number")


def test_cli_tournament_and_leaderboard(tmp_path, server, monkeypatch):
    from typer.testing import CliRunner

    from paperradar.cli import app

    monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
    cfg = tmp_path / "paperradar.toml"
    cfg.write_text(
        f'[paperradar]\ncategories = ["cs.LG"]\ndatabase = "db.sqlite"\n'
        f'[llm]\nbase_url = "{server.base_url}"\napi_key_env = "TEST_LLM_KEY"\nstructured_output = "none"\n'
        "retry_wait_seconds = 0\n[tournament]\ngroup_size = 2\n",
        encoding="utf-8",
    )
    with Store(tmp_path / "db.sqlite") as s:
        s.upsert_papers(PAPERS, DAY)
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "tournament",
            "--date",
            DAY.isoformat(),
            "--category",
            "cs.LG",
            "--budget",
            "9",
            "--target-ssr",
            "1",
            "-c",
            str(cfg),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "## Impact leaderboard" in res.stdout and "[Paper number 5]" in res.stdout
    assert len(match_requests(server)) == 9
    res = runner.invoke(
        app, ["leaderboard", "--period", "week", "--category", "cs.LG", "--format", "json", "-c", str(cfg)]
    )
    assert res.exit_code == 0, res.output
    boards = json.loads(res.stdout)
    assert boards[0]["pool"] == f"cs.LG/week/{DAY.isoformat()}" and boards[0]["matches"] == 9
    assert res.exit_code == 0
    bad = runner.invoke(app, ["leaderboard", "--period", "month", "-c", str(cfg)])
    assert bad.exit_code != 0


def test_full_text_excerpt_is_sent_and_missing_html_falls_back(store, llm, server):
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("2602.10000v1"):
            return httpx.Response(200, text="<html><style>x{}</style><p>Section 1: we prove <b>things</b>.</p></html>")
        return httpx.Response(404)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    tc = TournamentConfig(full_text=True, html_base_url="https://html.test/html")
    report = assess_papers(store, llm, PAPERS[:2], tc, http_client=client)
    assert report.assessed == 2
    sent = {
        pair: r["messages"][1]["content"]
        for r in server.requests
        for pair in re.findall(r'<paper id="([^"]+)">', r["messages"][1]["content"])
    }
    assert "<full_text_excerpt>Section 1: we prove things .</full_text_excerpt>" in sent[PAPERS[0].arxiv_id]
    assert "full_text_excerpt" not in sent[PAPERS[1].arxiv_id]
    found = store.assessments.for_papers([p.arxiv_id for p in PAPERS[:2]])
    assert found[PAPERS[0].arxiv_id].full_text and not found[PAPERS[1].arxiv_id].full_text
