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
from ..core.plugins import collect
from ..core.store import Store
from .client import Signal, SignalClient, SignalSource

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
    saved: dict[str, int] = field(default_factory=dict)  # observations stored, per source
    queries: dict[str, int] = field(default_factory=dict)  # requests made, per rationed source
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_detail(self) -> dict:
        # "hf": 12, "hn": 3, "hn_queries": 40, … as `paperradar runs` has always shown them.
        rationed = {f"{name}_queries": n for name, n in self.queries.items() if n}
        return {**self.saved, **rationed, "skipped": self.skipped, "warnings": self.warnings}


def signal_sources(config: Config) -> list[SignalSource]:
    """The registered signal sources, in plugin order (built-in: Hugging Face, then Hacker News)."""
    return collect("register_signal_sources", config=config)


def collect_signals(
    store: Store,
    config: Config,
    day: dt.date,
    *,
    client: SignalClient | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> SignalReport:
    """Read every configured signal source for the window ending on ``day``; never raises SourceError."""
    settings = config.signals
    report = SignalReport()
    if not settings.sources:
        return report
    own = client is None
    client = client or make_signal_client(settings)
    now = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        for source in signal_sources(config):
            if source.name not in settings.sources:
                continue
            harvest = source.collect(client, store, settings, day, now, progress)
            report.saved[source.name] = save_signals(store, harvest.found)
            report.queries[source.name] = harvest.queries
            report.skipped += harvest.skipped
            report.warnings += harvest.warnings
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
