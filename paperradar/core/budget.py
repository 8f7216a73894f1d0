"""One run's LLM allowance, shared by every stage that calls a model.

A per-stage budget lets each stage spend up to the cap, so a run of several
stages overshoots it (a $0.015 cap once ended at $0.028). Here every request
first *reserves* its worst case (the prompt, with a margin for a rough token
count, plus the largest completion it may ask for) against what the whole run
has spent and reserved; the reservation becomes the real usage when the
answer arrives. Requests that could cross the cap are refused before they are
sent, so the cap holds however many stages or threads share it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .config import LLMConfig
from .errors import BudgetExceeded, LLMError, LLMUnavailable

# Prompt sizes are estimated at ~4 characters a token; real tokenizers count
# up to ~25 % more on English with formulas and ids, so reserve that much.
PROMPT_MARGIN = 1.25


class BudgetConfigError(LLMError):
    """A cap that cannot be checked as configured (e.g. a dollar cap on an unpriced model)."""


@dataclass
class Reservation:
    stage: str
    tokens: int
    usd: float


@dataclass
class StageSpend:
    calls: int = 0
    tokens: int = 0
    usd: float = 0.0
    refused: int = 0


@dataclass
class RunBudget:
    """Caps for one run: ``max_tokens`` (prompt + completion) and ``max_usd``; None means no cap.

    ``price`` maps a model name to (input, output) dollars per million tokens,
    or None when the model has no price.
    """

    max_tokens: int | None = None
    max_usd: float | None = None
    price: Callable[[str], tuple[float, float] | None] = lambda model: None
    spent_tokens: int = 0
    spent_usd: float = 0.0
    reserved_tokens: int = 0
    reserved_usd: float = 0.0
    by_stage: dict[str, StageSpend] = field(default_factory=dict)
    # Circuit breaker: after max_failures failed requests in a row the run stops asking.
    max_failures: int | None = None
    failures: int = 0
    tripped: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def limited(self) -> bool:
        return self.max_tokens is not None or self.max_usd is not None

    def worst_case(self, model: str, prompt_tokens: int, max_completion: int) -> tuple[int, float]:
        tokens = int(prompt_tokens * PROMPT_MARGIN) + max_completion
        price = self.price(model)
        if price is None:
            if self.max_usd is not None:
                raise BudgetConfigError(
                    f'A dollar cap is set but model {model} has no price: add [llm.prices."{model}"] '
                    "input_per_million / output_per_million, or drop [llm] max_cost_per_run."
                )
            return tokens, 0.0
        usd = (prompt_tokens * PROMPT_MARGIN * price[0] + max_completion * price[1]) / 1e6
        return tokens, usd

    def remaining_tokens(self) -> int | None:
        if self.max_tokens is None:
            return None
        with self._lock:
            return max(0, self.max_tokens - self.spent_tokens - self.reserved_tokens)

    def remaining_usd(self) -> float | None:
        if self.max_usd is None:
            return None
        with self._lock:
            return max(0.0, self.max_usd - self.spent_usd - self.reserved_usd)

    def reserve(self, stage: str, model: str, prompt_tokens: int, max_completion: int) -> Reservation:
        """Hold the request's worst case, or raise :class:`BudgetExceeded` without holding anything."""
        tokens, usd = self.worst_case(model, prompt_tokens, max_completion)
        with self._lock:
            if self.tripped:
                raise LLMUnavailable(self.tripped)
            s = self.by_stage.setdefault(stage, StageSpend())
            if self.max_tokens is not None and self.spent_tokens + self.reserved_tokens + tokens > self.max_tokens:
                s.refused += 1
                raise BudgetExceeded(
                    f"Run token cap reached: {self.spent_tokens:,} of {self.max_tokens:,} tokens spent by all "
                    f"stages; the next {stage} request could need {tokens:,} more (raise [llm] budget_tokens)."
                )
            if self.max_usd is not None and self.spent_usd + self.reserved_usd + usd > self.max_usd + 1e-12:
                s.refused += 1
                raise BudgetExceeded(
                    f"Run cost cap reached: ${self.spent_usd:.4f} of ${self.max_usd:.4f} spent by all stages; "
                    f"the next {stage} request could cost ${usd:.4f} more "
                    "(raise [llm] max_cost_per_run or pass --max-cost)."
                )
            self.reserved_tokens += tokens
            self.reserved_usd += usd
        return Reservation(stage, tokens, usd)

    def settle(self, reservation: Reservation, tokens: int, usd: float | None) -> None:
        """Replace the reservation by what the request really used (0 for a failed one)."""
        with self._lock:
            self.reserved_tokens -= reservation.tokens
            self.reserved_usd -= reservation.usd
            self.spent_tokens += tokens
            self.spent_usd += usd or 0.0
            s = self.by_stage.setdefault(reservation.stage, StageSpend())
            if tokens:
                s.calls += 1
            s.tokens += tokens
            s.usd += usd or 0.0

    def record_outcome(self, ok: bool, stage: str = "", error: str = "") -> None:
        """Count failed requests in a row; the ``max_failures``-th opens the breaker for the rest of the run."""
        with self._lock:
            if ok:
                self.failures = 0
                return
            self.failures += 1
            if self.max_failures is not None and self.failures >= self.max_failures and not self.tripped:
                self.tripped = (
                    f"The LLM failed {self.failures} times in a row (last, in {stage}: {error[:300]}); "
                    "the run's LLM stages stopped asking. Check [llm] base_url, model and the key, "
                    "then run again: what was done is kept."
                )

    def affordable(self, model: str, per_item: tuple[int, int], fixed: tuple[int, int] = (0, 0)) -> int | None:
        """How many items of ``per_item`` (prompt, completion) tokens, after ``fixed``, still fit; None: no cap."""
        if not self.limited:
            return None
        fixed_t, fixed_usd = self.worst_case(model, *fixed) if any(fixed) else (0, 0.0)
        item_t, item_usd = self.worst_case(model, *per_item)
        counts = []
        rt, ru = self.remaining_tokens(), self.remaining_usd()
        if rt is not None:
            counts.append((rt - fixed_t) // max(1, item_t))
        if ru is not None:
            counts.append(int((ru - fixed_usd) / item_usd) if item_usd > 0 else 10**9)
        return max(0, min(counts))

    def summary(self) -> dict:
        with self._lock:
            return {
                "max_tokens": self.max_tokens,
                "max_usd": self.max_usd,
                "spent_tokens": self.spent_tokens,
                "spent_usd": round(self.spent_usd, 6),
                "by_stage": {k: vars(v).copy() for k, v in self.by_stage.items()},
            }


def run_budget(config: LLMConfig, max_cost: float | None = None) -> RunBudget:
    """The budget of one run from ``[llm]``; ``max_cost`` (``--max-cost``) overrides the dollar cap."""

    def price(model: str) -> tuple[float, float] | None:
        p = config.price(model)
        return None if p is None else (p.input_per_million, p.output_per_million)

    usd = max_cost if max_cost is not None else config.max_cost_per_run
    return RunBudget(
        max_tokens=config.budget_tokens, max_usd=usd, price=price, max_failures=config.max_consecutive_failures
    )
