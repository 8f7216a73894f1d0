"""Each documented [paperradar] categories, [arxiv] and [[sources]] key changes what a source asks or lists.

Every source type runs its real client against a loopback server replaying the recorded
answers of tests/fixtures; the observation is what the server received (paths, queries,
User-Agent, API key), the pauses the client asked its sleeper for, and what it listed.
"""

from __future__ import annotations

import datetime as dt
import functools
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from paperradar.core.config import parse_config
from paperradar.core.errors import SourceError
from paperradar.sources import arxiv_source
from paperradar.sources.arxiv import ArxivClient
from paperradar.sources.factory import make_source

from .config_lab import merge, to_toml
from .loopback import ReplayServer, Reply

DAY = dt.date(2026, 2, 24)
ARXIV = Path(__file__).parent / "fixtures" / "arxiv"
SOURCES = Path(__file__).parent / "fixtures" / "sources"
VENUE = "ICLR.cc/2027/Conference"


class FakeTime:
    """A clock that moves only when the client sleeps: pauses are recorded, never waited."""

    def __init__(self):
        self.now, self.sleeps = 1000.0, []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds

    def clock(self) -> float:
        return self.now


def _arxiv_api(request) -> Reply:
    page = {"0": "api_page1.xml", "2": "api_page2.xml", "4": "api_page3.xml"}.get(request.query.get("start"))
    return Reply(200, (ARXIV / (page or "api_empty.xml")).read_bytes())


def _script_arxiv(server: ReplayServer) -> None:
    # A holiday listing on RSS: the day is rebuilt from the export API, three pages of it.
    holiday = (ARXIV / "rss_cs.LG_holiday.xml").read_bytes()
    for cats in ("cs.LG+stat.ML", "stat.ML", "cs.LG", "q-bio.NC"):
        server.always(f"/rss/{cats}", Reply(200, holiday))
        server.always(f"/mirror/rss/{cats}", Reply(200, holiday))
    server.always("/api/query", _arxiv_api)
    server.always("/mirror/api", _arxiv_api)


def _script_biorxiv(server: ReplayServer) -> None:
    for srv in ("biorxiv", "medrxiv"):
        for start in ("2026-02-24", "2026-02-22"):
            pages = f"/details/{srv}/{start}/2026-02-24"
            server.always(f"{pages}/0", Reply(200, (SOURCES / "biorxiv_neuroscience_page1.json").read_bytes()))
            server.always(f"{pages}/2", Reply(200, (SOURCES / "biorxiv_neuroscience_page2.json").read_bytes()))
            server.always(f"/mirror{pages}/0", Reply(200, (SOURCES / "biorxiv_empty.json").read_bytes()))


def _script_feed(server: ReplayServer) -> None:
    server.always("/journal.xml", Reply(200, (SOURCES / "journal_rss.xml").read_bytes()))
    server.always("/lab.xml", Reply(200, (SOURCES / "lab_atom.xml").read_bytes()))


def _script_openreview(server: ReplayServer) -> None:
    def notes(request) -> Reply:
        name = "openreview_page2.json" if request.query.get("offset", "0") != "0" else "openreview_page1.json"
        if not request.query.get("invitation", "").startswith(VENUE):
            name = "openreview_empty.json"
        return Reply(200, (SOURCES / name).read_bytes(), {"Content-Type": "application/json"})

    server.always("/notes", notes)
    server.always("/mirror/notes", lambda r: Reply(200, (SOURCES / "openreview_empty.json").read_bytes()))


