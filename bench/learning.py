"""Does learning from feedback help? Criteria-only vs blended ranking for a simulated user.

A simulated user has a taste (a keyword rule, or a held-out labeling rule:
the LLM judge's picks in the shared data). The day's papers are split in
half: the user labels k papers of the first half (👍 if the rule says so,
else 👎) and the second half is ranked twice by the real prefilter — once
from the profile's criteria alone, once with the learned classifier blended
in (as the pipeline does) — and scored against the rule.

Labels are given the way a user gives them: on the papers at the top of
their digest (``--labeling digest``), or on papers picked at random
(``--labeling random``). Each setting is averaged over several splits.

    python bench/learning.py                      # demo data, else ../shared/data
    python bench/learning.py --data ../shared/data/arxiv-listing-2026-02-24.jsonl
    PAPERRADAR_SHARED_DATA=/path/to/data python bench/learning.py --weights 0.5,1,2
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from shared_day import LISTING, PROFILE, SHARED, profile_topics, read_listing  # noqa: E402

from paperradar.core.config import Config, LearningConfig, ProfileConfig, Topic  # noqa: E402
from paperradar.core.embedding import Embedder, paper_text  # noqa: E402
from paperradar.core.models import Paper  # noqa: E402
from paperradar.core.store import Store  # noqa: E402
from paperradar.stages.learn import blend, effective_weight, learn_and_score  # noqa: E402
from paperradar.stages.profile import PreparedProfile, Probe, topic_text  # noqa: E402
from paperradar.stages.scoring import score_papers  # noqa: E402

# Tastes defined by a rule on the text, each with the profile topic that describes it. A taste
# with fewer than MIN_LIKED papers on the day is skipped (the demo day has almost no RL papers).
TASTES = [
    (
        "RL",
        re.compile(r"reinforcement learning|\breward|policy optimi|\bRLHF\b|\bGRPO\b|\bPPO\b", re.I),
        Topic(
            name="Reinforcement learning",
            relevant="Reinforcement learning: reward models, policy optimization, RL fine-tuning of language models.",
        ),
    ),
    (
        "Optimization dynamics",
        re.compile(r"gradient descent|\bSGD\b|optimi[sz]er|learning rate|sharpness|edge of stability", re.I),
        Topic(
            name="Optimization and training dynamics",
            relevant="How gradient-based training behaves: step sizes, curvature and sharpness, optimizers.",
        ),
    ),
    (
        "Language models",
        re.compile(r"language model|\bLLMs?\b", re.I),
        Topic(name="Language models", relevant="Large language models: training, evaluation and behaviour."),
    ),
]
MIN_LIKED = 10


@dataclass
class Scenario:
    name: str
    topics: list[Topic]
    liked: set[str]


def load_papers(data: Path | None) -> tuple[list[Paper], dict[str, dict], str]:
    if data is None:
        try:
            from paperradar.demo import load_demo_papers

            papers = load_demo_papers()
            if papers:
                return papers, {}, "paperradar demo data"
        except (ImportError, OSError, FileNotFoundError):
            pass
        data = SHARED / LISTING
    if not data.exists():
        sys.exit(f"No data: neither paperradar.demo nor {data} (pass --data or set PAPERRADAR_SHARED_DATA).")
    papers, raw = read_listing(data)
    return papers, raw, str(data)


def scenarios(papers: list[Paper], raw: dict[str, dict]) -> list[Scenario]:
    out = []
    for name, rule, topic in TASTES:
        liked = {p.arxiv_id for p in papers if rule.search(f"{p.title} {p.abstract}")}
        if len(liked) >= MIN_LIKED:
            out.append(Scenario(f"{name} (keyword rule; criteria describe it)", [topic], liked))
    picks = {i for i, d in raw.items() if d.get("gpt5_selected")}
    topics_file = SHARED / PROFILE
    if picks and topics_file.exists():
        out.append(Scenario("LLM-judge picks (held-out rule; written profile)", profile_topics(topics_file), picks))
    return out


def auc(scores: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, scores)) if 0 < y.sum() < len(y) else float("nan")


def ranked_scores(papers, vectors, prepared, config, extra=None) -> dict[str, float]:
    return {c.paper.arxiv_id: c.score for c in score_papers(papers, vectors, prepared, config.prefilter, extra=extra)}


def evaluate(scores: dict[str, float], papers: list[Paper], liked: set[str], at: int = 20) -> tuple[float, float]:
    ids = [p.arxiv_id for p in papers]
    s = np.array([scores[i] for i in ids])
    y = np.array([i in liked for i in ids], dtype=int)
    top = np.argsort(-s, kind="stable")[:at]
    return auc(s, y), float(y[top].mean())


def one_split(rep, papers, vectors, prepared, config, scen, labeling, k, weights, tmp):
    """(👍 given, classifier used, criteria (AUC, P@20), blended (AUC, P@20) per weight) for one split."""
    rng = np.random.default_rng(1000 + rep)
    order = rng.permutation(len(papers))
    half = len(papers) // 2
    train = [papers[i] for i in order[:half]]
    test = [papers[i] for i in order[half:]]
    if labeling == "digest":
        seen = sorted(ranked_scores(train, vectors, prepared, config).items(), key=lambda kv: -kv[1])
        shown = [i for i, _ in seen[:k]]
    else:
        shown = [train[i].arxiv_id for i in rng.permutation(len(train))[:k]]
    labels = {i: (1 if i in scen.liked else -1) for i in shown}
    # Every paper is embedded in the store, as after a real run; the test half is "today".
    store = Store(tmp / f"{labeling}-{k}-{rep}-{abs(hash(scen.name))}.db")
    store.put_embeddings(config.embedding.model, ((p.arxiv_id, "h", vectors[p.arxiv_id]) for p in papers))
    crit = evaluate(ranked_scores(test, vectors, prepared, config), test, scen.liked)
    result = learn_and_score(store, config, test, vectors, labels=labels)
    store.close()
    blended = []
    for w in weights:
        if result is None:
            blended.append(crit)
            continue
        extra = blend(result[0], result[1], effective_weight(result[1], config.learning, w))
        blended.append(evaluate(ranked_scores(test, vectors, prepared, config, extra), test, scen.liked))
    return sum(v > 0 for v in labels.values()), result is not None, crit, blended


def run(args) -> None:
    papers, raw, source = load_papers(Path(args.data) if args.data else None)
    t0 = time.perf_counter()
    embedder = Embedder()
    matrix = embedder.encode([paper_text(p) for p in papers])
    vectors = {p.arxiv_id: v for p, v in zip(papers, matrix, strict=True)}
    took = time.perf_counter() - t0
    print(f"{len(papers)} papers from {source}; embedded in {took:.0f}s with {embedder.model_name}\n")

    weights = [float(w) for w in args.weights.split(",")]
    ks = [int(k) for k in args.k.split(",")]
    tmp = Path(tempfile.mkdtemp(prefix="paperradar-bench-"))
    for scen in scenarios(papers, raw):
        config = Config(profile=ProfileConfig(topics=scen.topics))
        probes_vec = embedder.encode([topic_text(t.name, t.relevant) for t in scen.topics])
        prepared = PreparedProfile(
            config=config.profile,
            probes=[Probe("criterion", t.name, v) for t, v in zip(scen.topics, probes_vec, strict=True)],
        )
        print(f"## {scen.name}: {len(scen.liked)} of {len(papers)} papers liked")
        print(
            f"{'labeling':9} {'k':>3} {'+lab':>5} {'used':>5} | {'AUC crit':>8} "
            + " ".join(f"{'AUC w=' + str(w):>9}" for w in weights)
            + f" | {'P@20 crit':>9} "
            + " ".join(f"{'P@20 w=' + str(w):>10}" for w in weights)
        )
        for labeling in args.labeling.split(","):
            for k in ks:
                rows = [
                    one_split(rep, papers, vectors, prepared, config, scen, labeling, k, weights, tmp)
                    for rep in range(args.repeats)
                ]
                pos = np.mean([r[0] for r in rows])
                used = np.mean([r[1] for r in rows])
                crit_auc = np.nanmean([r[2][0] for r in rows])
                crit_p = np.mean([r[2][1] for r in rows])
                b_auc = [np.nanmean([r[3][j][0] for r in rows]) for j in range(len(weights))]
                b_p = [np.mean([r[3][j][1] for r in rows]) for j in range(len(weights))]
                print(
                    f"{labeling:9} {k:>3} {pos:>5.1f} {used:>5.0%} | {crit_auc:>8.3f} "
                    + " ".join(f"{a:>9.3f}" for a in b_auc)
                    + f" | {crit_p:>9.3f} "
                    + " ".join(f"{p:>10.3f}" for p in b_p)
                )
        print()
    print(
        "k: labels given; +lab: of them 👍 (mean); used: share of splits where the classifier had enough "
        f"to join (min_labels={LearningConfig().min_labels}); AUC / P@20 on the held-back half, "
        f"mean of {args.repeats} splits."
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", help=f"a JSONL listing (default: paperradar demo data, else {SHARED / LISTING})")
    ap.add_argument("--k", default="5,10,20,50", help="label counts to try")
    ap.add_argument("--weights", default="0.5,1,2", help="[learning] weight values to compare")
    ap.add_argument("--labeling", default="digest,random", help="digest (top of the ranking) and/or random")
    ap.add_argument("--repeats", type=int, default=10, help="random splits per setting")
    run(ap.parse_args())


if __name__ == "__main__":
    main()
