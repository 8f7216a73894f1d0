"""Semantic Scholar (Graph API): followed authors, papers citing yours, citation counts.

- ``GET /author/{id}/papers`` — a followed author's papers, on any venue or
  server; those published within ``days`` of the run's day are listed.
- ``GET /paper/{ARXIV:id|DOI:doi}/citations`` — papers citing one of yours;
  recent ones are listed with a ``cites`` fact that the prefilter lifts.
- ``POST /paper/batch`` — citation counts of the day's papers from the other
  sources, kept as a fact of each work (shown in digests, a prefilter signal).

Both list endpoints page by ``offset``/``next``. Without an API key the
service shares one pool among all anonymous users and often answers 429 with
Retry-After; the key (optional) is read from the variable ``api_key_env`` names.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..core.dedup import normalize_doi
from ..core.errors import FeedError, SourceError
from ..core.models import Location, Paper, split_arxiv_id
from ..core.source_settings import SemanticScholarSourceConfig, s2_id
from .base import Listing
from .http import PoliteClient

log = logging.getLogger(__name__)

FIELDS = "paperId,externalIds,url,title,abstract,venue,publicationDate,citationCount,authors"
BATCH_SIZE = 500
PAGE_SIZE = 100  # results asked for per page of author papers and of citations


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(_text(value))
    except ValueError:
        return None


def paper_of(item: Any, *, source: str, extra: dict[str, Any] | None = None) -> Paper | None:
    """One Graph API paper object as a :class:`Paper` keyed by arXiv id, DOI or S2 id; None if unusable."""
    if not isinstance(item, dict) or not item.get("paperId") or not _text(item.get("title")):
        return None
    ids = item.get("externalIds") or {}
    doi = normalize_doi(ids.get("DOI"))
    arxiv = None
    if ids.get("ArXiv"):
        try:
            arxiv = split_arxiv_id(str(ids["ArXiv"]))[0]
        except ValueError:
            arxiv = None
    key = arxiv or (f"doi:{doi}" if doi else f"s2:{item['paperId']}")
    published = _date(item.get("publicationDate"))
    facts = {"citation_count": item["citationCount"]} if isinstance(item.get("citationCount"), int) else {}
    if _text(item.get("venue")):
        facts["venue"] = _text(item.get("venue"))
    facts.update(extra or {})
    return Paper(
        arxiv_id=key,
        title=_text(item.get("title")),
        abstract=_text(item.get("abstract")),
        authors=[_text(a.get("name")) for a in item.get("authors") or [] if isinstance(a, dict) and a.get("name")],
        doi=doi,
        submitted=dt.datetime.combine(published, dt.time(), tzinfo=dt.UTC) if published else None,
        locations=[
            Location(
                source=source,
                kind="semanticscholar",
                source_id=item["paperId"],
                url=_text(item.get("url")) or f"https://www.semanticscholar.org/paper/{item['paperId']}",
                extra=facts,
            )
        ],
    )


class SemanticScholarSource:
    kind = "semanticscholar"

    def __init__(self, cfg: SemanticScholarSourceConfig, *, api_key: str | None, sleep: Callable[[float], None]):
        self.name = cfg.label
        self.cfg = cfg
        self.base = cfg.base_url.rstrip("/")
        self.client = PoliteClient.for_source(
            cfg,
            headers={"x-api-key": api_key} if api_key else None,
            hint=f"check the author ids and my_papers of the [[sources]] table {self.name!r}"
            + ("" if api_key else f", or set {cfg.api_key_env} to an API key"),
            sleep=sleep,
        )
        self.warnings: list[str] = []

    def close(self) -> None:
        self.client.close()

    def _pages(self, path: str, limit: int | None = None) -> Iterator[dict]:
        offset, seen = 0, 0
        while limit is None or seen < limit:
            # Ask for no more than the limit leaves, so max_citations bounds the download, not just the use.
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - seen)
            data = self.client.get_json(f"{self.base}{path}", {"fields": FIELDS, "offset": offset, "limit": size})
            if not isinstance(data, dict) or not isinstance(data.get("data"), list):
                raise FeedError(f"{self.name}: {path} did not answer a page of results ({str(data)[:120]!r}).")
            for item in data["data"][: None if limit is None else limit - seen]:
                yield item
                seen += 1
            if not isinstance(data.get("next"), int) or not data["data"]:
                return
            offset = data["next"]

    def _recent(self, p: Paper, start: dt.date, day: dt.date) -> bool:
        return p.submitted is not None and start <= p.submitted.date() <= day

    def fetch(self, day: dt.date, known: Sequence[Paper] = ()) -> Listing:
        start = day - dt.timedelta(days=self.cfg.days - 1)
        found: dict[str, Paper] = {}

        def add(p: Paper) -> None:
            old = found.get(p.arxiv_id)
            if old is None:
                found[p.arxiv_id] = p.model_copy(update={"announced": day})
                return
            facts = old.locations[0].extra
            for key, value in p.locations[0].extra.items():
                if isinstance(value, list):
                    facts[key] = list(dict.fromkeys([*facts.get(key, []), *value]))
                else:
                    facts.setdefault(key, value)

        for author in self.cfg.authors:
            for item in self._pages(f"/author/{author}/papers"):
                name = next((a.get("name") for a in item.get("authors") or [] if a.get("authorId") == author), author)
                p = paper_of(item, source=self.name, extra={"followed_authors": [name]})
                if p and self._recent(p, start, day):
                    add(p)
        for mine in self.cfg.my_papers:
            ref = s2_id(mine)
            try:
                for item in self._pages(f"/paper/{ref}/citations", limit=self.cfg.max_citations):
                    p = paper_of((item or {}).get("citingPaper"), source=self.name, extra={"cites": [mine]})
                    if p and self._recent(p, start, day):
                        add(p)
            except SourceError as exc:
                # One unknown paper of yours must not hide the citations of the others.
                self.warnings.append(str(exc))
                log.warning("%s", exc)
        counted = (
            self._citation_counts([p for p in known if p.arxiv_id not in found]) if self.cfg.citation_counts else []
        )
        papers = list(found.values()) + counted
        message = (
            f"{self.name}: {len(found)} recent papers by followed authors or citing yours, "
            f"{len(counted)} citation counts"
        )
        if self.warnings:
            message += "; " + " ".join(self.warnings)
        return Listing(papers, message)

    def _citation_counts(self, papers: Sequence[Paper]) -> list[Paper]:
        refs: list[tuple[str, Paper]] = []
        for p in papers:
            if p.has_arxiv_id:
                refs.append((f"ARXIV:{p.arxiv_id}", p))
            elif p.doi:
                refs.append((f"DOI:{p.doi}", p))
        out = []
        for i in range(0, len(refs), BATCH_SIZE):
            chunk = refs[i : i + BATCH_SIZE]
            data = self.client.post_json(
                f"{self.base}/paper/batch", {"ids": [r for r, _ in chunk]}, {"fields": "paperId,citationCount"}
            )
            if not isinstance(data, list):
                raise FeedError(f"{self.name}: /paper/batch did not answer a list ({str(data)[:120]!r}).")
            for (_, p), item in zip(chunk, data, strict=False):
                if isinstance(item, dict) and item.get("paperId") and isinstance(item.get("citationCount"), int):
                    loc = Location(
                        source=self.name,
                        kind="semanticscholar",
                        source_id=item["paperId"],
                        url=f"https://www.semanticscholar.org/paper/{item['paperId']}",
                        extra={"citation_count": item["citationCount"]},
                    )
                    out.append(p.model_copy(update={"locations": [loc]}))
        return out