def _script_s2(server: ReplayServer) -> None:
    server.always("/author/1741101/papers", Reply(200, (SOURCES / "s2_author_page2.json").read_bytes()))

    def author(request) -> Reply:
        page = "s2_author_page1.json" if request.query.get("offset", "0") == "0" else "s2_author_page2.json"
        return Reply(200, (SOURCES / page).read_bytes())

    server.always("/author/42/papers", author)
    server.always("/paper/ARXIV:2310.01234/citations", Reply(200, (SOURCES / "s2_citations.json").read_bytes()))
    server.always(
        "/paper/DOI:10.1101/2025.01.01.000001/citations", Reply(404, (SOURCES / "s2_not_found.json").read_bytes())
    )
    server.always("/mirror/author/1741101/papers", Reply.json({"offset": 0, "data": []}))

    def batch(request):
        return Reply.json([{"paperId": f"s2-{n}", "citationCount": n + 1} for n, _ in enumerate(request.json()["ids"])])

    server.always("/paper/batch", batch)


@dataclass
class Scenario:
    script: Callable[[ReplayServer], None]
    table: Callable[[str], dict]  # the [[sources]] table at a server URL
    first: str  # the path of the first request, where a 503 or a slow answer is put


SCENARIOS = {
    "arxiv": Scenario(
        _script_arxiv,
        lambda url: {"type": "arxiv", "rss_base_url": f"{url}/rss", "api_base_url": f"{url}/api/query"},
        "/rss/cs.LG+stat.ML",
    ),
    "biorxiv": Scenario(_script_biorxiv, lambda url: {"type": "biorxiv", "base_url": url, "delay_seconds": 0.5}, ""),
    "medrxiv": Scenario(_script_biorxiv, lambda url: {"type": "medrxiv", "base_url": url, "delay_seconds": 0.5}, ""),
    "feed": Scenario(
        _script_feed, lambda url: {"type": "feed", "url": f"{url}/journal.xml", "delay_seconds": 0.5}, "/journal.xml"
    ),
    "openreview": Scenario(
        _script_openreview,
        lambda url: {"type": "openreview", "base_url": url, "venues": [VENUE], "page_size": 2, "delay_seconds": 0.5},
        "/notes",
    ),
    "semanticscholar": Scenario(
        _script_s2,
        lambda url: {
            "type": "semanticscholar",
            "base_url": url,
            "authors": ["1741101"],
            "my_papers": ["2310.01234", "10.1101/2025.01.01.000001"],
            "delay_seconds": 0.5,
        },
        "/author/1741101/papers",
    ),
}
SCENARIOS["biorxiv"].first = "/details/biorxiv/2026-02-24/2026-02-24/0"
SCENARIOS["medrxiv"].first = "/details/medrxiv/2026-02-24/2026-02-24/0"

ENV = {"SEMANTIC_SCHOLAR_API_KEY": "k-default", "OTHER_S2_KEY": "k-other"}


def observe(kind: str, change: dict, tmp_path: Path, *, table: dict | None = None, first: Reply | None = None) -> dict:
    """Run the enabled source of ``kind`` for DAY; ``change`` merges into the config, ``table`` into its table.

    ``kind = "default"`` is the arXiv source made of ``categories`` and ``[arxiv]`` (no [[sources]] table).
    """
    scenario = SCENARIOS["arxiv" if kind == "default" else kind]
    with ReplayServer() as server:
        scenario.script(server)
        if first is not None:
            server.add(scenario.first, first)
        url = server.url
        data: dict = {"paperradar": {"categories": ["cs.LG", "stat.ML"]}}
        if kind == "default":
            data["arxiv"] = {"rss_base_url": f"{url}/rss", "api_base_url": f"{url}/api/query"}
        else:
            data["sources"] = [merge(scenario.table(url), table or {})]
        data = merge(data, change)
        text = to_toml(data).replace("URL", url)
        path = tmp_path / "paperradar.toml"
        path.write_text(text, encoding="utf-8")
        cfg = parse_config(tomllib.loads(text), path)
        out: dict = {"enabled": [s.label for s in cfg.enabled_sources()]}
        src = cfg.all_sources()[0] if kind == "default" else cfg.sources[0]
        if not src.enabled:
            return out
        clock = FakeTime()
        client = None
        if src.type == "arxiv":
            # The production client, built from the table, with the fake clock as its sleeper.
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(
                    arxiv_source, "ArxivClient", functools.partial(ArxivClient, sleep=clock.sleep, clock=clock.clock)
                )
                client = arxiv_source.make_arxiv_client(src)
        source = make_source(src, cfg.categories, arxiv_client=client, sleep=clock.sleep, environ=ENV)
        try:
            listing = source.fetch(DAY)
            out["papers"] = [
                (p.arxiv_id, [(loc.source, sorted(loc.extra.items())) for loc in p.locations]) for p in listing.papers
            ]
        except SourceError as exc:
            out["error"] = type(exc).__name__
        finally:
            source.close()
            if client is not None:
                client.close()
        out["requests"] = [(r.method, r.path, sorted(r.query.items()), r.body) for r in server.requests]
        out["agents"] = sorted({r.headers.get("user-agent", "") for r in server.requests})
        out["keys"] = sorted({r.headers.get("x-api-key", "") for r in server.requests})
        out["sleeps"] = clock.sleeps
        return out


