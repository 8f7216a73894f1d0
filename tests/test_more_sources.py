"""OpenReview and Semantic Scholar against recorded answers; the day's digest, web app and e-mail show sources."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path

import pytest

from paperradar.core.config import parse_config
from paperradar.core.errors import FeedError
from paperradar.core.pipeline import run_day
from paperradar.core.source_settings import OpenReviewSourceConfig, SemanticScholarSourceConfig, s2_id
from paperradar.core.store import Store
from paperradar.sources.factory import make_source
from paperradar.sources.openreview import parse_notes, review_facts

from .loopback import Reply

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
DAY = dt.date(2026, 2, 24)
VENUE = "ICLR.cc/2027/Conference"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# -- OpenReview ---------------------------------------------------------------


def test_openreview_notes_with_public_reviews_and_decision(caplog):
    papers, count = parse_notes(json.loads(fixture("openreview_page1.json")), venue=VENUE, source="iclr2027")
    assert count == 4
    odor, grid = papers
    assert odor.arxiv_id == "openreview:Xk3pR9aQ1m" and odor.authors == ["Maria Rossi", "Jun Tanaka"]
    loc = odor.locations[0]
    assert (loc.kind, loc.url) == ("openreview", "https://openreview.net/forum?id=Xk3pR9aQ1m")
    assert loc.extra["decision"] == "Accept (Poster)"
    assert (loc.extra["ratings"], loc.extra["rating"]) == ([6.0, 8.0, 5.0], 6.33)
    # Older venues write ratings as "6: marginally above ..."; no decision is public yet.
    assert grid.locations[0].extra["ratings"] == [6.0, 3.0] and "decision" not in grid.locations[0].extra
    papers, _ = parse_notes(json.loads(fixture("openreview_page2.json")), venue=VENUE, source="iclr2027")
    assert [p.arxiv_id for p in papers] == ["openreview:Zp0o9i8U7y"]
    assert "skipped note 1" in caplog.text


def test_review_facts_ignore_comments_and_unreadable_ratings():
    replies = [
        {"invitations": ["V/Submission1/-/Official_Comment"], "content": {"rating": {"value": 1}}},
        {"invitations": ["V/Submission1/-/Official_Review"], "content": {"rating": {"value": "n/a"}}},
        "not a reply",
    ]
    assert review_facts(replies) == {}


def test_openreview_pages_by_offset_and_waits_out_a_429(replay_server):
    replay_server.add(
        "/notes",
        Reply(200, fixture("openreview_page1.json"), {"Content-Type": "application/json"}),
        Reply.json(
            {"name": "RateLimitError", "message": "Too many requests"}, status=429, headers={"Retry-After": "3"}
        ),
        Reply(200, fixture("openreview_page2.json"), {"Content-Type": "application/json"}),
    )
    cfg = OpenReviewSourceConfig(
        type="openreview", name="iclr2027", base_url=replay_server.url, venues=[VENUE], page_size=2
    )
    sleeps = Sleeps()
    listing = make_source(cfg, [], sleep=sleeps).fetch(DAY)
    assert [p.arxiv_id for p in listing.papers] == [
        "openreview:Xk3pR9aQ1m",
        "openreview:Hq7LmN2bVc",
        "openreview:Zp0o9i8U7y",
    ]
    queries = [r.query for r in replay_server.requests]
    assert [q["offset"] for q in queries] == ["0", "2", "2"]
    assert queries[0]["invitation"] == f"{VENUE}/-/Submission" and queries[0]["details"] == "replies"
    assert 3.0 in sleeps and "1 with a decision" in listing.message


def test_openreview_empty_venue_and_wrong_shape(replay_server):
    replay_server.add("/notes", Reply(200, fixture("openreview_empty.json")), Reply.json({"error": "x"}))
    cfg = OpenReviewSourceConfig(type="openreview", base_url=replay_server.url, venues=["Nobody/2027"])
    assert make_source(cfg, [], sleep=Sleeps()).fetch(DAY).papers == []
    with pytest.raises(FeedError, match="without notes for Nobody/2027"):
        make_source(cfg, [], sleep=Sleeps()).fetch(DAY)


# -- Semantic Scholar ---------------------------------------------------------


def test_s2_ids_of_your_papers():
    assert s2_id("2310.01234v2") == "ARXIV:2310.01234"
    assert s2_id("https://doi.org/10.1101/2025.01.01.000001") == "DOI:10.1101/2025.01.01.000001"
    with pytest.raises(ValueError, match="neither an arXiv id nor a DOI"):
        s2_id("my thesis")


def s2_server(replay_server):
    replay_server.add("/author/1741101/papers", Reply(200, fixture("s2_author_page1.json")))
    replay_server.add("/author/1741101/papers", Reply(200, fixture("s2_author_page2.json")))
    replay_server.add(
        "/paper/ARXIV:2310.01234/citations",
        Reply.json({"message": "Too Many Requests"}, status=429, headers={"Retry-After": "2"}),
        Reply(200, fixture("s2_citations.json")),
    )
    replay_server.add("/paper/DOI:10.1101/2025.01.01.000001/citations", Reply(404, fixture("s2_not_found.json")))

    def batch(request):
        ids = request.json()["ids"]
        return Reply.json(
            [{"paperId": f"s2-{i}", "citationCount": n} if i.startswith("ARXIV") else None for n, i in enumerate(ids)]
        )

    replay_server.always("/paper/batch", batch)


def test_s2_followed_authors_and_papers_citing_yours(replay_server):
    s2_server(replay_server)
    cfg = SemanticScholarSourceConfig(
        type="semanticscholar",
        base_url=replay_server.url,
        authors=["1741101"],
        my_papers=["2310.01234", "10.1101/2025.01.01.000001"],
        citation_counts=False,
    )
    sleeps = Sleeps()
    source = make_source(cfg, [], sleep=sleeps, environ={"SEMANTIC_SCHOLAR_API_KEY": "k-123"})
    listing = source.fetch(DAY)
    facts = {p.arxiv_id: p.locations[0].extra for p in listing.papers}
    assert facts == {
        "2602.20150": {"citation_count": 0, "venue": "arXiv.org", "followed_authors": ["Ola Nordmann"]},
        "doi:10.1016/j.neuron.2026.01.015": {
            "citation_count": 3,
            "venue": "Neuron",
            "followed_authors": ["Ola Nordmann"],
        },
        "2602.20101": {"citation_count": 0, "venue": "arXiv.org", "cites": ["2310.01234"]},
        "s2:f60718293a4b5c6d7e8f9012345678901a2b3c4d": {
            "citation_count": 0,
            "venue": "bioRxiv",
            "cites": ["2310.01234"],
        },
    }
    assert "not found" in listing.message  # one unknown paper of yours does not hide the others' citations
    assert {r.headers.get("x-api-key") for r in replay_server.requests} == {"k-123"}
    assert replay_server.requests_to("/author/1741101/papers")[1].query["offset"] == "100"
    assert 2.0 in sleeps


def test_s2_without_key_sends_none(replay_server):
    replay_server.add("/author/9/papers", Reply.json({"offset": 0, "data": []}))
    cfg = SemanticScholarSourceConfig(type="semanticscholar", base_url=replay_server.url, authors=["9"])
    assert make_source(cfg, [], sleep=Sleeps(), environ={}).fetch(DAY).papers == []
    assert "x-api-key" not in replay_server.requests[0].headers


def test_s2_max_citations_bounds_what_is_asked_and_read(replay_server):
    replay_server.always("/paper/ARXIV:2310.01234/citations", Reply(200, fixture("s2_citations.json")))
    cfg = SemanticScholarSourceConfig(
        type="semanticscholar",
        base_url=replay_server.url,
        my_papers=["2310.01234"],
        max_citations=1,
        citation_counts=False,
    )
    listing = make_source(cfg, [], sleep=Sleeps(), environ={}).fetch(DAY)
    assert [p.arxiv_id for p in listing.papers] == ["2602.20101"]  # the second citing paper is not read
    assert replay_server.requests[0].query["limit"] == "1"
    none = cfg.model_copy(update={"max_citations": 0})
    assert make_source(none, [], sleep=Sleeps(), environ={}).fetch(DAY).papers == []
    assert len(replay_server.requests) == 1  # max_citations = 0: citations are not asked for at all


def test_s2_key_is_read_from_the_variable_api_key_env_names(replay_server):
    replay_server.add("/author/9/papers", Reply.json({"offset": 0, "data": []}))
    cfg = SemanticScholarSourceConfig(
        type="semanticscholar", base_url=replay_server.url, authors=["9"], api_key_env="LAB_S2_KEY"
    )
    environ = {"LAB_S2_KEY": "k-lab", "SEMANTIC_SCHOLAR_API_KEY": "k-default"}
    make_source(cfg, [], sleep=Sleeps(), environ=environ).fetch(DAY)
    assert replay_server.requests[0].headers["x-api-key"] == "k-lab"


# -- the whole day: five sources, a lift for citing you, sources everywhere ----

CONFIG = """
[paperradar]
categories = ["q-bio.NC"]
database = "db/paperradar.db"
output_dir = "out"

