"""The bundled demo day and example profile are consistent with each other and with SOURCES.md."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
import sys
import tomllib
from pathlib import Path

import pytest

from paperradar.core.config import ProfileConfig
from paperradar.core.models import Paper, split_arxiv_id
from paperradar.demo import demo_dir, demo_profile_path, is_demo_id, load_demo_papers
from paperradar.stages.profile import fold

DEMO_DAY = dt.date(2026, 2, 24)
REPO = Path(__file__).resolve().parent.parent


def _lines(name: str) -> list[dict]:
    return [json.loads(line) for line in (demo_dir() / name).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def profile() -> dict:
    return tomllib.loads(demo_profile_path().read_text(encoding="utf-8"))["profile"]


def test_files_are_there():
    for name in ("papers.jsonl", "trending.jsonl", "profile.toml", "SOURCES.md"):
        assert (demo_dir() / name).is_file(), name


def test_digest_papers_are_valid_arxiv_records():
    papers = load_demo_papers(include_trending=False)
    assert len(papers) >= 40
    for p in papers:
        assert isinstance(p, Paper)
        assert split_arxiv_id(p.arxiv_id) == (p.arxiv_id, None)
        assert not is_demo_id(p.arxiv_id)
        assert p.title and p.abstract and p.authors
        assert p.announced == DEMO_DAY
        assert p.version == 1 and p.announce_type == "new" and p.comment is None
        # The sources give no categories and none are invented.
        assert p.categories == [] and p.primary_category is None


def test_trending_papers_are_marked_synthetic():
    raw = _lines("trending.jsonl")
    assert raw
    for i, rec in enumerate(raw, 1):
        assert rec["arxiv_id"] == f"demo-{i:04d}"
        assert rec["synthetic_id"] is True and rec["source"] == "trending-listing"
        assert rec["authors"] == [] and rec["announced"] is None
        p = Paper.model_validate(rec)
        assert is_demo_id(p.arxiv_id) and p.title and p.abstract
        with pytest.raises(ValueError):
            split_arxiv_id(p.arxiv_id)  # not to be mistaken for an arXiv id


def test_demo_day_is_realistic_and_unique():
    papers = load_demo_papers()
    assert 100 <= len(papers) <= 300
    ids = [p.arxiv_id for p in papers]
    assert len(ids) == len(set(ids))
    titles = [re.sub(r"[^a-z0-9]+", " ", fold(p.title)).strip() for p in papers]
    assert len(titles) == len(set(titles)), "a paper is in both the digest and the trending listing"


def test_author_names_are_decoded():
    names = [a for p in load_demo_papers() for a in p.authors]
    assert names
    for name in names:
        assert "\\" not in name and "{" not in name and "}" not in name, name
        assert name == name.strip() and name
    for expected in ("J. François", "Oğuz Kaan Yüksel", "Rémi Gribonval", "Leiv Rønneberg", "Markus Götz"):
        assert expected in names


def test_profile_is_valid_and_points_at_demo_papers(profile):
    cfg = ProfileConfig.model_validate(profile)
    assert 4 <= len(cfg.topics) <= 6
    assert all(t.relevant and t.irrelevant for t in cfg.topics)
    assert 3 <= len(cfg.authors) <= 5
    assert 2 <= len(cfg.seed_papers) <= 3
    assert cfg.keywords and cfg.negative_keywords

    real = load_demo_papers(include_trending=False)
    ids = {p.arxiv_id for p in real}
    for seed in cfg.seed_papers:
        assert seed in ids, f"seed paper {seed} is not in papers.jsonl"
    authors = {fold(a) for p in real for a in p.authors}
    for name in cfg.authors:
        assert fold(name) in authors, f"followed author {name!r} is not in the demo data"


def test_negative_keywords_leave_the_seed_papers(profile):
    from paperradar.stages.profile import keyword_pattern

    by_id = {p.arxiv_id: p for p in load_demo_papers()}
    for seed in profile["seed_papers"]:
        text = fold(f"{by_id[seed].title} {by_id[seed].abstract}")
        assert not [k for k in profile["negative_keywords"] if keyword_pattern(k).search(text)]


def test_sources_counts_match_the_files():
    text = (demo_dir() / "SOURCES.md").read_text(encoding="utf-8")
    counts = {name: int(n) for name, n in re.findall(r"`(\w+\.jsonl)`: (\d+) papers", text)}
    assert counts == {"papers.jsonl": len(_lines("papers.jsonl")), "trending.jsonl": len(_lines("trending.jsonl"))}
    total = re.search(r"demo day in all: (\d+) papers", text)
    assert total and int(total.group(1)) == len(load_demo_papers())


def _builder():
    spec = importlib.util.spec_from_file_location("build_demo_data", REPO / "scripts" / "build_demo_data.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_demo_data", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("latex", "text"),
    [
        (r"J. Fran\c{c}ois", "J. François"),
        (r"O\u{g}uz Kaan Y\"uksel", "Oğuz Kaan Yüksel"),
        (r"R\'emi Gribonval", "Rémi Gribonval"),
        (r"Leiv R{\o}nneberg", "Leiv Rønneberg"),
        (r"Nathana\"el", "Nathanaël"),
        (r"Mar\'{\i}a", "María"),
        (r"\v{S}imon", "Šimon"),
        ("Plain Name", "Plain Name"),
    ],
)
def test_builder_decodes_latex_accents(latex, text):
    assert _builder().decode_latex_name(latex) == text


def test_builder_parses_and_dedups():
    b = _builder()
    digest = (
        '1. A Paper\nArXiv ID: 2602.00001\nAuthors: A. B\\"ohm, C. D\nAbstract: First.\n'
        "Comment: an LLM's view\nRelevance: 9 Novelty: 8\n"
    )
    listing = "Get trending papers in your email inbox!\nSubscribeA paper\nSame title again.\nOther\nAn abstract.\n"
    papers, trending, stats = b.build(digest, listing)
    assert [p["arxiv_id"] for p in papers] == ["2602.00001"]
    assert papers[0]["authors"] == ["A. Böhm", "C. D"] and papers[0]["comment"] is None
    assert [t["title"] for t in trending] == ["Other"] and trending[0]["arxiv_id"] == "demo-0001"
    assert stats["trending_duplicates"] == 1
