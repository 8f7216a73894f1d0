"""k-wise matches and the personal leaderboard against the loopback OpenAI-compatible server."""

from __future__ import annotations

import json
import re

import pytest

from paperradar.core.config import Config, ProfileConfig, Topic, TournamentConfig
from paperradar.core.digest import build_digest
from paperradar.core.llm import LLM, LLMOutputError
from paperradar.core.models import Candidate
from paperradar.core.pipeline import digest_enrichers
from paperradar.core.store import Store, utcnow
from paperradar.outputs.markdown import render_markdown as render_digest
from paperradar.stages.group_match import build_group_messages, profile_key, rank_group
from paperradar.stages.group_tournament import personal_leaderboard, run_group_tournament
from paperradar.stages.pools import State, leaderboard, make_pool

from .conftest import DAY, make_paper
from .fake_openai import FakeOpenAI, ok
from .test_tournament import ASSESSMENT

pytestmark = pytest.mark.postgres

PAPERS = [
    make_paper(f"2602.2000{i}", f"Paper number {i}", f"An abstract about method {i}.", categories=["cs.LG"])
    for i in range(8)
]
# Impact: the higher number is better. The reader of PROFILE prefers the lower number.
STRENGTH = {p.arxiv_id: i for i, p in enumerate(PAPERS)}
PROFILE = ProfileConfig(topics=[Topic(name="Small numbers", relevant="papers with a small number in the title")])
SHOWN = re.compile(r'<paper_(\d) id="([^"]+)">')


def shown_in(request: dict) -> list[str]:
    return [a for _, a in sorted(SHOWN.findall(request["messages"][1]["content"]), key=lambda x: int(x[0]))]


def is_personal(request: dict) -> bool:
    return "<reader_profile>" in request["messages"][0]["content"]


def fake_ranker(request: dict) -> dict:
    if "<paper_1" not in request["messages"][1]["content"]:
        return ok(ASSESSMENT)  # the CLI assesses the papers first
    shown = shown_in(request)
    sign = 1 if is_personal(request) else -1
    best_first = sorted(shown, key=lambda a: sign * STRENGTH[a])
    return ok({"ranking": [shown.index(a) + 1 for a in best_first], "reason": f"{best_first[0]} first."})


@pytest.fixture
def server():
    with FakeOpenAI(default=fake_ranker) as s:
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


TC = TournamentConfig(batch_size=2, group_size=4)


def pool_of(store):
    return make_pool(store, DAY, category="cs.LG")


# -- one k-wise call --------------------------------------------------------------------------


def test_group_prompt_numbers_every_paper_and_carries_the_profile_only_when_personal():
    impact = build_group_messages(PAPERS[:4], TC)
    assert [a for _, a in SHOWN.findall(impact[1]["content"])] == [p.arxiv_id for p in PAPERS[:4]]
    assert "There are 4 papers" in impact[1]["content"] and "<reader_profile>" not in impact[0]["content"]
    personal = build_group_messages(PAPERS[:4], TC, profile=PROFILE)
    assert "Small numbers" in personal[0]["content"] and "rather read first" in personal[1]["content"]
    assert profile_key(PROFILE) and profile_key(PROFILE) != profile_key(ProfileConfig())


@pytest.mark.parametrize(
    "ranking", [[3, 1, 4, 2], ["3", "1", "4", "2"], ["Paper 3", "Paper 1", "Paper 4", "Paper 2"], "3 > 1 > 4 > 2"]
)
def test_ranking_answer_forms(llm, server, ranking):
    server.queue(ok({"ranking": ranking, "reason": "because"}))
    v = rank_group(llm, PAPERS[:4], TC)
    assert v.ranked == [PAPERS[2].arxiv_id, PAPERS[0].arxiv_id, PAPERS[3].arxiv_id, PAPERS[1].arxiv_id]
    assert v.shown == [p.arxiv_id for p in PAPERS[:4]] and v.question == "impact" and v.profile_key == ""


def test_incomplete_ranking_is_asked_again_and_not_cached(llm, server, store):
    server.queue(ok({"ranking": [1, 2, 2, 4], "reason": "dup"}), ok({"ranking": [2, 1], "reason": "short"}))
    with pytest.raises(LLMOutputError):
        rank_group(llm, PAPERS[:4], TC)
    assert "ranking all 4 paper numbers" in server.requests[1]["messages"][-1]["content"]
    errors = store.conn.execute("SELECT count(*) FROM llm_calls WHERE error LIKE 'unusable%'").fetchone()[0]
    assert errors == 2


