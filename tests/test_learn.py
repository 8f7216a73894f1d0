"""The learned profile: gating, determinism, and that liked topics move up."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import numpy as np
import pytest

from paperradar.core.config import Config, LearningConfig, ProfileConfig, Topic
from paperradar.core.models import Paper
from paperradar.core.store import Store
from paperradar.stages import learn
from paperradar.stages.profile import PreparedProfile, Probe
from paperradar.stages.scoring import score_papers

MODEL = Config().embedding.key
DIM = 16
TOPICS = {"A": 0, "B": 1, "C": 2}


def vec(topic: str, rng) -> np.ndarray:
    v = rng.normal(scale=0.45, size=DIM)
    v[TOPICS[topic]] += 1.0
    return (v / np.linalg.norm(v)).astype(np.float32)


def paper(arxiv_id: str, topic: str) -> Paper:
    return Paper(arxiv_id=arxiv_id, title=f"A paper about {topic}", abstract=".", announced=dt.date(2026, 2, 24))


@pytest.fixture
def world(tmp_path):
    """Past days (embedded, some rated) and today's papers, in three topics."""
    rng = np.random.default_rng(7)
    store = Store(tmp_path / "learn.db")
    past = {f"2601.{t}{i:04d}": (t, vec(t, rng)) for t in TOPICS for i in range(40)}
    store.put_embeddings(MODEL, ((k, "h", v) for k, (_, v) in past.items()))
    today = [paper(f"2602.{t}{i:04d}", t) for t in TOPICS for i in range(15)]
    vectors = {p.arxiv_id: vec(p.title[-1], rng) for p in today}
    store.put_embeddings(MODEL, ((k, "h", v) for k, v in vectors.items()))
    ids = {t: [k for k, (tt, _) in past.items() if tt == t] for t in TOPICS}
    yield SimpleNamespace(store=store, today=today, vectors=vectors, ids=ids)
    store.close()


def config(**learning) -> Config:
    return Config(
        profile=ProfileConfig(topics=[Topic(name="B", relevant="topic B")]), learning=LearningConfig(**learning)
    )


def criteria_profile(cfg: Config) -> PreparedProfile:
    probe = np.zeros(DIM, dtype=np.float32)
    probe[TOPICS["B"]] = 1.0
    return PreparedProfile(config=cfg.profile, probes=[Probe("criterion", "B", probe)])


def mean_rank(ranked, topic: str) -> float:
    return float(np.mean([i for i, c in enumerate(ranked) if c.paper.title.endswith(topic)]))


def likes_a(world, n_like=10, n_dislike=4) -> dict[str, int]:
    return {**{i: 1 for i in world.ids["A"][:n_like]}, **{i: -1 for i in world.ids["B"][:n_dislike]}}


def test_labels_from_a_topic_move_that_topic_up(world, monkeypatch):
    cfg = config()
    monkeypatch.setattr(learn, "feedback_labels", lambda store: likes_a(world))
    ctx = SimpleNamespace(store=world.store, config=cfg, papers=world.today, vectors=world.vectors)
    prepared = criteria_profile(cfg)
    before = score_papers(world.today, world.vectors, prepared, cfg.prefilter)
    after = score_papers(world.today, world.vectors, prepared, cfg.prefilter, extra=learn.boost(ctx))
    assert mean_rank(after, "A") < mean_rank(before, "A") - 5
    assert mean_rank(after, "A") < mean_rank(after, "C")
    # Papers the classifier favours say so; most papers carry no learned reason.
    top_a = next(c for c in after if c.paper.title.endswith("A"))
    (reason,) = [r for r in top_a.reasons if r.kind == "learned"]
    assert reason.label == "10 liked, 4 disliked" and reason.score > 0.5
    explained = [c.paper.title[-1] for c in after if any(r.kind == "learned" for r in c.reasons)]
    assert 0 < len(explained) < len(after) / 2
    assert explained.count("A") > 2 * (len(explained) - explained.count("A"))


