"""The client for one ``[[sources]]`` table, whichever type it names."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from ..core.source_settings import SourceConfig
from .base import Source


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
