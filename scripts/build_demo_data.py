#!/usr/bin/env python3
"""Build the bundled demo dataset in ``paperradar/demo/`` (a one-off; the output is committed).

Inputs (read-only, plain text):

* a published daily digest (``daily-digest-2026-02-24.txt``) from a
  gpt_paper_assistant-style scanner: for each selected paper an ``ArXiv ID:``,
  ``Authors:``, ``Abstract:`` plus the scanner's own LLM comment and scores;
* a Hugging-Face-style trending listing (``trending-papers-listing.txt``):
  alternating title and abstract lines, with no arXiv ids, authors or dates.

Only arXiv metadata is kept (id, title, authors, abstract). The digest's LLM
comments and scores, and its prompt, are dropped. Nothing is invented: neither
file gives categories, so ``categories`` is ``[]`` and ``primary_category`` is
null.

Outputs:

* ``papers.jsonl``: the digest's papers, one :class:`paperradar.core.models.Paper`
  per line, announced 2026-02-24 (the digest's date);
* ``trending.jsonl``: the listing's papers, also in ``Paper`` shape so the demo
  day has enough papers to filter, but with synthetic ids ``demo-0001``... (not
  arXiv ids), no authors, no announcement date, and ``"synthetic_id": true`` /
  ``"source": "trending-listing"`` markers. Papers already in the digest (same
  normalised title) are left out.

Usage (from the repository root)::

    python scripts/build_demo_data.py [DIGEST] [TRENDING] [--out paperradar/demo]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DIGEST = REPO / ".." / "shared" / "reference" / "daily-digest-2026-02-24.txt"
DEFAULT_TRENDING = REPO / ".." / "shared" / "reference" / "trending-papers-listing.txt"
DEFAULT_OUT = REPO / "paperradar" / "demo"

ANNOUNCED = "2026-02-24"
DEMO_ID_PREFIX = "demo-"

# --- LaTeX accents in author names -----------------------------------------------------------

# Accent command -> Unicode combining character.
_ACCENTS = {
    '"': "\u0308",  # diaeresis: \"u -> ü
    "'": "\u0301",  # acute: \'e -> é
    "`": "\u0300",  # grave
    "^": "\u0302",  # circumflex
    "~": "\u0303",  # tilde
    "=": "\u0304",  # macron
    ".": "\u0307",  # dot above
    "u": "\u0306",  # breve: \u{g} -> ğ
    "v": "\u030c",  # caron: \v{s} -> š
    "H": "\u030b",  # double acute: \H{o} -> ő
    "r": "\u030a",  # ring: \r{a} -> å
    "c": "\u0327",  # cedilla: \c{c} -> ç
    "k": "\u0328",  # ogonek: \k{a} -> ą
}
# Letter-like commands: \o -> ø, \ss -> ß, ...
_LETTERS = {
    "o": "ø",
    "O": "Ø",
    "ss": "ß",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "aa": "å",
    "AA": "Å",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
}

# \"u, \"{u}, \c{c}, \c c, \'{\i}; symbol accents need no space, letter accents need {..} or a space.
_ACCENT_RE = re.compile(
    r"""\\(?:(?P<sym>["'`^~=.])\s*|(?P<word>[uvHrck])(?:\s+|(?=\{)))"""
    r"""(?:\{\s*(?P<braced>\\[ij]|[A-Za-z])\s*\}|(?P<bare>\\[ij](?![A-Za-z])|[A-Za-z]))"""
)
_LETTER_RE = re.compile(r"\\(" + "|".join(sorted(_LETTERS, key=len, reverse=True)) + r")(?![A-Za-z])\s?")


def decode_latex_name(text: str) -> str:
    """Turn LaTeX accent commands in a name into Unicode: ``Fran\\c{c}ois`` -> ``François``."""

    def accent(m: re.Match) -> str:
        cmd = m.group("sym") or m.group("word")
        base = m.group("braced") or m.group("bare")
        if base in ("\\i", "\\j"):  # dotless i/j under an accent is just i/j
            base = base[1]
        return unicodedata.normalize("NFC", base + _ACCENTS[cmd])

    out = _ACCENT_RE.sub(accent, text)
    out = _LETTER_RE.sub(lambda m: _LETTERS[m.group(1)], out)
    out = out.replace("{", "").replace("}", "")  # grouping braces, e.g. R{\o}nneberg
    out = re.sub(r"\s+", " ", out).strip()
    if "\\" in out:
        raise ValueError(f"undecoded LaTeX left in name: {text!r} -> {out!r}")
    return unicodedata.normalize("NFC", out)


# --- parsing -----------------------------------------------------------------------------------

_ID_LINE = re.compile(r"^ArXiv ID:\s*(\d{4}\.\d{4,5})(?:v\d+)?\s*$")
_NUMBERED_TITLE = re.compile(r"^\d+\.\s+(.+?)\s*$")


def _field(line: str, name: str) -> str:
    prefix = f"{name}:"
    if not line.startswith(prefix):
        raise ValueError(f"expected a {name!r} line, got {line[:80]!r}")
    return line[len(prefix) :].strip()


def parse_digest(text: str) -> list[dict]:
    """The digest's papers: title (the numbered line before ``ArXiv ID:``), id, authors, abstract."""
    lines = text.splitlines()
    papers = []
    for i, line in enumerate(lines):
        m = _ID_LINE.match(line)
        if not m:
            continue
        title_m = _NUMBERED_TITLE.match(lines[i - 1])
        if not title_m:
            raise ValueError(f"line {i}: no numbered title before the ArXiv ID line")
        authors = [decode_latex_name(a) for a in _field(lines[i + 1], "Authors").split(",")]
        papers.append(
            {
                "arxiv_id": m.group(1),
                "title": re.sub(r"\s+", " ", title_m.group(1)),
                "authors": [a for a in authors if a],
                "abstract": _field(lines[i + 2], "Abstract"),
            }
        )
    if not papers:
        raise ValueError("no 'ArXiv ID:' lines found: is this the daily digest?")
    return papers


def parse_trending(text: str) -> list[dict]:
    """The listing's papers: alternating title and abstract lines after the page's header."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    while lines and lines[0].startswith("Get trending papers"):
        lines.pop(0)
    if lines:  # the subscribe button's label is glued to the first title
        lines[0] = lines[0].removeprefix("Subscribe")
    if len(lines) % 2:
        raise ValueError(f"expected title/abstract pairs, got an odd number of lines ({len(lines)})")
    papers = []
    for title, abstract in zip(lines[::2], lines[1::2], strict=True):
        # A sanity check that the pairing did not slip: titles are short, abstracts are not.
        if len(title) > 300 or len(abstract) < len(title):
            raise ValueError(f"title/abstract pairing looks wrong near {title[:80]!r}")
        papers.append({"title": re.sub(r"\s+", " ", title), "abstract": abstract})
    return papers


def title_key(title: str) -> str:
    t = unicodedata.normalize("NFKD", title)
    t = "".join(c for c in t if not unicodedata.combining(c)).casefold()
    return re.sub(r"[^a-z0-9]+", " ", t).strip()


# --- records -------------------------------------------------------------------------------------


def paper_record(arxiv_id: str, title: str, abstract: str, authors: list[str], announced: str | None) -> dict:
    """A dict with exactly the :class:`paperradar.core.models.Paper` fields the demo uses."""
    return {
        "arxiv_id": arxiv_id,
        "version": 1,
        "title": title,
        "abstract": abstract,
        "authors": authors,
        "categories": [],  # the sources give none; not guessed
        "primary_category": None,
        "announce_type": "new",
        "announced": announced,
        "comment": None,  # the arXiv comment field; the digest's LLM comment is not it
    }


def build(digest_text: str, trending_text: str) -> tuple[list[dict], list[dict], dict[str, int]]:
    digest = parse_digest(digest_text)
    papers: list[dict] = []
    seen_ids: set[str] = set()
    seen_titles: set[str] = set()
    dup_in_digest = 0
    for p in digest:
        if p["arxiv_id"] in seen_ids:
            dup_in_digest += 1
            continue
        seen_ids.add(p["arxiv_id"])
        seen_titles.add(title_key(p["title"]))
        papers.append(paper_record(p["arxiv_id"], p["title"], p["abstract"], p["authors"], ANNOUNCED))

    listing = parse_trending(trending_text)
    trending: list[dict] = []
    dup_across = 0
    for p in listing:
        key = title_key(p["title"])
        if key in seen_titles:
            dup_across += 1  # in the digest too (or twice in the listing): keep the first
            continue
        seen_titles.add(key)
        rec = paper_record(f"{DEMO_ID_PREFIX}{len(trending) + 1:04d}", p["title"], p["abstract"], [], None)
        rec["synthetic_id"] = True
        rec["source"] = "trending-listing"
        trending.append(rec)

    stats = {
        "digest_entries": len(digest),
        "papers": len(papers),
        "digest_duplicates": dup_in_digest,
        "listing_entries": len(listing),
        "trending": len(trending),
        "trending_duplicates": dup_across,
    }
    return papers, trending, stats


def write_jsonl(path: Path, records: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("digest", nargs="?", type=Path, default=DEFAULT_DIGEST, help="the daily digest text file")
    ap.add_argument("trending", nargs="?", type=Path, default=DEFAULT_TRENDING, help="the trending listing text file")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: paperradar/demo)")
    args = ap.parse_args(argv)

    papers, trending, stats = build(args.digest.read_text(encoding="utf-8"), args.trending.read_text(encoding="utf-8"))
    args.out.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out / "papers.jsonl", papers)
    write_jsonl(args.out / "trending.jsonl", trending)
    print(json.dumps(stats), file=sys.stderr)
    print(
        f"wrote {len(papers)} papers to {args.out / 'papers.jsonl'} and "
        f"{len(trending)} to {args.out / 'trending.jsonl'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
