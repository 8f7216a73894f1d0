"""The LLM client: one object for any OpenAI-compatible API or the embedded model.

Every request goes through :meth:`LLM.complete`, which

* answers from the ``llm_calls`` log when the same model already answered
  the same messages with the same options successfully (a rerun never pays
  twice, and needs no API key when everything is cached);
* otherwise checks the per-run budget, sends the request, retries 429 / 5xx /
  timeouts with exponential back-off (each failed attempt is a logged row
  and a log warning, so retries are visible), and logs the answer with its
  tokens, cost from the price table and latency;
* extracts JSON leniently (see ``llm_json``) and validates it with a pydantic
  model; an unusable answer is logged as an error, so it is never served
  from the cache.

Threads: :meth:`LLM.complete` may be called from a pool. Each thread writes
the log through its own database connection; the client's lock guards only
its in-memory state (spend counters, the backend, prompts in flight), so
callers write to the store without it. Two threads asking the same prompt at
once pay for it once: the second waits for the first answer and is served it
from the log.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState

from . import retry
from .budget import RunBudget, run_budget
from .config import Config, LLMConfig
from .errors import BudgetExceeded, LLMError
from .llm_backends import make_backend, model_for
from .llm_json import coerce_to, extract_json
from .llm_protocol import Backend, MissingAPIKey, TransientError, estimate_tokens
from .redact import safe_url
from .repositories.llm_calls import LLMCall
from .retry import Backoff
from .store import Store, utcnow

log = logging.getLogger("paperradar.core.llm")

# Longest pause between two tries of one request, whatever the endpoint asks.
MAX_LLM_WAIT = 120.0


class LLMOutputError(LLMError):
    """The model answered, but not with JSON matching the expected shape."""

    def __init__(self, message: str, result: LLMResult | None = None):
        super().__init__(message)
        self.result = result


# The completion a request is assumed to need when no max_tokens is set:
# a judge batch of eight papers answers in ~600 tokens, an assessment in ~500.
COMPLETION_RESERVE = 2048


@dataclass
class LLMResult:
    text: str
    call_id: int
    model: str
    stage: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    latency_s: float = 0.0
    cached: bool = False
    data: Any = None
    parsed: BaseModel | None = None


@dataclass
class Spend:
    """What this LLM object paid for (cache hits are free)."""

    calls: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    by_model: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def cache_key(model: str, messages: list[dict], options: dict, json_schema: dict | None) -> str:
    blob = json.dumps([model, messages, options, json_schema], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


class _InFlight:
    """Cache keys being asked right now, one lock each.

    The log can only answer a prompt once its answer is written, which is
    after it was paid for; a second thread asking the same prompt meanwhile
    waits here, then finds the answer in the log instead of paying again.
    """

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._keys: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._keys.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if not users[0]:
                    del self._keys[key]


class LLM:
    def __init__(
        self,
        config: LLMConfig,
        store: Store,
        *,
        run_id: int | None = None,
        day: str | None = None,
        backend: Backend | None = None,
        budget: RunBudget | None = None,
    ):
        self.config = config
        # The pipeline hands every stage the run's one budget; an LLM used on
        # its own (a CLI command) gets a budget of its own for that command.
        self.budget = budget if budget is not None else run_budget(config)
        self.store = store
        self.run_id = run_id
        self.day = day
        self._backend = backend
        # Guards this object's own state only: never held around store writes or requests.
        self._lock = threading.Lock()
        self._in_flight = _InFlight()
        self.spend = Spend()
        self._warned_prices: set[str] = set()

    @classmethod
    def from_config(cls, config: Config, store: Store, **kw) -> LLM:
        return cls(config.llm, store, **kw)

    @property
    def backend_name(self) -> str:
        return self._backend.name if self._backend else self.config.backend

    @property
    def backend(self) -> Backend:
        # Created on first real request: a fully cached rerun needs no key.
        with self._lock:
            if self._backend is None:
                self._backend = make_backend(self.config)
            return self._backend

    def model_for(self, stage: str) -> str:
        return model_for(self.config, stage)

    def options_for(self, stage: str) -> dict:
        s = self.config.stage(stage)
        return {
            "temperature": s.temperature if s.temperature is not None else self.config.temperature,
            "max_tokens": s.max_tokens or self.config.max_tokens,
            "structured_output": self.config.structured_output,
        }

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float | None:
        price = self.config.price(model)
        if price is None:
            with self._lock:
                warn = model not in self._warned_prices
                self._warned_prices.add(model)
            if warn:
                log.warning('No price for model %s: add [llm.prices."%s"] to see its cost.', model, model)
            return None
        return (input_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1e6

    # -- the call --

    def complete(
        self,
        stage: str,
        messages: list[dict],
        *,
        schema: type[BaseModel] | None = None,
        json_schema: dict | None = None,
        schema_name: str = "answer",
    ) -> LLMResult:
        """Ask ``stage``'s model; with ``schema``, the answer is extracted and validated.

        ``json_schema`` (default: the schema's own) is what structured-output
        servers are asked to follow.
        """
        model = self.model_for(stage)
        options = self.options_for(stage)
        if schema is not None and json_schema is None:
            json_schema = schema.model_json_schema()
        key = cache_key(model, messages, options, json_schema)
        with self._in_flight.hold(key):
            result = self._from_cache(stage, model, key, messages, options)
            if result is None:
                return self._ask(stage, model, key, messages, options, schema, json_schema, schema_name)
        if schema is not None:
            self._validate(result, schema)
        return result

    def _ask(self, stage, model, key, messages, options, schema, json_schema, schema_name) -> LLMResult:
        """A paid request, validated, with its outcome told to the run's budget."""
        try:
            result = self._paid_request(
                stage, model, key, messages, {**options, "schema_name": schema_name}, json_schema
            )
            if schema is not None:
                self._validate(result, schema)
        except BudgetExceeded:
            raise
        except LLMError as exc:
            self.budget.record_outcome(False, stage, str(exc))
            raise
        self.budget.record_outcome(True)
        return result

    def _paid_request(self, stage, model, key, messages, options, json_schema) -> LLMResult:
        """Send a request only once its worst case fits the run's budget; then book what it used."""
        prompt = estimate_tokens(json.dumps(messages, ensure_ascii=False))
        completion = options.get("max_tokens") or COMPLETION_RESERVE
        reservation = self.budget.reserve(stage, model, prompt, completion)
        if self.budget.limited and not options.get("max_tokens"):
            # Under a cap the reserve must bind the answer too; the cache key
            # was computed without it, so capped and uncapped runs share answers.
            options = {**options, "max_tokens": completion}
        try:
            result = self._request(stage, model, key, messages, options, json_schema)
        except BaseException:
            self.budget.settle(reservation, 0, 0.0)
            raise
        self.budget.settle(reservation, result.input_tokens + result.output_tokens, result.cost_usd)
        return result

    def _call(self, stage, model, key, messages, options, **outcome) -> LLMCall:
        """The log row of one request to ``model``, with what came of it."""
        return LLMCall(
            run_id=self.run_id,
            day=self.day,
            stage=stage,
            backend=self.backend_name,
            model=model,
            cache_key=key,
            messages=messages,
            options=options,
            created_at=utcnow(),
            **outcome,
        )

    def _from_cache(self, stage, model, key, messages, options) -> LLMResult | None:
        hit = self.store.llm_calls.serve_cached(self._call(stage, model, key, messages, options))
        if hit is None:
            return None
        with self._lock:
            self.spend.cached += 1
        return LLMResult(
            text=hit.response,
            call_id=hit.call_id,
            model=model,
            stage=stage,
            input_tokens=hit.input_tokens,
            output_tokens=hit.output_tokens,
            cost_usd=0.0,
            cached=True,
        )

    def _request(self, stage, model, key, messages, options, json_schema) -> LLMResult:
        attempt_no = 0

        def one_attempt() -> LLMResult:
            nonlocal attempt_no
            attempt_no += 1
            backend = self.backend
            t0 = time.perf_counter()
            try:
                raw = backend.chat(model, messages, options, json_schema)
            except LLMError as exc:
                # Refusals and unusable bodies are logged like transient failures: every request is a row.
                latency = time.perf_counter() - t0
                self.store.llm_calls.log(
                    self._call(
                        stage, model, key, messages, options, latency_s=latency, attempt=attempt_no, error=str(exc)
                    )
                )
                raise
            latency = time.perf_counter() - t0
            cost = self.cost(model, raw.input_tokens, raw.output_tokens)
            call_id = self.store.llm_calls.log(
                self._call(
                    stage,
                    model,
                    key,
                    messages,
                    options,
                    response=raw.text,
                    input_tokens=raw.input_tokens,
                    output_tokens=raw.output_tokens,
                    cost_usd=cost,
                    latency_s=latency,
                    attempt=attempt_no,
                )
            )
            with self._lock:
                s = self.spend
                s.calls += 1
                s.input_tokens += raw.input_tokens
                s.output_tokens += raw.output_tokens
                s.cost_usd += cost or 0.0
            return LLMResult(
                text=raw.text,
                call_id=call_id,
                model=model,
                stage=stage,
                input_tokens=raw.input_tokens,
                output_tokens=raw.output_tokens,
                cost_usd=cost,
                latency_s=latency,
            )

        # An overloaded endpoint that says "retry in 0 s" still gets the back-off: the longer of the two.
        wait = Backoff(self.config.retry_wait_seconds, MAX_LLM_WAIT, asked_cap=MAX_LLM_WAIT, at_least_backoff=True)
        retrying = retry.retrying(
            attempts=self.config.max_retries + 1, retry_if=(TransientError,), wait=wait, before_sleep=self._log_retry
        )
        try:
            return retrying(one_attempt)
        except TransientError as exc:
            raise LLMError(
                f"The LLM at {safe_url(self.config.base_url)} failed {attempt_no} times for stage {stage} ({exc}); "
                "raise [llm] max_retries / timeout_seconds or try again later."
            ) from exc

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "LLM request failed (%s); retry %d of %d in %.1f s",
            exc,
            state.attempt_number,
            self.config.max_retries,
            state.next_action.sleep if state.next_action else 0,
        )

    def _validate(self, result: LLMResult, schema: type[BaseModel]) -> None:
        try:
            result.data = extract_json(result.text)
            result.parsed = schema.model_validate(coerce_to(schema, result.data))
        except (ValueError, ValidationError) as exc:
            message = f"invalid output: {str(exc)[:500]}"
            if not result.cached:
                self.store.llm_calls.mark_unusable(result.call_id, message)
            raise LLMOutputError(message, result) from exc

    def mark_unusable(self, call_id: int, reason: str) -> None:
        """A caller found nothing usable in an answer: never serve it from the cache."""
        self.store.llm_calls.mark_unusable(call_id, f"unusable: {reason[:500]}")