# -- tournaments ------------------------------------------------------------------------------


def test_kwise_tournament_ranks_by_hidden_strength_and_derives_pairwise_results(store, llm, server):
    pool = pool_of(store)
    report = run_group_tournament(store, llm, TC, pool, budget=6, target_ssr=1.0)
    asked = [shown_in(r) for r in server.requests]
    assert report.comparisons == len(asked) == 6 and all(len(a) == 4 for a in asked)
    assert report.stopped == "call budget spent"
    rows = store.rankings.among(pool.ids, "impact")
    assert len(rows) == 6 and sorted(r.shown for r in rows) == sorted(asked)  # one stored verdict per call
    board = leaderboard(store, pool, TC)
    assert board.rankings == board.matches == 6
    assert [r.arxiv_id for r in board.rows][:2] == [PAPERS[7].arxiv_id, PAPERS[6].arxiv_id]
    # Each call of 4 orders 6 pairs: W/L are read off per pair.
    assert sum(r.wins for r in board.rows) == sum(r.losses for r in board.rows) == 36
    top = board.rows[0]
    assert top.losses == 0 and top.win_rate == 1.0 and top.uncertainty > 0
    assert {g["place"] for g in top.games} == {"1 of 4"} and all(g["reason"] for g in top.games)
    assert 0 <= board.ssr <= 1 and len(board.position_effects[4]) == 4 and len(board.top_rate[4]) == 4


def test_shown_order_is_shuffled_per_call_so_position_effects_can_be_fitted(store, llm, server):
    pool = pool_of(store)
    run_group_tournament(store, llm, TC, pool, budget=12, target_ssr=1.0)
    asked = [shown_in(r) for r in server.requests]
    firsts = [STRENGTH[a[0]] for a in asked]
    # The strongest paper of a call is not always shown in the same place.
    places = {max(range(4), key=lambda i: STRENGTH[a[i]]) for a in asked}
    assert len(places) >= 2 and len(set(firsts)) >= 3


def test_position_effects_of_a_biased_ranker_are_reported(store, llm, server):
    server.default = lambda r: ok({"ranking": [1, 2, 3, 4], "reason": "in the order shown"})
    pool = pool_of(store)
    run_group_tournament(store, llm, TC, pool, budget=12, target_ssr=1.0)
    board = leaderboard(store, pool, TC)
    assert board.top_rate[4][0] == 1.0
    assert board.position_effects[4][0] > 1.0 > board.position_effects[4][2]


def test_rerun_toward_the_target_buys_nothing_twice_and_resumes_an_interrupted_round(store, llm, server):
    pool = pool_of(store)
    first = run_group_tournament(store, llm, TC, pool, target=4, target_ssr=1.0)
    assert first.comparisons == 4 and first.stopped == "call target reached"
    n = len(server.requests)
    again = run_group_tournament(store, llm, TC, pool, target=4, target_ssr=1.0)
    assert again.comparisons == 0 and len(server.requests) == n
    # A round stored but never paid (a crash): the rerun plays exactly it, then goes on to the new target.
    planned = store.rankings.planned(pool.name, "impact", "", llm.model_for("match"))
    ghost = [PAPERS[1].arxiv_id, PAPERS[0].arxiv_id, PAPERS[3].arxiv_id, PAPERS[2].arxiv_id]
    store.rankings.save_plan(
        pool.name, "impact", "", llm.model_for("match"), planned[-1].round + 1, [ghost], created_at=utcnow()
    )
    more = run_group_tournament(store, llm, TC, pool, target=7, target_ssr=1.0)
    new = [shown_in(r) for r in server.requests[n:]]
    assert new[0] == ghost and len(new) == 3 and more.comparisons == 3
    assert len(store.rankings.among(pool.ids, "impact")) == 7


def test_kwise_and_pairwise_verdicts_share_one_impact_scale(store, llm, server):
    from paperradar.stages.match import Verdict
    from paperradar.stages.tournament import save_verdict

    pool = pool_of(store)
    run_group_tournament(store, llm, TC, pool, budget=4, target_ssr=1.0)
    save_verdict(store, Verdict(PAPERS[0].arxiv_id, PAPERS[7].arxiv_id, "first", "upset", "m", None), pool.name)
    state = State.load(store, pool.ids)
    assert len(state.matches) == 1 and len(state.ranking_rows) == 4
    board = leaderboard(store, pool, TC)
    assert board.matches == 5 and board.rankings == 4


