"""Hostile feeds served by the loopback server: a broken item never wipes a stored paper, a malformed
page is a clear error naming it with nothing stored from it, paging ends, and giant fields are cut."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from paperradar.core.errors import FeedError
from paperradar.core.models import MAX_ABSTRACT
from paperradar.core.pipeline import run_day
from paperradar.core.store import Store
from paperradar.sources.arxiv import ArxivClient, parse_api, parse_rss

from .conftest import make_paper
from .loopback import Reply

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv"
DAY = dt.date(2026, 2, 24)
FEED = (FIXTURES / "rss_cs.LG_2026-02-24.xml").read_text(encoding="utf-8")
API_PAGE = (FIXTURES / "api_page1.xml").read_text(encoding="utf-8")


def with_item(feed: str, item: str) -> bytes:
    return feed.replace("    <item>", item + "\n    <item>", 1).encode()


EMPTY_ITEM = """    <item>
      <title></title>
      <link>https://arxiv.org/abs/2602.19938</link>
      <guid isPermaLink="false">oai:arXiv.org:2602.19938v1</guid>
      <category>cs.LG</category>
      <arxiv:announce_type>new</arxiv:announce_type>
    </item>"""


def client_for(server) -> ArxivClient:
    return ArxivClient(
        rss_base_url=f"{server.url}/rss", api_base_url=f"{server.url}/api/query", sleep=lambda s: None, timeout=5
    )


def test_an_empty_feed_item_never_wipes_the_stored_paper(config, replay_server):
    good = FEED.encode()
    replay_server.add("/rss/cs.LG", Reply(200, good), Reply(200, with_item(FEED, EMPTY_ITEM)))
    with client_for(replay_server) as client, Store(config.database) as store:
        run_day(config, DAY, store=store, stages=["ingest"], client=client, command="ingest")
        before = store.get_paper("2602.19938")
        run_day(config, DAY, store=store, stages=["ingest"], client=client, refetch=True, command="ingest")
        after = store.get_paper("2602.19938")
    assert before.title.startswith("A Replicate-and-Quantize") and after == before


def test_empty_fields_from_any_source_keep_the_stored_ones_and_say_so(tmp_path):
    with Store(tmp_path / "s.db") as store:
        store.upsert_papers([make_paper("2602.00009", "A title", "An abstract.", version=1)], DAY)
        blank = make_paper("2602.00009", "A title", "", authors=(), categories=[], version=2)
        result = store.upsert_papers([blank], DAY)
        kept = store.get_paper("2602.00009")
    assert result.kept == ["2602.00009: abstract, authors, categories"]
    assert (kept.abstract, kept.authors, kept.categories, kept.version) == ("An abstract.", ["A. Author"], ["cs.LG"], 2)


@pytest.mark.parametrize(
    "page",
    [
        API_PAGE.replace("RPU -- A Reasoning", "RPU & A Reasoning"),  # a stray ampersand
        API_PAGE[: len(API_PAGE) // 2],  # cut off mid-way
        API_PAGE.replace("<feed", '<!DOCTYPE feed [<!ENTITY x "y">]>\n<feed', 1),
    ],
    ids=["ampersand", "truncated", "doctype"],
)
def test_malformed_export_api_page_is_a_clear_error_and_stores_nothing(config, replay_server, page):
    replay_server.add("/rss/cs.LG", Reply(200, (FIXTURES / "rss_cs.LG_holiday.xml").read_bytes()))
    replay_server.always("/api/query", Reply(200, page.encode()))
    with client_for(replay_server) as client, Store(config.database) as store:
        with pytest.raises(FeedError) as err:
            run_day(config, DAY, store=store, stages=["ingest"], client=client, command="ingest")
        assert store.count("papers") == 0
    message = str(err.value)
    assert "/api/query (results from 0)" in message and "AttributeError" not in message


def test_parsers_are_total_on_garbage():
    for garbage in (b"", b"\x00\xff" * 50, b"<rss><channel><item><title>x", b"{}"):
        with pytest.raises(FeedError):
            parse_rss(garbage, source="page")
        with pytest.raises(FeedError):
            parse_api(garbage, source="page")


def test_backfill_paging_ends_whatever_total_results_claims(replay_server):
    lying = API_PAGE.replace(">5</opensearch:totalResults>", ">100000</opensearch:totalResults>")
    replay_server.always("/api/query", Reply(200, lying.encode()))
    with client_for(replay_server) as client:
        papers = list(client.fetch_range(["cs.LG"], DAY - dt.timedelta(days=5), DAY, page_size=2))
    assert len(papers) == 2
    assert len(replay_server.requests_to("/api/query")) == 2  # the repeated page ends it


def test_backfill_page_cap(replay_server):
    def page(request):
        start = int(request.query["start"])
        text = API_PAGE.replace(">5</opensearch:totalResults>", ">100000</opensearch:totalResults>")
        return Reply(200, text.replace("2602.18568", f"2602.{30000 + start}").encode())

    replay_server.always("/api/query", page)
    with client_for(replay_server) as client:
        list(client.fetch_range(["cs.LG"], DAY, DAY, page_size=2, max_pages=4))
    assert len(replay_server.requests_to("/api/query")) == 4


def test_giant_fields_are_cut_and_the_cut_recorded(tmp_path):
    huge = make_paper("2602.00010", "T" * 5000, "word " * 2_000_000, authors=[f"Author {i}" for i in range(5000)])
    with Store(tmp_path / "s.db") as store:
        result = store.upsert_papers([huge], DAY)
        stored = store.get_paper("2602.00010")
        recorded = store.conn.execute("SELECT truncated FROM papers WHERE arxiv_id = '2602.00010'").fetchone()[0]
    assert len(stored.abstract) <= MAX_ABSTRACT and len(stored.title) <= 1000 and len(stored.authors) == 500
    assert json.loads(recorded) == ["title", "abstract", "authors"]
    assert result.truncated == ["2602.00010: title, abstract, authors"]


def test_a_giant_page_is_refused_before_parsing(replay_server, monkeypatch):
    monkeypatch.setattr("paperradar.sources.http.MAX_RESPONSE_BYTES", 2**20)
    giant = FEED.replace("Abstract: Sparse", "Abstract: " + "word " * 400_000 + "Sparse", 1).encode()
    replay_server.add("/rss/cs.LG", Reply(200, giant))
    with client_for(replay_server) as client, pytest.raises(FeedError, match="sent more than 1 MB"):
        client.fetch_announcements(["cs.LG"])


# -- the same guarantees on the paths of the other sources --------------------

JOURNAL = (Path(__file__).parent / "fixtures" / "sources" / "journal_rss.xml").read_text(encoding="utf-8")


def feed_only(config, url: str):
    from paperradar.core.source_settings import ArxivSourceConfig, FeedSourceConfig

    sources = [
        ArxivSourceConfig(type="arxiv", enabled=False),
        FeedSourceConfig(type="feed", name="journal", url=f"{url}/feed.xml", delay_seconds=0, days=30),
    ]
    return config.model_copy(update={"sources": sources})


def test_a_feed_source_cannot_wipe_or_bloat_a_stored_work(config, replay_server):
    giant = JOURNAL.replace("&lt;p&gt;Mitral cells", "&lt;p&gt;" + "word " * 50_000 + "Mitral cells", 1).replace(
        "<dc:creator>Maria Rossi</dc:creator>", "<dc:creator>Maria Rossi</dc:creator>" * 600, 1
    )
    emptied = JOURNAL.replace(
        "&lt;p&gt;Mitral cells of the olfactory bulb respond to few odorants each; odor identity is carried "
        "by a sparse, decorrelated code.&lt;/p&gt;",
        "",
        1,
    )
    assert emptied != JOURNAL
    replay_server.add("/feed.xml", Reply(200, giant.encode()), Reply(200, emptied.encode()))
    cfg = feed_only(config, replay_server.url)
    with Store(cfg.database) as store:
        run_day(cfg, DAY, store=store, stages=["ingest"], command="ingest")
        detail = store.latest_stage_detail(DAY, "ingest")
        key = "doi:10.7554/elife.99001"
        first = store.get_paper(key)
        run_day(cfg, DAY, store=store, stages=["ingest"], refetch=True, command="ingest")
        after = store.get_paper(key)
    assert len(first.abstract) <= MAX_ABSTRACT and len(first.authors) == 500
    assert detail["journal"]["truncated"] == [f"{key}: abstract, authors"]
    assert after.abstract == first.abstract  # the emptied entry left the stored text alone


def test_a_giant_answer_from_any_source_is_refused(config, replay_server, monkeypatch):
    monkeypatch.setattr("paperradar.sources.http.MAX_RESPONSE_BYTES", 2**20)
    replay_server.always("/feed.xml", Reply(200, JOURNAL.replace("</channel>", "x" * 2**21 + "</channel>").encode()))
    cfg = feed_only(config, replay_server.url)
    with Store(cfg.database) as store, pytest.raises(FeedError, match="journal: .*feed.xml sent more than 1 MB"):
        run_day(cfg, DAY, store=store, stages=["ingest"], command="ingest")
