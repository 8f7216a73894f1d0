"""Each documented [prefilter] and [profile] key changes what the prefilter keeps.

The real embed + prefilter stages run on DAY of a store whose four earlier days were
judged (see tests/config_lab.py); each probe runs once with the base config and once
with the key changed, and the shortlist (ids, scores, reasons) or the stage's detail differs.
"""

from __future__ import annotations

import pytest

from paperradar.core.store import Store

from .config_lab import Lab, fault_server


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp, fault_server() as server:
        mp.setenv("TEST_LLM_KEY", "sk-test")
        lab = Lab(tmp_path_factory.mktemp("prefilter-lab"), server, {"prefilter": {"explore_fraction": 0.1}})
        lab.seed()
        yield lab


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """No judged day yet: what only scores papers is probed here, without training the verdict ranker."""
    lab = Lab(tmp_path_factory.mktemp("prefilter-fresh"), server=None)
    lab.seed(judged=False)
    return lab


def shortlist(lab, change):
    return lab.run(change).shortlist()


def kept(lab, change):
    """Only which papers the judge reads, in order."""
    return [pid for pid, _, _ in lab.run(change).shortlist()]


def prefilter_detail(*keys):
    def observe(lab, change):
        out = lab.run(change).detail("prefilter")
        return {k: out.get(k) for k in keys}

    return observe


def stale(lab, change):
    """Under a new profile text every earlier verdict is stale: weighed, or dropped."""
    observe = prefilter_detail("learned_from", "stale_labels", "stale_labels_dropped", "ranker_weight")
    return observe(lab, {"profile": {"text": "A changed profile text."}, **change})


def with_seed_paper(lab, change):
    with Store(lab.root / "radar.db") as store:
        assert store.get_paper("2602.00007") is not None  # a paper of an earlier day
    return shortlist(lab, change)


NEEDS_HISTORY = {
    "prefilter.target_recall",
    "prefilter.min_shortlist",
    "prefilter.max_shortlist",
    "prefilter.explore_fraction",
    "prefilter.explore_max",
    "prefilter.learned_weight",
    "prefilter.full_weight_picks",
    "prefilter.stale_label_weight",
    "prefilter.history_days",
    "prefilter.min_score",
    "profile.seed_papers",
}

# key -> (change, observe): observe(lab, change) differs from observe(lab, {}).
PROBES = {
    "prefilter.target_recall": ({"prefilter": {"target_recall": 0.3}}, kept),
    "prefilter.shortlist_size": ({"prefilter": {"shortlist_size": 4}}, kept),
    "prefilter.min_shortlist": ({"prefilter": {"min_shortlist": 55}}, kept),
    "prefilter.max_shortlist": ({"prefilter": {"max_shortlist": 3}}, kept),
    "prefilter.explore_fraction": ({"prefilter": {"explore_fraction": 0.5}}, prefilter_detail("explored")),
    "prefilter.explore_max": ({"prefilter": {"explore_max": 1}}, prefilter_detail("explored")),
    "prefilter.learned_weight": ({"prefilter": {"learned_weight": 0.0}}, prefilter_detail("ranker_weight")),
    "prefilter.full_weight_picks": ({"prefilter": {"full_weight_picks": 1000}}, prefilter_detail("ranker_weight")),
    "prefilter.stale_label_weight": ({"prefilter": {"stale_label_weight": 0.0}}, stale),
    "prefilter.history_days": ({"prefilter": {"history_days": 1}}, prefilter_detail("cut_evidence", "cut_fraction")),
    "prefilter.min_score": ({"prefilter": {"min_score": -3.0}}, kept),
    "prefilter.author_weight": ({"prefilter": {"author_weight": 5.0}}, shortlist),
    "prefilter.keyword_weight": ({"prefilter": {"keyword_weight": 3.0}}, shortlist),
    "prefilter.max_keywords": ({"prefilter": {"max_keywords": 0}}, shortlist),
    "prefilter.expansion": ({"prefilter": {"expansion": "off"}}, shortlist),
    "prefilter.expansion_weight": ({"prefilter": {"expansion_weight": 3.0}}, shortlist),
    "prefilter.expansion_fraction": ({"prefilter": {"expansion_fraction": 0.5}}, shortlist),
    "prefilter.category_weight": ({"prefilter": {"category_weight": 2.0}}, shortlist),
    "profile.text": ({"profile": {"text": "Protein folding and structure prediction."}}, shortlist),
    "profile.topics": (
        {"profile": {"topics": [{"name": "Speech", "relevant": "speech recognition acoustic models"}]}},
        shortlist,
    ),
    "profile.authors": ({"profile": {"authors": []}}, shortlist),
    "profile.keywords": ({"profile": {"keywords": ["churn", "graphs"]}}, shortlist),
    "profile.negative_keywords": ({"profile": {"negative_keywords": ["sharpness"]}}, shortlist),
    "profile.seed_papers": ({"profile": {"seed_papers": ["2602.00007"]}}, with_seed_paper),
}


@pytest.mark.parametrize("key", sorted(PROBES))
def test_prefilter_key_changes_the_shortlist(lab, fresh, key):
    change, observe = PROBES[key]
    lab = lab if key in NEEDS_HISTORY else fresh
    before, after = lab.differs(change, observe)
    assert before != after
