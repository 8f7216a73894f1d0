"""``bench/prefilter_days.py --llm``: a real model against the shared days' labels.

The shared days carry the picks of a send-everything judge (gpt-5 / gpt-4o).
With a key for any OpenAI-compatible endpoint, this measures two things on
those days with the production code unchanged (``judge.judge_shortlist``, the
same prompts, retries, cache and call log):

- the **title screen** (``[judge] title_pass``): how many of the labelled picks
  survive a titles-only pass, and how much of the day it lets through;
- the **judge**: which of the papers it read it selects (``[judge]
  min_relevance`` / ``min_novelty``), compared with the labelled picks.

What the model reads per day is either what the default configuration sends
(the cold plan: shortlist and explored papers; ``--llm-scope sent``) or the
whole day (``--llm-scope all``). Every call is logged in ``--llm-store``
(default ``~/.cache/paperradar-bench/llm.db``); a rerun reads the answers back
and pays nothing twice. ``--llm-days N`` keeps the latest N days, to cap what
a first run costs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from paperradar.core.config import Config, ProfileConfig, load_config
from paperradar.core.llm import LLM
from paperradar.core.models import Candidate, Paper
from paperradar.core.store import Store
from paperradar.stages.judge import judge_shortlist


@dataclass
class LLMRow:
    date: str
    group: str
    read: int
    picks_read: int  # labelled picks among what the model read
    picks_day: int
    screened_out: int
    picks_screened_out: int
    selected: int
    agree: int  # selected and labelled picks
    title_tokens: int
    judge_tokens: int
    usd: float | None


def day_config(base: Config, profile_text: str, rubric: str) -> Config:
    """The user's [llm] and [judge] with the day's profile and the labelling judge's rubric, screen on."""
    judge = base.judge.model_copy(update={"rubric": rubric, "title_pass": True})
    return base.model_copy(update={"profile": ProfileConfig(text=profile_text), "judge": judge})


def _stage_usage(store: Store, day: str, stage: str) -> tuple[int, float | None]:
    rows = store.llm_calls.usage(day=day, stage=stage)
    tokens = sum(r.total_tokens for r in rows)
    costs = [r.cost_usd for r in rows]
    return tokens, (None if any(c is None for c in costs) else sum(costs))


def check_day(store: Store, config: Config, date: str, group: str, papers: list[Paper], picks: set[str]) -> LLMRow:
    day = dt.date.fromisoformat(date)
    store.upsert_papers(papers)
    llm = LLM.from_config(config, store, day=date)
    candidates = [Candidate(paper=p, score=0.0) for p in papers]
    judge_shortlist(store, config, day, candidates, llm)
    rows = {r.arxiv_id: r for r in store.judgments.for_day(day)}
    read = {p.arxiv_id for p in papers}
    out = [pid for pid in read if pid in rows and rows[pid].status == "title-rejected"]
    selected = {pid for pid in read if pid in rows and rows[pid].selected}
    title_tokens, title_usd = _stage_usage(store, date, "title")
    judge_tokens, judge_usd = _stage_usage(store, date, "judge")
    return LLMRow(
        date=date,
        group=group,
        read=len(read),
        picks_read=len(read & picks),
        picks_day=len(picks),
        screened_out=len(out),
        picks_screened_out=sum(pid in picks for pid in out),
        selected=len(selected),
        agree=len(selected & picks),
        title_tokens=title_tokens,
        judge_tokens=judge_tokens,
        usd=None if title_usd is None or judge_usd is None else title_usd + judge_usd,
    )


def run_llm_check(days, profiles: dict[str, str], rubrics: dict[str, str], sent, args) -> None:
    """Check, then print, the model of ``--config`` on the days.

    ``sent(day)`` → the papers the default configuration would send that day (for ``--llm-scope sent``).
    """
    base = load_config(args.config)
    chosen = days[-args.llm_days :] if args.llm_days else days
    args.llm_store.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with Store(args.llm_store) as store:
        for d in chosen:
            config = day_config(base, profiles[d.group], rubrics[d.group])
            papers = d.papers if args.llm_scope == "all" else sent(d)
            rows.append(check_day(store, config, d.date, d.group, papers, d.picks))
    print_llm_rows(rows, base.llm.model)


def print_llm_rows(rows: list[LLMRow], model: str) -> None:
    print(f"\n## LLM check: {model} on the labelled days (title screen, then the judge)\n")
    print(
        "| day | profile | read | picks read / day | screened out | picks lost to screen | judge selected "
        "| agree with labels | title tokens | judge tokens | $ |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        usd = "—" if r.usd is None else f"{r.usd:.4f}"
        print(
            f"| {r.date} | {r.group} | {r.read} | {r.picks_read}/{r.picks_day} | {r.screened_out} "
            f"| {r.picks_screened_out} | {r.selected} | {r.agree} | {r.title_tokens} | {r.judge_tokens} | {usd} |"
        )
    picks_read = sum(r.picks_read for r in rows) or 1
    selected = sum(r.selected for r in rows)
    agree = sum(r.agree for r in rows)
    screen = 1 - sum(r.picks_screened_out for r in rows) / picks_read
    print(
        f"\nllm screen recall {screen:.2f} judge recall {agree / picks_read:.2f} "
        f"precision {agree / selected if selected else 0.0:.2f} "
        f"tokens {sum(r.title_tokens + r.judge_tokens for r in rows)}"
    )


def default_store() -> Path:
    return Path.home() / ".cache" / "paperradar-bench" / "llm.db"
