"""The real arXiv day in ../shared/data that the benchmarks measure against.

Read at run time and never copied into the project. The folder can be moved
with ``PAPERRADAR_SHARED_DATA`` or each script's ``--data``/``--data-dir``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from paperradar.core.config import Topic  # noqa: E402
from paperradar.core.models import Paper  # noqa: E402

SHARED = Path(os.environ.get("PAPERRADAR_SHARED_DATA", REPO.parent / "shared" / "data"))
DAY = "2026-02-24"
LISTING = f"arxiv-listing-{DAY}.jsonl"
PROFILE = f"profile-topics-{DAY}.txt"
RUBRIC = f"scoring-criteria-{DAY}.txt"

_TOPIC = re.compile(r"^\d+\.\s*(.+?)\n\s*- Relevant:\s*(.+?)\n\s*- Irrelevant:\s*(.+?)$", re.M)


def read_listing(path: Path) -> tuple[list[Paper], dict[str, dict]]:
    """The listing's papers, and its raw rows (with the gpt-5 labels) by arXiv id."""
    papers, rows = [], {}
    for line in path.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        papers.append(
            Paper(
                arxiv_id=d["arxiv_id"],
                title=d["title"],
                abstract=d["abstract"],
                authors=d.get("authors") or [],
                categories=d.get("categories") or [],
                primary_category=d.get("primary_category"),
                comment=d.get("comment"),
            )
        )
        rows[d["arxiv_id"]] = d
    return papers, rows


def profile_topics(path: Path) -> list[Topic]:
    """The numbered topics (with their relevant / irrelevant notes) of a scanner's profile file."""
    text = path.read_text(encoding="utf-8")
    return [Topic(name=n.strip(), relevant=r.strip(), irrelevant=i.strip()) for n, r, i in _TOPIC.findall(text)]


def profile_keywords(path: Path) -> list[str]:
    """The profile file's list of relevant keywords ("MoE", "Pruning", ...)."""
    text = path.read_text(encoding="utf-8")
    m = re.search(r"^- Relevant:\s*(.+?)$", text.split("**Keywords:**", 1)[-1], re.M)
    if not m:
        return []
    return [k.strip() for k in re.split(r",|\(|\)", m.group(1).replace("etc.", "")) if k.strip()]
