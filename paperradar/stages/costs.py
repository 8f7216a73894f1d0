"""What a run's LLM stages will cost, known before the first request is sent.

The estimate uses the prompts production would send (the judge's and title
pass's batch builders, the assessment and match builders on typical papers)
with the LLM layer's token count, the stage's completion allowance and the
price table. Completions are estimated from the answers' usual length, not
their cap; the run's budget (budget.py) reserves the cap, so the estimate is
what a run typically costs and the cap is what it can never exceed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..core.budget import RunBudget
from ..core.config import Config
from ..core.llm_protocol import estimate_tokens
from ..core.models import Paper
from . import assess, match
from .judge_prompt import build_judge_messages, build_title_messages

# Typical answer lengths (tokens), from the logged calls of the demo and the
# shared days: a judged paper's scores and one-line reason, a title rating,
# an assessment, a match verdict.
ANSWER_TOKENS = {"judge": 70, "title": 12, "assess": 450, "match": 60}
# Share of judged papers the judge selects, before a store has its own history.
TYPICAL_SELECTED = 0.25


@dataclass
class StageEstimate:
    stage: str
    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    usd: float | None

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class CostEstimate:
    stages: list[StageEstimate] = field(default_factory=list)
    cap_usd: float | None = None
    cap_tokens: int | None = None

    @property
    def tokens(self) -> int:
        return sum(s.tokens for s in self.stages)

    @property
    def usd(self) -> float | None:
        costs = [s.usd for s in self.stages]
        return None if any(c is None for c in costs) else sum(costs)

    def describe(self) -> str:
        if not self.stages:
            return "estimated LLM cost: nothing to send (all cached or no LLM stage)"
        parts = [
            f"{s.stage} {s.tokens:,} tokens" + (f" (${s.usd:.4f})" if s.usd is not None else "")
            for s in self.stages
            if s.requests
        ]
        total = f"{self.tokens:,} tokens" + (f", ${self.usd:.4f}" if self.usd is not None else " (no price)")
        cap = []
        if self.cap_usd is not None:
            cap.append(f"${self.cap_usd:.4f}")
        if self.cap_tokens is not None:
            cap.append(f"{self.cap_tokens:,} tokens")
        tail = f"; cap {' / '.join(cap)}" if cap else ""
        return f"estimated LLM cost: {total} — {', '.join(parts)}{tail}"

    def as_dict(self) -> dict:
        return {
            "tokens": self.tokens,
            "usd": None if self.usd is None else round(self.usd, 6),
            "stages": {s.stage: {"requests": s.requests, "tokens": s.tokens, "usd": s.usd} for s in self.stages},
            "cap_usd": self.cap_usd,
            "cap_tokens": self.cap_tokens,
        }


def _messages_tokens(messages: list[dict]) -> int:
    return estimate_tokens(json.dumps(messages, ensure_ascii=False))


def _stage(config: Config, stage: str, model: str, batches: list[list[dict]], answers: int) -> StageEstimate:
    prompt = sum(_messages_tokens(m) for m in batches)
    completion = answers * ANSWER_TOKENS[stage]
    price = config.llm.price(model)
    usd = None if price is None else (prompt * price.input_per_million + completion * price.output_per_million) / 1e6
    return StageEstimate(stage, model, len(batches), prompt, completion, usd)


def judge_batches(config: Config, papers: Sequence[Paper], stage: str = "judge") -> list[list[dict]]:
    jc = config.judge
    if stage == "title":
        size = jc.title_batch_size
        return [
            build_title_messages(papers[i : i + size], config.profile, rubric=jc.rubric)
            for i in range(0, len(papers), size)
        ]
    size = jc.batch_size
    return [
        build_judge_messages(
            papers[i : i + size], config.profile, rubric=jc.rubric, max_abstract_chars=jc.max_abstract_chars
        )
        for i in range(0, len(papers), size)
    ]


def estimate_run(
    config: Config,
    to_judge: Sequence[Paper],
    *,
    models: dict[str, str],
    budget: RunBudget | None = None,
    selected_share: float = TYPICAL_SELECTED,
    tournament: bool = True,
) -> CostEstimate:
    """Per-stage tokens and $ for judging ``to_judge`` (papers not judged before) and what follows.

    ``models`` maps each stage ("judge", "title", "assess", "match") to the
    model it uses.
    """
    out = CostEstimate(cap_usd=budget.max_usd if budget else None, cap_tokens=budget.max_tokens if budget else None)
    if not to_judge:
        return out
    papers = list(to_judge)
    if config.judge.title_pass:
        out.stages.append(_stage(config, "title", models["title"], judge_batches(config, papers, "title"), len(papers)))
    out.stages.append(_stage(config, "judge", models["judge"], judge_batches(config, papers), len(papers)))
    if tournament:
        tc = config.tournament
        picks = max(2, round(selected_share * len(papers)))
        sample = sorted(papers, key=lambda p: len(p.abstract))[len(papers) // 2]  # a median-length paper
        one = assess.build_messages(sample, tc)
        out.stages.append(_stage(config, "assess", models["assess"], [one] * picks, picks))
        comparisons = min(tc.budget, picks * (picks - 1) // 2)
        pair = match.build_messages(sample, sample, tc) if comparisons else []
        out.stages.append(_stage(config, "match", models["match"], [pair] * comparisons, comparisons))
    return out


def affordable_papers(
    config: Config, papers: Sequence[Paper], budget: RunBudget, model: str, completion_reserve: int
) -> int:
    """How many of ``papers`` (best first) the judge can read within what is left of the run's budget.

    Counted batch by batch with the same worst case the budget reserves per
    request, so the papers it keeps will not be refused mid-way.
    """
    if not budget.limited:
        return len(papers)
    size = config.judge.batch_size
    spent_t, spent_usd = 0, 0.0
    left_t, left_usd = budget.remaining_tokens(), budget.remaining_usd()
    kept = 0
    for i in range(0, len(papers), size):
        chunk = papers[i : i + size]
        messages = judge_batches(config, chunk)[0]
        t, usd = budget.worst_case(model, _messages_tokens(messages), completion_reserve)
        if (left_t is not None and spent_t + t > left_t) or (left_usd is not None and spent_usd + usd > left_usd):
            break
        spent_t, spent_usd, kept = spent_t + t, spent_usd + usd, kept + len(chunk)
    return kept
