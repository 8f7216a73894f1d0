"""The bundled demo day (2026-02-24) and an example profile.

* ``papers.jsonl``: 42 real arXiv papers (ids, titles, authors, abstracts) from a
  published daily digest of 2026-02-24;
* ``trending.jsonl``: papers from a trending listing that gives no arXiv ids or
  authors. They fill the demo day so the prefilter has off-topic papers to drop,
  under synthetic ids ``demo-0001``... that are *not* arXiv ids
  (see :func:`is_demo_id`);
* ``profile.toml``: an example ``[profile]`` about deep-learning training
  dynamics and theory.

See ``SOURCES.md`` for provenance and ``scripts/build_demo_data.py`` for the build.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from ..core.models import Paper

PAPERS_FILE = "papers.jsonl"
TRENDING_FILE = "trending.jsonl"
PROFILE_FILE = "profile.toml"
SOURCES_FILE = "SOURCES.md"

#: Prefix of the synthetic ids given to the trending listing's papers (they have no arXiv id).
DEMO_ID_PREFIX = "demo-"


def demo_dir() -> Path:
    """The folder holding the demo files (inside the installed package)."""
    return Path(str(resources.files(__name__)))


def demo_profile_path() -> Path:
    """The example profile, a TOML file with one ``[profile]`` table."""
    return demo_dir() / PROFILE_FILE


def is_demo_id(arxiv_id: str) -> bool:
    """True for the synthetic ids of the trending papers: they do not exist on arXiv."""
    return arxiv_id.startswith(DEMO_ID_PREFIX)


def _read_jsonl(name: str) -> list[Paper]:
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    # Extra keys (the trending file's "source"/"synthetic_id" markers) are ignored by Paper.
    return [Paper.model_validate(json.loads(line)) for line in text.splitlines() if line.strip()]


def load_demo_papers(*, include_trending: bool = True) -> list[Paper]:
    """The demo day's papers: the digest's real arXiv papers, then (by default) the trending filler.

    The trending papers carry ``demo-NNNN`` ids, no authors and no ``announced`` date;
    store them with an explicit day (``Store.upsert_papers(papers, DEMO_DAY)``).
    Pass ``include_trending=False`` for the real arXiv papers only.
    """
    papers = _read_jsonl(PAPERS_FILE)
    if include_trending:
        papers += _read_jsonl(TRENDING_FILE)
    return papers