# What every [[sources]] table has (SourceBase), probed for each type.
COMMON = {
    "name": lambda kind: {"table": {"name": "mine"}},
    "enabled": lambda kind: {"table": {"enabled": False}},
    "contact": lambda kind: {"table": {"contact": "ada@lab.example"}},
    # A 503 first: even a source that asks once (a feed) then paces its retry by delay_seconds.
    "delay_seconds": lambda kind: {"table": {"delay_seconds": 7.0}, "first": Reply(503, b"busy")},
    "max_retries": lambda kind: {"table": {"max_retries": 0}, "first": Reply(503, b"busy")},
    "timeout_seconds": lambda kind: {"table": {"timeout_seconds": 0.1}, "first": Reply(200, b"late", delay=0.6)},
}

# key -> (kind, change): observe(kind, **change) differs from observe(kind) with the same first reply.
PROBES: dict[str, tuple[str, dict]] = {
    f"sources.{kind}.{key}": (kind, make(kind)) for kind in SCENARIOS for key, make in COMMON.items()
}
PROBES |= {
    "paperradar.categories": ("default", {"change": {"paperradar": {"categories": ["stat.ML"]}}}),
    "arxiv.contact": ("default", {"change": {"arxiv": {"contact": "ada@lab.example"}}}),
    "arxiv.delay_seconds": ("default", {"change": {"arxiv": {"delay_seconds": 9.0}}}),
    "arxiv.max_pages": ("default", {"change": {"arxiv": {"max_pages": 1}}}),
    "arxiv.rss_base_url": ("default", {"change": {"arxiv": {"rss_base_url": "URL/mirror/rss"}}}),
    "arxiv.api_base_url": ("default", {"change": {"arxiv": {"api_base_url": "URL/mirror/api"}}}),
    "sources.arxiv.categories": ("arxiv", {"table": {"categories": ["q-bio.NC"]}}),
    "sources.arxiv.rss_base_url": ("arxiv", {"table": {"rss_base_url": "URL/mirror/rss"}}),
    "sources.arxiv.api_base_url": ("arxiv", {"table": {"api_base_url": "URL/mirror/api"}}),
    "sources.arxiv.max_pages": ("arxiv", {"table": {"max_pages": 1}}),
    "sources.biorxiv.categories": ("biorxiv", {"table": {"categories": ["neuroscience"]}}),
    "sources.biorxiv.days": ("biorxiv", {"table": {"days": 3}}),
    "sources.biorxiv.base_url": ("biorxiv", {"table": {"base_url": "URL/mirror"}}),
    "sources.medrxiv.categories": ("medrxiv", {"table": {"categories": ["neuroscience"]}}),
    "sources.medrxiv.days": ("medrxiv", {"table": {"days": 3}}),
    "sources.medrxiv.base_url": ("medrxiv", {"table": {"base_url": "URL/mirror"}}),
    "sources.feed.url": ("feed", {"table": {"url": "URL/lab.xml"}}),
    "sources.feed.days": ("feed", {"table": {"days": 1}}),
    "sources.openreview.venues": ("openreview", {"table": {"venues": ["TMLR"]}}),
    "sources.openreview.page_size": ("openreview", {"table": {"page_size": 1000}}),
    "sources.openreview.base_url": ("openreview", {"table": {"base_url": "URL/mirror"}}),
    "sources.semanticscholar.authors": ("semanticscholar", {"table": {"authors": ["42"]}}),
    "sources.semanticscholar.my_papers": ("semanticscholar", {"table": {"my_papers": ["2310.01234"]}}),
    "sources.semanticscholar.days": ("semanticscholar", {"table": {"days": 1}}),
    "sources.semanticscholar.max_citations": ("semanticscholar", {"table": {"max_citations": 1}}),
    "sources.semanticscholar.citation_counts": ("semanticscholar", {"table": {"citation_counts": False}}),
    "sources.semanticscholar.api_key_env": ("semanticscholar", {"table": {"api_key_env": "OTHER_S2_KEY"}}),
    "sources.semanticscholar.base_url": ("semanticscholar", {"table": {"base_url": "URL/mirror"}}),
}
# The type of a table picks its client: bioRxiv and medRxiv are the one pair that share every other key.
for _kind in SCENARIOS:
    PROBES[f"sources.{_kind}.type"] = ("biorxiv", {"table": {"type": "medrxiv"}})


