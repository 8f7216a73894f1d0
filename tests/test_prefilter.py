import numpy as np
import pytest

from paperradar.core.config import PrefilterConfig, ProfileConfig, Topic
from paperradar.core.store import Store
from paperradar.stages.profile import prepare_profile
from paperradar.stages.scoring import score_papers, shortlist_size

from .conftest import DAY, SAMPLE_PAPERS

pytestmark = pytest.mark.postgres


def vectors_for(store, embedder, papers):
    from paperradar.core.embedding import embed_papers

    return embed_papers(store, papers, embedder)[0]


def rank(store, embedder, profile, settings=None, papers=SAMPLE_PAPERS):
    store.upsert_papers(papers, DAY)
    prepared = prepare_profile(profile, embedder, store)
    return score_papers(papers, vectors_for(store, embedder, papers), prepared, settings or PrefilterConfig())


TOPIC = Topic(
    name="Training dynamics",
    relevant="How neural networks learn during training: loss landscapes, sharpness, grokking, "
    "learning-rate schedules.",
)


@pytest.mark.postgres
def test_criterion_match_is_ranked_first_with_its_reason(tmp_path, embedder, store_location):
    with Store(store_location) as store:
        ranked = rank(store, embedder, ProfileConfig(topics=[TOPIC]))
    top = ranked[0]
    assert top.paper.arxiv_id == "2602.00001"
    assert top.reasons[0].kind == "criterion"
    assert top.reasons[0].label == "Training dynamics"
    assert top.score > ranked[-1].score


@pytest.mark.postgres
def test_followed_author_is_shortlisted_with_author_reason(tmp_path, embedder, store_location):
    profile = ProfileConfig(topics=[TOPIC], authors=["claude shannon"])  # case-insensitive
    with Store(store_location) as store:
        ranked = rank(store, embedder, profile, PrefilterConfig(shortlist_size=2))
    kept = ranked[: shortlist_size(ranked, PrefilterConfig(shortlist_size=2))]
    churn = next(c for c in kept if c.paper.arxiv_id == "2602.00005")
    assert churn.reasons[0].kind == "author"
    assert churn.reasons[0].label == "claude shannon"


@pytest.mark.postgres
def test_author_names_match_across_accents(tmp_path, embedder, store_location):
    papers = [
        SAMPLE_PAPERS[0].model_copy(update={"authors": ["Kurt Gödel"], "arxiv_id": "2602.00077"}),
        *SAMPLE_PAPERS[1:],
    ]
    with Store(store_location) as store:
        ranked = rank(store, embedder, ProfileConfig(authors=["Kurt Godel"]), papers=papers)
    assert ranked[0].paper.arxiv_id == "2602.00077"
    assert ranked[0].reasons[0].kind == "author"


@pytest.mark.postgres
def test_keyword_adds_reason_and_respects_word_boundaries(tmp_path, embedder, store_location):
    papers = [
        *SAMPLE_PAPERS,
        SAMPLE_PAPERS[1].model_copy(update={"arxiv_id": "2602.00088", "title": "Moebius strips in vision"}),
    ]
    profile = ProfileConfig(keywords=["MoE", "mixture-of-experts"])
    with Store(store_location) as store:
        ranked = rank(store, embedder, profile, papers=papers)
    by_id = {c.paper.arxiv_id: c for c in ranked}
    assert [r.label for r in by_id["2602.00003"].reasons if r.kind == "keyword"] == ["mixture-of-experts"]
    assert not [r for r in by_id["2602.00088"].reasons if r.kind == "keyword"]
    assert ranked[0].paper.arxiv_id == "2602.00003"


@pytest.mark.postgres
def test_negative_keyword_excludes_even_a_strong_match(tmp_path, embedder, store_location):
    profile = ProfileConfig(topics=[TOPIC], negative_keywords=["reinforcement learning", "grokking"])
    with Store(store_location) as store:
        ranked = rank(store, embedder, profile)
    excluded = {c.paper.arxiv_id for c in ranked if c.excluded}
    assert excluded == {"2602.00001", "2602.00004"}
    assert all(c.excluded for c in ranked[-2:])
    n = shortlist_size(ranked, PrefilterConfig(shortlist_size=10))
    assert n == 3
    assert ranked[0].paper.arxiv_id not in excluded
    grok = next(c for c in ranked if c.paper.arxiv_id == "2602.00001")
    assert any(r.kind == "negative-keyword" and r.label == "grokking" for r in grok.reasons)


@pytest.mark.postgres
def test_seed_paper_is_a_probe(tmp_path, embedder, store_location):
    with Store(store_location) as store:
        store.upsert_papers(SAMPLE_PAPERS, DAY)
        ranked = rank(store, embedder, ProfileConfig(seed_papers=["2602.00002v2"]))
    # The seed itself is today's closest paper; reasons name it by id and title.
    assert ranked[0].paper.arxiv_id == "2602.00002"
    assert ranked[0].reasons[0].kind == "seed"
    assert ranked[0].reasons[0].label.startswith("2602.00002: A Benchmark")


