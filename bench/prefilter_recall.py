"""Picks of the gpt-5 judge kept at the top 10/20/30 % of the 2026-02-24 day (cold: no history).

Uses the production planner with the day's free-text profile, as
bench/prefilter_days.py does for every day.

    python bench/prefilter_recall.py
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from prefilter_days import load_days  # noqa: E402
from shared_day import SHARED  # noqa: E402

from paperradar.core.config import PrefilterConfig, ProfileConfig  # noqa: E402
from paperradar.core.embedding import Embedder, embed_papers  # noqa: E402
from paperradar.core.store import Store  # noqa: E402
from paperradar.stages.plan import plan_day  # noqa: E402
from paperradar.stages.profile import prepare_profile  # noqa: E402

DAY = "2026-02-24"


def main() -> None:
    days, profiles, _ = load_days(SHARED / "days", None)
    (day,) = [d for d in days if d.date == DAY]
    cache = Path.home() / ".cache" / "paperradar-bench" / "embeddings.db"
    cache.parent.mkdir(parents=True, exist_ok=True)
    embedder = Embedder()
    with Store(cache) as store:
        store.upsert_papers(day.papers)
        vectors, _ = embed_papers(store, day.papers, embedder)
        profile = prepare_profile(ProfileConfig(text=profiles[day.group]), embedder, store)
    plan = plan_day(day.papers, vectors, profile, PrefilterConfig(), day=DAY, salt="")
    eligible = [c.paper.arxiv_id for c in plan.ranked if not c.excluded]
    n = len(day.papers)
    for share in (0.1, 0.2, 0.3):
        k = int(round(share * n))
        kept = sum(p in day.picks for p in eligible[:k])
        print(f"top {share:.0%} ({k} papers): {kept}/{len(day.picks)}")
    kept = sum(p in day.picks for p in plan.shortlisted_ids)
    print(f"default configuration: shortlist {plan.shortlist} papers keeps {kept}/{len(day.picks)}")


if __name__ == "__main__":
    main()
