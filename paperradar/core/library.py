"""Import a reference library (BibTeX, Zotero CSV/RDF) as examples of what you read.

Each item is matched to arXiv where the export says so (eprint/arxivId
fields, arxiv.org URLs, DOIs 10.48550/arXiv.X, "arXiv: X" lines in Zotero's
Extra or a BibTeX note/journal). Every item's title and abstract is embedded
and kept in ``library_items``: matched papers become seed papers of the
profile, and all items are positives for the learned classifier
(:mod:`paperradar.stages.learn`), arXiv or not.

Parsing is pure (bytes → :class:`LibraryItem`) and forgiving: exports come in
UTF-8 with or without BOM, UTF-16 or latin-1, with LaTeX accents and
missing fields; an item without a title is skipped with a note.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from .embedding import Embedder, content_hash, normalize_text
from .errors import PaperradarError
from .repositories.library import LibraryRecord, LibraryRow
from .store import Store, utcnow

Format = Literal["bibtex", "zotero-csv", "zotero-rdf"]

_ID = r"(\d{4}\.\d{4,5}(?!\d)|[a-z\-]+(?:\.[a-z]{2})?/\d{7})(?:v\d+)?"
# Ordered from most to least specific; all case-insensitive.
_ARXIV_PATTERNS = [
    re.compile(r"arxiv\.org/(?:abs|pdf|html)/" + _ID, re.I),
    re.compile(r"10\.48550/arxiv\." + _ID, re.I),
    re.compile(r"arxiv\s*:\s*" + _ID, re.I),
    re.compile(r"\bcorr\b.*?abs/" + _ID, re.I),
]
_BARE_ID = re.compile(r"^\s*(?:arxiv:)?" + _ID + r"\s*$", re.I)


class LibraryError(PaperradarError):
    """A library export cannot be read."""


class LibraryItem(BaseModel):
    title: str
    abstract: str = ""
    authors: list[str] = Field(default_factory=list)
    year: int | None = None
    doi: str | None = None
    url: str | None = None
    arxiv_id: str | None = None
    source_format: Format

    @property
    def key(self) -> str:
        if self.arxiv_id:
            return f"arxiv:{self.arxiv_id}"
        if self.doi:
            return f"doi:{self.doi.lower()}"
        folded = re.sub(r"\W+", " ", self.title.casefold()).strip()
        return "title:" + hashlib.sha256(folded.encode()).hexdigest()[:16]

    def text(self) -> str:
        # Same shape as embed.paper_text, so library vectors compare with paper vectors.
        return f"{normalize_text(self.title)}. {normalize_text(self.abstract)}".rstrip(". ")


@dataclass
class ParseResult:
    items: list[LibraryItem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


# -- helpers ----------------------------------------------------------------


def decode(data: bytes) -> str:
    """Text of an export whatever its encoding: BOMs first, then UTF-8, else latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # cp1252 is what "latin-1" files from Windows tools really are; it
        # leaves five bytes undefined, which plain latin-1 then covers.
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            return data.decode("latin-1")


def find_arxiv_id(*texts: str | None) -> str | None:
    for pattern in _ARXIV_PATTERNS:
        for t in texts:
            if t and (m := pattern.search(t)):
                return _canonical(m.group(1))
    return None


def _canonical(raw: str) -> str:
    # Old-style ids: archive in lower case, subject class upper (math.AG/0601001).
    if "/" not in raw:
        return raw
    archive, num = raw.split("/", 1)
    name, _, sub = archive.partition(".")
    return f"{name.lower()}{'.' + sub.upper() if sub else ''}/{num}"


def _doi(raw: str | None) -> str | None:
    if not raw:
        return None
    m = re.search(r"10\.\d{4,9}/\S+", raw)
    return m.group(0).rstrip(".,;") if m else None


def _year(raw: str | None) -> int | None:
    m = re.search(r"\b(1[89]\d\d|2\d\d\d)\b", raw or "")
    return int(m.group(1)) if m else None


def _clean(text: str | None) -> str:
    t = (text or "").replace("{", "").replace("}", "")
    return " ".join(t.split())


def _split_authors(raw: str | None, sep: str) -> list[str]:
    out = []
    for name in re.split(sep, raw or ""):
        name = _clean(name)
        if not name:
            continue
        if "," in name:
            last, first = (x.strip() for x in name.split(",", 1))
            name = f"{first} {last}".strip()
        out.append(name)
    return out


# -- BibTeX -----------------------------------------------------------------


