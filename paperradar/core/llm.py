"""The LLM layer: one client for any OpenAI-compatible API or the embedded model.

Every request goes through :meth:`LLM.complete`, which

* answers from the ``llm_calls`` log when the same model already answered
  the same messages with the same options successfully (a rerun never pays
  twice, and needs no API key when everything is cached);
* otherwise checks the per-run budget, sends the request, retries 429 / 5xx /
  timeouts with exponential back-off (each failed attempt is a logged row
  and a log warning, so retries are visible), and logs the answer with its
  tokens, cost from the price table and latency;
* extracts JSON leniently (prose around it, code fences, JSONL) and
  validates it with a pydantic model; an unusable answer is logged as an
  error, so it is never served from the cache.

Threads: :meth:`LLM.complete` may be called from a pool; database access is
serialised by :attr:`LLM.lock`, which callers also take for their own writes
to the same store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from .budget import RunBudget, run_budget
from .config import Config, LLMConfig
from .errors import BudgetExceeded, LLMError
from .redact import redact, safe_url
from .store import Store, utcnow

log = logging.getLogger("paperradar.core.llm")


class MissingAPIKey(LLMError):
    pass


class LLMOutputError(LLMError):
    """The model answered, but not with JSON matching the expected shape."""

    def __init__(self, message: str, result: LLMResult | None = None):
        super().__init__(message)
        self.result = result


class TransientError(LLMError):
    """A failure worth retrying (rate limit, server error, timeout, connection)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


# -- backends ---------------------------------------------------------------


@dataclass
class RawCompletion:
    text: str
    input_tokens: int
    output_tokens: int


class Backend(Protocol):
    name: str

    def chat(self, model: str, messages: list[dict], options: dict, json_schema: dict | None) -> RawCompletion: ...


def response_format(kind: str, schema_name: str, json_schema: dict | None) -> dict | None:
    if kind == "none" or json_schema is None:
        return None
    if kind == "json_object":
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": {"name": schema_name, "schema": json_schema, "strict": False}}


class OpenAIBackend:
    """The openai SDK against ``base_url``; retries are ours (SDK retries off) so each is logged."""

    name = "openai"

    def __init__(self, config: LLMConfig):
        key = os.environ.get(config.api_key_env)
        if not key:
            raise MissingAPIKey(
                f"No API key for the LLM at {safe_url(config.base_url)}: set the environment variable "
                f'{config.api_key_env} (named by api_key_env in [llm]), or set [judge] enabled = "off".'
            )
        import openai

        self._openai = openai
        self.structured_output = config.structured_output
        self.client = openai.OpenAI(
            api_key=key, base_url=config.base_url, max_retries=0, timeout=config.timeout_seconds
        )

    def chat(self, model, messages, options, json_schema):
        openai = self._openai
        kwargs: dict[str, Any] = {"model": model, "messages": messages, "temperature": options["temperature"]}
        if options.get("max_tokens"):
            kwargs["max_tokens"] = options["max_tokens"]
        fmt = response_format(self.structured_output, options.get("schema_name", "answer"), json_schema)
        if fmt:
            kwargs["response_format"] = fmt
        try:
            resp = self.client.chat.completions.create(**kwargs)
        except openai.APITimeoutError as exc:
            raise TransientError(f"timed out: {exc}") from exc
        except openai.APIConnectionError as exc:
            raise TransientError(f"connection failed: {exc}") from exc
        except openai.APIStatusError as exc:
            status = exc.status_code
            body = (exc.response.text or "")[:300] if exc.response is not None else ""
            if status == 429 or status >= 500:
                raise TransientError(f"HTTP {status}: {body}", retry_after_seconds(exc.response)) from exc
            hint = {401: "check the key in the variable named by api_key_env", 404: "check model and base_url"}
            raise LLMError(f"The LLM API refused the request (HTTP {status}: {body}); {hint.get(status, '')}") from exc
        if isinstance(resp, str) or not hasattr(resp, "choices"):
            # A proxy's login page or a wrong base_url answers 200 with HTML: the SDK hands back the text.
            start = " ".join(str(resp)[:80].split())
            raise LLMError(
                f"The LLM at {safe_url(str(self.client.base_url))} answered with something that is not a chat "
                f"completion (it starts with {start!r}); check [llm] base_url (it usually ends in /v1)."
            )
        if not resp.choices:
            raise TransientError("the answer had no choices")
        text = resp.choices[0].message.content or ""
        usage = resp.usage
        return RawCompletion(
            text=text,
            input_tokens=usage.prompt_tokens if usage else estimate_tokens(json.dumps(messages)),
            output_tokens=usage.completion_tokens if usage else estimate_tokens(text),
        )


