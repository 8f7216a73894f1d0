"""Atom and RSS feeds of the papers paperradar selected, across recent days.

Entry ids are the paper's arXiv abs URL plus the listing day as a fragment:
stable across reruns (a feed reader never shows a paper twice because the
day was processed again) yet distinct when a paper is selected on two days.
Entry dates are the listing's publication time (20:00 US Eastern the evening
before its date), not the run time, for the same reason.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from feedgen.feed import FeedGenerator

from ..core.config import Config
from ..core.digest import Digest, DigestEntry
from ..core.files import write_text_atomic
from ..core.hookspecs import hookimpl
from ..core.schedule import announcement_time
from .archive import recent_digests
from .channels import DeliveryChannel, DeliveryResult
from .html import MAX_AUTHORS, authors_text, clean, reason_text, render_entry_html, truncate

FEED_FILES = {"atom": "atom.xml", "rss": "rss.xml"}


def entry_id(entry: DigestEntry, day: dt.date) -> str:
    return f"{entry.paper.abs_url}#{day.isoformat()}"


def feed_id(config: Config) -> str:
    if config.site.base_url:
        return config.site.base_url.rstrip("/") + "/" + FEED_FILES["atom"]
    # No public URL: a UUID derived from the output folder stays the same
    # for every rebuild on this installation.
    return uuid.uuid5(uuid.NAMESPACE_URL, f"paperradar:{config.output_dir}").urn


def build_feed(digests: list[Digest], config: Config) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(feed_id(config))
    fg.title(clean(config.feed.title))
    fg.subtitle(f"New arXiv papers selected by paperradar from {', '.join(config.categories)}")
    fg.author({"name": "paperradar"})
    fg.language("en")
    fg.generator("paperradar")
    base = config.site.base_url.rstrip("/")
    if base:
        fg.link(href=f"{base}/{FEED_FILES['atom']}", rel="self", type="application/atom+xml")
        fg.link(href=f"{base}/", rel="alternate", type="text/html")
    else:
        fg.link(href="https://arxiv.org/", rel="alternate", type="text/html")
    newest = None
    # feedgen prepends each added entry: add oldest day first and, within a
    # day, the best paper last, so readers get newest day, best paper first.
    for digest in sorted(digests, key=lambda d: d.day):
        published = announcement_time(digest.day)
        newest = max(newest or published, published)
        top = sorted(digest.entries, key=lambda e: e.rank)[: config.feed.per_day]
        for entry in reversed(top):
            p = entry.paper
            fe = fg.add_entry()
            fe.id(entry_id(entry, digest.day))
            fe.guid(entry_id(entry, digest.day), permalink=False)
            fe.title(clean(p.title))
            # One link only: feedgen 1.0 drops rel on entry links, so a second
            # one would be a second "alternate", which RFC 4287 forbids.
            fe.link(href=p.abs_url, rel="alternate", type="text/html")
            for name in p.authors[:MAX_AUTHORS]:
                fe.author({"name": clean(name) or "unknown"})
            fe.published(published)
            fe.updated(published)
            for cat in p.categories:
                fe.category(term=clean(cat))
            why = "; ".join(reason_text(r) for r in entry.reasons)
            summary = f"{authors_text(p)}. {('Why: ' + why + '. ') if why else ''}{truncate(p.abstract, 600)}"
            fe.summary(summary)
            fe.content(render_entry_html(entry), type="html")
    fg.updated(newest or dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
    return fg


def write_feeds(config: Config, target_dir: Path | None = None) -> dict[str, Path]:
    """Write atom.xml and rss.xml for the last ``feed.days`` digests; return their paths."""
    target = target_dir or config.output_dir
    fg = build_feed(recent_digests(config.output_dir, config.feed.days), config)
    return {
        "atom": write_text_atomic(target / FEED_FILES["atom"], fg.atom_str(pretty=True).decode("utf-8")),
        "rss": write_text_atomic(target / FEED_FILES["rss"], fg.rss_str(pretty=True).decode("utf-8")),
    }


def _deliver_feeds(store, config: Config, digest: Digest, force: bool) -> list[DeliveryResult]:
    # The feeds are rebuilt from the written digests, so this day's is already in them.
    return [
        DeliveryResult(kind if kind == "rss" else "atom", str(path), "written")
        for kind, path in write_feeds(config).items()
    ]


@hookimpl
def register_delivery_channels(config):
    return [
        DeliveryChannel(
            "rss",
            lambda c: c.feed.enabled,
            _deliver_feeds,
            None,  # written on request even when [feed] leaves it off
            push=False,
        )
    ]