def parse_bibtex(data: bytes) -> ParseResult:
    import bibtexparser
    from bibtexparser import middlewares as mw

    result = ParseResult()
    library = bibtexparser.parse_string(
        decode(data), append_middleware=[mw.LatexDecodingMiddleware(), mw.NormalizeFieldKeys()]
    )
    for block in library.failed_blocks:
        result.skipped.append(f"unparsable BibTeX near line {block.start_line + 1}")
    for entry in library.entries:
        f = {k: str(v.value) for k, v in entry.fields_dict.items()}
        title = _clean(f.get("title"))
        if not title:
            result.skipped.append(f"@{entry.entry_type}{{{entry.key}}}: no title")
            continue
        arxiv_id = None
        eprint = f.get("eprint") or f.get("arxivid") or f.get("arxiv")
        kind = (f.get("archiveprefix") or f.get("eprinttype") or "").lower()
        if eprint and (kind in ("", "arxiv")) and (m := _BARE_ID.match(eprint)):
            arxiv_id = _canonical(m.group(1))
        arxiv_id = arxiv_id or find_arxiv_id(
            f.get("url"),
            f.get("doi"),
            f.get("journal"),
            f.get("note"),
            f.get("howpublished"),
            f.get("volume"),
            f.get("eprint"),
            f.get("annote"),
        )
        result.items.append(
            LibraryItem(
                title=title,
                abstract=_clean(f.get("abstract")),
                authors=_split_authors(f.get("author"), r"\s+and\s+"),
                year=_year(f.get("year") or f.get("date")),
                doi=_doi(f.get("doi")),
                url=f.get("url"),
                arxiv_id=arxiv_id,
                source_format="bibtex",
            )
        )
    return result


# -- Zotero CSV -------------------------------------------------------------


def parse_zotero_csv(data: bytes) -> ParseResult:
    result = ParseResult()
    reader = csv.DictReader(io.StringIO(decode(data), newline=""))
    if not reader.fieldnames or "Title" not in reader.fieldnames:
        raise LibraryError("This CSV has no 'Title' column: export it from Zotero with File → Export Library → CSV.")
    for n, row in enumerate(reader, start=2):
        if (row.get("Item Type") or "").lower() in ("attachment", "note"):
            continue
        title = _clean(row.get("Title"))
        if not title:
            result.skipped.append(f"CSV line {n}: no title")
            continue
        result.items.append(
            LibraryItem(
                title=title,
                abstract=_clean(row.get("Abstract Note")),
                authors=_split_authors(row.get("Author"), r";"),
                year=_year(row.get("Publication Year") or row.get("Date")),
                doi=_doi(row.get("DOI")),
                url=row.get("Url") or None,
                arxiv_id=find_arxiv_id(
                    row.get("Url"),
                    row.get("DOI"),
                    row.get("Extra"),
                    row.get("Archive Location"),
                    row.get("Publication Title"),
                    row.get("Report Number"),
                    row.get("Notes"),
                ),
                source_format="zotero-csv",
            )
        )
    return result


# -- Zotero RDF -------------------------------------------------------------

NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "z": "http://www.zotero.org/namespaces/export#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "bib": "http://purl.org/net/biblio#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "prism": "http://prismstandard.org/namespaces/1.2/basic/",
}
_NOT_ITEMS = {"Attachment", "Memo", "Collection", "Journal", "Organization", "Person", "Series"}


def _texts(el: ET.Element, path: str) -> list[str]:
    return [" ".join("".join(x.itertext()).split()) for x in el.findall(path, NS)]


def parse_zotero_rdf(data: bytes) -> ParseResult:
    result = ParseResult()
    try:
        # Parsing bytes lets the XML declaration pick the encoding.
        root = ET.fromstring(data.lstrip(b"\xef\xbb\xbf") if data.startswith(b"\xef\xbb\xbf") else data)
    except ET.ParseError as exc:
        raise LibraryError(f"Not a readable Zotero RDF file ({exc}). Export again with format 'Zotero RDF'.") from None
    for n, el in enumerate(root):
        local = el.tag.rsplit("}", 1)[-1]
        item_type = " ".join(_texts(el, "z:itemType")).lower()
        if local in _NOT_ITEMS or item_type in ("attachment", "note"):
            continue
        titles = _texts(el, "dc:title")
        if not titles or not titles[0]:
            if item_type or local not in ("Description",):
                result.skipped.append(f"RDF item {n} ({local}): no title")
            continue
        identifiers = _texts(el, "dc:identifier") + _texts(el, ".//rdf:value")
        descriptions = _texts(el, "dc:description") + _texts(el, "dcterms:isPartOf//dc:title")
        about = el.get(f"{{{NS['rdf']}}}about", "")
        authors = []
        for person in el.findall("bib:authors//foaf:Person", NS):
            first = " ".join(_texts(person, "foaf:givenName") + _texts(person, "foaf:givenname"))
            last = " ".join(_texts(person, "foaf:surname"))
            authors.append(f"{first} {last}".strip())
        doi = next((d for i in identifiers if (d := _doi(i))), None)
        result.items.append(
            LibraryItem(
                title=_clean(titles[0]),
                abstract=_clean(" ".join(_texts(el, "dcterms:abstract"))),
                authors=[a for a in authors if a],
                year=_year(" ".join(_texts(el, "dc:date"))),
                doi=doi,
                url=next((i for i in identifiers if i.startswith("http")), None),
                arxiv_id=find_arxiv_id(*identifiers, about, *descriptions, *_texts(el, "prism:number")),
                source_format="zotero-rdf",
            )
        )
    return result


