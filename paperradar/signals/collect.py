"""Trending and discussion signals: what the community is upvoting and discussing.

Two sources feed one time series (the ``signals`` table): Hugging Face Daily
Papers (upvotes, comments) and Hacker News stories linking an arXiv paper
(points, comments). Every fetch adds an observation; :mod:`paperradar.signals.trending`
reads the latest observation of each listing or story and decays it by age.

Fetching is kept apart from parsing (``paperradar.signals.huggingface`` and
``.hackernews`` turn response bytes into :class:`Signal` records), and a source
that fails never fails the daily run: it becomes a warning.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..core.config import Config, SignalsConfig
from ..core.context import Stage
from ..core.hookspecs import hookimpl
from ..core.store import Store
from .client import Signal, SignalClient

# Longest Retry-After we honour; a server asking for more is treated as "not now".


# -- store ------------------------------------------------------------------


def _iso(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat(timespec="seconds")


def save_signals(store: Store, signals: Iterable[Signal]) -> int:
    """Store observations (idempotent per source, story/listing, paper and time)."""
    n = 0
    with store.transaction() as conn:
        for s in signals:
            conn.execute(
                "INSERT INTO signals (arxiv_id, source, ref, observed_at, posted_at, value, comments, url, extra) "
                "VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(source, ref, arxiv_id, observed_at) DO UPDATE SET "
                "value=excluded.value, comments=excluded.comments, url=excluded.url, extra=excluded.extra, "
                "posted_at=excluded.posted_at",
                (
                    s.arxiv_id,
                    s.source,
                    s.ref,
                    _iso(s.observed_at),
                    _iso(s.posted_at),
                    s.value,
                    s.comments,
                    s.url,
                    json.dumps(s.extra, ensure_ascii=False),
                ),
            )
            n += 1
    return n


def latest_signals(
    store: Store, *, until: dt.datetime, since: dt.datetime, arxiv_ids: Iterable[str] | None = None
) -> list[Signal]:
    """One observation of each story/listing posted between ``since`` and ``until``.

    The newest one made by ``until``, so rebuilding an old digest shows what it
    showed then; failing that (signals fetched after the day, as in a
    backfill) the first one made after it.
    """
    end = _iso(until)
    params: list[Any] = [end, end, end, _iso(since)]
    where = ""
    if arxiv_ids is not None:
        ids = list(arxiv_ids)
        if not ids:
            return []
        where = f"AND arxiv_id IN ({','.join('?' * len(ids))})"
        params += ids
    rows = store.conn.execute(
        "SELECT arxiv_id, source, ref, observed_at, posted_at, value, comments, url, extra FROM ("
        "  SELECT *, ROW_NUMBER() OVER (PARTITION BY source, ref, arxiv_id ORDER BY observed_at > ?,"
        "    CASE WHEN observed_at <= ? THEN observed_at END DESC, observed_at) AS rn"
        "  FROM signals WHERE COALESCE(posted_at, observed_at) <= ? AND COALESCE(posted_at, observed_at) >= ? "
        f"  {where}) WHERE rn = 1 ORDER BY arxiv_id, source, ref",
        params,
    ).fetchall()
    return [
        Signal(
            arxiv_id=r[0],
            source=r[1],
            ref=r[2],
            observed_at=r[3],
            posted_at=r[4],
            value=r[5],
            comments=r[6],
            url=r[7],
            extra=json.loads(r[8]),
        )
        for r in rows
    ]


# -- collecting -------------------------------------------------------------


def make_signal_client(settings: SignalsConfig) -> SignalClient:
    """The client a run uses (tests replace this to skip the retry waits)."""
    return SignalClient(timeout=settings.timeout_seconds)


@dataclass
class SignalReport:
    hf: int = 0
    hn: int = 0
    hn_queries: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_detail(self) -> dict:
        return {
            "hf": self.hf,
            "hn": self.hn,
            "hn_queries": self.hn_queries,
            "skipped": self.skipped,
            "warnings": self.warnings,
        }


def hn_query_ids(store: Store, day: dt.date, settings: SignalsConfig) -> list[str]:
    """Which papers to look up on HN, most worth it first, at most hn_max_queries.

    Papers already discussed get refreshed (their points grow), then the
    shortlists of the window's days, newest day and best rank first: one query
    per paper, so the whole day's listing is out of reach.
    """
    start = (day - dt.timedelta(days=settings.window_days)).isoformat()
    known = [
        r[0]
        for r in store.conn.execute(
            "SELECT arxiv_id FROM signals WHERE source = 'hn' AND posted_at >= ? "
            "GROUP BY arxiv_id ORDER BY max(value) DESC",
            (start,),
        )
    ]
    shortlisted = [
        r[0]
        for r in store.conn.execute(
            "SELECT arxiv_id FROM candidates WHERE shortlisted = 1 AND day > ? AND day <= ? ORDER BY day DESC, rank",
            (start, day.isoformat()),
        )
    ]
    out: list[str] = []
    for i in known + shortlisted:
        if i not in out:
            out.append(i)
    return out[: settings.hn_max_queries]


def collect_signals(
    store: Store,
    config: Config,
    day: dt.date,
    *,
    client: SignalClient | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> SignalReport:
    """Fetch HF and HN signals for the window ending on ``day``; never raises SourceError."""
    from . import hackernews, huggingface

    settings = config.signals
    report = SignalReport()
    if not settings.sources:
        return report
    own = client is None
    client = client or make_signal_client(settings)
    now = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        if "hf" in settings.sources:
            found, problems = huggingface.collect(client, settings, day, now, progress=progress)
            report.hf = save_signals(store, found)
            report.skipped += len(problems)
            report.warnings += problems
        if "hn" in settings.sources:
            ids = hn_query_ids(store, day, settings)
            found, problems, queries = hackernews.collect(client, settings, ids, now, progress=progress)
            report.hn = save_signals(store, found)
            report.hn_queries = queries
            report.warnings += problems
    finally:
        if own:
            client.close()
    return report


def stage_signals(ctx) -> dict:
    """Pipeline stage: runs after the prefilter so HN looks up today's shortlist."""
    if not ctx.config.signals.sources:
        return {"skipped": "no sources"}
    with ctx.reporter.task("Fetching trending and discussion signals") as advance:
        report = collect_signals(ctx.store, ctx.config, ctx.day, progress=advance)
    for w in report.warnings:
        ctx.reporter.info(w)
    return report.as_detail()


@hookimpl
def register_stages(config):
    return [Stage("signals", stage_signals, sections=("signals", "trending"))]
