"""Any RSS or Atom feed: journals, lab blogs, other preprint servers.

Feeds differ in what they carry, so each entry is read for what it has: a
DOI from ``prism:doi``, ``dc:identifier``, the id, the link or the summary
(in that order); an arXiv id when the entry links arXiv (so a blog post about
an arXiv paper joins that paper's record); authors from ``dc:creator`` or
``author``. Entries published within ``days`` of the run's day are listed;
a feed that keeps old entries lists them again, which the store recognises.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import logging
import re
import time
from collections.abc import Callable, Sequence

import feedparser

from ..core.dedup import find_doi
from ..core.errors import FeedError
from ..core.models import Location, Paper, split_arxiv_id
from ..core.source_settings import FeedSourceConfig
from .base import Listing
from .http import PoliteClient

log = logging.getLogger(__name__)

_TAG = re.compile(r"<[^>]+>")
_ARXIV_LINK = re.compile(r"arxiv\.org/(?:abs|pdf)/([^\s?#\"'<>]+)", re.IGNORECASE)
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


def _text(value: str | None) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", value or "")).split())


def _date(entry) -> dt.date | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        if parsed := entry.get(key):
            return dt.date(*parsed[:3])
    return None


def _authors(entry) -> list[str]:
    names = [_text(a.get("name")) for a in entry.get("authors") or [] if _text(a.get("name"))]
    if len(names) == 1 and ";" in names[0]:
        names = [n.strip() for n in names[0].split(";") if n.strip()]
    return names or ([_text(entry.get("author"))] if _text(entry.get("author")) else [])


def _arxiv_id(*texts: str | None) -> str | None:
    for text in texts:
        m = _ARXIV_LINK.search(text or "")
        if m:
            try:
                return split_arxiv_id(m.group(1).removesuffix(".pdf"))[0]
            except ValueError:
                continue
    return None


def parse_feed(data: bytes, *, source: str) -> tuple[str, list[tuple[Paper, dt.date | None]]]:
    """The feed's title and its entries as papers, each with its publication date if it has one."""
    if not isinstance(data, bytes):
        raise TypeError("parse the response body as bytes")
    parsed = feedparser.parse(data, resolve_relative_uris=False)
    problem = parsed.get("bozo_exception") if parsed.bozo else None
    if isinstance(problem, _BENIGN_BOZO):
        problem = None
    if not parsed.get("version") or (problem and not parsed.entries):
        start = " ".join(data[:120].decode("utf-8", "replace").split()) or "an empty body"
        why = f"{type(problem).__name__}: {problem}" if problem else f"it starts with {start!r}"
        raise FeedError(f"{source} is not a readable RSS or Atom feed ({why}); check the url of this source.")
    title = _text(parsed.feed.get("title")) or source
    out = []
    for n, entry in enumerate(parsed.entries):
        name = _text(entry.get("title"))
        link = entry.get("link") or ""
        entry_id = (entry.get("id") or link or "").strip()
        if not name or not entry_id:
            log.warning("%s: skipped entry %d: it has no title or no id/link", source, n)
            continue
        summary = entry.get("summary") or ""
        doi = find_doi(entry.get("prism_doi"), entry.get("dc_identifier"), entry_id, link, summary)
        arxiv = _arxiv_id(link, entry_id)
        if arxiv:
            key = arxiv
        elif doi:
            key = f"doi:{doi}"
        else:
            key = f"{source}:{hashlib.sha1(entry_id.encode()).hexdigest()[:16]}"
        terms = [t for tag in entry.get("tags") or [] if (t := _text(tag.get("term")))]
        out.append(
            (
                Paper(
                    arxiv_id=key,
                    title=name,
                    abstract=_text(summary),
                    authors=_authors(entry),
                    categories=list(dict.fromkeys(terms)),
                    primary_category=terms[0] if terms else None,
                    doi=doi,
                    locations=[
                        Location(
                            source=source, kind="feed", source_id=entry_id, url=link or None, extra={"feed": title}
                        )
                    ],
                ),
                _date(entry),
            )
        )
    if problem:
        log.warning(
            "%s: the feed is not well-formed (%s); using the %d entries that could be read", source, problem, len(out)
        )
    return title, out


class FeedSource:
    kind = "feed"

    def __init__(self, cfg: FeedSourceConfig, *, sleep: Callable[[float], None] = time.sleep):
        self.name = cfg.label
        self.cfg = cfg
        self.client = PoliteClient.for_source(
            cfg,
            hint=f"check the url of the [[sources]] table {self.name!r}",
            sleep=sleep,
        )

    def close(self) -> None:
        self.client.close()

    def fetch(self, day: dt.date, known: Sequence[Paper] = ()) -> Listing:
        title, entries = parse_feed(self.client.get(self.cfg.url), source=self.name)
        start = day - dt.timedelta(days=self.cfg.days - 1)
        papers = [
            p.model_copy(update={"announced": day, "submitted": _midnight(when)})
            for p, when in entries
            # Undated entries count as today's: the store knows the ones it has seen.
            if when is None or start <= when <= day
        ]
        return Listing(papers, f"{self.name} ({title}): {len(papers)} entries from {start} to {day}")


def _midnight(day: dt.date | None) -> dt.datetime | None:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) if day else None
