"""arXiv as one source among others: the day's RSS announcements, or the export API when the day has passed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from ..core.models import Location, Paper
from ..core.source_settings import ArxivSourceConfig
from .arxiv import ArxivClient
from .base import Listing

NEW_YORK = ZoneInfo("America/New_York")


def announced_day_for_submission(submitted: dt.datetime) -> dt.date:
    """The listing date a submission appears under.

    arXiv's cut-off is 14:00 US Eastern on weekdays; what came in before it is
    announced that evening in the listing dated the next weekday.
    """
    et = submitted.astimezone(NEW_YORK) if submitted.tzinfo else submitted.replace(tzinfo=dt.UTC).astimezone(NEW_YORK)
    day = et.date()
    if et.weekday() >= 5 or et.hour >= 14:
        day += dt.timedelta(days=1)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
    day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def make_arxiv_client(cfg: ArxivSourceConfig) -> ArxivClient:
    return ArxivClient(
        rss_base_url=cfg.rss_base_url,
        api_base_url=cfg.api_base_url,
        delay_seconds=cfg.delay_seconds,
        max_retries=cfg.max_retries,
        timeout=cfg.timeout_seconds,
        user_agent=cfg.user_agent,
    )


def located(paper: Paper, source: str) -> Paper:
    loc = Location(source=source, kind="arxiv", source_id=paper.arxiv_id, url=paper.abs_url, version=paper.version)
    return paper.model_copy(update={"locations": [loc]})


class ArxivSource:
    kind = "arxiv"

    def __init__(self, cfg: ArxivSourceConfig, categories: list[str], client: ArxivClient | None = None):
        self.name = cfg.label
        self.categories = categories
        self.max_pages = cfg.max_pages
        self._own = client is None
        self.client = client or make_arxiv_client(cfg)

    def close(self) -> None:
        if self._own:
            self.client.close()

    def fetch(self, day: dt.date, known: Sequence[Paper] = ()) -> Listing:
        listing = self.client.fetch_announcements(self.categories)
        if listing.announced == day and not listing.empty:
            papers = [located(p, self.name) for p in listing.papers]
            return Listing(papers, f"arXiv RSS: {len(papers)} papers announced on {day}")
        # Not today's listing: rebuild the day from the export API.
        papers = []
        for p in self.client.fetch_range(self.categories, day - dt.timedelta(days=5), day, max_pages=self.max_pages):
            if p.submitted and announced_day_for_submission(p.submitted) == day:
                papers.append(located(p.model_copy(update={"announced": day}), self.name))
        message = f"arXiv API: {len(papers)} papers for {day}"
        if not papers:
            message = f"arXiv announced nothing for {day} (weekend or holiday?)."
        return Listing(papers, message)
