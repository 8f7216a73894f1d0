"""The source interface: anything that lists a day's papers.

A source turns one configured ``[[sources]]`` table into :class:`Listing`s of
:class:`~paperradar.models.Paper` records, each carrying the
:class:`~paperradar.models.Location` it was found at. What happens next (one
record per work, announcements, embeddings) is the same for every source.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..models import Paper
from .settings import SourceConfig


@dataclass
class Listing:
    """What a source listed for a day; ``message`` says what happened in words."""

    papers: list[Paper] = field(default_factory=list)
    message: str = ""


class Source(Protocol):
    name: str
    kind: str

    def fetch(self, day: dt.date, known: Sequence[Paper] = ()) -> Listing:
        """The papers this source has for ``day``; ``known`` holds what earlier sources listed that day."""
        ...

    def close(self) -> None: ...


def make_source(
    cfg: SourceConfig,
    categories: list[str],
    *,
    arxiv_client=None,
    sleep: Callable[[float], None] = time.sleep,
    environ: dict[str, str] | None = None,
) -> Source:
    """The client for one ``[[sources]]`` table; ``categories`` are the default arXiv categories."""
    from .biorxiv import BiorxivSource
    from .feeds import FeedSource

    if cfg.type == "arxiv":
        from .arxiv_source import ArxivSource

        return ArxivSource(cfg, cfg.categories or categories, client=arxiv_client)
    if cfg.type in ("biorxiv", "medrxiv"):
        return BiorxivSource(cfg, sleep=sleep)
    if cfg.type == "feed":
        return FeedSource(cfg, sleep=sleep)
    if cfg.type == "openreview":
        from .openreview import OpenReviewSource

        return OpenReviewSource(cfg, sleep=sleep)
    from .semanticscholar import SemanticScholarSource

    env = os.environ if environ is None else environ
    return SemanticScholarSource(cfg, api_key=env.get(cfg.api_key_env) or None, sleep=sleep)
