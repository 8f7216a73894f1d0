"""``[[sources]]`` tables: one per place papers come from, each with its own manners.

Without any ``[[sources]]`` table paperradar reads arXiv as before (the
top-level ``categories`` and the ``[arxiv]`` table). A ``type = "arxiv"``
table replaces that default (``enabled = false`` turns arXiv off).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .dedup import normalize_doi
from .models import split_arxiv_id

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")


class SourceBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("", description="shown in digests and used to filter; default: the type")
    enabled: bool = True
    delay_seconds: float = Field(1.0, ge=0, description="pause between two requests to this source")
    max_retries: int = Field(4, ge=0, le=10, description="tries after a 429, a 5xx or a timeout")
    timeout_seconds: float = Field(30.0, gt=0)
    contact: str = Field("", description="e-mail put in the User-Agent, as several APIs ask")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, v: str) -> str:
        if v and not _NAME.match(v):
            raise ValueError(f"{v!r} is not a source name: use lower-case letters, digits, '-', '_' or '.'")
        return v

    @property
    def label(self) -> str:
        return self.name or self.type  # type: ignore[attr-defined]

    @property
    def user_agent(self) -> str:
        contact = f"; mailto:{self.contact}" if self.contact else ""
        return f"paperradar/0.1 (self-hosted research radar{contact})"


class ArxivSourceConfig(SourceBase):
    type: Literal["arxiv"]
    categories: list[str] = Field(default_factory=list, description="empty: the top-level categories")
    rss_base_url: str = "https://rss.arxiv.org/rss"
    api_base_url: str = "https://export.arxiv.org/api/query"
    delay_seconds: float = Field(3.0, ge=3.0, description="arXiv asks for at least 3 s between API calls")
    max_pages: int = Field(50, ge=1, description="export-API pages one backfill reads at most")


class BiorxivSourceConfig(SourceBase):
    type: Literal["biorxiv", "medrxiv"]
    base_url: str = "https://api.biorxiv.org"
    categories: list[str] = Field(default_factory=list, description="e.g. neuroscience; empty: every category")
    days: int = Field(1, ge=1, le=31, description="posting days up to the run's day that are read")


class OpenReviewSourceConfig(SourceBase):
    type: Literal["openreview"]
    base_url: str = "https://api2.openreview.net"
    venues: list[str] = Field(min_length=1, description="venue ids, e.g. ICLR.cc/2027/Conference")
    page_size: int = Field(1000, ge=1, le=1000)


class FeedSourceConfig(SourceBase):
    type: Literal["feed"]
    url: str = Field(min_length=1, description="an RSS or Atom feed")
    days: int = Field(7, ge=1, le=365, description="entries published this many days up to the run's day")


class SemanticScholarSourceConfig(SourceBase):
    type: Literal["semanticscholar"]
    base_url: str = "https://api.semanticscholar.org/graph/v1"
    api_key_env: str = Field("SEMANTIC_SCHOLAR_API_KEY", description="variable holding the key; optional")
    authors: list[str] = Field(default_factory=list, description="Semantic Scholar author ids to follow")
    my_papers: list[str] = Field(default_factory=list, description="your papers (arXiv ids or DOIs)")
    days: int = Field(7, ge=1, le=90, description="papers published this many days up to the run's day")
    max_citations: int = Field(1000, ge=0, description="citations read per paper of yours (newest S2 order)")
    citation_counts: bool = Field(True, description="look up the citation count of the day's papers")
    delay_seconds: float = Field(1.0, ge=0, description="S2 allows 1 request/s with a key")
    cites_weight: float = Field(2.0, ge=0, description="prefilter lift for a paper citing one of yours")
    citation_weight: float = Field(0.0, ge=0, description="prefilter lift per log(1 + citations); 0 = shown only")

    @field_validator("my_papers")
    @classmethod
    def _valid_refs(cls, v: list[str]) -> list[str]:

        for ref in v:
            s2_id(ref)  # raises ValueError naming the bad entry
        return v


SourceConfig = Annotated[
    ArxivSourceConfig | BiorxivSourceConfig | OpenReviewSourceConfig | FeedSourceConfig | SemanticScholarSourceConfig,
    Field(discriminator="type"),
]


def s2_id(ref: str) -> str:
    """``2106.09685`` -> ``ARXIV:2106.09685``; ``10.1038/x`` -> ``DOI:10.1038/x``."""
    try:
        return f"ARXIV:{split_arxiv_id(ref)[0]}"
    except ValueError:
        pass
    doi = normalize_doi(ref)
    if not doi:
        raise ValueError(f"{ref!r} is neither an arXiv id nor a DOI")
    return f"DOI:{doi}"
