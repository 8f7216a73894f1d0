"""Hugging Face Daily Papers: the community's upvoted list of arXiv papers.

``GET {hf_base_url}/api/daily_papers?date=YYYY-MM-DD`` answers a JSON list;
each item has a ``paper`` (``id`` = arXiv id, title, summary, authors,
upvotes, optional githubRepo), ``numComments`` and who submitted it. The
parse function is pure (bytes → records) so recorded answers test it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from typing import Any

from ..core.config import SignalsConfig
from ..core.errors import FeedError, SourceError
from ..core.hookspecs import hookimpl
from ..core.models import split_arxiv_id
from .client import Harvest, Signal, SignalClient, SignalSource

PAPER_PAGE = "https://huggingface.co/papers/{id}"


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {value!r}")
    return int(value)


def _when(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _safe_url(value: Any) -> str | None:
    # It is put into Markdown and HTML links: nothing that could close or escape one.
    if isinstance(value, str) and re.fullmatch(r"https?://[^\s()<>\[\]\"']+", value):
        return value
    return None


def _submitter(item: dict) -> str | None:
    for key in ("submittedOnDailyBy", "submittedBy"):
        who = item.get(key) or item.get("paper", {}).get(key)
        if isinstance(who, dict):
            return who.get("fullname") or who.get("name")
    return None


def parse_daily_papers(data: bytes, listing_day: dt.date, observed_at: dt.datetime) -> tuple[list[Signal], list[str]]:
    """Records from one day's listing, and a note per item that had to be skipped."""
    try:
        items = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(f"Hugging Face daily papers for {listing_day} is not JSON ({exc}).") from None
    if isinstance(items, dict):
        # An error answer ({"error": ...}) or a wrapped list.
        if "error" in items:
            raise FeedError(f"Hugging Face daily papers for {listing_day}: {items['error']}")
        items = items.get("papers") or items.get("items") or []
    if not isinstance(items, list):
        raise FeedError(f"Hugging Face daily papers for {listing_day}: expected a list, got {type(items).__name__}.")
    midnight = dt.datetime.combine(listing_day, dt.time(), tzinfo=dt.UTC)
    out: list[Signal] = []
    problems: list[str] = []
    for n, item in enumerate(items):
        try:
            paper = item["paper"]
            arxiv_id, _ = split_arxiv_id(str(paper["id"]))
            upvotes = _int(paper.get("upvotes", 0))
            comments = _int(item.get("numComments", 0) or 0)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append(f"Hugging Face {listing_day}: skipped item {n} ({type(exc).__name__}: {exc})")
            continue
        posted = _when(paper.get("submittedOnDailyAt")) or midnight
        authors = [a.get("name") for a in paper.get("authors") or [] if isinstance(a, dict) and a.get("name")]
        extra = {
            "title": " ".join(str(paper.get("title") or item.get("title") or "").split()),
            "authors": authors,
            "published_at": paper.get("publishedAt") or item.get("publishedAt"),
            "github": _safe_url(paper.get("githubRepo")),
            "submitted_by": _submitter(item),
        }
        out.append(
            Signal(
                arxiv_id=arxiv_id,
                source="hf",
                ref=listing_day.isoformat(),
                observed_at=observed_at,
                posted_at=posted,
                value=upvotes,
                comments=comments,
                url=PAPER_PAGE.format(id=arxiv_id),
                extra={k: v for k, v in extra.items() if v},
            )
        )
    return out, problems


def fetch_daily_papers(client: SignalClient, base_url: str, day: dt.date) -> bytes:
    return client.get(f"{base_url.rstrip('/')}/api/daily_papers", params={"date": day.isoformat()})


def collect(
    client: SignalClient,
    settings: SignalsConfig,
    day: dt.date,
    now: dt.datetime,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[Signal], list[str]]:
    """Every listing of the window ending on ``day``; a failing day is a warning, not an error."""
    found: list[Signal] = []
    problems: list[str] = []
    for back in range(settings.window_days):
        listing_day = day - dt.timedelta(days=back)
        try:
            data = fetch_daily_papers(client, settings.hf_base_url, listing_day)
            signals, skipped = parse_daily_papers(data, listing_day, now)
        except FeedError as exc:
            problems.append(f"Hugging Face daily papers skipped: {exc}")
            continue
        except SourceError as exc:
            problems.append(f"Hugging Face daily papers skipped: {exc}")
            # An unreachable or rate-limiting server would refuse the other days too.
            break
        found += signals
        problems += skipped
        if progress:
            progress(1)
    return found, problems


def _harvest(client, store, settings, day, now, progress) -> Harvest:
    found, problems = collect(client, settings, day, now, progress=progress)
    return Harvest(found, problems, skipped=len(problems))


@hookimpl
def register_signal_sources(config):
    return [SignalSource("hf", _harvest)]
