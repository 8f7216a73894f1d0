"""Typed records that flow through the pipeline stages.

A :class:`Paper` is produced by a source, stored by :mod:`paperradar.core.store`,
embedded by :mod:`paperradar.core.embedding` and scored by :mod:`paperradar.stages.scoring`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, Field, field_validator

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


class Location(BaseModel):
    """One place a work appears: arXiv, bioRxiv, an OpenReview venue, a journal feed, ..."""

    source: str = Field(description="the configured source's name, e.g. arxiv, biorxiv, iclr2027")
    kind: str = Field("arxiv", description="the source type: arxiv, biorxiv, medrxiv, openreview, feed, s2")
    source_id: str = Field(description="the id at that source: arXiv id, DOI, OpenReview forum id, entry id")
    url: str | None = None
    version: int | None = None
    # Source-specific facts: OpenReview decision and ratings, venue, citation count.
    extra: dict[str, Any] = Field(default_factory=dict)


class Paper(BaseModel):
    """One work as announced on a given day, whichever source brought it.

    ``arxiv_id`` is the record's key: the arXiv id when the work is on arXiv,
    otherwise a prefixed id such as ``doi:10.1101/2026.02.20.123456`` or
    ``openreview:AbC123``.
    """

    arxiv_id: str = Field(description="arXiv id without version (e.g. 2602.19938), or a prefixed id for other works")
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
    doi: str | None = None
    # Where the work appears; the first is where this record came from.
    locations: list[Location] = Field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        """Names of the sources the work appears on, arXiv-only papers included."""
        names = [loc.source for loc in self.locations]
        if self.has_arxiv_id and not any(loc.kind == "arxiv" for loc in self.locations):
            names.insert(0, "arxiv")
        return list(dict.fromkeys(names))

    @property
    def landing_url(self) -> str | None:
        """The first non-arXiv page of the work, for works that are not on arXiv."""
        return next((loc.url for loc in self.locations if loc.url), None)

    @property
    def has_arxiv_id(self) -> bool:
        # The demo day's trending filler has no arXiv id, only a local one.
        return _ID_RE.match(self.arxiv_id) is not None

    @property
    def abs_url(self) -> str:
        if not self.has_arxiv_id:
            if self.landing_url:
                return self.landing_url
            if self.doi:
                return f"https://doi.org/{self.doi}"
            return "https://arxiv.org/search/?" + urlencode({"query": self.title, "searchtype": "title"})
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        if not self.has_arxiv_id:
            return self.abs_url
        return f"https://arxiv.org/pdf/{self.arxiv_id}"


def location_facts(loc: Location) -> str:
    """What a place says about the work, in words: "Accept (Poster), rating 6.3", "12 citations"."""
    x = loc.extra
    parts = []
    if x.get("decision"):
        parts.append(str(x["decision"]))
    elif loc.kind == "openreview" and x.get("venue"):
        parts.append(str(x["venue"]))
    if isinstance(x.get("rating"), int | float):
        n = len(x.get("ratings") or [])
        parts.append(f"rating {x['rating']:g}" + (f" from {n} reviews" if n else ""))
    if isinstance(x.get("citation_count"), int):
        parts.append(f"{x['citation_count']} citations")
    if x.get("cites"):
        parts.append("cites " + ", ".join(map(str, x["cites"])))
    if x.get("published_doi"):
        parts.append(f"published as doi:{x['published_doi']}")
    return ", ".join(parts)


class Reason(BaseModel):
    """Why a paper matched the profile: users must always see this."""

    kind: Literal["criterion", "seed", "author", "keyword", "negative-keyword", "learned", "cites", "cited"]
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
    "cites": "cites your paper",
    "cited": "cited",
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


# -- impact assessments ----------------------------------------------------------------------

RATINGS = ("significance", "rigor", "novelty", "clarity", "overall")


def _rating(v: Any) -> Any:
    """Accept 7, 7.0, "7", "7/10" from models that do not follow the schema to the letter."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str):
        m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*10)?\s*$", v)
        if m:
            return round(float(m.group(1)))
    return v


def _as_list(v: Any) -> Any:
    if isinstance(v, str):
        parts = [p.strip(" -•\t") for p in re.split(r"\n|;", v)]
        return [p for p in parts if p]
    return v


class AssessmentAnswer(BaseModel):
    """The review an LLM writes of one paper (:mod:`paperradar.stages.assess` asks for it)."""

    contribution: str = Field(min_length=1)
    strengths: list[str] = Field(min_length=1)
    concerns: list[str] = Field(min_length=1)
    impact: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    significance: int = Field(ge=1, le=10)
    rigor: int = Field(ge=1, le=10)
    novelty: int = Field(ge=1, le=10)
    clarity: int = Field(ge=1, le=10)
    overall: int = Field(ge=1, le=10)

    @field_validator(*RATINGS, mode="before")
    @classmethod
    def _ratings(cls, v: Any) -> Any:
        return _rating(v)

    @field_validator("strengths", "concerns", mode="before")
    @classmethod
    def _lists(cls, v: Any) -> Any:
        return _as_list(v)


class Assessment(AssessmentAnswer):
    """A stored review: the answer, whose it is and when it was written."""

    arxiv_id: str
    model: str
    version: int = 1
    full_text: bool = False
    call_id: int | None = None
    generated_at: str


# Size caps: a real title is under 300 characters and an abstract under 2,000
# (arXiv's own limit is 1,920); a hostile or broken source can send megabytes,
# which would then be embedded, sent to the LLM and copied into every output.
MAX_TITLE = 1_000
MAX_ABSTRACT = 10_000
MAX_AUTHORS = 500
MAX_AUTHOR_NAME = 200
MAX_COMMENT = 2_000


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def cap_paper(paper: Paper) -> tuple[Paper, list[str]]:
    """``paper`` with over-long fields cut to the caps, and the names of the fields that were cut."""
    cut: list[str] = []
    update: dict = {}
    for name, limit in (("title", MAX_TITLE), ("abstract", MAX_ABSTRACT), ("comment", MAX_COMMENT)):
        value = getattr(paper, name)
        if value and len(value) > limit:
            update[name] = _cut(value, limit)
            cut.append(name)
    authors = paper.authors
    if len(authors) > MAX_AUTHORS or any(len(a) > MAX_AUTHOR_NAME for a in authors):
        update["authors"] = [_cut(a, MAX_AUTHOR_NAME) for a in authors[:MAX_AUTHORS]]
        cut.append("authors")
    return (paper.model_copy(update=update) if update else paper), cut