def test_min_score_widens_the_shortlist():
    from paperradar.core.models import Candidate

    ranked = [Candidate(paper=p, score=s) for p, s in zip(SAMPLE_PAPERS, [5, 4, 3, 2, 1], strict=True)]
    assert shortlist_size(ranked, PrefilterConfig(shortlist_size=2)) == 2
    assert shortlist_size(ranked, PrefilterConfig(shortlist_size=2, min_score=2.5)) == 3


def test_day_statistics_are_used_for_large_days():
    from paperradar.stages.scoring import standardize

    sims = np.linspace(0, 1, 40)[:, None]
    z = standardize(sims)
    assert abs(z.mean()) < 1e-9 and abs(z.std() - 1) < 1e-9


def test_pseudo_relevance_classifier_lifts_a_paper_worded_like_the_days_best_matches():
    """The profile probes direction 0; the day's on-topic papers also share direction 1,
    and one relevant paper is mostly direction 1: only the expansion can find it."""
    from paperradar.core.models import Paper
    from paperradar.stages.profile import PreparedProfile, Probe

    rng = np.random.default_rng(7)
    dim = 16
    e0, e1 = np.eye(dim)[0], np.eye(dim)[1]
    rows = [rng.normal(size=dim) for _ in range(200)]
    rows += [0.7 * e0 + 0.7 * e1 + 0.15 * rng.normal(size=dim) for _ in range(20)]
    rows.append(0.1 * e0 + 0.95 * e1 + 0.1 * rng.normal(size=dim))
    papers = [Paper(arxiv_id=f"2602.{i:05d}", title=f"P{i}", abstract="x") for i in range(len(rows))]
    vectors = {p.arxiv_id: (v / np.linalg.norm(v)).astype(np.float32) for p, v in zip(papers, rows, strict=True)}
    profile = PreparedProfile(config=ProfileConfig(), probes=[Probe("criterion", "topic", e0.astype(np.float32))])
    target = papers[-1].arxiv_id

    def position(**settings):
        ranked = score_papers(papers, vectors, profile, PrefilterConfig(**settings))
        return [c.paper.arxiv_id for c in ranked].index(target)

    off, classifier = position(expansion="off"), position(expansion="classifier")
    assert off > 60  # among the random papers
    assert classifier < off / 2
    assert position(expansion="classifier", expansion_weight=3) < 30
    assert position(expansion="classifier", expansion_weight=0) == off


def test_classifier_lifts_papers_in_the_categories_of_the_days_best_matches():
    """On-topic papers are all in cs.LG; two papers with unrelated text differ only
    in category, and the one in cs.LG must rank clearly higher than the one in cs.CV."""
    from paperradar.core.models import Paper
    from paperradar.stages.profile import PreparedProfile, Probe
    from paperradar.stages.scoring import category_features

    rng = np.random.default_rng(3)
    dim = 16
    e0 = np.eye(dim)[0]
    rows, cats = [], []
    for i in range(200):
        rows.append(rng.normal(size=dim))
        cats.append(["cs.CV"] if i % 2 else ["cs.CL", "cs.AI"])
    for _ in range(25):
        rows.append(0.8 * e0 + 0.3 * rng.normal(size=dim))
        cats.append(["cs.LG", "stat.ML"])
    text = rng.normal(size=dim)
    rows += [text, text]
    cats += [["cs.LG", "stat.ML"], ["cs.CV"]]
    papers = [Paper(arxiv_id=f"2602.{i:05d}", title=f"P{i}", abstract="x", categories=c) for i, c in enumerate(cats)]
    vectors = {p.arxiv_id: (v / np.linalg.norm(v)).astype(np.float32) for p, v in zip(papers, rows, strict=True)}
    profile = PreparedProfile(config=ProfileConfig(), probes=[Probe("criterion", "topic", e0.astype(np.float32))])
    lg, cv = papers[-2].arxiv_id, papers[-1].arxiv_id

    def positions(**settings):
        ids = [c.paper.arxiv_id for c in score_papers(papers, vectors, profile, PrefilterConfig(**settings))]
        return ids.index(lg), ids.index(cv)

    text_only = positions(category_weight=0)
    assert abs(text_only[0] - text_only[1]) <= 1
    lg_pos, cv_pos = positions(category_weight=0.5)
    assert lg_pos < cv_pos - 30
    assert lg_pos < text_only[0] - 30
    assert category_features(papers).shape == (len(papers), 5)
    assert category_features([Paper(arxiv_id="demo-0001", title="t", abstract="a")]).shape == (1, 0)
