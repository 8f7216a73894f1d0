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
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..core.config import Config, SignalsConfig
from ..core.context import Stage
from ..core.hookspecs import hookimpl
from ..core.store import Store
from .client import Signal, SignalClient

# -- store ------------------------------------------------------------------


def save_signals(store: Store, signals: Iterable[Signal]) -> int:
    """Store observations (idempotent per source, story/listing, paper and time)."""
    return store.signals.save(signals)


def latest_signals(
    store: Store, *, until: dt.datetime, since: dt.datetime, arxiv_ids: Iterable[str] | None = None
) -> list[Signal]:
    """One observation of each story/listing posted between ``since`` and ``until`` (see SignalRepository.latest)."""
    return store.signals.latest(until=until, since=since, arxiv_ids=arxiv_ids)


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
    start = day - dt.timedelta(days=settings.window_days)
    known = store.signals.discussed("hn", start.isoformat())
    shortlisted = store.signals.shortlisted(start, day)
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