[arxiv]
rss_base_url = "{url}/rss"

[prefilter]
shortlist_size = 6

[[profile.topics]]
name = "Olfaction"
relevant = "How the olfactory system encodes odors: olfactory bulb, piriform cortex, sparse codes."

[[sources]]
type = "biorxiv"
base_url = "{url}"
categories = ["neuroscience"]
delay_seconds = 0

[[sources]]
type = "openreview"
name = "iclr2027"
base_url = "{url}"
venues = ["ICLR.cc/2027/Conference"]
delay_seconds = 0

[[sources]]
type = "semanticscholar"
base_url = "{url}"
authors = ["1741101"]
my_papers = ["2310.01234", "10.1101/2025.01.01.000001"]
delay_seconds = 0
cites_weight = 5.0
"""


@pytest.fixture
def day_config(replay_server, tmp_path):
    text = CONFIG.format(url=replay_server.url)
    path = tmp_path / "paperradar.toml"
    path.write_text(text)
    replay_server.always("/rss/q-bio.NC", Reply(200, fixture("arxiv_rss_q-bio.NC.xml")))
    pages = "/details/biorxiv/2026-02-24/2026-02-24"
    replay_server.always(f"{pages}/0", Reply(200, fixture("biorxiv_neuroscience_page1.json")))
    replay_server.always(f"{pages}/2", Reply(200, fixture("biorxiv_neuroscience_page2.json")))
    replay_server.add(
        "/notes", Reply(200, fixture("openreview_page1.json")), Reply(200, fixture("openreview_page2.json"))
    )
    s2_server(replay_server)
    return parse_config(tomllib.loads(text), path)


def test_a_day_from_five_sources(day_config, embedder):
    ctx = run_day(day_config, DAY, embedder=embedder, stages=["ingest", "embed", "prefilter", "digest"])
    digest = ctx.digest
    by_id = {e.paper.arxiv_id: e for e in digest.entries}
    odor = by_id["2602.20101"]
    # arXiv, bioRxiv, OpenReview and Semantic Scholar list it: one entry, embedded once.
    assert odor.paper.sources == ["arxiv", "biorxiv", "iclr2027", "semanticscholar"]
    assert any(r.kind == "cites" and r.label == "2310.01234" for r in odor.reasons)
    # The two papers citing yours are lifted by cites_weight above every other olfaction paper.
    assert {e.paper.arxiv_id for e in digest.entries[:2]} == {
        "2602.20101",
        "s2:f60718293a4b5c6d7e8f9012345678901a2b3c4d",
    }
    with Store(day_config.database) as store:
        assert store.conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] == len(store.papers_for_day(DAY))
        assert (
            store.conn.execute(
                "SELECT count(*) FROM papers WHERE title LIKE 'Sparse Coding of Odor Identity%'"
            ).fetchone()[0]
            == 1
        )
    md = ctx.paths["markdown"].read_text()
    assert (
        "**Source:** [arxiv](https://arxiv.org/abs/2602.20101) · "
        "[biorxiv](https://www.biorxiv.org/content/10.1101/2026.02.20.639001v1)"
        " (published as doi:10.7554/elife.99001) · "
        "[iclr2027](https://openreview.net/forum?id=Xk3pR9aQ1m) (Accept (Poster), rating 6.33 from 3 reviews)" in md
    )
    assert "cites your paper “2310.01234”" in md
    data = json.loads(ctx.paths["json"].read_text())
    entry = next(e for e in data["entries"] if e["paper"]["arxiv_id"] == "2602.20101")
    assert entry["paper"]["sources"] == ["arxiv", "biorxiv", "iclr2027", "semanticscholar"]
    assert data["sections"]["cites_you"][0]["cites"] == ["2310.01234"]


def test_citation_weight_lifts_by_the_log_of_the_citation_count(day_config, replay_server, embedder):
    import math

    # Every paper S2 is asked about in the batch has 20 citations.
    def batch(request):
        return Reply.json([{"paperId": f"s2-{i}", "citationCount": 20} for i in request.json()["ids"]])

    replay_server.always("/paper/batch", batch)
    s2 = next(s for s in day_config.sources if s.type == "semanticscholar")
    sources = [s if s is not s2 else s2.model_copy(update={"citation_weight": 0.5}) for s in day_config.sources]
    config = day_config.model_copy(update={"sources": sources})
    digest = run_day(config, DAY, embedder=embedder, stages=["ingest", "embed", "prefilter", "digest"]).digest
    cited = {e.paper.arxiv_id: r for e in digest.entries for r in e.reasons if r.kind == "cited"}
    intensity = cited["doi:10.1101/2026.02.21.639100"]  # a bioRxiv paper, asked about by its DOI
    assert (intensity.label, intensity.score) == ("20 citations", round(0.5 * math.log1p(20), 4))
    shown = [e.paper.arxiv_id for e in digest.entries]
    assert "openreview:Zp0o9i8U7y" in shown and "openreview:Zp0o9i8U7y" not in cited  # no arXiv id or DOI


def test_web_filters_by_source_and_paper_page_shows_decision_and_rating(day_config, embedder):
    from fastapi.testclient import TestClient

    from paperradar.outputs.web import create_app

    run_day(day_config, DAY, embedder=embedder, stages=["ingest", "embed", "prefilter", "digest"])
    client = TestClient(create_app(day_config, token=None, embedder=embedder), base_url="http://127.0.0.1")
    page = client.get("/day/2026-02-24", params={"source": "iclr2027"})
    assert page.status_code == 200
    assert "Sparse Coding of Odor Identity" in page.text and "Grid Cells Without Path Integration" not in page.text
    assert '<option value="biorxiv"' in page.text
    paper = client.get("/paper/2602.20101")
    assert "Where it appears" in paper.text
    assert "Accept (Poster)" in paper.text and "rating 6.33 (6.0, 8.0, 5.0)" in paper.text
    other = client.get("/paper/openreview:Hq7LmN2bVc")
    assert other.status_code == 200 and "rating 4.5" in other.text


def test_email_html_and_feed_name_each_paper_source(day_config, embedder):
    from paperradar.outputs.email import render_text
    from paperradar.outputs.feed import build_feed
    from paperradar.outputs.html import render_html

    ctx = run_day(day_config, DAY, embedder=embedder, stages=["ingest", "embed", "prefilter", "digest"])
    text = " ".join(render_text(ctx.digest).split())  # the text part is wrapped at 76 columns
    assert "Source: arxiv · biorxiv (published as doi:10.7554/elife.99001) · iclr2027 (Accept (Poster)," in text
    html = render_html(ctx.digest)
    assert '<a href="https://openreview.net/forum?id=Xk3pR9aQ1m"' in html and "Accept (Poster), rating 6.33" in html
    assert ">doi:10.1101/2026.02.21.639100</a>" in html  # a bioRxiv-only paper links its DOI, not an arXiv search
    rss = build_feed([ctx.digest], day_config).rss_str().decode()
    assert "iclr2027" in rss and "Source:" in rss


def test_cli_digest_prints_one_source(day_config, embedder):
    from typer.testing import CliRunner

    from paperradar.cli import app

    run_day(day_config, DAY, embedder=embedder, stages=["ingest", "embed", "prefilter", "digest"])
    args = ["digest", "--date", "2026-02-24", "--format", "json", "--config", str(day_config.source)]
    out = CliRunner().invoke(app, [*args, "--source", "iclr2027"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    # Of the six shortlisted papers, two are on OpenReview (one of them also on arXiv and bioRxiv).
    assert sorted(e["paper"]["arxiv_id"] for e in data["entries"]) == ["2602.20101", "openreview:Zp0o9i8U7y"]
    assert data["counts"] == {"seen": 7, "shortlisted": 6, "iclr2027": 2}
    wrong = CliRunner().invoke(app, [*args, "--source", "iclr"])
    assert wrong.exit_code == 2 and "no source is called 'iclr'" in wrong.output
