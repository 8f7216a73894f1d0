"""arXiv source: parsing recorded RSS/Atom answers, and the client against a real loopback server."""

from __future__ import annotations

import datetime as dt
import logging
import socket
from pathlib import Path

import httpx
import pytest

from paperradar.core.errors import FeedError, SourceError
from paperradar.core.models import Paper
from paperradar.core.retry import retry_after_seconds
from paperradar.sources.arxiv import (
    DEFAULT_USER_AGENT,
    ArxivClient,
    merge_papers,
    parse_api,
    parse_rss,
)

from .loopback import Reply

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv"
DAY = dt.date(2026, 2, 24)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class FakeTime:
    """A clock that only moves when the client sleeps, so pacing is exact and instant."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def client(replay_server, fake_time):
    with ArxivClient(
        rss_base_url=f"{replay_server.url}/rss",
        api_base_url=f"{replay_server.url}/api/query",
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        timeout=5,
    ) as c:
        yield c


# -- parse_rss ----------------------------------------------------------------


def test_parse_rss_new_cross_replace_items():
    papers = {p.arxiv_id: p for p in parse_rss(fixture("rss_cs.LG_2026-02-24.xml"))}

    assert list(papers) == ["2602.19938", "2602.19017", "2602.18948", "2602.19143", "2602.19381"]
    assert {i: (p.announce_type, p.version) for i, p in papers.items()} == {
        "2602.19938": ("new", 1),
        "2602.19017": ("new", 1),
        "2602.18948": ("cross", 1),
        "2602.19143": ("replace", 2),
        "2602.19381": ("replace-cross", 3),
    }
    moe = papers["2602.19938"]
    assert moe.title.startswith("A Replicate-and-Quantize Strategy")
    assert moe.authors[:3] == ["Zijie Liu", "Jie Peng", "Jinhao Duan"]
    assert moe.authors[-1] == "Tianlong Chen" and len(moe.authors) == 10
    assert moe.categories == ["cs.LG", "cs.AI", "cs.DC"] and moe.primary_category == "cs.LG"
    assert moe.abstract.startswith("Sparse Mixture-of-Experts (SMoE)")  # "arXiv:... Announce Type" is gone
    assert "(R&Q)" in moe.abstract
    assert all(p.announced == DAY for p in papers.values())

    cross = papers["2602.18948"]
    assert cross.primary_category == "hep-th" and cross.categories == ["hep-th", "cs.LG"]
    assert cross.authors == [r"J. Fran\c{c}ois", "L. Ravera"]  # LaTeX accents kept as written
    assert papers["2602.19143"].authors[0] == r"O\u{g}uz Kaan Y\"uksel"


def test_parse_rss_normalizes_whitespace_and_keeps_latex():
    relu = next(p for p in parse_rss(fixture("rss_cs.LG_2026-02-24.xml")) if p.arxiv_id == "2602.19017")
    assert relu.title == "Why ReLU? A Bit-Model Dichotomy for Deep Network Training"
    assert "complete. We analyze" in relu.abstract  # runs of spaces collapsed
    assert r"$\exists \mathbb{R}$-complete" in relu.abstract
    assert r"$b<n^c$" in relu.abstract  # not taken for an HTML tag
    assert r"{\em any}" in relu.abstract and r"$\mathsf{ERM}_{\text{bit}}$" in relu.abstract


def test_parse_rss_skips_item_without_id_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="paperradar.sources.arxiv"):
        papers = parse_rss(fixture("rss_cs.LG_2026-02-24.xml"), source="https://rss.arxiv.org/rss/cs.LG")
    assert len(papers) == 5
    assert "skipped item 5" in caplog.text and "no arXiv id" in caplog.text
    assert "https://rss.arxiv.org/rss/cs.LG" in caplog.text


def test_parse_rss_holiday_feed_is_empty_not_an_error():
    assert parse_rss(fixture("rss_cs.LG_holiday.xml")) == []


@pytest.mark.parametrize(
    "body",
    [
        fixture("error_page_503.html"),
        b"",
        b"Rate exceeded.",
        # Cut off mid-item: feedparser's loose parser finds an item, but nothing usable.
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>cs.LG updates on arXiv.org</title><item><ti",
    ],
    ids=["html-error-page", "empty-body", "plain-text", "truncated"],
)
def test_parse_rss_malformed_feed_raises_feed_error(body):
    with pytest.raises(FeedError) as info:
        parse_rss(body, source="https://rss.arxiv.org/rss/cs.LG")
    message = str(info.value)
    assert message.startswith("https://rss.arxiv.org/rss/cs.LG did not return a readable RSS feed")
    assert "try again later" in message and "cs.LG" in message


def test_parse_rss_rejects_str():
    with pytest.raises(TypeError):
        parse_rss("https://rss.arxiv.org/rss/cs.LG")  # type: ignore[arg-type]


# -- parse_api ----------------------------------------------------------------


def test_parse_api_fields_and_total():
    papers, total = parse_api(fixture("api_page1.xml"))
    assert total == 5
    rpu, pca = papers
    assert rpu.arxiv_id == "2602.18568" and rpu.version == 1 and rpu.announce_type == "new"
    assert rpu.authors == ["Matthew Adiletta", "Gu-Yeon Wei", "David Brooks"]
    assert rpu.primary_category == "cs.AR" and rpu.categories == ["cs.AR", "cs.LG"]
    assert rpu.comment == "12 pages, 9 figures"
    assert rpu.submitted == dt.datetime(2026, 2, 20, 16, 5, 41, tzinfo=dt.UTC)
    assert rpu.announced is None  # the caller knows which listing it belongs to
    assert rpu.abstract.startswith("Large language model (LLM) inference performance is increasingly bottlenecked by")
    assert pca.version == 2 and pca.announce_type == "replace"
    assert pca.title == "PCA-VAE: Differentiable Subspace Quantization without Codebook Collapse"
    assert pca.updated == dt.datetime(2026, 2, 23, 9, 12, 3, tzinfo=dt.UTC)
    assert pca.comment is None


def test_parse_api_new_style_namespaces_and_latex():
    papers, total = parse_api(fixture("api_page2.xml"))
    assert total == 5
    relu, sym = papers
    assert r"$b<n^c$" in relu.abstract and r"{\em any}" in relu.abstract
    assert sym.primary_category == "hep-th" and sym.comment == "27 pages; comments welcome"


def test_parse_api_error_entry_raises():
    with pytest.raises(FeedError, match="rejected the query: start must be non-negative"):
        parse_api(fixture("api_error.xml"))


def test_parse_api_not_atom_raises():
    with pytest.raises(FeedError, match="did not return a readable Atom feed"):
        parse_api(fixture("error_page_503.html"))


# -- merging ------------------------------------------------------------------


def _p(kind: str, cats: list[str], version: int = 1) -> Paper:
    return Paper(
        arxiv_id="2602.20126",
        version=version,
        title="t",
        abstract="a",
        categories=cats,
        primary_category=cats[0],
        announce_type=kind,
        announced=DAY,
    )


def test_merge_prefers_primary_announcement_and_unions_categories():
    for order in (
        [_p("cross", ["stat.ML", "cs.LG"]), _p("new", ["stat.ML", "math.ST"])],
        [_p("new", ["stat.ML", "math.ST"]), _p("cross", ["stat.ML", "cs.LG"])],
    ):
        (merged,) = merge_papers(order)
        assert merged.announce_type == "new"
        assert merged.categories == ["stat.ML", "math.ST", "cs.LG"]
    (merged,) = merge_papers([_p("replace-cross", ["cs.LG"], version=3), _p("replace", ["cs.LG"], version=3)])
    assert merged.announce_type == "replace"


# -- fetch_announcements --------------------------------------------------------


def test_fetch_announcements_one_combined_request_and_cross_list_once(client, replay_server):
    replay_server.add("/rss/cs.LG+stat.ML", Reply(200, fixture("rss_cs.LG+stat.ML_2026-02-24.xml")))
    listing = client.fetch_announcements(["cs.LG", "stat.ML"])

    assert [r.path for r in replay_server.requests] == ["/rss/cs.LG+stat.ML"]
    assert not listing.empty and listing.announced == DAY
    ids = [p.arxiv_id for p in listing.papers]
    assert ids == ["2602.19799", "2602.20126", "2602.19142", "2602.19066"]
    dlm = listing.papers[1]
    assert dlm.announce_type == "new"  # listed as cross in cs.LG, new in its own stat.ML
    assert dlm.categories == ["stat.ML", "cs.CL", "cs.LG", "math.ST"]
    assert listing.papers[3].announce_type == "cross"


def test_fetch_announcements_holiday_gives_empty_listing(client, replay_server):
    replay_server.add("/rss/cs.LG", Reply(200, fixture("rss_cs.LG_holiday.xml")))
    listing = client.fetch_announcements(["cs.LG"])
    assert listing.empty and listing.papers == [] and listing.announced is None
    assert "weekend or holiday" in listing.message


def test_fetch_announcements_error_page_with_200_raises_feed_error(client, replay_server):
    replay_server.add("/rss/cs.LG", Reply.text(fixture("error_page_503.html").decode(), content_type="text/html"))
    with pytest.raises(FeedError) as info:
        client.fetch_announcements(["cs.LG"])
    assert f"{replay_server.url}/rss/cs.LG did not return a readable RSS feed" in str(info.value)


def test_user_agent_is_sent(replay_server, fake_time):
    replay_server.always("/rss/cs.LG", Reply(200, fixture("rss_cs.LG_2026-02-24.xml")))
    with ArxivClient(rss_base_url=f"{replay_server.url}/rss", sleep=fake_time.sleep) as default:
        default.fetch_announcements(["cs.LG"])
    ua = "paperradar/0.1 (self-hosted research radar; mailto:me@example.org)"
    with ArxivClient(rss_base_url=f"{replay_server.url}/rss", user_agent=ua, sleep=fake_time.sleep) as custom:
        custom.fetch_announcements(["cs.LG"])
    assert [r.headers["user-agent"] for r in replay_server.requests] == [DEFAULT_USER_AGENT, ua]
    assert DEFAULT_USER_AGENT.startswith("paperradar/")


# -- retries --------------------------------------------------------------------


def test_503_then_success_retries(client, replay_server, fake_time):
    replay_server.add("/rss/cs.LG", Reply(503, b"busy"), Reply(200, fixture("rss_cs.LG_2026-02-24.xml")))
    listing = client.fetch_announcements(["cs.LG"])
    assert len(listing.papers) == 5
    assert len(replay_server.requests_to("/rss/cs.LG")) == 2
    assert fake_time.sleeps == [3.0]  # exponential backoff starts at delay_seconds


def test_429_honours_retry_after(client, replay_server, fake_time):
    replay_server.add(
        "/rss/cs.LG",
        Reply(429, b"Too Many Requests", {"Retry-After": "17"}),
        Reply(200, fixture("rss_cs.LG_2026-02-24.xml")),
    )
    assert len(client.fetch_announcements(["cs.LG"]).papers) == 5
    assert fake_time.sleeps == [17.0]
    assert len(replay_server.requests) == 2


def test_retry_after_as_http_date():
    response = httpx.Response(503, headers={"Retry-After": "Tue, 24 Feb 2026 12:00:30 GMT"})
    now = dt.datetime(2026, 2, 24, 12, 0, 0, tzinfo=dt.UTC)
    assert retry_after_seconds(response, now=now) == 30.0
    assert retry_after_seconds(httpx.Response(503, headers={"Retry-After": "soon"})) is None
    assert retry_after_seconds(httpx.Response(503)) is None


def test_persistent_500_raises_source_error(replay_server, fake_time):
    replay_server.always("/rss/cs.LG", Reply(500, b"Internal Server Error"))
    client = ArxivClient(rss_base_url=f"{replay_server.url}/rss", max_retries=2, sleep=fake_time.sleep)
    with pytest.raises(SourceError) as info:
        client.fetch_announcements(["cs.LG"])
    message = str(info.value)
    assert f"{replay_server.url}/rss/cs.LG" in message
    assert "HTTP 500" in message and "after 3 tries" in message and "try again later" in message
    assert len(replay_server.requests) == 3
    assert fake_time.sleeps == [3.0, 6.0]


def test_persistent_429_says_to_slow_down(replay_server, fake_time):
    replay_server.always("/api/query", Reply(429, b"slow down"))
    client = ArxivClient(
        api_base_url=f"{replay_server.url}/api/query", max_retries=1, sleep=fake_time.sleep, clock=fake_time.clock
    )
    with pytest.raises(SourceError, match=r"HTTP 429.*delay_seconds"):
        list(client.fetch_range(["cs.LG"], DAY, DAY))


def test_404_is_not_retried(client, replay_server, fake_time):
    with pytest.raises(SourceError) as info:
        client.fetch_announcements(["cs.LGG"])
    assert "HTTP 404" in str(info.value) and "category names" in str(info.value)
    assert len(replay_server.requests) == 1 and fake_time.sleeps == []


def test_timeout_is_retried(replay_server, fake_time):
    replay_server.add("/rss/cs.LG", Reply(200, b"too late", delay=3), Reply(200, fixture("rss_cs.LG_2026-02-24.xml")))
    client = ArxivClient(rss_base_url=f"{replay_server.url}/rss", timeout=0.3, sleep=fake_time.sleep)
    assert len(client.fetch_announcements(["cs.LG"]).papers) == 5
    assert len(replay_server.requests) == 2


def test_unreachable_server_raises_source_error(fake_time):
    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = ArxivClient(rss_base_url=f"http://127.0.0.1:{port}/rss", max_retries=2, sleep=fake_time.sleep)
    with pytest.raises(SourceError, match=rf"Cannot reach http://127.0.0.1:{port}/rss/cs.LG .*network"):
        client.fetch_announcements(["cs.LG"])
    assert len(fake_time.sleeps) == 2


# -- fetch_range ----------------------------------------------------------------


def test_fetch_range_pages_through_total_results(client, replay_server, fake_time):
    replay_server.add("/api/query", *(Reply(200, fixture(f"api_page{i}.xml")) for i in (1, 2, 3)))
    papers = list(client.fetch_range(["cs.LG", "stat.ML"], dt.date(2026, 2, 20), dt.date(2026, 2, 23), page_size=2))

    assert [p.arxiv_id for p in papers] == ["2602.18568", "2602.18904", "2602.19017", "2602.18948", "2602.19143"]
    requests = replay_server.requests_to("/api/query")
    assert [r.query["start"] for r in requests] == ["0", "2", "4"]
    assert {r.query["max_results"] for r in requests} == {"2"}
    q = requests[0].query
    assert q["search_query"] == "(cat:cs.LG OR cat:stat.ML) AND submittedDate:[202602200000 TO 202602232359]"
    assert q["sortBy"] == "submittedDate" and q["sortOrder"] == "ascending"
    # One pause before each request after the first, at least the delay arXiv asks for.
    assert len(fake_time.sleeps) == 2 and all(s >= client.delay_seconds for s in fake_time.sleeps)
    assert papers[0].announced == dt.date(2026, 2, 20) and papers[-1].announced == dt.date(2026, 2, 23)


def test_fetch_range_pacing_counts_time_already_spent(client, replay_server, fake_time):
    replay_server.always("/api/query", Reply(200, fixture("api_empty.xml")))
    assert list(client.fetch_range(["cs.LG"], DAY, DAY)) == []
    fake_time.now += 2.0  # e.g. the caller stored the first batch meanwhile
    list(client.fetch_range(["cs.LG"], DAY, DAY))
    assert fake_time.sleeps == [pytest.approx(1.0)]


def test_fetch_range_stops_on_empty_page(client, replay_server):
    replay_server.always("/api/query", Reply(200, fixture("api_empty.xml")))
    assert list(client.fetch_range(["cs.LG"], dt.date(2025, 12, 25), dt.date(2025, 12, 25))) == []
    assert len(replay_server.requests) == 1


def test_fetch_range_max_results(client, replay_server):
    replay_server.add("/api/query", Reply(200, fixture("api_page1.xml")), Reply(200, fixture("api_page2.xml")))
    papers = list(client.fetch_range(["cs.LG"], dt.date(2026, 2, 20), dt.date(2026, 2, 23), page_size=2, max_results=3))
    assert [p.arxiv_id for p in papers] == ["2602.18568", "2602.18904", "2602.19017"]
    assert [(r.query["start"], r.query["max_results"]) for r in replay_server.requests] == [("0", "2"), ("2", "1")]


def test_fetch_range_api_error_entry(client, replay_server):
    replay_server.add("/api/query", Reply(200, fixture("api_error.xml")))
    with pytest.raises(FeedError, match="start must be non-negative"):
        list(client.fetch_range(["cs.LG"], DAY, DAY))


# -- the loopback helper itself ----------------------------------------------------


def test_replay_server_scripts_records_and_explains_misses(replay_server):
    replay_server.add("/hook", Reply.json({"ok": True}), method="POST")
    replay_server.add("/echo", lambda req: Reply.text(req.query.get("q", "")))
    replay_server.always("/health", Reply(204))
    with httpx.Client(base_url=replay_server.url) as http:
        assert http.post("/hook", json={"a": 1}, headers={"X-Token": "t"}).json() == {"ok": True}
        assert http.get("/echo", params={"q": "hi there"}).text == "hi there"
        assert [http.get("/health").status_code for _ in range(2)] == [204, 204]
        missing = http.get("/nothing")
    assert missing.status_code == 404 and "no reply scripted for GET /nothing" in missing.text
    hook = replay_server.requests_to("/hook", method="POST")[0]
    assert hook.json() == {"a": 1} and hook.headers["x-token"] == "t"
    assert replay_server.pending() == {}
