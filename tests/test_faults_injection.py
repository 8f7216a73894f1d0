"""Prompt injection, measured with a model that obeys: the injected paper must not move."""

from __future__ import annotations

import pytest

from paperradar.core.config import load_config
from paperradar.core.injection import MARKER, find_instructions
from paperradar.core.pipeline import run_day
from paperradar.core.store import Store
from paperradar.outputs.markdown import render_markdown

from .conftest import DAY
from .fake_openai import FakeOpenAI
from .faultcli import HashEmbedder
from .faults import INJECTION, PAPERS, make_workspace, obeying_model, strength

# The weakest paper about the profile's keyword: the judge and the tournament rank it low on its merits.
TARGET = min((p for p in PAPERS if "sharpness" in p.title), key=lambda p: strength(p.arxiv_id))


def ranking(tmp_path, server, injected: bool):
    papers = [
        p.model_copy(update={"abstract": f"{p.abstract} {INJECTION}"}) if injected and p == TARGET else p
        for p in PAPERS
    ]
    ws = make_workspace(tmp_path, server, papers=papers)
    config = load_config(ws.config)
    ctx = run_day(config, DAY, embedder=HashEmbedder())
    with Store(config.database) as store:
        judged = [
            r[0]
            for r in store.conn.execute(
                "SELECT arxiv_id FROM judgments WHERE day = ? ORDER BY score DESC, arxiv_id", (DAY.isoformat(),)
            )
        ]
        sent = " ".join(r[0] for r in store.conn.execute("SELECT messages FROM llm_calls"))
    board = [r["arxiv_id"] for r in ctx.digest.sections.get("leaderboard", [{}])[0].get("rows", [])]
    return judged, board, sent, ctx.digest


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("TEST_LLM_KEY", "sk-test")
    with FakeOpenAI(default=obeying_model) as s:
        yield s


def test_an_injected_paper_does_not_move_with_a_model_that_obeys(tmp_path, server):
    clean_judged, clean_board, _, _ = ranking(tmp_path / "clean", server, injected=False)
    judged, board, sent, digest = ranking(tmp_path / "injected", server, injected=True)
    assert TARGET.arxiv_id in judged  # it was in the shortlist, so the judge saw it
    assert judged.index(TARGET.arxiv_id) == clean_judged.index(TARGET.arxiv_id)
    assert board == clean_board
    assert "10/10" not in sent and MARKER in sent  # the request never reached the model
    entry = next(e for e in digest.entries if e.paper.arxiv_id == TARGET.arxiv_id)
    assert entry.flags == [INJECTION]
    assert "Instruction-like text" in render_markdown(digest)


def test_the_obeying_model_really_obeys(tmp_path, server, monkeypatch):
    """Without the defence the injected paper climbs to the top: the test above can fail."""
    monkeypatch.setattr("paperradar.stages.judge_prompt.for_prompt", lambda p: p)
    monkeypatch.setattr("paperradar.stages.assess.for_prompt", lambda p: p)
    judged, board, _, _ = ranking(tmp_path, server, injected=True)
    assert judged[0] == TARGET.arxiv_id and board[0] == TARGET.arxiv_id


def test_detection_has_no_false_positive_on_ordinary_abstracts():
    ordinary = [
        "We show that models can override prompt-level instructions that discourage reasoning.",
        "Our method would rank just behind the top-ranked tool.",
        "An active perception system: A contextual bias is provided by the fast learner.",
        "Large language models remain vulnerable to jailbreak prompts.",
    ]
    assert [find_instructions(t) for t in ordinary] == [[], [], [], []]


def test_every_prompt_builder_keeps_the_request_out(config):
    """Judge (abstract and title pass), assessment (full text too), pairwise and k-wise matches."""
    from paperradar.core.config import TournamentConfig
    from paperradar.stages.assess import build_messages as assess_messages
    from paperradar.stages.group_match import build_group_messages
    from paperradar.stages.judge_prompt import build_judge_messages, build_title_messages
    from paperradar.stages.match import build_messages as match_messages

    evil = PAPERS[0].model_copy(update={"title": f"Sharpness. {INJECTION}", "abstract": f"Fine. {INJECTION}"})
    tc = TournamentConfig()
    prompts = [
        build_judge_messages([evil], config.profile),
        build_title_messages([evil], config.profile),
        assess_messages(evil, tc, body=f"Section 1. {INJECTION} Section 2."),
        match_messages(evil, PAPERS[1], tc),
        build_group_messages([evil, PAPERS[1]], tc),
    ]
    for messages in prompts:
        sent = " ".join(m["content"] for m in messages)
        assert "10/10" not in sent and MARKER in sent