# -- the personal leaderboard -------------------------------------------------------------------


def test_personal_leaderboard_differs_from_impact_and_shows_the_rank_correlation(store, llm, server):
    pool = pool_of(store)
    run_group_tournament(store, llm, TC, pool, budget=8, target_ssr=1.0)
    report = run_group_tournament(store, llm, TC, pool, question="personal", profile=PROFILE, budget=8, target_ssr=1)
    assert report.comparisons == 8
    personal_calls = [r for r in server.requests if is_personal(r)]
    assert len(personal_calls) == 8 and "Small numbers" in personal_calls[0]["messages"][0]["content"]
    board = personal_leaderboard(store, pool, TC, profile=PROFILE)
    assert board.question == "personal" and board.profile_key == profile_key(PROFILE)
    assert board.rows[0].arxiv_id == PAPERS[0].arxiv_id
    assert board.agreement is not None and board.agreement < -0.9  # "for me" is the reverse of "important"
    impact = leaderboard(store, pool, TC)
    assert impact.rows[0].arxiv_id == PAPERS[7].arxiv_id and impact.rankings == 8
    # Another reader's verdicts are kept apart.
    other = ProfileConfig(topics=[Topic(name="Other", relevant="something else")])
    assert personal_leaderboard(store, pool, TC, profile=other) is None


def test_personal_question_needs_a_profile(store, llm):
    with pytest.raises(ValueError):
        run_group_tournament(store, llm, TC, pool_of(store), question="personal")


def test_digest_gets_the_personal_section_and_may_order_the_shortlist_by_it(store, llm, server):
    store.save_candidates(DAY, "h", [Candidate(paper=p, score=0.5 + i / 100) for i, p in enumerate(PAPERS)], 8)
    pool = make_pool(store, DAY)
    run_group_tournament(store, llm, TC, pool, budget=6, target_ssr=1.0)
    run_group_tournament(store, llm, TC, pool, question="personal", profile=PROFILE, budget=6, target_ssr=1.0)
    store.rankings.set_personal_board(pool.name, profile_key(PROFILE), order_digest=False, updated_at=utcnow())
    digest = build_digest(store, DAY, digest_enrichers(Config()))
    section = digest.sections["personal_leaderboard"][0]
    assert section["rows"][0]["arxiv_id"] == PAPERS[0].arxiv_id and section["agreement"] < 0
    assert digest.entries[0].paper.arxiv_id == PAPERS[7].arxiv_id  # prefilter order kept
    md = render_digest(digest)
    assert "## For you: personal leaderboard" in md and "rank correlation with the impact leaderboard" in md
    model = section["models"][0]
    assert section["models"] == [model] and f"6 LLM rankings by {model} asked" in md
    json.dumps(digest.model_dump(mode="json"))
    store.rankings.set_personal_board(pool.name, profile_key(PROFILE), order_digest=True, updated_at=utcnow())
    ordered = build_digest(store, DAY, digest_enrichers(Config()))
    assert [e.paper.arxiv_id for e in ordered.entries] == [r["arxiv_id"] for r in section["rows"]]
    assert ordered.entries[0].paper.arxiv_id == PAPERS[0].arxiv_id
    assert [e.rank for e in ordered.entries] == list(range(1, 9))
    assert ordered.ranked_by.startswith("personal leaderboard")