_BASE: dict = {}  # (kind, first reply) -> the observation of the unchanged config: the same for every key


def s2_day(tmp_path: Path, table: dict) -> list:
    """The ingest, embed and prefilter stages of a day with a Semantic Scholar source: the shortlist's scores."""
    from paperradar.core.pipeline import run_day
    from paperradar.core.store import Store

    from .faultcli import HashEmbedder

    with ReplayServer() as server:
        _script_s2(server)
        server.always("/rss/q-bio.NC", Reply(200, (SOURCES / "arxiv_rss_q-bio.NC.xml").read_bytes()))
        data = {
            "paperradar": {"categories": ["q-bio.NC"], "database": "radar.db", "output_dir": "out"},
            "arxiv": {"rss_base_url": f"{server.url}/rss"},
            "prefilter": {"shortlist_size": 6},
            "profile": {"topics": [{"name": "Olfaction", "relevant": "odor coding in the olfactory bulb"}]},
            "sources": [merge(SCENARIOS["semanticscholar"].table(server.url), {"delay_seconds": 0, **table})],
        }
        root = tmp_path / f"s2-day{len(list(tmp_path.glob('s2-day*')))}"
        root.mkdir()
        text = to_toml(data)
        (root / "paperradar.toml").write_text(text, encoding="utf-8")
        cfg = parse_config(tomllib.loads(text), root / "paperradar.toml")
        run_day(cfg, DAY, stages=["ingest", "embed", "prefilter"], embedder=HashEmbedder())
    with Store(cfg.database) as store:
        return [
            (c.paper.arxiv_id, round(c.score, 4), [r.label for r in c.reasons]) for c in store.candidates_for_day(DAY)
        ]


# The Semantic Scholar source's prefilter lifts: the shortlist of a whole day changes.
LIFTS = {
    "sources.semanticscholar.cites_weight": {"cites_weight": 6.0},
    "sources.semanticscholar.citation_weight": {"citation_weight": 1.0},
}
PROBES |= {key: ("semanticscholar", {"day": True, "table": table}) for key, table in LIFTS.items()}


@pytest.mark.parametrize("key", sorted(PROBES))
def test_source_key_changes_what_is_asked_or_listed(key, tmp_path, monkeypatch):
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    kind, how = PROBES[key]
    if how.get("day"):
        assert s2_day(tmp_path, {}) != s2_day(tmp_path, how["table"])
        return
    first = how.get("first")
    if (kind, repr(first)) not in _BASE:
        _BASE[kind, repr(first)] = observe(kind, {}, tmp_path, first=first)
    before = _BASE[kind, repr(first)]
    after = observe(kind, how.get("change", {}), tmp_path, table=how.get("table"), first=first)
    assert before != after