def test_scores_are_probabilities_and_deterministic(world):
    labels = likes_a(world)
    cfg = config()
    first = learn.learned_scores(world.store, cfg, world.today, world.vectors, labels=labels)
    again = learn.learned_scores(world.store, cfg, world.today, world.vectors, labels=labels)
    assert first == again
    assert set(first) == {p.arxiv_id for p in world.today}
    a = np.mean([v for k, v in first.items() if "A" in k])
    c = np.mean([v for k, v in first.items() if "C" in k])
    assert 0 <= c < a <= 1


def test_stays_out_of_the_way_with_too_few_labels(world):
    few = {i: 1 for i in world.ids["A"][:4]}
    assert learn.learned_scores(world.store, config(), world.today, world.vectors, labels=few) is None
    # Five labels is enough by default; the threshold is configurable.
    five = {i: 1 for i in world.ids["A"][:5]}
    assert learn.learned_scores(world.store, config(), world.today, world.vectors, labels=five) is not None
    assert learn.learned_scores(world.store, config(min_labels=6), world.today, world.vectors, labels=five) is None


def test_needs_a_positive_and_something_to_contrast(world):
    only_dislikes = {i: -1 for i in world.ids["B"][:8]}
    assert learn.learned_scores(world.store, config(), world.today, world.vectors, labels=only_dislikes) is None
    only_likes = {i: 1 for i in world.ids["A"][:8]}
    # Without 👎, unrated papers are the negatives; with none allowed there is nothing to learn from.
    assert learn.learned_scores(world.store, config(), world.today, world.vectors, labels=only_likes) is not None
    assert (
        learn.learned_scores(world.store, config(unlabeled_negatives=0), world.today, world.vectors, labels=only_likes)
        is None
    )


def test_disabled_and_no_feedback_module(world, monkeypatch):
    off = config(enabled=False)
    assert learn.learned_scores(world.store, off, world.today, world.vectors, labels=likes_a(world)) is None
    monkeypatch.setattr(learn, "feedback_labels", lambda store: {})
    ctx = SimpleNamespace(store=world.store, config=config(), papers=world.today, vectors=world.vectors)
    assert learn.boost(ctx) == {}


def test_weight_grows_with_liked_papers(world):
    cfg = config(weight=2.0, full_weight_positives=10)
    ts = learn.build_training_set(world.store, cfg, {i: 1 for i in world.ids["A"][:5]}, {})
    assert learn.effective_weight(ts, cfg.learning) == pytest.approx(1.0)
    ts = learn.build_training_set(world.store, cfg, likes_a(world, n_like=20), {})
    assert learn.effective_weight(ts, cfg.learning) == pytest.approx(2.0)


def test_library_items_are_positives(world):
    """An imported library alone (no feedback) is enough to learn from."""
    from paperradar.core.library import LibraryItem, save_items

    rng = np.random.default_rng(3)
    items = [LibraryItem(title=f"Library paper {i}", source_format="bibtex") for i in range(6)]
    save_items(world.store, items, "lib.bib")
    with world.store.transaction() as conn:
        for item in items:
            conn.execute(
                "UPDATE library_items SET model=?, content_hash='h', vector=? WHERE item_key=?",
                (MODEL, vec("A", rng).tobytes(), item.key),
            )
    result = learn.learn_and_score(world.store, config(), world.today, world.vectors, labels={})
    assert result is not None
    scores, ts = result
    assert ts.library == 6 and ts.describe() == "6 in your library"
    a = np.mean([v for k, v in scores.items() if "A" in k])
    b = np.mean([v for k, v in scores.items() if "B" in k])
    assert a > b


def test_explain_lines(world, monkeypatch):
    monkeypatch.setattr(learn, "feedback_labels", lambda store: likes_a(world))
    lines = learn.explain(world.store, config(), None)
    assert lines[0].startswith("Feedback: 10 liked/saved, 4 disliked; library: 0 items.")
