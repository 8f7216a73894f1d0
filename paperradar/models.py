"""Typed records that flow through the pipeline stages.

A :class:`Paper` is produced by a source, stored by :mod:`paperradar.store`,
embedded by :mod:`paperradar.embed` and scored by :mod:`paperradar.prefilter`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal
from urllib.parse import urlencode

from pydantic import BaseModel, Field

AnnounceType = Literal["new", "cross", "replace", "replace-cross"]

# arXiv ids: new style 2602.19938 (optionally v3), old style hep-th/9901001v2
_ID_RE = re.compile(r"^(?P<id>(\d{4}\.\d{4,5})|([a-z\-]+(\.[A-Z]{2})?/\d{7}))(v(?P<version>\d+))?$")


def split_arxiv_id(raw: str) -> tuple[str, int | None]:
    """Return (id without version, version or None) for an arXiv id or abs/pdf URL."""
    text = raw.strip()
    for prefix in ("arXiv:", "arxiv:"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if "/abs/" in text or "/pdf/" in text:
        text = re.split(r"/(?:abs|pdf)/", text, maxsplit=1)[1]
        text = text.removesuffix(".pdf")
    m = _ID_RE.match(text)
    if not m:
        raise ValueError(f"not an arXiv id: {raw!r}")
    version = m.group("version")
    return m.group("id"), int(version) if version else None


class Paper(BaseModel):
    """One arXiv paper as announced on a given day."""

    arxiv_id: str = Field(description="arXiv id without version, e.g. 2602.19938")
    version: int = 1
    title: str
    abstract: str
    authors: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    primary_category: str | None = None
    announce_type: AnnounceType = "new"
    announced: dt.date | None = None
    submitted: dt.datetime | None = None
    updated: dt.datetime | None = None
    comment: str | None = None

    @property
    def has_arxiv_id(self) -> bool:
        # The demo day's trending filler has no arXiv id, only a local one.
        return _ID_RE.match(self.arxiv_id) is not None

    @property
    def abs_url(self) -> str:
        if not self.has_arxiv_id:
            return "https://arxiv.org/search/?" + urlencode({"query": self.title, "searchtype": "title"})
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        if not self.has_arxiv_id:
            return self.abs_url
        return f"https://arxiv.org/pdf/{self.arxiv_id}"


class Reason(BaseModel):
    """Why a paper matched the profile: users must always see this."""

    kind: Literal["criterion", "seed", "author", "keyword", "negative-keyword", "learned"]
    label: str
    score: float


# How each kind of reason reads in digests and the web app.
REASON_LABELS = {
    "criterion": "matches topic",
    "seed": "similar to your paper",
    "author": "followed author",
    "keyword": "keyword",
    "negative-keyword": "excluded by keyword",
    "learned": "learned from your feedback",
}


class Candidate(BaseModel):
    """A paper with its prefilter score and the reasons it got it."""

    paper: Paper
    score: float
    reasons: list[Reason] = Field(default_factory=list)
    excluded: bool = False

    @property
    def top_reason(self) -> Reason | None:
        return max(self.reasons, key=lambda r: r.score, default=None)
