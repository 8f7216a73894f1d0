"""One record per work: the identifiers that tie a paper's appearances together.

A work is the same work when it shares a DOI, an arXiv id, or its exact
normalized title *and* first author's surname with a stored one. Titles are
compared exactly after normalization, never by similarity: "Scaling Laws for
Neural Language Models" and "Scaling Laws for Neural Machine Translation" are
different works, and so are "Part I" and "Part II". A title match is refused
when the two records carry different arXiv ids, or different DOIs from the
same registrant (two bioRxiv preprints), since those are two works that
happen to share a title.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from .models import Paper, split_arxiv_id

_DOI = re.compile(r"\b(10\.\d{4,9}/[^\s\"'<>]+)", re.IGNORECASE)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)
_LATEX = re.compile(r"\$[^$]*\$|\\[a-zA-Z]+")
# Titles shorter than this many words ("Introduction", "Editorial") are too
# generic for a title match alone.
MIN_TITLE_WORDS = 4


def normalize_doi(raw: str | None) -> str | None:
    """``https://doi.org/10.1101/X.`` -> ``10.1101/x``; None when there is no DOI in it."""
    if not raw:
        return None
    m = _DOI.search(raw.strip())
    if not m:
        return None
    return m.group(1).rstrip(".,;)]}").lower()


def find_doi(*texts: str | None) -> str | None:
    """The first DOI in any of ``texts`` (a link, an id, a summary)."""
    for text in texts:
        if doi := normalize_doi(text):
            return doi
    return None


def arxiv_id_of_doi(doi: str | None) -> str | None:
    """arXiv's own DOIs (10.48550/arXiv.2602.19938) name an arXiv paper."""
    m = _ARXIV_DOI.match(doi or "")
    if not m:
        return None
    try:
        return split_arxiv_id(m.group(1))[0]
    except ValueError:
        return None


def fold(text: str) -> str:
    """Lower-case ASCII words: accents, LaTeX, punctuation and spacing do not matter."""
    text = _LATEX.sub(" ", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def surname(author: str) -> str:
    """The family name of "Ada Lovelace", "Lovelace, Ada" or "Lovelace A"."""
    name = author.strip()
    if "," in name:
        return fold(name.split(",", 1)[0])
    words = fold(name).split()
    # "Lovelace A" / "Lovelace AB" (initials after the surname, as bioRxiv and PubMed write them).
    if len(words) > 1 and len(words[-1]) <= 2 and len(words[0]) > 2:
        return words[0]
    return words[-1] if words else ""


def title_key(title: str, authors: Iterable[str]) -> str | None:
    """``normalized title|first author surname``; None when either is missing or the title is generic."""
    words = fold(title).split()
    first = next(iter(authors), "")
    family = surname(first) if first else ""
    if len(words) < MIN_TITLE_WORDS or not family:
        return None
    return f"{' '.join(words)}|{family}"


def identifiers(paper: Paper) -> dict[str, str]:
    """The keys a paper can be found by: ``arxiv``, ``doi`` and ``title``."""
    out: dict[str, str] = {}
    if paper.has_arxiv_id:
        out["arxiv"] = paper.arxiv_id
    doi = normalize_doi(paper.doi)
    if doi:
        out["doi"] = doi
        if "arxiv" not in out and (aid := arxiv_id_of_doi(doi)):
            out["arxiv"] = aid
    if key := title_key(paper.title, paper.authors):
        out["title"] = key
    return out


def doi_registrant(doi: str) -> str:
    return doi.split("/", 1)[0]


def conflicting(a: dict[str, list[str]], b: dict[str, str]) -> bool:
    """Whether stored identifiers ``a`` and a new paper's ``b`` name two different works."""
    if "arxiv" in b and a.get("arxiv") and b["arxiv"] not in a["arxiv"]:
        return True
    if "doi" in b and b["doi"] not in a.get("doi", []):
        same_registrant = [d for d in a.get("doi", []) if doi_registrant(d) == doi_registrant(b["doi"])]
        return bool(same_registrant)
    return False
