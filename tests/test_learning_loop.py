"""The prefilter that learns from the judge: labels, exploration, recall estimate, target-recall cut."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pytest

from paperradar.core.config import PrefilterConfig, ProfileConfig, Topic
from paperradar.core.models import Candidate, Paper
from paperradar.core.store import Store
from paperradar.stages.explore import DayOutcome, cut_fraction, estimate_recall, explore_sample
from paperradar.stages.plan import day_outcome, plan_day, read_history
from paperradar.stages.profile import PreparedProfile, Probe, profile_version
from paperradar.stages.profile_text import parse_profile_text
from paperradar.stages.verdicts import Label, TrainingPaper, train_ranker

pytestmark = pytest.mark.postgres

DIM = 16


def _world(seed=0, n=120):
    rng = np.random.default_rng(seed)
    good = rng.normal(size=DIM)
    papers, vectors, picks = [], {}, set()
    for i in range(n):
        liked = i % 8 == 0
        v = (good if liked else 0) + rng.normal(size=DIM)
        pid = f"2601.{seed:02d}{i:03d}"
        word = "sparse mixture experts" if liked else "image segmentation medical"
        papers.append(Paper(arxiv_id=pid, title=f"{word} {i}", abstract=f"We study {word}.", categories=["cs.LG"]))
        vectors[pid] = (v / np.linalg.norm(v)).astype(np.float32)
        if liked:
            picks.add(pid)
    return papers, vectors, picks


def _train(papers, vectors):
    return {p.arxiv_id: TrainingPaper(vectors[p.arxiv_id], p.categories, f"{p.title}. {p.abstract}") for p in papers}


def test_ranker_never_learns_from_the_day_it_ranks_or_later():
    papers, vectors, picks = _world()
    labels = [Label(p.arxiv_id, "2026-01-10", p.arxiv_id in picks, "judge", "v1") for p in papers]
    train = _train(papers, vectors)
    assert train_ranker(labels, train, today="2026-01-10", profile_version="v1") is None
    assert train_ranker(labels, train, today="2026-01-09", profile_version="v1") is None
    ranker = train_ranker(labels, train, today="2026-01-11", profile_version="v1")
    assert ranker is not None and ranker.summary.used == len(papers) and ranker.summary.days == 1


def test_a_profile_edit_down_weights_or_drops_older_labels():
    papers, vectors, picks = _world()
    labels = [Label(p.arxiv_id, "2026-01-10", p.arxiv_id in picks, "judge", "old") for p in papers]
    train = _train(papers, vectors)
    same = train_ranker(labels, train, today="2026-01-11", profile_version="old")
    edited = train_ranker(labels, train, today="2026-01-11", profile_version="new", stale_weight=0.3)
    dropped = train_ranker(labels, train, today="2026-01-11", profile_version="new", stale_weight=0.0)
    assert same.summary.stale == 0
    assert edited.summary.stale == len(papers) and "down-weighted" in edited.summary.describe()
    assert dropped is None  # every label was from the old profile


def test_profile_version_follows_topics_not_authors():
    base = ProfileConfig(text="Sparse mixture-of-experts and pruning.")
    assert profile_version(base) == profile_version(base.model_copy(update={"authors": ["A. B"]}))
    assert profile_version(base) != profile_version(base.model_copy(update={"text": "Protein folding."}))
    assert profile_version(base) != profile_version(
        base.model_copy(update={"topics": [Topic(name="RL", relevant="policy gradients")]})
    )


def test_exploration_is_reproducible_and_capped():
    ids = [f"p{i}" for i in range(300)]
    a = explore_sample(ids, "2026-02-24", "v1", 0.03, 10)
    assert a == explore_sample(ids, "2026-02-24", "v1", 0.03, 10) and len(a) == 9
    assert a != explore_sample(ids, "2026-02-25", "v1", 0.03, 10)
    assert len(explore_sample(ids, "2026-02-24", "v1", 0.5, 10)) == 10
    assert explore_sample(ids, "2026-02-24", "v1", 0.0, 10) == []


def _simulate_day(rng, n=200, cut=50, rate_head=0.2, rate_tail=0.03, fraction=0.05):
    ranking = [f"p{i}" for i in range(n)]
    picked = {p for i, p in enumerate(ranking) if rng.random() < (rate_head if i < cut else rate_tail)}
    explored = explore_sample(ranking[cut:], str(rng.integers(1e9)), "", fraction, 100)
    return day_outcome("d", ranking, cut, explored, picked & (set(ranking[:cut]) | set(explored))), picked, ranking


def test_recall_estimator_is_unbiased_and_its_interval_covers_in_simulation():
    rng = np.random.default_rng(7)
    estimates, covered, truths = [], 0, []
    trials = 300
    for _ in range(trials):
        outcomes, s, total = [], 0, 0
        for _ in range(10):
            outcome, picked, ranking = _simulate_day(rng)
            outcomes.append(outcome)
            s += sum(p in picked for p in ranking[:50])
            total += len(picked)
        truth = s / total
        est = estimate_recall(outcomes, draws=2000, seed=int(rng.integers(1e9)))
        truths.append(truth)
        estimates.append(est.point)
        covered += est.low <= truth <= est.high
    # The missed-pick count it rests on is unbiased; the recall, a ratio of it,
    # keeps a small bias at these sample sizes (80 explored papers, ~2 tail picks found).
    bias = np.mean(estimates) - np.mean(truths)
    assert abs(bias) < 0.05, bias
    assert covered / trials >= 0.85, covered / trials


def test_no_exploration_means_no_estimate():
    est = estimate_recall([DayOutcome("d", 10, 5, 5, 0, 2, 0)])
    assert est.point is None and "not yet estimated" in est.describe()


def test_cut_follows_where_picks_fell():
    early = [DayOutcome("d", 100, 100, 0, 0, 10, 0, [(i / 100, i <= 10, 1.0) for i in range(1, 101)])] * 5
    late = [DayOutcome("d", 100, 100, 0, 0, 10, 0, [(i / 100, i % 10 == 0, 1.0) for i in range(1, 101)])] * 5
    f_early, w = cut_fraction(early, 0.9, 200)
    f_late, _ = cut_fraction(late, 0.9, 200)
    assert w == 500 and f_early < f_late
    # No history: the prior alone gives a cut.
    assert 0 < cut_fraction([], 0.9, 200)[0] < 1


def test_an_explored_find_deep_in_the_tail_counts_once_in_the_cut():
    # Twenty days: 200 papers, a shortlist of 50 holding 15 picks at the top, 4 explored below it;
    # on one day an explored paper at position 180 was a pick (1 find in 80 explored papers).
    ranking = [f"p{i:03d}" for i in range(200)]
    days = []
    for d in range(20):
        explored = ["p080", "p120", "p160", "p180"]
        picks = set(ranking[:15]) | ({"p180"} if d == 3 else set())
        days.append(day_outcome(f"2026-01-{d + 10:02d}", ranking, 50, explored, picks))
    assert all(w == 1.0 for o in days for _, _, w in o.observations)
    with_find, _ = cut_fraction(days, 0.9, 200)
    without, _ = cut_fraction(days[:3] + days[4:], 0.9, 200)
    # Counted once, the find moves the cut a little; weighted by the 37 tail papers it stood for,
    # it pushed the cut to nearly the whole day.
    assert without < with_find < 0.2
    weighted = [
        DayOutcome(
            o.day,
            o.papers,
            o.shortlisted,
            o.tail,
            o.explored,
            o.picks_shortlist,
            o.picks_explored,
            [(u, y, 1.0 if u <= 0.25 else o.tail / o.explored) for u, y, _ in o.observations],
        )
        for o in days
    ]
    assert cut_fraction(weighted, 0.9, 200)[0] > 0.8


def test_default_configuration_cuts_by_target_recall():
    settings = PrefilterConfig()
    assert settings.shortlist_size is None and settings.target_recall == 0.9
    papers, vectors, _ = _world()
    profile = PreparedProfile(config=ProfileConfig(), probes=[Probe("criterion", "t", vectors[papers[0].arxiv_id])])
    plan = plan_day(papers, vectors, profile, settings, day="2026-01-11", salt="v")
    assert plan.fraction is not None and plan.shortlist == int(np.ceil(plan.fraction * len(papers)))
    fixed = plan_day(papers, vectors, profile, PrefilterConfig(shortlist_size=7), day="2026-01-11", salt="v")
    assert fixed.shortlist == 7 and fixed.fraction is None
    assert plan.explored and not set(plan.explored) & set(plan.shortlisted_ids)


def test_free_text_profiles_of_any_layout():
    numbered = parse_profile_text(
        "## Topics\n\n1. Model compression\n   - Relevant: pruning, quantization, low-rank.\n"
        "   - Irrelevant: applying compression to a new task.\n\n**Keywords:** MoE"
    )
    assert any("pruning" in p for p in numbered.probes)
    assert not any("applying compression" in p for p in numbered.probes)
    assert any("applying compression" in x for x in numbered.exclusions)
    prose = parse_profile_text("I read theory of deep learning. Not interested in medical imaging papers.")
    assert prose.probes == ["I read theory of deep learning."]
    assert prose.exclusions == ["Not interested in medical imaging papers."]


@pytest.mark.postgres
def test_history_from_the_store_reads_only_earlier_days(tmp_path, store_location):
    papers, vectors, picks = _world(n=80)
    d1, d2 = dt.date(2026, 1, 12), dt.date(2026, 1, 13)
    with Store(store_location) as store:
        store.upsert_papers(papers, d1)
        store.put_embeddings("m", ((p.arxiv_id, "h", vectors[p.arxiv_id]) for p in papers))
        ranked = [Candidate(paper=p, score=float(-i)) for i, p in enumerate(papers)]
        store.save_candidates(d1, "h", ranked, 40, explored=[papers[60].arxiv_id], profile_version="v1")
        rows = [
            (d1.isoformat(), p.arxiv_id, "m", "judge", "c", 7, 6, None, None, "ok", None, None, "now")
            for p in papers[:40] + [papers[60]]
        ]
        store.conn.executemany(
            "INSERT INTO judgments (day, arxiv_id, model, stage, criteria_hash, relevance, novelty, criterion, "
            "comment, status, error, call_id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        store.conn.executemany(
            "UPDATE judgments SET selected = 1 WHERE arxiv_id = ?", [(p,) for p in picks if p in {r[1] for r in rows}]
        )
        assert store.candidates_for_day(d1, explored=True)[-1].paper.arxiv_id == papers[60].arxiv_id
        before = read_history(store, d1, "m", "v1", PrefilterConfig())
        assert before.judged == [] and before.ranker is None
        after = read_history(store, d2, "m", "v1", PrefilterConfig())
        (jd,) = after.judged
        assert jd.shortlisted == 40 and jd.explored == [papers[60].arxiv_id] and len(jd.read) == 41
        assert after.ranker is not None and after.ranker.summary.used == 41
        assert after.outcomes[0].explored == 1 and after.outcomes[0].tail == 40


def _text_day(day: dt.date, n: int = 60) -> list[Paper]:
    out = []
    for i in range(n):
        moe = i % 6 == 0
        title = f"Sparse expert routing in mixture-of-experts layers, study {i}" if moe else f"Crop yields {i}"
        abstract = (
            "We analyse how a router balances tokens across experts during training."
            if moe
            else f"Field records of irrigation and soil in district {i} over several seasons."
        )
        out.append(Paper(arxiv_id=f"2601.{day.day:02d}{i:03d}", title=title, abstract=abstract, categories=["cs.LG"]))
    return out


def test_digest_header_shows_the_recall_estimate_and_the_cost_estimate(config, embedder, monkeypatch):
    """Three days through the pipeline: explored papers are judged and the header reports what they show."""
    from paperradar.core.pipeline import run_day

    from .fake_openai import FakeOpenAI, ids_in, ok

    def judge(request):
        user = request["messages"][-1]["content"]
        papers = []
        for pid in ids_in(request):
            block = user.split(f'<paper id="{pid}">', 1)[1].split("</paper>", 1)[0]
            rel = 8 if "expert" in block else 2
            papers.append({"id": pid, "relevance": rel, "novelty": 6, "criterion": "MoE", "comment": "Routing."})
        return ok({"papers": papers})

    config.profile = ProfileConfig(text="I follow mixture-of-experts models: how routers send tokens to experts.")
    config.prefilter = PrefilterConfig(explore_fraction=0.2, explore_max=5)
    days = [dt.date(2026, 1, 12), dt.date(2026, 1, 13), dt.date(2026, 1, 14)]
    with FakeOpenAI(default=judge) as server:
        config.llm = server.llm_config(monkeypatch)
        with Store(config.database) as s:
            for d in days:
                s.upsert_papers(_text_day(d), d)
        for d in days:
            ctx = run_day(config, d, embedder=embedder, stages=["embed", "prefilter", "judge", "digest"])
    header = ctx.paths["markdown"].read_text().split("\n## ", 1)[0]
    found = re.search(
        r"Estimated recall of today's shortlist (\d\.\d\d) \(90 % interval (\d\.\d\d)–(\d\.\d\d), "
        r"from (\d+) explored papers over (\d) days\)",
        header,
    )
    assert found, header
    point, low, high = (float(found.group(i)) for i in (1, 2, 3))
    assert low <= point <= high and int(found.group(4)) >= 10 and int(found.group(5)) == 3
    assert "Estimated LLM cost of the day (before any cache):" in header
    with Store(config.database) as s:
        explored = s.candidates_for_day(days[-1], explored=True)
        judged = {r[0] for r in s.conn.execute("SELECT arxiv_id FROM judgments WHERE day = ?", ("2026-01-14",))}
    # The shortlist and the explored papers of the day were all judged (logged, not just planned).
    assert explored and {c.paper.arxiv_id for c in explored} <= judged
