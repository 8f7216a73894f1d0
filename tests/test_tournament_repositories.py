"""The tournament's and the web's repositories against a real SQLite file: each query's records."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from paperradar.core.models import Assessment, Candidate, Reason
from paperradar.core.repositories.chunks import CHUNK
from paperradar.core.repositories.matches import PlannedPair
from paperradar.core.repositories.rankings import PersonalBoard, PlannedGroup
from paperradar.core.store import Store

from .conftest import DAY, make_paper

pytestmark = pytest.mark.postgres

PAPERS = [make_paper(f"2602.2000{i}", f"Paper {i} on sparse attention", f"Abstract {i}.") for i in range(5)]
IDS = [p.arxiv_id for p in PAPERS]


@pytest.fixture
def store(store_location):
    with Store(store_location) as s:
        s.upsert_papers(PAPERS, DAY)
        yield s


def assessment(arxiv_id: str, model: str, overall: int, at: str, **kw) -> Assessment:
    return Assessment(
        arxiv_id=arxiv_id,
        model=model,
        contribution="A method.",
        strengths=["clear"],
        concerns=["small"],
        impact="Some.",
        audience="ML people",
        significance=5,
        rigor=5,
        novelty=5,
        clarity=5,
        overall=overall,
        generated_at=at,
        **kw,
    )


# -- assessments ------------------------------------------------------------------------------


def test_assessments_prefer_the_asked_model_then_the_newest(store):
    a, b = IDS[:2]
    store.assessments.save(assessment(a, "big", 8, "2026-02-24T10:00:00+00:00", full_text=True, call_id=None))
    store.assessments.save(assessment(a, "small", 3, "2026-02-24T11:00:00+00:00"))
    store.assessments.save(assessment(b, "small", 4, "2026-02-24T09:00:00+00:00", version=2))
    assert store.assessments.for_papers([a, b], "big")[a].overall == 8  # asked for, though older
    assert store.assessments.for_papers([a, b], "big")[b].model == "small"  # only one there
    assert store.assessments.for_papers([a])[a].overall == 3  # newest of any model
    assert [x.model for x in store.assessments.for_paper(a)] == ["small", "big"]
    assert store.assessments.for_paper(a)[1].full_text is True
    assert store.assessments.versions("small") == {a: 1, b: 2}
    # Saving again for the same (paper, model) replaces the row.
    store.assessments.save(assessment(a, "small", 9, "2026-02-25T00:00:00+00:00"))
    assert store.count("assessments") == 3 and store.assessments.for_papers([a], "small")[a].overall == 9


def test_assessments_over_one_chunk_of_ids_and_plain_text_lists(store):
    store.assessments.save(assessment(IDS[0], "m", 6, "2026-02-24T10:00:00+00:00"))
    many = [f"2602.9{i:04d}" for i in range(CHUNK + 10)] + [IDS[0]]
    assert list(store.assessments.for_papers(many)) == [IDS[0]]
    # A hand-written row with plain text where a JSON list belongs still reads.
    store.conn.execute("UPDATE assessments SET strengths = 'just prose' WHERE arxiv_id = ?", (IDS[0],))
    assert store.assessments.for_paper(IDS[0])[0].strengths == ["just prose"]


# -- matches ----------------------------------------------------------------------------------


def add_match(store, first, second, outcome, model="m", pool="p") -> bool:
    return store.matches.add(
        first_id=first,
        second_id=second,
        model=model,
        outcome=outcome,
        reason=f"{first} vs {second}",
        pool=pool,
        call_id=None,
        created_at="2026-02-24T10:00:00+00:00",
    )


def test_matches_are_stored_once_per_ordered_pair_and_read_per_pool(store):
    a, b, c, d = IDS[:4]
    assert add_match(store, a, b, "first") and not add_match(store, a, b, "second")
    assert add_match(store, b, a, "tie") and add_match(store, a, c, "second", model="other")
    assert add_match(store, a, d, "first")
    pool = store.matches.among([a, b, c])
    assert [(m.first_id, m.second_id, m.outcome) for m in pool] == [(a, b, "first"), (b, a, "tie"), (a, c, "second")]
    assert [m.model for m in store.matches.among([a, b, c], "other")] == ["other"]
    assert store.matches.among([a]) == []


def test_a_papers_matches_from_its_side(store):
    a, b, c = IDS[:3]
    add_match(store, a, b, "first")
    add_match(store, c, a, "first")
    add_match(store, b, a, "tie")
    seen = store.matches.for_paper(a)
    assert [(m.shown, m.opponent, m.result) for m in seen] == [
        ("first", b, "win"),
        ("second", c, "loss"),
        ("second", b, "tie"),
    ]
    assert seen[1].opponent_title == "Paper 2 on sparse attention" and seen[1].reason == f"{c} vs {a}"
    assert seen[0].pool == "p" and seen[0].model == "m"


def test_planned_pairs_come_back_in_schedule_order(store):
    store.matches.save_plan("p", "m", 1, [(IDS[2], IDS[3])], created_at="t")
    store.matches.save_plan("p", "m", 0, [(IDS[0], IDS[1]), (IDS[1], IDS[0])], created_at="t")
    store.matches.save_plan("p", "m", 0, [(IDS[4], IDS[4])], created_at="t")  # slot 0 of round 0 is taken
    store.matches.save_plan("p", "other", 0, [(IDS[4], IDS[0])], created_at="t")
    assert store.matches.planned("p", "m") == [
        PlannedPair(0, IDS[0], IDS[1]),
        PlannedPair(0, IDS[1], IDS[0]),
        PlannedPair(1, IDS[2], IDS[3]),
    ]


def test_picks_are_the_judges_then_the_prefilter_shortlist(store):
    ranked = [Candidate(paper=p, score=1 - i / 10) for i, p in enumerate(PAPERS)]
    store.save_candidates(DAY, "h", ranked, 3)
    assert store.matches.picks(DAY) == IDS[:3]
    with store.transaction() as conn:
        for arxiv_id, score, selected in ((IDS[4], 0.9, 1), (IDS[0], 0.2, 0), (IDS[3], 0.5, 1)):
            conn.execute(
                "INSERT INTO judgments (day, arxiv_id, model, stage, criteria_hash, status, score, selected, "
                "created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (DAY.isoformat(), arxiv_id, "m", "judge", "c", "ok", score, selected, "t"),
            )
    assert store.matches.picks(DAY) == [IDS[4], IDS[3]]
    assert store.matches.picks(DAY - dt.timedelta(days=1)) == []


# -- k-wise rankings --------------------------------------------------------------------------


def add_ranking(store, shown, ranked, question="impact", key="", model="m") -> bool:
    return store.rankings.add(
        question=question,
        profile_key=key,
        model=model,
        shown=shown,
        ranked=ranked,
        reason="why",
        pool="p",
        call_id=None,
        created_at="t",
    )


def test_rankings_are_stored_once_and_read_when_all_their_papers_are_in_the_pool(store):
    a, b, c, d = IDS[:4]
    assert add_ranking(store, [a, b, c], [c, a, b]) and not add_ranking(store, [a, b, c], [a, b, c])
    assert add_ranking(store, [c, b, a], [a, b, c])  # another order shown is another call
    assert add_ranking(store, [a, b, d], [d, a, b])
    assert add_ranking(store, [a, b], [b, a], question="personal", key="k")
    rows = store.rankings.among([a, b, c], "impact")
    assert [(r.shown, r.ranked) for r in rows] == [([a, b, c], [c, a, b]), ([c, b, a], [a, b, c])]
    assert [r.ranked for r in store.rankings.among([a, b, c], "personal", "k")] == [[b, a]]
    assert store.rankings.among([a, b, c], "personal", "other") == []
    assert store.rankings.among([a, b, c], "impact", model="x") == []
    assert store.rankings.latest_personal_key([b]) == "k" and store.rankings.latest_personal_key([d]) is None


def test_ranking_plans_and_the_personal_board(store):
    store.rankings.save_plan("p", "impact", "", "m", 1, [IDS[:3]], created_at="t")
    store.rankings.save_plan("p", "impact", "", "m", 0, [IDS[2:], IDS[:2]], created_at="t")
    assert store.rankings.planned("p", "impact", "", "m") == [
        PlannedGroup(0, IDS[2:]),
        PlannedGroup(0, IDS[:2]),
        PlannedGroup(1, IDS[:3]),
    ]
    assert store.rankings.planned("p", "personal", "", "m") == []
    assert store.rankings.personal_board("p") is None
    store.rankings.set_personal_board("p", "k1", True, updated_at="t")
    store.rankings.set_personal_board("p", "k2", False, updated_at="t")
    assert store.rankings.personal_board("p") == PersonalBoard("k2", False)


# -- the web's reads --------------------------------------------------------------------------


def test_keyword_matches_rank_title_hits_first_and_cap_the_window(store):
    store.upsert_papers([make_paper("2602.29999", "Dense retrieval", "Uses sparse attention in passing.")], DAY)
    found = store.browse.keyword_matches(["sparse"], limit=10, offset=0, window=100)
    assert found.total == 6 and not found.capped
    assert found.hits[-1].arxiv_id == "2602.29999"  # an abstract match ranks below title matches
    assert all(h.score > 0 for h in found.hits)
    assert "\x02sparse\x03" in found.hits[-1].snippet
    capped = store.browse.keyword_matches(["sparse"], limit=2, offset=2, window=3)
    assert capped.capped and capped.total == 3 and len(capped.hits) == 1


def test_embeddings_by_rowid(store):
    assert store.browse.embeddings_max_rowid() == 0
    store.put_embeddings("m", [(IDS[0], "h", np.array([1, 0], dtype=np.float32))])
    first = store.browse.embeddings_max_rowid()
    store.put_embeddings("m", [(IDS[1], "h", np.array([0, 2], dtype=np.float32))])
    store.put_embeddings("other", [(IDS[2], "h", np.array([5, 5, 5], dtype=np.float32))])
    rows = store.browse.embeddings_after("m", first)
    assert rows.ids == [IDS[1]] and rows.matrix.tolist() == [[0.0, 2.0]] and rows.last_rowid == first + 1
    assert store.browse.embeddings_after("m", 0).matrix.shape == (2, 2)
    assert store.browse.embeddings_after("m", rows.last_rowid).ids == []
    assert store.browse.embeddings_count("m") == 2


def test_a_papers_candidate_days_and_judgments(store):
    reasons = [Reason(kind="keyword", label="sparse", score=0.1), Reason(kind="criterion", label="t", score=0.4)]
    store.save_candidates(DAY, "h", [Candidate(paper=PAPERS[0], score=0.7, reasons=reasons)], 1)
    store.save_candidates(DAY + dt.timedelta(days=1), "h", [Candidate(paper=PAPERS[0], score=0.2)], 0)
    days = store.browse.candidates_of(IDS[0])
    assert [(c.day, c.shortlisted, c.rank) for c in days] == [("2026-02-25", False, None), ("2026-02-24", True, 1)]
    assert [r.label for r in days[1].reasons] == ["t", "sparse"]  # strongest first
    store.conn.execute(
        "INSERT INTO judgments (day, arxiv_id, model, stage, criteria_hash, relevance, novelty, status, selected, "
        "created_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (DAY.isoformat(), IDS[0], "m", "judge", "c", 8, 6, "ok", 1, "t"),
    )
    (j,) = store.judgments.for_paper(IDS[0])
    assert (j.relevance, j.novelty, j.status, j.selected) == (8, 6, "ok", True)
    assert store.judgments.for_paper(IDS[1]) == []
