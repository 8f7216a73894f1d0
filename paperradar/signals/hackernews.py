"""Hacker News stories that link an arXiv paper, through the public Algolia search API.

``GET {hn_base_url}/api/v1/search?query=arxiv.org/abs/<id>&restrictSearchableAttributes=url&tags=story``
answers ``{"hits": [{objectID, title, url, points, num_comments, created_at, author}, ...], ...}``.
One query per paper, so queries are capped per run and spaced out; a 429
ends the HN part of the run with a warning and keeps what was found.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from ..core.config import SignalsConfig
from ..core.errors import FeedError, SourceError
from ..core.hookspecs import hookimpl
from ..core.store import Store
from .client import Harvest, RateLimited, Signal, SignalClient, SignalSource

THREAD = "https://news.ycombinator.com/item?id={id}"
# arXiv links come as abs/, pdf/ (with or without .pdf or a version) and html/.
_ARXIV_URL = re.compile(
    r"arxiv\.org/(?:abs|pdf|html)/(?P<id>\d{4}\.\d{4,5}(?!\d)|[a-z\-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?", re.IGNORECASE
)
# Consecutive failed queries after which HN is given up for this run.
MAX_FAILURES = 3


def arxiv_ids_in_url(url: str) -> list[str]:
    return [m.group("id") for m in _ARXIV_URL.finditer(url or "")]


def _count(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {value!r}")
    return int(value)


def parse_search(data: bytes, observed_at: dt.datetime, arxiv_id: str | None = None) -> tuple[list[Signal], list[str]]:
    """Stories linking an arXiv paper (only ``arxiv_id`` when given), and skipped-hit notes."""
    try:
        payload = json.loads(data.decode("utf-8-sig"))
        hits = payload["hits"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise FeedError(f"Hacker News search answer is not the expected JSON ({type(exc).__name__}: {exc}).") from None
    out: list[Signal] = []
    problems: list[str] = []
    for n, hit in enumerate(hits if isinstance(hits, list) else []):
        try:
            story = str(hit["objectID"])
            if not story.isdigit():
                raise ValueError(f"story id {story!r} is not a number")
            url = hit.get("url") or ""
            ids = arxiv_ids_in_url(url)
            points = _count(hit.get("points"))
            comments = _count(hit.get("num_comments"))
            created = hit.get("created_at")
            posted = dt.datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None
            if posted is None and hit.get("created_at_i") is not None:
                posted = dt.datetime.fromtimestamp(_count(hit["created_at_i"]), dt.UTC)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"Hacker News: skipped hit {n} ({type(exc).__name__}: {exc})")
            continue
        if arxiv_id is not None:
            # The search matches words, not the exact URL: 2602.1234 must not match 2602.12345.
            ids = [i for i in ids if i == arxiv_id]
        for i in dict.fromkeys(ids):
            out.append(
                Signal(
                    arxiv_id=i,
                    source="hn",
                    ref=story,
                    observed_at=observed_at,
                    posted_at=posted,
                    value=points,
                    comments=comments,
                    url=THREAD.format(id=story),
                    extra={
                        k: v for k, v in {"title": hit.get("title"), "link": url, "by": hit.get("author")}.items() if v
                    },
                )
            )
    return out, problems


def fetch_search(client: SignalClient, base_url: str, arxiv_id: str) -> bytes:
    return client.get(
        f"{base_url.rstrip('/')}/api/v1/search",
        params={
            "query": f"arxiv.org/abs/{arxiv_id}",
            "restrictSearchableAttributes": "url",
            "tags": "story",
        },
    )


def collect(
    client: SignalClient,
    settings: SignalsConfig,
    arxiv_ids: Sequence[str],
    now: dt.datetime,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[Signal], list[str], int]:
    """Look up each paper; returns (stories found, warnings, queries made)."""
    found: list[Signal] = []
    problems: list[str] = []
    failures = queries = 0
    for n, arxiv_id in enumerate(arxiv_ids[: settings.hn_max_queries]):
        if n and settings.hn_delay_seconds:
            client.sleep(settings.hn_delay_seconds)
        queries += 1
        try:
            data = fetch_search(client, settings.hn_base_url, arxiv_id)
            signals, skipped = parse_search(data, now, arxiv_id)
        except RateLimited as exc:
            problems.append(f"Hacker News lookups stopped after {n} of {len(arxiv_ids)} papers: {exc}")
            break
        except SourceError as exc:
            failures += 1
            problems.append(f"Hacker News lookup of {arxiv_id} failed: {exc}")
            if failures >= MAX_FAILURES:
                problems.append(f"Hacker News lookups stopped after {failures} failures in a row.")
                break
            continue
        failures = 0
        found += signals
        problems += skipped
        if progress:
            progress(1)
    return found, problems, queries


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


def _harvest(client, store, settings, day, now, progress) -> Harvest:
    found, problems, queries = collect(client, settings, hn_query_ids(store, day, settings), now, progress=progress)
    return Harvest(found, problems, queries=queries)


@hookimpl
def register_signal_sources(config):
    return [SignalSource("hn", _harvest)]
