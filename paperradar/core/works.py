"""The store's side of "one record per work": locations, identifiers and fetches.

:meth:`Works.ingest` is how every source's papers enter the store. Each paper
is first looked up (its own location, its key, its arXiv id, DOI and title
key; see :mod:`paperradar.core.dedup`); a paper of a known work adds a location to
that work instead of a second record, so it is embedded, judged and ranked
once. A work already announced on an earlier day is not announced again when
another source lists it: its digest, embedding and judgment already exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from .dedup import conflicting, identifiers, normalize_doi
from .models import Location, Paper, cap_paper
from .store import Store, UpsertResult, utcnow


@dataclass
class IngestResult:
    new: int = 0
    updated: int = 0
    merged: int = 0  # papers that turned out to be a stored work listed by another source
    unchanged: int = 0
    merges: list[tuple[str, str]] = field(default_factory=list)  # (incoming id, stored work)
    kept: list[str] = field(default_factory=list)  # see UpsertResult
    truncated: list[str] = field(default_factory=list)

    def add(self, r: UpsertResult) -> None:
        self.new += r.new
        self.updated += r.updated
        self.unchanged += r.unchanged
        self.kept += r.kept
        self.truncated += r.truncated


class Works:
    def __init__(self, store: Store):
        self.store = store
        self.repo = store.works

    # -- fetch bookkeeping -------------------------------------------------------------------

    def fetched(self, source: str, day: dt.date) -> bool:
        return self.repo.fetched(source, day)

    def any_fetched(self, day: dt.date) -> bool:
        return self.repo.any_fetched(day)

    def record_fetch(self, source: str, day: dt.date, papers: int) -> None:
        self.repo.record_fetch(source, day, papers, utcnow())

    # -- resolving ---------------------------------------------------------------------------

    def resolve(self, paper: Paper) -> str | None:
        """The key of the stored work ``paper`` is an appearance of, or None for a new work."""
        for loc in paper.locations[:1]:
            stored = self.repo.location(loc.source, loc.source_id)
            if stored:
                return stored.key
        if self.repo.has_paper(paper.arxiv_id):
            return paper.arxiv_id
        ids = identifiers(paper)
        published = [normalize_doi(loc.extra.get("published_doi")) for loc in paper.locations[:1]]
        strong = [(k, ids[k]) for k in ("arxiv", "doi") if k in ids] + [("doi", d) for d in published if d]
        for kind, value in strong:
            key = self.repo.key_for(kind, value)
            if key:
                return key
        if "title" in ids:
            key = self.repo.key_for("title", ids["title"])
            if key and not conflicting(self.repo.identifiers(key), ids):
                return key
        return None

    # -- writing -----------------------------------------------------------------------------

    def ingest(self, papers: Iterable[Paper], day: dt.date) -> IngestResult:
        """Store one source's papers of ``day``, merging appearances of known works."""
        result = IngestResult()
        with self.store.transaction():
            for p in papers:
                self._ingest_one(p, day, result)
        return result

    def _ingest_one(self, p: Paper, day: dt.date, result: IngestResult) -> None:
        loc = p.locations[0] if p.locations else None
        key = self.resolve(p)
        stored_loc = self.repo.location(loc.source, loc.source_id) if loc else None
        if key is None:
            result.add(self.store.upsert_papers([p], day))
            key = p.arxiv_id
        elif key == p.arxiv_id and (loc is None or loc.kind == "arxiv"):
            # arXiv's own record: the store's version and announcement rules apply as they always have.
            result.add(self.store.upsert_papers([p], day))
        elif stored_loc is not None and (loc.version or 0) <= (stored_loc.version or 0):
            # Listed again by the same source (a feed keeps old entries): only its facts may change.
            result.unchanged += 1
        elif stored_loc is not None and key == p.arxiv_id:
            # A newer version at the source the record came from: its text is replaced.
            kind = "replace" if self.repo.announced_before(key, day) else p.announce_type
            result.add(self.store.upsert_papers([p.model_copy(update={"announce_type": kind})], day))
        else:
            result.merged += 1
            result.merges.append((p.arxiv_id, key))
            # Another source's copy never replaces the stored text (that would re-embed and
            # re-judge the work), but it may supply what the first source lacked, within the size caps.
            capped, _ = cap_paper(p)
            self.repo.fill_gaps(key, capped.abstract, capped.authors)
            if stored_loc is not None and not self.repo.announced_on(key, day):
                # A newer version, at another source, of a work whose record came from elsewhere.
                self.repo.announce_replacement(key, day, loc.version or 1)
        if loc is not None:
            self.repo.put_location(key, loc, day, utcnow())
        self._index(key, p)

    def _index(self, key: str, p: Paper) -> None:
        ids = list(identifiers(p).items())
        # A preprint's journal DOI finds it when the journal's feed lists the published version.
        ids += [("doi", d) for loc in p.locations[:1] if (d := normalize_doi(loc.extra.get("published_doi")))]
        self.repo.add_identifiers(key, ids)
        if doi := normalize_doi(p.doi):
            self.repo.set_doi(key, doi)

    # -- reading -----------------------------------------------------------------------------

    def locations(self, keys: Iterable[str]) -> dict[str, list[Location]]:
        return self.repo.locations(keys)

    def new_citations(self, day: dt.date) -> list[dict]:
        """Works first found citing one of your papers on ``day`` (announced that day or earlier)."""
        # Plain dicts: they go into the digest's sections, which are written out as JSON.
        return [asdict(c) for c in self.repo.citing(day)]

    def dois(self, keys: Iterable[str]) -> dict[str, str]:
        return self.repo.dois(keys)

    def attach(self, papers: list[Paper]) -> list[Paper]:
        """``papers`` with their DOI and every place they appear filled in."""
        keys = [p.arxiv_id for p in papers]
        locs, dois = self.locations(keys), self.dois(keys)
        return [
            p.model_copy(update={"locations": locs.get(p.arxiv_id) or p.locations, "doi": dois.get(p.arxiv_id, p.doi)})
            for p in papers
        ]
