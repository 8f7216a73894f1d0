"""The LLM call log (``llm_calls``): every request, failed attempts and cache hits included.

The log is also the LLM's cache: a successful, paid answer is served again for
the same cache key. Serving it and logging the hit happen in one write
transaction, so two threads (or processes) reading the cache at once each log
their own hit and neither sees a half-written row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..db import Database
from ..redact import redact


@dataclass(frozen=True)
class LLMCall:
    """One request as it is logged; ``cached_from`` is set for an answer served from the log."""

    stage: str
    backend: str
    model: str
    cache_key: str
    messages: list[dict]
    options: dict
    created_at: str
    run_id: int | None = None
    day: str | None = None
    response: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    latency_s: float | None = None
    attempt: int = 1
    cached_from: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class CacheHit:
    """A paid answer served again, and the id of the row that logged serving it."""

    call_id: int
    cached_from: int
    response: str
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True)
class ModelUsage:
    """Per model and backend: requests sent (failed attempts included), cache hits, failures, tokens and cost.

    ``cost_usd`` is None when some paid answer had no price, so an unknown cost
    is never shown as a small one.
    """

    model: str
    backend: str
    calls: int
    cached: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    unpriced: int
    total_tokens: int


@dataclass(frozen=True)
class LoggedCall:
    """A row of the log as `paperradar llm-log` lists it."""

    id: int
    created_at: str
    run_id: int | None
    day: str | None
    stage: str
    backend: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float | None
    latency_s: float | None
    attempt: int
    cached: bool
    error: str | None
    response: str | None


_INSERT = (
    "INSERT INTO llm_calls (profile_id, run_id, day, stage, backend, model, cache_key, messages, options, "
    "response, input_tokens, output_tokens, cost_usd, latency_s, attempt, cached, cached_from, "
    "error, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id"
)


def _values(profile_id: int, call: LLMCall) -> tuple[Any, ...]:
    return (
        profile_id,
        call.run_id,
        call.day,
        call.stage,
        call.backend,
        call.model,
        call.cache_key,
        json.dumps(call.messages, ensure_ascii=False),
        json.dumps(call.options, sort_keys=True),
        call.response,
        call.input_tokens,
        call.output_tokens,
        call.cost_usd,
        None if call.latency_s is None else round(call.latency_s, 4),
        call.attempt,
        int(call.cached_from is not None),
        call.cached_from,
        redact(call.error),
        call.created_at,
    )


class LLMCallRepository:
    def __init__(self, db: Database, profile_id: int = 1):
        self.db = db
        self.profile_id = profile_id  # calls are logged and counted for it; the cache is shared

    def log(self, call: LLMCall) -> int:
        """Append one request to the log; returns its id."""
        with self.db.transaction() as conn:
            return conn.execute(_INSERT, _values(self.profile_id, call)).fetchone()[0]

    def serve_cached(self, call: LLMCall) -> CacheHit | None:
        """The latest usable paid answer for ``call.cache_key``, logged as a hit of ``call``; None if there is none.

        Looked up and logged in one write transaction: the answer cannot be
        marked unusable between the two, and the hit row always points at it.
        """
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT id, response, input_tokens, output_tokens FROM llm_calls "
                "WHERE cache_key = ? AND error IS NULL AND cached = 0 ORDER BY id DESC LIMIT 1",
                (call.cache_key,),
            ).fetchone()
            if row is None:
                return None
            source, response, input_tokens, output_tokens = row
            hit = replace(
                call,
                response=response,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_usd=0.0,
                latency_s=0.0,
                cached_from=source,
            )
            call_id = conn.execute(_INSERT, _values(self.profile_id, hit)).fetchone()[0]
        return CacheHit(call_id, source, response, input_tokens, output_tokens)

    def mark_unusable(self, call_id: int, error: str) -> None:
        """Record why a paid answer is unusable, so it is never served from the cache (hit rows are left alone)."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE llm_calls SET error = ? WHERE id = ? AND cached = 0", (error, call_id))

    def usage(
        self, *, day: str | dt.date | None = None, run_id: int | None = None, stage: str | None = None
    ) -> list[ModelUsage]:
        """Usage per model and backend, over the whole log or the calls of one day, run and/or stage."""
        where, params = _filters({"profile_id": self.profile_id, "day": day, "run_id": run_id, "stage": stage})
        rows = self.db.conn.execute(
            "SELECT model, backend, "
            "SUM(CASE WHEN cached = 0 THEN 1 ELSE 0 END), SUM(cached), "
            "SUM(CASE WHEN cached = 0 AND error IS NOT NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN cached = 0 THEN input_tokens ELSE 0 END), "
            "SUM(CASE WHEN cached = 0 THEN output_tokens ELSE 0 END), "
            "SUM(CASE WHEN cached = 0 THEN cost_usd END), "
            "SUM(CASE WHEN cached = 0 AND cost_usd IS NULL AND output_tokens > 0 THEN 1 ELSE 0 END) "
            f"FROM llm_calls {where} GROUP BY model, backend ORDER BY model",
            params,
        ).fetchall()
        return [
            ModelUsage(
                model=model,
                backend=backend,
                calls=calls,
                cached=cached,
                errors=errors,
                input_tokens=tin,
                output_tokens=tout,
                cost_usd=None if unpriced else cost,
                unpriced=unpriced,
                total_tokens=(tin or 0) + (tout or 0),
            )
            for model, backend, calls, cached, errors, tin, tout, cost, unpriced in rows
        ]

    def recent(self, *, limit: int = 20, stage: str | None = None) -> list[LoggedCall]:
        """The latest ``limit`` calls, newest first."""
        where, params = _filters({"profile_id": self.profile_id, "stage": stage})
        rows = self.db.conn.execute(
            "SELECT id, created_at, run_id, day, stage, backend, model, input_tokens, output_tokens, cost_usd, "
            f"latency_s, attempt, cached, error, response FROM llm_calls {where} ORDER BY id DESC LIMIT ?",
            (*params, limit),
        ).fetchall()
        return [LoggedCall(*r[:12], bool(r[12]), *r[13:]) for r in rows]


def _filters(values: dict[str, Any]) -> tuple[str, Sequence[Any]]:
    # Column names come from the keyword arguments above, never from callers.
    given = {k: v for k, v in values.items() if v is not None}
    if not given:
        return "", ()
    return "WHERE " + " AND ".join(f"{k} = ?" for k in given), [str(v) if k == "day" else v for k, v in given.items()]
