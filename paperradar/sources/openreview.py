"""OpenReview (API v2): the submissions of configured venues, with decisions and ratings when public.

``GET https://api2.openreview.net/notes?invitation=<venue>/-/Submission&details=replies&offset=..&limit=..``
answers ``{"notes": [...], "count": N}``; every field of a note's ``content`` is
wrapped as ``{"value": ...}``. With ``details=replies`` each note carries its
public replies: official reviews (``.../-/Official_Review``, a ``rating`` that
is a number in recent venues and a string such as ``"6: marginally above the
acceptance threshold"`` in older ones) and the decision (``.../-/Decision``).

A venue is not a daily listing: every run reads the whole venue, submissions
not stored yet are the run day's new papers, and known ones only update
their decision and ratings, so a conference can be triaged with the same
profile, judge and tournament as a day of arXiv.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..core.errors import FeedError
from ..core.models import Location, Paper
from ..core.source_settings import OpenReviewSourceConfig
from .base import Listing
from .http import PoliteClient

log = logging.getLogger(__name__)

FORUM_URL = "https://openreview.net/forum?id={}"
_LEADING_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)")


def _value(content: dict, key: str) -> Any:
    field = content.get(key)
    return field.get("value") if isinstance(field, dict) else field


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    m = _LEADING_NUMBER.match(str(value or ""))
    return float(m.group(1)) if m else None


def _invitation_kind(reply: dict) -> str:
    names = reply.get("invitations") or ([reply["invitation"]] if reply.get("invitation") else [])
    return next((n.rsplit("/-/", 1)[1] for n in names if "/-/" in n and "Submission" in n.split("/-/")[0]), "")


def review_facts(replies: list[dict]) -> dict[str, Any]:
    """Decision and ratings from a submission's public replies (nothing when none are public)."""
    ratings: list[float] = []
    decision = None
    for reply in replies or []:
        if not isinstance(reply, dict):
            continue
        content = reply.get("content") or {}
        kind = _invitation_kind(reply)
        if kind in ("Official_Review", "Review"):
            rating = _number(_value(content, "rating") or _value(content, "recommendation"))
            if rating is not None:
                ratings.append(rating)
        elif kind in ("Decision", "Meta_Review") and not decision:
            decision = _text(_value(content, "decision") or _value(content, "recommendation")) or None
    facts: dict[str, Any] = {}
    if ratings:
        facts["ratings"] = ratings
        facts["rating"] = round(sum(ratings) / len(ratings), 2)
    if decision:
        facts["decision"] = decision
    return facts


def _millis(value: Any) -> dt.datetime | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)


def parse_notes(data: Any, *, venue: str, source: str) -> tuple[list[Paper], int]:
    """The submissions in one page of a /notes answer, and the count the server reports."""
    if not isinstance(data, dict) or not isinstance(data.get("notes"), list):
        raise FeedError(f"{source}: OpenReview answered {type(data).__name__} without notes for {venue}.")
    papers = []
    for n, note in enumerate(data["notes"]):
        content = note.get("content") if isinstance(note, dict) else None
        forum = _text(note.get("forum") or note.get("id")) if isinstance(note, dict) else ""
        title = _text(_value(content, "title")) if isinstance(content, dict) else ""
        if not forum or not title:
            log.warning("%s: skipped note %d of %s: it has no forum id or no title", source, n, venue)
            continue
        authors = _value(content, "authors")
        area = _text(_value(content, "primary_area")) or None
        keywords = _value(content, "keywords")
        extra: dict[str, Any] = {"venue": _text(_value(content, "venue")) or venue, "venueid": venue}
        if isinstance(keywords, list):
            extra["keywords"] = [_text(k) for k in keywords if _text(k)]
        extra.update(review_facts((note.get("details") or {}).get("replies") or []))
        papers.append(
            Paper(
                arxiv_id=f"openreview:{forum}",
                title=title,
                abstract=_text(_value(content, "abstract")),
                authors=[_text(a) for a in authors if _text(a)] if isinstance(authors, list) else [],
                categories=[area] if area else [],
                primary_category=area,
                submitted=_millis(note.get("cdate") or note.get("tcdate")),
                locations=[
                    Location(
                        source=source, kind="openreview", source_id=forum, url=FORUM_URL.format(forum), extra=extra
                    )
                ],
            )
        )
    try:
        count = int(data.get("count") or 0)
    except (TypeError, ValueError):
        count = 0
    return papers, count


class OpenReviewSource:
    kind = "openreview"

    def __init__(self, cfg: OpenReviewSourceConfig, *, sleep: Callable[[float], None]):
        self.name = cfg.label
        self.cfg = cfg
        self.client = PoliteClient.for_source(
            cfg,
            hint=f"check the venues of the [[sources]] table {self.name!r} (e.g. ICLR.cc/2027/Conference)",
            sleep=sleep,
        )

    def close(self) -> None:
        self.client.close()

    def submissions(self, venue: str) -> Iterator[Paper]:
        url = f"{self.cfg.base_url.rstrip('/')}/notes"
        offset = 0
        while True:
            params = {
                "invitation": f"{venue}/-/Submission",
                "details": "replies",
                "offset": offset,
                "limit": self.cfg.page_size,
            }
            data = self.client.get_json(url, params)
            papers, count = parse_notes(data, venue=venue, source=self.name)
            yield from papers
            offset += len(data["notes"])
            if not data["notes"] or offset >= count:
                return

    def fetch(self, day: dt.date, known: Sequence[Paper] = ()) -> Listing:
        papers: dict[str, Paper] = {}
        for venue in self.cfg.venues:
            for p in self.submissions(venue):
                papers.setdefault(p.arxiv_id, p.model_copy(update={"announced": day}))
        decided = sum(1 for p in papers.values() if "decision" in p.locations[0].extra)
        return Listing(
            list(papers.values()),
            f"{self.name}: {len(papers)} submissions to {', '.join(self.cfg.venues)} ({decided} with a decision)",
        )