# -- format detection and import ---------------------------------------------


def detect_format(path: Path, data: bytes) -> Format:
    suffix = path.suffix.lower()
    head = decode(data[:4096]).lstrip().lower()
    if suffix == ".rdf" or head.startswith("<?xml") or head.startswith("<rdf:rdf"):
        return "zotero-rdf"
    if suffix == ".csv" or head.startswith('"key"') or head.startswith("key,"):
        return "zotero-csv"
    if suffix in (".bib", ".bibtex") or head.startswith("@") or "\n@" in head:
        return "bibtex"
    raise LibraryError(
        f"Cannot tell what {path} is: use a BibTeX (.bib), Zotero CSV (.csv) or Zotero RDF (.rdf) export."
    )


PARSERS: dict[Format, Callable[[bytes], ParseResult]] = {
    "bibtex": parse_bibtex,
    "zotero-csv": parse_zotero_csv,
    "zotero-rdf": parse_zotero_rdf,
}


def parse_library(path: Path) -> ParseResult:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LibraryError(f"Cannot read {path}: {exc.strerror}.") from None
    return PARSERS[detect_format(path, data)](data)


@dataclass
class ImportReport:
    items: int = 0
    arxiv: int = 0
    new: int = 0
    updated: int = 0
    embedded: int = 0
    skipped: list[str] = field(default_factory=list)


def save_items(store: Store, items: Iterable[LibraryItem], source_file: str) -> tuple[int, int]:
    """Upsert items; the vector is cleared only when the text it was made from changed."""
    new = updated = 0
    now = utcnow()
    with store.transaction():
        for item in items:
            record = LibraryRecord(
                item_key=item.key,
                title=item.title,
                source_format=item.source_format,
                source_file=source_file,
                imported_at=now,
                abstract=item.abstract,
                authors=item.authors,
                year=item.year,
                doi=item.doi,
                url=item.url,
                arxiv_id=item.arxiv_id,
            )
            old = store.library.stored(item.key)
            if old is None:
                store.library.insert(record)
                new += 1
            else:
                store.library.update(record, keep_vector=old.content_hash == content_hash(item.text()))
                updated += 1
    return new, updated


def embed_library(store: Store, embedder: Embedder, progress: Callable[[int], None] | None = None) -> int:
    """Embed items that have no vector for the current model; returns how many."""
    rows = store.library.unembedded(embedder.key)
    if not rows:
        return 0
    texts = [LibraryItem(title=r.title, abstract=r.abstract, source_format="bibtex").text() for r in rows]
    vectors = embedder.encode(texts, progress=progress)
    store.library.set_vectors(
        embedder.key,
        ((r.item_key, content_hash(text), vec) for r, text, vec in zip(rows, texts, vectors, strict=True)),
    )
    return len(rows)


def import_library(
    store: Store, path: Path, embedder: Embedder | None, progress: Callable[[int], None] | None = None
) -> ImportReport:
    parsed = parse_library(path)
    # One export can list the same paper twice (preprint and published version).
    unique = {item.key: item for item in parsed.items}
    new, updated = save_items(store, unique.values(), str(path))
    report = ImportReport(
        items=len(unique),
        arxiv=sum(1 for i in unique.values() if i.arxiv_id),
        new=new,
        updated=updated,
        skipped=parsed.skipped,
    )
    if embedder is not None:
        report.embedded = embed_library(store, embedder, progress)
    return report


def list_items(store: Store) -> list[LibraryRow]:
    return store.library.rows()


def library_seed_ids(store: Store) -> list[str]:
    """arXiv ids of library papers: seed papers of the profile, beside the config's seed_papers."""
    return store.library.arxiv_ids()


def library_vectors(store: Store, model: str) -> dict[str, tuple[str, np.ndarray]]:
    """Embedded items for ``model``: {item_key: (title, vector)}."""
    return {v.item_key: (v.title, v.vector) for v in store.library.vectors(model)}


# Each probe is a separate max in the prefilter, so hundreds of library papers
# would drown the topics; the newest few are probes and the whole library
# teaches the learned classifier.
MAX_SEED_PROBES = 20


def library_seeds(store: Store, model: str, limit: int = MAX_SEED_PROBES) -> list[tuple[str, np.ndarray, str | None]]:
    """(label, vector, arXiv id or None) of the most recently imported embedded items."""
    return [
        (f"{v.arxiv_id + ': ' if v.arxiv_id else ''}{v.title} (library)", v.vector, v.arxiv_id)
        for v in store.library.newest_vectors(model, limit)
    ]


def library_count(store: Store) -> int:
    return store.library.count()


__all__ = [
    "ImportReport",
    "LibraryError",
    "LibraryItem",
    "LibraryRow",
    "ParseResult",
    "decode",
    "detect_format",
    "embed_library",
    "find_arxiv_id",
    "import_library",
    "library_seed_ids",
    "library_vectors",
    "list_items",
    "parse_bibtex",
    "parse_library",
    "parse_zotero_csv",
    "parse_zotero_rdf",
]
