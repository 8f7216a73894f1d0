"""How much of a send-everything LLM judge's picks does the default configuration keep, day after day?

Runs over every day of a folder laid out like ../shared/data/days (``index.json``
naming each day's ``profile_group``; the profile is
``FOLDER/../profiles/<group>/profile-topics.txt``, free text in whatever shape
its author chose, and the judge's rubric ``scoring-criteria.txt`` beside it).
For every day it runs the production planner (:func:`paperradar.stages.plan.plan_day`:
ranking, target-recall cut, exploration sample) and counts

- picks kept at the top 10/20/30 % of the day and the fewest papers holding
  90 % of the picks (the oracle curve, for comparison),
- what the default configuration sends the judge (shortlist + explored papers)
  and the picks its shortlist keeps,
- judge tokens of what is sent ÷ judge tokens of the whole day, with the same
  token model as bench/judge_tokens.py (the production prompt builders and
  tiktoken).

Two modes in one run:

- **cold**: each day alone, no history;
- **sequential**: per profile, days in date order; a day learns only from the
  verdicts on earlier days' *sent* papers (the ``gpt5_selected`` labels stand
  in for the judge's answers on what the system sent it, nothing else), and
  its cut and recall estimate come from earlier days' shortlists and
  exploration samples. Pooled figures count days after the first 5 of each
  profile.

``--choose-days`` / ``--report-days`` split the days for a leave-days-out
check: ``--choose`` prints the cold pick positions on the choosing days (the
source of ``explore.PRIOR_CURVE``). The constants were chosen on the days up to
``--split`` (2025-12-17); the run ends with the pooled figures of those days
and of the later ones apart (leave-days-out) before the two final lines.

    python bench/prefilter_days.py
    python bench/prefilter_days.py --days ../shared/data/days --only P15
    python bench/prefilter_days.py --llm --config paperradar.toml --llm-days 3   # a real model, see llm_check.py
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from judge_tokens import cost, tokenizer  # noqa: E402
from llm_check import default_store, run_llm_check  # noqa: E402
from shared_day import SHARED, read_listing  # noqa: E402

from paperradar.core.config import JudgeConfig, PrefilterConfig, ProfileConfig  # noqa: E402
from paperradar.core.embedding import Embedder, embed_papers  # noqa: E402
from paperradar.core.models import Paper  # noqa: E402
from paperradar.core.store import Store  # noqa: E402
from paperradar.stages.explore import DayOutcome, estimate_recall, fit_pick_curve  # noqa: E402
from paperradar.stages.judge_prompt import build_judge_messages  # noqa: E402
from paperradar.stages.plan import day_outcome, plan_day  # noqa: E402
from paperradar.stages.profile import prepare_profile, profile_version  # noqa: E402
from paperradar.stages.scoring import ranker_text  # noqa: E402
from paperradar.stages.verdicts import Label, TrainingPaper, train_ranker  # noqa: E402

WARMUP = 5


@dataclass
class Day:
    date: str
    group: str
    papers: list[Paper]
    picks: set[str]


@dataclass
class Row:
    date: str
    group: str
    papers: int
    picks: int
    top: tuple[int, int, int]
    oracle: int
    shortlist: int
    explored: int
    kept: int
    sent_tokens: int
    all_tokens: int
    estimate: str = ""
    warm: bool = True


@dataclass
class ProfileState:
    labels: list[Label] = field(default_factory=list)
    unlabeled: list[str] = field(default_factory=list)
    history: list[DayOutcome] = field(default_factory=list)
    seen: int = 0


def load_days(folder: Path, only: str | None) -> tuple[list[Day], dict[str, str], dict[str, str]]:
    index = json.loads((folder / "index.json").read_text(encoding="utf-8"))
    days, profiles, rubrics = [], {}, {}
    for entry in index:
        group = entry["profile_group"]
        if only and group != only:
            continue
        pdir = folder.parent / "profiles" / group
        profiles[group] = (pdir / "profile-topics.txt").read_text(encoding="utf-8")
        rubric = pdir / "scoring-criteria.txt"
        rubrics[group] = rubric.read_text(encoding="utf-8") if rubric.exists() else ""
        papers, rows = read_listing(folder / f"{entry['date']}.jsonl")
        picks = {i for i, d in rows.items() if d.get("gpt5_selected")}
        days.append(Day(entry["date"], group, papers, picks))
    days.sort(key=lambda d: (d.date, d.group))
    return days, profiles, rubrics


def oracle(order: list[str], picks: set[str], share: float = 0.9) -> int:
    need, hit = int(np.ceil(share * len(picks))), 0
    for k, pid in enumerate(order, 1):
        hit += pid in picks
        if hit >= need:
            return k
    return len(order)


def simulate(days, prepared, vectors, settings, *, sequential: bool, judge_tokens) -> list[Row]:
    states: dict[str, ProfileState] = {}
    train = {
        p.arxiv_id: TrainingPaper(vectors[p.arxiv_id], p.categories, ranker_text(p)) for d in days for p in d.papers
    }
    rows = []
    for day in days:
        st = states.setdefault(day.group, ProfileState())
        version = prepared[day.group][1]
        ranker = None
        if sequential:
            ranker = train_ranker(
                st.labels,
                train,
                today=day.date,
                profile_version=version,
                unlabeled=st.unlabeled,
                today_texts=[ranker_text(p) for p in day.papers],
                stale_weight=settings.stale_label_weight,
            )
        plan = plan_day(
            day.papers,
            vectors,
            prepared[day.group][0],
            settings,
            day=day.date,
            salt=version,
            history=st.history if sequential else (),
            ranker=ranker,
        )
        eligible = [c.paper.arxiv_id for c in plan.ranked if not c.excluded]
        n = len(day.papers)
        by_id = {p.arxiv_id: p for p in day.papers}
        sent = plan.sent
        outcome = day_outcome(day.date, eligible, plan.shortlist, plan.explored, day.picks & set(sent))
        est = estimate_recall([*st.history[-settings.history_days :], outcome]) if sequential else None
        rows.append(
            Row(
                date=day.date,
                group=day.group,
                papers=n,
                picks=len(day.picks),
                top=tuple(sum(p in day.picks for p in eligible[: int(round(f * n))]) for f in (0.1, 0.2, 0.3)),
                oracle=oracle(eligible, day.picks),
                shortlist=plan.shortlist,
                explored=len(plan.explored),
                kept=sum(p in day.picks for p in plan.shortlisted_ids),
                sent_tokens=judge_tokens(day.group, [by_id[p] for p in sent]),
                all_tokens=judge_tokens(day.group, day.papers),
                estimate="" if est is None or est.point is None else f"{est.point:.2f} [{est.low:.2f}-{est.high:.2f}]",
                warm=(not sequential) or st.seen >= WARMUP,
            )
        )
        if sequential:
            # What the judge answered on what was sent: the only labels a later day may use.
            st.labels += [Label(p, day.date, p in day.picks, "judge", version) for p in sent]
            st.unlabeled += [p for p in eligible if p not in set(sent)]
            st.history.append(outcome)
        st.seen += 1
    return rows


def print_rows(title: str, rows: list[Row]) -> tuple[float, float]:
    print(f"\n## {title}\n")
    print(
        "| day | profile | papers | picks | top 10/20/30 % | oracle 90 % | shortlist | explored | kept | ratio "
        "| est. recall (90 % CI) |"
    )
    print("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        mark = "" if r.warm else " (warm-up)"
        print(
            f"| {r.date}{mark} | {r.group} | {r.papers} | {r.picks} | {r.top[0]}/{r.top[1]}/{r.top[2]} "
            f"| {r.oracle} ({r.oracle / r.papers:.0%}) | {r.shortlist} | {r.explored} | {r.kept}/{r.picks} "
            f"| {r.sent_tokens / r.all_tokens:.3f} | {r.estimate} |"
        )
    counted = [r for r in rows if r.warm]
    picks = sum(r.picks for r in counted) or 1
    ratio = sum(r.sent_tokens for r in counted) / sum(r.all_tokens for r in counted)
    recall = sum(r.kept for r in counted) / picks
    tops = [sum(r.top[j] for r in counted) / picks for j in range(3)]
    oracle_frac = sum(r.oracle for r in counted) / sum(r.papers for r in counted)
    print(
        f"\npooled over {len(counted)} days: top 10/20/30 % keep {tops[0]:.2f}/{tops[1]:.2f}/{tops[2]:.2f} of picks; "
        f"oracle 90 % at {oracle_frac:.3f} of papers; default sends {sum(r.shortlist + r.explored for r in counted)} "
        f"of {sum(r.papers for r in counted)} papers"
    )
    return ratio, recall


def pooled(rows: list[Row]) -> str:
    picks = sum(r.picks for r in rows) or 1
    ratio = sum(r.sent_tokens for r in rows) / sum(r.all_tokens for r in rows)
    oracle_frac = sum(r.oracle for r in rows) / sum(r.papers for r in rows)
    return (
        f"ratio {ratio:.3f} recall {sum(r.kept for r in rows) / picks:.2f} (oracle 90 % at {oracle_frac:.3f} of papers)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=Path, default=SHARED / "days", help="folder of <date>.jsonl and index.json")
    ap.add_argument("--only", help="one profile group, e.g. P15")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "paperradar-bench" / "embeddings.db")
    ap.add_argument("--choose", action="store_true", help="print the cold pick positions (the prior) and stop")
    ap.add_argument("--choose-days", help="with --choose: comma-separated dates to fit the prior on")
    ap.add_argument("--split", default="2025-12-17", help="last day the constants were chosen on (leave-days-out)")
    llm = ap.add_argument_group("a real model against the labels (bench/llm_check.py)")
    llm.add_argument("--llm", action="store_true", help="also run the title screen and the judge of --config's [llm]")
    llm.add_argument("--llm-only", action="store_true", help="only the --llm check, not the cold/sequential runs")
    llm.add_argument("--config", type=Path, help="paperradar.toml with [llm] (and [judge]); default: the usual lookup")
    llm.add_argument("--llm-scope", choices=("sent", "all"), default="sent", help="what the model reads per day")
    llm.add_argument("--llm-days", type=int, default=0, help="only the latest N days (0: all), to cap the cost")
    llm.add_argument(
        "--llm-store", type=Path, default=default_store(), help="SQLite log of all calls (reruns reuse it)"
    )
    args = ap.parse_args()
    args.llm = args.llm or args.llm_only
    if not (args.days / "index.json").exists():
        sys.exit(f"{args.days}/index.json not found: pass --days or set PAPERRADAR_SHARED_DATA.")

    days, profiles, rubrics = load_days(args.days, args.only)
    embedder = Embedder()
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    prepared, vectors = {}, {}
    with Store(args.cache) as store:
        everything = [p for d in days for p in d.papers]
        store.upsert_papers(everything)
        vectors, computed = embed_papers(store, everything, embedder)
        for group, text in profiles.items():
            profile = ProfileConfig(text=text)
            prepared[group] = (prepare_profile(profile, embedder, store), profile_version(profile))
    settings = PrefilterConfig()
    if args.llm_only:
        llm_check(args, days, profiles, rubrics, prepared, vectors, settings)
        return
    name, count = tokenizer()
    jc = JudgeConfig()

    def judge_tokens(group: str, papers: list[Paper]) -> int:
        profile = prepared[group][0].config

        def build(chunk):
            return build_judge_messages(chunk, profile, rubric=rubrics[group], max_abstract_chars=jc.max_abstract_chars)

        prompt, completion = cost(papers, build, jc.batch_size, count)
        return prompt + completion

    print(
        f"{len(days)} days, {sum(len(d.papers) for d in days)} papers, {sum(len(d.picks) for d in days)} picks; "
        f"profiles {', '.join(sorted(profiles))}; tokenizer {name}; {computed} embeddings computed; "
        f"default configuration: target_recall {settings.target_recall}, explore {settings.explore_fraction:.0%} "
        f"(max {settings.explore_max}), learned_weight {settings.learned_weight}"
    )
    if args.choose:
        # The prior pick curve: fitted to the cold ranking of the choosing days, every paper observed.
        chosen = set((args.choose_days or "").split(",")) - {""}
        outcomes = []
        for d in days:
            if chosen and d.date not in chosen:
                continue
            plan = plan_day(d.papers, vectors, prepared[d.group][0], settings, day=d.date, salt="", history=())
            eligible = [c.paper.arxiv_id for c in plan.ranked if not c.excluded]
            outcomes.append(day_outcome(d.date, eligible, len(eligible), [], d.picks))
        (a, b, c), weight = fit_pick_curve(outcomes, prior_weight=0.0)
        print(
            f"prior pick curve on {len(outcomes)} days: PRIOR_CURVE = ({a:.3f}, {b:.3f}, {c:.3f}), {weight:.0f} papers"
        )
        return
    cold = simulate(days, prepared, vectors, settings, sequential=False, judge_tokens=judge_tokens)
    seq = simulate(days, prepared, vectors, settings, sequential=True, judge_tokens=judge_tokens)
    cold_ratio, cold_recall = print_rows("cold: each day alone", cold)
    seq_ratio, seq_recall = print_rows(
        f"sequential: learning from earlier days (first {WARMUP} per profile are warm-up)", seq
    )
    print(f"\n## leave-days-out: constants chosen on days up to {args.split}, reported on the later ones\n")
    for mode, rows in (("cold", cold), ("sequential", seq)):
        for part, keep in (
            ("chosen on", lambda r: r.date <= args.split),
            ("reported on", lambda r: r.date > args.split),
        ):
            counted = [r for r in rows if r.warm and keep(r)]
            if counted:
                print(f"{mode:10} {part:11} {len(counted):2} days: " + pooled(counted))
    print()
    print(f"pooled cold ratio {cold_ratio:.3f} recall {cold_recall:.2f}")
    print(f"pooled sequential ratio {seq_ratio:.3f} recall {seq_recall:.2f}")
    if args.llm:
        llm_check(args, days, profiles, rubrics, prepared, vectors, settings)


def llm_check(args, days, profiles, rubrics, prepared, vectors, settings) -> None:
    def sent(d: Day) -> list[Paper]:
        plan = plan_day(d.papers, vectors, prepared[d.group][0], settings, day=d.date, salt=prepared[d.group][1])
        by_id = {p.arxiv_id: p for p in d.papers}
        return [by_id[p] for p in plan.sent]

    run_llm_check(days, profiles, rubrics, sent, args)


if __name__ == "__main__":
    main()