Item = TypeVar("Item")
Result = TypeVar("Result")


def run_concurrently(
    llm: LLM,
    items: Iterable[Item],
    work: Callable[[Item], Result | None],
    *,
    on_result: Callable[[Item, Result], None],
    on_error: Callable[[Item, LLMError], None],
    progress: Callable[[int], None] | None = None,
) -> str | None:
    """Run ``work(item)`` for every item, ``[llm] concurrency`` at a time.

    Results are handed to ``on_result`` one at a time, in the calling thread,
    so callers can write to the store from it without a lock. A failed item goes to
    ``on_error`` and the rest go on. When the budget runs out, items not yet
    started are skipped and the budget message is returned (None otherwise);
    a missing API key stops everything and is raised, since every other item
    would fail the same way.
    """
    stop = threading.Event()
    budget: str | None = None

    def guarded(item: Item) -> Result | None:
        return None if stop.is_set() else work(item)

    with ThreadPoolExecutor(max_workers=llm.config.concurrency) as pool:
        futures = {pool.submit(guarded, item): item for item in items}
        for fut in as_completed(futures):
            item = futures[fut]
            try:
                result = fut.result()
            except BudgetExceeded as exc:
                stop.set()
                budget = str(exc)
                continue
            except MissingAPIKey:
                stop.set()
                raise
            except LLMError as exc:
                on_error(item, exc)
                continue
            finally:
                if progress:
                    progress(1)
            if result is not None:
                on_result(item, result)
    return budget
