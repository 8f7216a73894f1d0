"""arXiv: the daily announcement RSS feed and the export API for backfills.

Fetching is kept apart from parsing: :func:`parse_rss` and :func:`parse_api`
are pure functions from response bytes to :class:`~paperradar.core.models.Paper`
records, so recorded responses test them; :class:`ArxivClient` does the HTTP
(rate limiting, retries, error messages) and hands the bytes over.

- RSS (https://rss.arxiv.org/rss/cs.LG+stat.ML): what was announced on the
  latest day; empty on weekends and holidays.
- API (https://export.arxiv.org/api/query): any date range, paged; arXiv asks
  for at least 3 seconds between calls.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import feedparser
import httpx

from ..core.errors import FeedError, SourceError
from ..core.models import Paper, split_arxiv_id
from ..core.retry import Backoff, RetryableStatus, send_with_retries
from .http import MAX_RETRY_AFTER, Pacer, fetch_capped

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "paperradar/0.1 (+https://github.com/paperradar/paperradar; self-hosted research radar)"

_ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")
# Which announcement of the same paper wins when it shows up in several categories.
_TYPE_RANK = {"new": 0, "replace": 1, "cross": 2, "replace-cross": 3}
_DESCRIPTION = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?", re.IGNORECASE
)
_NAME_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}
# Warnings that do not make a feed unreadable.
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


def _clean(text: str | None) -> str:
    if text is not None and not isinstance(text, str):
        # A damaged feed can turn a text element into a nested structure.
        raise TypeError(f"expected text, got {type(text).__name__}")
    return " ".join((text or "").split())


def _unreadable(data: bytes, source: str, kind: str, problem: BaseException | None) -> FeedError:
    start = _clean(data[:120].decode("utf-8", "replace")) or "an empty body"
    why = f"{type(problem).__name__}: {problem}" if problem else f"it starts with {start!r}"
    return FeedError(
        f"{source} did not return a readable {kind} ({why}). arXiv may be down or showing an error page: "
        "try again later, and check the category names (e.g. cs.LG) and the [arxiv] base URLs."
    )


def _parse(data: bytes, source: str, kind: str) -> tuple[feedparser.FeedParserDict, BaseException | None]:
    """The parsed feed, and the parse problem if it is not well-formed (it may still have items)."""
    if not isinstance(data, bytes):
        # A str would be taken by feedparser as a URL (or a path) and fetched.
        raise TypeError("parse the response body as bytes")
    # Sanitizing treats abstracts as HTML and eats LaTeX such as "$a<b$".
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    problem = parsed.get("bozo_exception") if parsed.bozo else None
    if isinstance(problem, _BENIGN_BOZO):
        problem = None
    if not parsed.get("version") or (problem and not parsed.entries):
        raise _unreadable(data, source, kind, problem)
    return parsed, problem


def _check(papers: list[Paper], data: bytes, source: str, kind: str, problem: BaseException | None) -> None:
    # Strict: a page that is not well-formed (a stray "&", cut off mid-way, a DOCTYPE) may have
    # lost or garbled items without saying which, so nothing from it is used.
    if problem is not None:
        raise _unreadable(data, source, kind, problem)


def _malformed(source: str, kind: str, n: int, exc: Exception) -> FeedError:
    return FeedError(
        f"{source}: item {n} of the {kind} is malformed ({type(exc).__name__}: {str(exc)[:200]}); "
        "nothing from this page was stored. Try again later; if it persists, report the page to arXiv."
    )


def _split_authors(raw: Iterable[str]) -> list[str]:
    """arXiv's RSS puts all authors in one comma-separated dc:creator."""
    names: list[str] = []
    for chunk in raw:
        for name in (n.strip() for n in chunk.split(",")):
            if not name:
                continue
            if names and name.lower() in _NAME_SUFFIXES:
                names[-1] = f"{names[-1]}, {name}"
            else:
                names.append(name)
    return names