def retry_after_seconds(response) -> float | None:
    if response is None:
        return None
    value = response.headers.get("retry-after")
    try:
        return min(float(value), 120.0) if value is not None else None
    except ValueError:
        return None


# The completion a request is assumed to need when no max_tokens is set:
# a judge batch of eight papers answers in ~600 tokens, an assessment in ~500.
COMPLETION_RESERVE = 2048


def estimate_tokens(text: str) -> int:
    """Rough count for servers that do not report usage: ~4 characters per token."""
    return max(1, len(text) // 4)


# -- JSON extraction ----------------------------------------------------------

_FENCE = re.compile(r"```(?:json|jsonl)?\s*\n(.*?)```", re.S | re.I)


def _values_in(text: str) -> list[Any]:
    """Every top-level JSON object/array embedded in ``text``, in order."""
    decoder = json.JSONDecoder()
    out, i = [], 0
    while i < len(text):
        start = min((p for p in (text.find("{", i), text.find("[", i)) if p >= 0), default=-1)
        if start < 0:
            break
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            i = start + 1
            continue
        out.append(value)
        i = end
    return out


def extract_json(text: str) -> Any:
    """The JSON in a model's answer: plain, fenced, wrapped in prose, or JSONL.

    Several objects (JSONL, or one per fence) come back as a list. Raises
    ValueError when there is none.
    """
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    fenced = _FENCE.findall(stripped)
    values = [v for block in fenced for v in _values_in(block)] if fenced else _values_in(stripped)
    if not values:
        raise ValueError("no JSON object or array found in the answer")
    if len(values) == 1:
        return values[0]
    if all(isinstance(v, dict) for v in values):
        return values
    # Prose can hold stray brackets ("[1]"); the biggest value is the answer.
    return max(values, key=lambda v: len(json.dumps(v)))


def coerce_to(schema: type[BaseModel], data: Any) -> Any:
    """Wrap a bare list (JSONL, or an array) into a schema whose only field is a list."""
    if isinstance(data, list) and len(schema.model_fields) == 1:
        return {next(iter(schema.model_fields)): data}
    return data


# -- the client ---------------------------------------------------------------


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
        self.lock = threading.RLock()
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
        with self.lock:
            if self._backend is None:
                if self.config.backend == "local":
                    from .llm_local import LocalBackend

                    self._backend = LocalBackend(self.config)
                else:
                    self._backend = OpenAIBackend(self.config)
            return self._backend

    def model_for(self, stage: str) -> str:
        if self.config.backend == "local" and not self.config.stage(stage).model:
            from .llm_local import local_model_name

            return local_model_name(self.config)
        return self.config.model_for(stage)

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
            if model not in self._warned_prices:
                self._warned_prices.add(model)
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
        result = self._from_cache(stage, model, key, messages, options)
        if result is not None:
            if schema is not None:
                self._validate(result, schema)
            return result
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

    def _from_cache(self, stage, model, key, messages, options) -> LLMResult | None:
        with self.lock:
            row = self.store.conn.execute(
                "SELECT id, response, input_tokens, output_tokens FROM llm_calls "
                "WHERE cache_key = ? AND error IS NULL AND cached = 0 ORDER BY id DESC LIMIT 1",
                (key,),
            ).fetchone()
            if row is None:
                return None
            call_id = self._log(
                stage=stage,
                model=model,
                key=key,
                messages=messages,
                options=options,
                response=row[1],
                input_tokens=row[2],
                output_tokens=row[3],
                cost=0.0,
                latency=0.0,
                cached_from=row[0],
            )
            self.spend.cached += 1
        return LLMResult(
            text=row[1],
            call_id=call_id,
            model=model,
            stage=stage,
            input_tokens=row[2],
            output_tokens=row[3],
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
                with self.lock:
                    self._log(
                        stage=stage,
                        model=model,
                        key=key,
                        messages=messages,
                        options=options,
                        latency=latency,
                        attempt=attempt_no,
                        error=str(exc),
                    )
                raise
            latency = time.perf_counter() - t0
            cost = self.cost(model, raw.input_tokens, raw.output_tokens)
            with self.lock:
                call_id = self._log(
                    stage=stage,
                    model=model,
                    key=key,
                    messages=messages,
                    options=options,
                    response=raw.text,
                    input_tokens=raw.input_tokens,
                    output_tokens=raw.output_tokens,
                    cost=cost,
                    latency=latency,
                    attempt=attempt_no,
                )
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

        retrying = Retrying(
            retry=retry_if_exception(lambda e: isinstance(e, TransientError)),
            stop=stop_after_attempt(self.config.max_retries + 1),
            wait=self._wait,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(one_attempt)
        except TransientError as exc:
            raise LLMError(
                f"The LLM at {safe_url(self.config.base_url)} failed {attempt_no} times for stage {stage} ({exc}); "
                "raise [llm] max_retries / timeout_seconds or try again later."
            ) from exc

    def _wait(self, state: RetryCallState) -> float:
        base = self.config.retry_wait_seconds * (2 ** (state.attempt_number - 1))
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after", None)
        return min(max(base, after or 0.0), 120.0)

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
                with self.lock:
                    self.store.conn.execute("UPDATE llm_calls SET error = ? WHERE id = ?", (message, result.call_id))
            raise LLMOutputError(message, result) from exc

    def mark_unusable(self, call_id: int, reason: str) -> None:
        """A caller found nothing usable in an answer: never serve it from the cache."""
        with self.lock:
            self.store.conn.execute(
                "UPDATE llm_calls SET error = ? WHERE id = ? AND cached = 0", (f"unusable: {reason[:500]}", call_id)
            )

    def _log(
        self,
        *,
        stage,
        model,
        key,
        messages,
        options,
        response=None,
        input_tokens=0,
        output_tokens=0,
        cost=None,
        latency=None,
        attempt=1,
        error=None,
        cached_from=None,
    ) -> int:
        with self.store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO llm_calls (run_id, day, stage, backend, model, cache_key, messages, options, "
                "response, input_tokens, output_tokens, cost_usd, latency_s, attempt, cached, cached_from, "
                "error, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    self.run_id,
                    self.day,
                    stage,
                    self.backend_name,
                    model,
                    key,
                    json.dumps(messages, ensure_ascii=False),
                    json.dumps(options, sort_keys=True),
                    response,
                    input_tokens,
                    output_tokens,
                    cost,
                    None if latency is None else round(latency, 4),
                    attempt,
                    int(cached_from is not None),
                    cached_from,
                    redact(error),
                    utcnow(),
                ),
            )
            return cur.lastrowid


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

    Results are handed to ``on_result`` one at a time, under the LLM's lock,
    so callers can write to the store from it. A failed item goes to
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
                with llm.lock:
                    on_result(item, result)
    return budget


# -- reading the log ------------------------------------------------------------


def usage_rows(store: Store, where: str = "", params: tuple = ()) -> list[dict]:
    """Per model: requests sent (failed attempts included), cache hits, failures, tokens and cost."""
    sql = (
        "SELECT model, backend, "
        "SUM(cached = 0) AS calls, SUM(cached) AS cached, "
        "SUM(cached = 0 AND error IS NOT NULL) AS errors, "
        "SUM(CASE WHEN cached = 0 THEN input_tokens ELSE 0 END) AS input_tokens, "
        "SUM(CASE WHEN cached = 0 THEN output_tokens ELSE 0 END) AS output_tokens, "
        "SUM(CASE WHEN cached = 0 THEN cost_usd END) AS cost_usd, "
        "SUM(cached = 0 AND cost_usd IS NULL AND output_tokens > 0) AS unpriced "
        f"FROM llm_calls {where} GROUP BY model, backend ORDER BY model"
    )
    rows = [
        dict(
            zip(
                (
                    "model",
                    "backend",
                    "calls",
                    "cached",
                    "errors",
                    "input_tokens",
                    "output_tokens",
                    "cost_usd",
                    "unpriced",
                ),
                r,
                strict=True,
            )
        )
        for r in store.conn.execute(sql, params)
    ]
    for r in rows:
        r["total_tokens"] = (r["input_tokens"] or 0) + (r["output_tokens"] or 0)
        if r["unpriced"]:
            r["cost_usd"] = None
    return rows


def usage_for_day(store: Store, day) -> list[dict]:
    return usage_rows(store, "WHERE day = ?", (str(day),))


def usage_for_run(store: Store, run_id: int) -> list[dict]:
    return usage_rows(store, "WHERE run_id = ?", (run_id,))


def recent_calls(store: Store, *, limit: int = 20, stage: str | None = None) -> list[dict]:
    where, params = ("WHERE stage = ?", (stage,)) if stage else ("", ())
    cur = store.conn.execute(
        "SELECT id, created_at, run_id, day, stage, backend, model, input_tokens, output_tokens, cost_usd, "
        f"latency_s, attempt, cached, error, response FROM llm_calls {where} ORDER BY id DESC LIMIT ?",
        (*params, limit),
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def llm_log_table(store: Store, *, totals: bool = False, stage: str | None = None, limit: int = 20):
    """A rich Table for `paperradar llm-log`: recent calls, or totals per model."""
    from rich.table import Table
    from rich.text import Text

    def money(v):
        return "n/a" if v is None else f"${v:.4f}"

    if totals:
        where, params = ("WHERE stage = ?", (stage,)) if stage else ("", ())
        table = Table(
            "model",
            "backend",
            "requests",
            "cached hits",
            "of which failed",
            "prompt tokens",
            "completion tokens",
            "total tokens",
            "cost",
            title="LLM usage per model",
        )
        for r in usage_rows(store, where, params):
            table.add_row(
                r["model"],
                r["backend"],
                str(r["calls"]),
                str(r["cached"]),
                str(r["errors"]),
                f"{r['input_tokens']:,}",
                f"{r['output_tokens']:,}",
                f"{r['total_tokens']:,}",
                money(r["cost_usd"]),
            )
        return table
    table = Table(
        "id",
        "when",
        "run",
        "day",
        "stage",
        "model",
        "tokens in/out",
        "cost",
        "seconds",
        "result",
        title="Recent LLM calls",
    )
    for r in recent_calls(store, limit=limit, stage=stage):
        if r["cached"]:
            outcome = "cached"
        elif r["error"]:
            outcome = Text(r["error"][:60], style="red")
        else:
            outcome = f"ok (attempt {r['attempt']})" if r["attempt"] > 1 else "ok"
        table.add_row(
            str(r["id"]),
            r["created_at"],
            str(r["run_id"] or ""),
            r["day"] or "",
            r["stage"],
            r["model"],
            f"{r['input_tokens']}/{r['output_tokens']}",
            "—" if r["cached"] else money(r["cost_usd"]),
            "" if r["latency_s"] is None else f"{r['latency_s']:.2f}",
            outcome,
        )
    return table