def test_cli_personal_tournament_and_leaderboard(tmp_path, server, monkeypatch):
    from typer.testing import CliRunner

    from paperradar.cli import app

    monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
    cfg = tmp_path / "paperradar.toml"
    cfg.write_text(
        f'[paperradar]\ncategories = ["cs.LG"]\ndatabase = "db.sqlite"\n'
        f'[llm]\nbase_url = "{server.base_url}"\napi_key_env = "TEST_LLM_KEY"\nstructured_output = "none"\n'
        "retry_wait_seconds = 0\n[tournament]\ngroup_size = 3\n"
        '[[profile.topics]]\nname = "Small numbers"\nrelevant = "papers with a small number in the title"\n',
        encoding="utf-8",
    )
    with Store(tmp_path / "db.sqlite") as s:
        s.upsert_papers(PAPERS, DAY)
        s.save_candidates(DAY, "h", [Candidate(paper=p, score=0.5) for p in PAPERS], 8)
    runner = CliRunner()
    base = ["--date", DAY.isoformat(), "--budget", "6", "--target-ssr", "1", "-c", str(cfg)]
    res = runner.invoke(app, ["tournament", *base])
    assert res.exit_code == 0, res.output
    assert "## Impact leaderboard" in res.stdout
    assert all(len(shown_in(r)) == 3 for r in server.requests if "<paper_1" in r["messages"][1]["content"])
    res = runner.invoke(app, ["tournament", "--personal", *base])
    assert res.exit_code == 0, res.output
    assert "## For you: personal leaderboard" in res.stdout
    res = runner.invoke(app, ["leaderboard", "--personal", "--format", "json", "-c", str(cfg)])
    assert res.exit_code == 0, res.output
    boards = json.loads(res.stdout)
    assert boards[0]["question"] == "personal" and boards[0]["rows"][0]["arxiv_id"] == PAPERS[0].arxiv_id
    assert boards[0]["agreement"] is not None
    res = runner.invoke(app, ["leaderboard", "--personal", "-c", str(cfg)])
    assert "rank correlation with the impact leaderboard" in res.stdout


def test_daily_stage_rerun_buys_no_impact_or_personal_ranking_twice(tmp_path, server, monkeypatch):
    """The run's tournament stage with the defaults (k-wise, personal on): a rerun of the day sends nothing,
    and a personal round stored but never paid (a crash) is played, then the stage goes on to its target."""
    import tomllib

    from paperradar.core.config import parse_config
    from paperradar.core.pipeline import run_day

    monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
    text = (
        f'[paperradar]\ncategories = ["cs.LG"]\ndatabase = "db.sqlite"\noutput_dir = "out"\n'
        f'[llm]\nbase_url = "{server.base_url}"\napi_key_env = "TEST_LLM_KEY"\nstructured_output = "none"\n'
        "retry_wait_seconds = 0\n[tournament]\nbudget = 4\npersonal_budget = 3\nbatch_size = 2\n"
        '[[profile.topics]]\nname = "Small numbers"\nrelevant = "papers with a small number in the title"\n'
    )
    (tmp_path / "paperradar.toml").write_text(text, encoding="utf-8")
    config = parse_config(tomllib.loads(text), tmp_path / "paperradar.toml")
    assert (config.tournament.group_size, config.tournament.order_shortlist_by) == (5, "judge")  # the defaults
    with Store(config.database) as s:
        s.upsert_papers(PAPERS, DAY)
        s.save_candidates(DAY, "h", [Candidate(paper=p, score=0.5) for p in PAPERS], 8)

    def ranked(question: str) -> list[list[str]]:
        return [
            shown_in(r)
            for r in server.requests
            if "<paper_1" in r["messages"][1]["content"] and is_personal(r) == (question == "personal")
        ]

    run_day(config, DAY, stages=["tournament"])
    assert len(ranked("impact")) == 4 and len(ranked("personal")) == 3
    assert all(len(g) == 5 for g in ranked("impact") + ranked("personal"))
    asked = len(server.requests)
    run_day(config, DAY, stages=["tournament"])
    assert len(server.requests) == asked  # nothing bought twice: assessments, impact and personal rankings
    with Store(config.database) as s:
        detail = s.latest_stage_detail(DAY, "tournament")
    assert detail["comparisons"] == 0 and detail["personal"]["comparisons"] == 0

    with Store(config.database) as s:
        pool = make_pool(s, DAY)
        key, model = profile_key(config.profile), config.llm.model
        planned = s.rankings.planned(pool.name, "personal", key, model)
        ghost = [PAPERS[7].arxiv_id, PAPERS[5].arxiv_id, PAPERS[3].arxiv_id, PAPERS[1].arxiv_id, PAPERS[0].arxiv_id]
        s.rankings.save_plan(pool.name, "personal", key, model, planned[-1].round + 1, [ghost], created_at=utcnow())
    more = config.model_copy(update={"tournament": config.tournament.model_copy(update={"personal_budget": 5})})
    run_day(more, DAY, stages=["tournament"])
    new = [shown_in(r) for r in server.requests[asked:]]
    assert new[0] == ghost and len(new) == 2 and all(is_personal(r) for r in server.requests[asked:])
    with Store(config.database) as s:
        assert len(s.rankings.among(pool.ids, "personal", key)) == 5
        assert len(s.rankings.among(pool.ids, "impact")) == 4
