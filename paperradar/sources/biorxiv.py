"""bioRxiv and medRxiv through the public details API.

``GET https://api.biorxiv.org/details/{server}/{from}/{to}/{cursor}?category=...``
answers up to 100 postings per page, oldest first, with ``messages[0].total``
and ``count`` for paging by cursor. Every version of a preprint is a posting of
its own (``version`` "1", "2", ...): as with arXiv, the highest version wins and
a version above 1 is a replacement, kept out of the digest unless
``include_replacements`` is set. A day without postings answers
``{"messages": [{"status": "no posts found"}], "collection": []}``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..core.dedup import normalize_doi
from ..core.errors import FeedError
from ..core.models import Location, Paper
from ..core.source_settings import BiorxivSourceConfig
from .base import Listing
from .http import PoliteClient

log = logging.getLogger(__name__)

SITES = {"biorxiv": "https://www.biorxiv.org", "medrxiv": "https://www.medrxiv.org"}


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def author_names(raw: str) -> list[str]:
    """bioRxiv's ``"Smith, J.; van der Berg, A. B."`` -> ``["J. Smith", "A. B. van der Berg"]``."""
    names = []
    for chunk in raw.split(";"):
        chunk = _text(chunk)
        if not chunk:
            continue
        family, _, given = chunk.partition(",")
        names.append(f"{given.strip()} {family.strip()}".strip() if given.strip() else family.strip())
    return names


def parse_details(data: Any, *, server: str, source: str) -> tuple[list[Paper], int]:
    """The postings of one page of a details answer, and the total the server reports (0 if none)."""
    if not isinstance(data, dict) or not isinstance(data.get("collection", []), list):
        raise FeedError(f"{source}: the details API answered {type(data).__name__}, not a page of postings.")
    messages = data.get("messages") or [{}]
    status = _text(messages[0].get("status")).lower()
    if status and status != "ok" and status != "no posts found":
        raise FeedError(f"{source}: the details API answered {status!r}; check the categories and dates.")
    try:
        total = int(messages[0].get("total") or 0)
    except (TypeError, ValueError):
        total = 0
    papers = []
    for n, item in enumerate(data.get("collection") or []):
        doi = normalize_doi(_text(item.get("doi")) if isinstance(item, dict) else None)
        title = _text(item.get("title")) if isinstance(item, dict) else ""
        if not doi or not title:
            log.warning("%s: skipped posting %d: it has no DOI or no title", source, n)
            continue
        try:
            version = int(item.get("version") or 1)
        except (TypeError, ValueError):
            version = 1
        try:
            posted = dt.date.fromisoformat(_text(item.get("date")))
        except ValueError:
            posted = None
        category = _text(item.get("category")).lower() or None
        published = normalize_doi(_text(item.get("published")))
        extra = {"type": _text(item.get("type"))} if item.get("type") else {}
        if published:
            extra["published_doi"] = published
        papers.append(
            Paper(
                arxiv_id=f"doi:{doi}",
                version=version,
                title=title,
                abstract=_text(item.get("abstract")),
                authors=author_names(_text(item.get("authors"))),
                categories=[category] if category else [],
                primary_category=category,
                announce_type="new" if version == 1 else "replace",
                announced=posted,
                submitted=dt.datetime.combine(posted, dt.time(), tzinfo=dt.UTC) if posted else None,
                doi=doi,
                locations=[
                    Location(
                        source=source,
                        kind=server,
                        source_id=doi,
                        url=f"{SITES[server]}/content/{doi}v{version}",
                        version=version,
                        extra=extra,
                    )
                ],
            )
        )
    return papers, total


class BiorxivSource:
    def __init__(self, cfg: BiorxivSourceConfig, *, sleep: Callable[[float], None]):
        self.name = cfg.label
        self.kind = cfg.type
        self.cfg = cfg
        self.client = PoliteClient.for_source(
            cfg,
            hint=f"check base_url and categories of the [[sources]] table {self.name!r}",
            sleep=sleep,
        )

    def close(self) -> None:
        self.client.close()

    def _pages(self, start: dt.date, end: dt.date, category: str | None) -> Iterator[Paper]:
        base = self.cfg.base_url.rstrip("/")
        cursor = 0
        while True:
            url = f"{base}/details/{self.kind}/{start.isoformat()}/{end.isoformat()}/{cursor}"
            params = {"category": category.replace(" ", "_")} if category else None
            data = self.client.get_json(url, params)
            papers, total = parse_details(data, server=self.kind, source=self.name)
            yield from papers
            count = len((data or {}).get("collection") or [])
            cursor += count
            if not count or cursor >= total:
                return

    def fetch(self, day: dt.date, known: Sequence[Paper] = ()) -> Listing:
        start = day - dt.timedelta(days=self.cfg.days - 1)
        best: dict[str, Paper] = {}
        for category in self.cfg.categories or [None]:
            for p in self._pages(start, day, category):
                if p.arxiv_id not in best or p.version > best[p.arxiv_id].version:
                    best[p.arxiv_id] = p.model_copy(update={"announced": day})
        papers = list(best.values())
        where = ", ".join(self.cfg.categories) or "all categories"
        return Listing(papers, f"{self.name}: {len(papers)} postings in {where} from {start} to {day}")
