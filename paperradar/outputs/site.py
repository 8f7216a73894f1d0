"""A static site of all digests: one page per day plus an index, and the feeds.

Every link is relative, so the folder works from any URL prefix (a GitHub
Pages project site lives under /<repo>/) and straight from disk. Pages need
no JavaScript; they are the same HTML as the e-mail, with navigation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..core.config import Config
from ..core.digest import Digest
from ..core.files import write_text_atomic
from ..core.hookspecs import hookimpl
from .archive import recent_digests
from .channels import DeliveryChannel, DeliveryResult
from .feed import FEED_FILES, write_feeds
from .html import clean, environment, long_date, render_html


@dataclass
class SiteResult:
    dir: Path
    pages: int
    index: Path


def page_name(day) -> str:
    return f"{day.isoformat()}.html"


def build_site(config: Config, target_dir: Path | None = None) -> SiteResult:
    """(Re)write the whole site from the digests in ``output_dir``."""
    target = target_dir or config.site.dir
    target.mkdir(parents=True, exist_ok=True)
    digests = recent_digests(config.output_dir)  # newest first
    title = config.site.title
    feeds = {}
    if config.feed.enabled:
        write_feeds(config, target)
        feeds = {kind: name for kind, name in FEED_FILES.items()}
    for i, digest in enumerate(digests):
        newer = digests[i - 1] if i > 0 else None
        older = digests[i + 1] if i + 1 < len(digests) else None
        nav = {
            "index": "index.html",
            "prev": page_name(older.day) if older else None,
            "prev_label": long_date(older.day) if older else None,
            "next": page_name(newer.day) if newer else None,
            "next_label": long_date(newer.day) if newer else None,
        }
        html = render_html(digest, nav=nav, feeds=feeds, site_title=title)
        write_text_atomic(target / page_name(digest.day), html)
    days = [
        {
            "day": d.day,
            "href": page_name(d.day),
            "counts": d.counts,
            "top": [clean(e.paper.title) for e in sorted(d.entries, key=lambda e: e.rank)[:3]],
        }
        for d in digests
    ]
    index_html = environment().get_template("index.html.j2").render(days=days, feeds=feeds, site_title=title)
    index = write_text_atomic(target / "index.html", index_html)
    # GitHub Pages would otherwise run Jekyll over the folder.
    (target / ".nojekyll").touch()
    return SiteResult(dir=target, pages=len(digests), index=index)


def _deliver_site(store, config: Config, digest: Digest, force: bool) -> list[DeliveryResult]:
    site = build_site(config)
    return [DeliveryResult("site", str(site.index), "written", 0, f"{site.pages} day pages")]


@hookimpl
def register_delivery_channels(config):
    return [
        DeliveryChannel(
            "site",
            lambda c: c.site.enabled,
            _deliver_site,
            None,  # written on request even when [site] leaves it off
            push=False,
        )
    ]
