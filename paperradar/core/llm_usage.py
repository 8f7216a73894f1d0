"""The LLM log for people: `paperradar llm-log` as a Rich table."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from .store import Store


def llm_log_table(store: Store, *, totals: bool = False, stage: str | None = None, limit: int = 20) -> Table:
    """A rich Table for `paperradar llm-log`: recent calls, or totals per model."""

    def money(v):
        return "n/a" if v is None else f"${v:.4f}"

    if totals:
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
        for u in store.llm_calls.usage(stage=stage):
            table.add_row(
                u.model,
                u.backend,
                str(u.calls),
                str(u.cached),
                str(u.errors),
                f"{u.input_tokens:,}",
                f"{u.output_tokens:,}",
                f"{u.total_tokens:,}",
                money(u.cost_usd),
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
    for c in store.llm_calls.recent(limit=limit, stage=stage):
        if c.cached:
            outcome = "cached"
        elif c.error:
            outcome = Text(c.error[:60], style="red")
        else:
            outcome = f"ok (attempt {c.attempt})" if c.attempt > 1 else "ok"
        table.add_row(
            str(c.id),
            c.created_at,
            str(c.run_id or ""),
            c.day or "",
            c.stage,
            c.model,
            f"{c.input_tokens}/{c.output_tokens}",
            "—" if c.cached else money(c.cost_usd),
            "" if c.latency_s is None else f"{c.latency_s:.2f}",
            outcome,
        )
    return table