def _terms(entry) -> list[str]:
    return list(dict.fromkeys(t for tag in entry.get("tags") or [] if (t := (tag.get("term") or "").strip())))


def _rss_day(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        # The date as arXiv wrote it (US Eastern midnight), not converted to UTC.
        return parsedate_to_datetime(value).date()
    except (TypeError, ValueError):
        return None


def _identify(*candidates: str | None) -> tuple[str, int | None] | None:
    for raw in candidates:
        if not raw:
            continue
        try:
            return split_arxiv_id(re.sub(r"^oai:arXiv\.org:", "", raw.strip(), flags=re.IGNORECASE))
        except ValueError:
            continue
    return None


def parse_rss(data: bytes, *, source: str = "feed") -> list[Paper]:
    """Papers in one arXiv announcement RSS feed; ``[]`` for an empty (weekend/holiday) feed.

    Raises :class:`FeedError` when ``data`` is not a feed at all (e.g. an HTML error page).
    """
    parsed, problem = _parse(data, source, "RSS feed")
    channel_day = _rss_day(parsed.feed.get("published"))
    papers: list[Paper] = []
    for n, entry in enumerate(parsed.entries):
        try:
            paper = _rss_paper(entry, n, source, channel_day)
        except (AttributeError, TypeError, ValueError) as exc:
            raise _malformed(source, "RSS feed", n, exc) from None
        if paper is not None:
            papers.append(paper)
    _check(papers, data, source, "RSS feed", problem)
    return papers


def _rss_paper(entry, n: int, source: str, channel_day: dt.date | None) -> Paper | None:
    description = entry.get("summary") or ""
    head = _DESCRIPTION.match(description)
    ident = _identify(entry.get("id"), head.group("id") if head else None, entry.get("link"))
    if ident is None:
        log.warning("%s: skipped item %d (%r): it has no arXiv id", source, n, _clean(entry.get("title"))[:80])
        return None
    arxiv_id, version = ident
    kind = (entry.get("arxiv_announce_type") or (head.group("type") if head else "new")).strip().lower()
    if kind not in _ANNOUNCE_TYPES:
        log.warning("%s: %s has unknown announce type %r; treating it as new", source, arxiv_id, kind)
        kind = "new"
    if not _clean(entry.get("title")):
        log.warning("%s: skipped item %d (%s): it has no title", source, n, arxiv_id)
        return None
    categories = _terms(entry)
    return Paper(
        arxiv_id=arxiv_id,
        version=version or 1,
        title=_clean(entry.get("title")),
        abstract=_clean(description[head.end() :] if head else description),
        authors=_split_authors(a.get("name", "") for a in entry.get("authors") or []),
        categories=categories,
        primary_category=categories[0] if categories else None,
        announce_type=kind,
        announced=_rss_day(entry.get("published")) or channel_day,
    )


def _iso(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def parse_api(data: bytes, *, source: str = "arXiv API") -> tuple[list[Paper], int]:
    """Papers in one page of an export API answer, and the query's ``totalResults``."""
    parsed, problem = _parse(data, source, "Atom feed")
    papers: list[Paper] = []
    for n, entry in enumerate(parsed.entries):
        if "/api/errors" in (entry.get("id") or ""):
            raise FeedError(f"{source} rejected the query: {_clean(entry.get('summary'))}")
        try:
            paper = _api_paper(entry, n, source)
        except (AttributeError, TypeError, ValueError) as exc:
            raise _malformed(source, "Atom feed", n, exc) from None
        if paper is not None:
            papers.append(paper)
    _check(papers, data, source, "Atom feed", problem)
    try:
        total = int(parsed.feed.get("opensearch_totalresults") or 0)
    except ValueError:
        total = 0
    return papers, total


def _api_paper(entry, n: int, source: str) -> Paper | None:
    ident = _identify(entry.get("id"), entry.get("link"))
    if ident is None:
        log.warning("%s: skipped entry %d (%r): it has no arXiv id", source, n, _clean(entry.get("title"))[:80])
        return None
    arxiv_id, version = ident
    categories = _terms(entry)
    primary = (entry.get("arxiv_primary_category") or {}).get("term") or (categories[:1] or [None])[0]
    return Paper(
        arxiv_id=arxiv_id,
        version=version or 1,
        title=_clean(entry.get("title")),
        abstract=_clean(entry.get("summary")),
        authors=[_clean(a.get("name")) for a in entry.get("authors") or [] if _clean(a.get("name"))],
        categories=categories,
        primary_category=primary,
        announce_type="new" if (version or 1) == 1 else "replace",
        submitted=_iso(entry.get("published")),
        updated=_iso(entry.get("updated")),
        comment=_clean(entry.get("arxiv_comment")) or None,
    )


def merge_papers(papers: Iterable[Paper]) -> list[Paper]:
    """One record per arXiv id, in first-seen order.

    A paper listed in several followed categories is "new" in its own and
    "cross" in the others: keep the highest version and the primary
    announcement, and the union of the categories.
    """
    by_id: dict[str, Paper] = {}
    for p in papers:
        old = by_id.get(p.arxiv_id)
        if old is None:
            by_id[p.arxiv_id] = p
            continue
        keep, other = sorted((old, p), key=lambda q: (-q.version, _TYPE_RANK[q.announce_type]))
        by_id[p.arxiv_id] = keep.model_copy(
            update={
                "categories": keep.categories + [c for c in other.categories if c not in keep.categories],
                "primary_category": keep.primary_category or other.primary_category,
                "announced": keep.announced or other.announced,
                "comment": keep.comment or other.comment,
            }
        )
    return list(by_id.values())


@dataclass
class DayListing:
    """What the RSS feed announced: empty (``announced`` None) on weekends and holidays."""

    announced: dt.date | None
    papers: list[Paper] = field(default_factory=list)
    empty: bool = False
    message: str = ""


class ArxivClient:
    """HTTP access to arXiv's RSS feed and export API, polite and retrying.

    ``sleep`` and ``clock`` are parameters so tests run without waiting.
    """

    def __init__(
        self,
        *,
        rss_base_url: str = "https://rss.arxiv.org/rss",
        api_base_url: str = "https://export.arxiv.org/api/query",
        delay_seconds: float = 3.0,
        max_retries: int = 4,
        timeout: float = 30,
        user_agent: str = DEFAULT_USER_AGENT,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        http: httpx.Client | None = None,
    ):
        self.rss_base_url = rss_base_url.rstrip("/")
        self.api_base_url = api_base_url
        self.delay_seconds = delay_seconds
        self.max_retries = max_retries
        self.sleep = sleep
        self.clock = clock
        self.http = http or httpx.Client(timeout=timeout, headers={"User-Agent": user_agent}, follow_redirects=True)
        # Only export-API calls are paced: arXiv asks 3 s between them; the RSS feed is one request.
        self._pacer = Pacer(delay_seconds, sleep=sleep, clock=clock)
        self._wait = Backoff(max(delay_seconds, 1.0), 120, asked_cap=MAX_RETRY_AFTER)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ArxivClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- RSS -----------------------------------------------------------------

    def fetch_announcements(self, categories: list[str]) -> DayListing:
        """The latest day's announcements in ``categories`` (one combined feed request)."""
        if not categories:
            raise ValueError("no arXiv categories given")
        url = f"{self.rss_base_url}/{'+'.join(categories)}"
        data = self._get(url, hint="check the category names (e.g. cs.LG, stat.ML) and [arxiv] rss_base_url")
        papers = merge_papers(parse_rss(data, source=url))
        if not papers:
            return DayListing(
                announced=None,
                empty=True,
                message=f"arXiv announced nothing in {', '.join(categories)} today (weekend or holiday); "
                "nothing to fetch until the next announcement.",
            )
        announced = max((p.announced for p in papers if p.announced), default=None)
        return DayListing(
            announced=announced,
            papers=papers,
            message=f"{len(papers)} papers announced in {', '.join(categories)} on {announced}.",
        )

    # -- API -----------------------------------------------------------------

    def fetch_range(
        self,
        categories: list[str],
        start: dt.date,
        end: dt.date,
        page_size: int = 100,
        max_results: int | None = None,
        max_pages: int = 50,
    ) -> Iterator[Paper]:
        """Papers submitted from ``start`` to ``end`` (inclusive, UTC) via the export API, oldest first.

        Paging stops at ``max_pages`` pages, or at a page that brings no paper not
        seen before, whatever ``totalResults`` claims.
        """
        if not categories:
            raise ValueError("no arXiv categories given")
        cats = " OR ".join(f"cat:{c}" for c in categories)
        query = f"({cats}) AND submittedDate:[{start:%Y%m%d}0000 TO {end:%Y%m%d}2359]"
        offset, yielded, seen, pages, total = 0, 0, set(), 0, 0
        while max_results is None or yielded < max_results:
            if pages >= max_pages:
                log.warning(
                    "Stopped the arXiv backfill after %d pages (%d papers; the API claims %d): "
                    "raise max_pages in [arxiv] (or the arXiv [[sources]] table) if that day really has more.",
                    pages,
                    yielded,
                    total,
                )
                return
            pages += 1
            size = page_size if max_results is None else min(page_size, max_results - yielded)
            params = {
                "search_query": query,
                "start": str(offset),
                "max_results": str(size),
                "sortBy": "submittedDate",
                "sortOrder": "ascending",
            }
            data = self._get(self.api_base_url, params=params, paced=True, hint="check [arxiv] api_base_url")
            papers, total = parse_api(data, source=f"{self.api_base_url} (results from {offset})")
            if not papers:
                if offset < total:
                    log.warning("arXiv API gave an empty page at %d of %d results; stopping early", offset, total)
                return
            if all(p.arxiv_id in seen for p in papers):
                log.warning("arXiv API repeated a page at %d of %d results; stopping", offset, total)
                return
            for p in papers:
                if p.arxiv_id in seen:
                    continue
                seen.add(p.arxiv_id)
                yielded += 1
                yield p.model_copy(update={"announced": p.submitted.date() if p.submitted else None})
                if max_results is not None and yielded >= max_results:
                    return
            offset += len(papers)
            if offset >= total:
                return

    # -- HTTP ----------------------------------------------------------------

    def _get(self, url: str, *, params: dict[str, str] | None = None, paced: bool = False, hint: str) -> bytes:
        attempts = self.max_retries + 1

        def once() -> httpx.Response:
            if paced:
                self._pacer.pace()
            return fetch_capped(
                self.http,
                "GET",
                url,
                "; a real arXiv page is a few MB at most, so it was not read. Check the [arxiv] base URLs.",
                params=params,
            )

        try:
            response = send_with_retries(once, attempts=attempts, wait=self._wait, sleep=self.sleep)
        except RetryableStatus as exc:
            r = exc.response
            advice = (
                "arXiv is rate-limiting: wait a few minutes, and raise [arxiv] delay_seconds if it repeats."
                if r.status_code == 429
                else "arXiv seems to be down or overloaded: try again later (status: https://status.arxiv.org)."
            )
            status = f"HTTP {r.status_code} {r.reason_phrase}"
            raise SourceError(f"{r.request.url} still answered {status} after {attempts} tries. {advice}") from None
        except httpx.TransportError as exc:
            raise SourceError(
                f"Cannot reach {url} ({type(exc).__name__}: {str(exc) or 'no details'}). "
                f"Check the network connection, then {hint}."
            ) from exc
        if response.status_code >= 400:
            raise SourceError(
                f"{response.request.url} answered HTTP {response.status_code} {response.reason_phrase}; {hint}."
            )
        return response.content
