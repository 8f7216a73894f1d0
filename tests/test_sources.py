"""bioRxiv/medRxiv and RSS/Atom sources against recorded answers on a loopback server, and their config."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from paperradar.core.config import parse_config
from paperradar.core.errors import FeedError, SourceError
from paperradar.core.source_settings import BiorxivSourceConfig, FeedSourceConfig
from paperradar.sources.biorxiv import author_names, parse_details
from paperradar.sources.factory import make_source
from paperradar.sources.feeds import parse_feed

from .loopback import Reply

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
DAY = dt.date(2026, 2, 24)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str):
    return json.loads(fixture(name))


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# -- bioRxiv ------------------------------------------------------------------


def test_biorxiv_authors_are_turned_around():
    assert author_names("Keller, G. B.; van der Berg, A.; Consortium") == [
        "G. B. Keller",
        "A. van der Berg",
        "Consortium",
    ]


def test_biorxiv_page_shape_versions_and_malformed_postings(caplog):
    papers, total = parse_details(fixture_json("biorxiv_neuroscience_page2.json"), server="biorxiv", source="biorxiv")
    assert total == 4
    assert [p.arxiv_id for p in papers] == ["doi:10.1101/2025.11.03.612345"]  # the posting without DOI is skipped
    assert "skipped posting 0" in caplog.text
    p = papers[0]
    assert (p.version, p.announce_type, p.doi) == (3, "replace", "10.1101/2025.11.03.612345")
    assert p.authors == ["G. B. Keller", "L. Dubois", "W. Chen"]
    loc = p.locations[0]
    assert (loc.kind, loc.source_id, loc.version) == ("biorxiv", "10.1101/2025.11.03.612345", 3)
    assert loc.url == "https://www.biorxiv.org/content/10.1101/2025.11.03.612345v3"


def test_biorxiv_journal_doi_is_kept():
    papers, _ = parse_details(fixture_json("biorxiv_neuroscience_page1.json"), server="biorxiv", source="biorxiv")
    assert papers[0].locations[0].extra == {"type": "new results", "published_doi": "10.7554/elife.99001"}
    assert "published_doi" not in papers[1].locations[0].extra  # "NA"


def test_biorxiv_error_status_is_not_an_empty_day():
    with pytest.raises(FeedError, match="invalid date"):
        parse_details({"messages": [{"status": "invalid date"}], "collection": []}, server="biorxiv", source="b")
    assert parse_details(fixture_json("biorxiv_empty.json"), server="biorxiv", source="b") == ([], 0)


def biorxiv(replay_server, sleeps, server="biorxiv", **kw):
    cfg = BiorxivSourceConfig(
        type=server, base_url=replay_server.url, contact="me@example.org", delay_seconds=0.5, **kw
    )
    return make_source(cfg, [], sleep=sleeps)


def test_biorxiv_pages_by_cursor_per_category_and_honours_retry_after(replay_server):
    path = "/details/biorxiv/2026-02-24/2026-02-24"
    replay_server.add(
        f"{path}/0",
        Reply.json({"message": "slow down"}, status=429, headers={"Retry-After": "7"}),
        Reply(200, fixture("biorxiv_neuroscience_page1.json"), {"Content-Type": "application/json"}),
        Reply(200, fixture("biorxiv_empty.json"), {"Content-Type": "application/json"}),
    )
    replay_server.add(f"{path}/2", Reply(200, fixture("biorxiv_neuroscience_page2.json")))
    sleeps = Sleeps()
    source = biorxiv(replay_server, sleeps, categories=["neuroscience", "animal behavior and cognition"])
    listing = source.fetch(DAY)
    source.close()

    assert [p.title for p in listing.papers] == [
        "Sparse coding of odor identity in the mouse olfactory bulb",
        "Sparse coding of odor intensity in the mouse olfactory bulb",
        "Dendritic spikes gate plasticity in layer 5 pyramidal neurons",
    ]
    assert all(p.announced == DAY for p in listing.papers)
    requests = replay_server.requests
    assert [(r.path.rsplit("/", 1)[1], r.query.get("category")) for r in requests] == [
        ("0", "neuroscience"),
        ("0", "neuroscience"),
        ("2", "neuroscience"),
        ("0", "animal_behavior_and_cognition"),
    ]
    assert 7.0 in sleeps  # the server's Retry-After, not the exponential back-off
    assert requests[0].headers["user-agent"] == "paperradar/0.1 (self-hosted research radar; mailto:me@example.org)"
    assert replay_server.pending() == {}


def test_biorxiv_keeps_the_highest_version_in_an_interval(replay_server):
    page = fixture_json("biorxiv_neuroscience_page2.json")
    v2 = dict(page["collection"][1], version="2")
    page["collection"] = [v2, page["collection"][1]]
    page["messages"][0].update(cursor=0, total="2")
    replay_server.add("/details/medrxiv/2026-02-22/2026-02-24/0", Reply.json(page))
    listing = biorxiv(replay_server, Sleeps(), server="medrxiv", days=3).fetch(DAY)
    assert [(p.arxiv_id, p.version) for p in listing.papers] == [("doi:10.1101/2025.11.03.612345", 3)]
    assert listing.papers[0].locations[0].url.startswith("https://www.medrxiv.org/content/10.1101/")


def test_biorxiv_gives_up_with_advice_after_repeated_503(replay_server):
    replay_server.always("/details/biorxiv/2026-02-24/2026-02-24/0", Reply.text("Service Unavailable", status=503))
    source = biorxiv(replay_server, Sleeps(), max_retries=2)
    with pytest.raises(SourceError, match=r"503 Service Unavailable after 3 tries\. biorxiv seems to be down"):
        source.fetch(DAY)
    assert len(replay_server.requests) == 3


def test_biorxiv_html_error_page_is_named(replay_server):
    replay_server.add("/details/biorxiv/2026-02-24/2026-02-24/0", Reply.text("<html>Maintenance</html>"))
    with pytest.raises(FeedError, match="did not answer JSON .*Maintenance"):
        biorxiv(replay_server, Sleeps()).fetch(DAY)


# -- RSS / Atom ---------------------------------------------------------------


def test_medrxiv_recorded_page_links_medrxiv_and_keeps_revisions_out_of_the_day(replay_server):
    replay_server.add("/details/medrxiv/2026-02-24/2026-02-24/0", Reply(200, fixture("medrxiv_page1.json")))
    cfg = BiorxivSourceConfig(type="medrxiv", base_url=replay_server.url, delay_seconds=0)
    listing = make_source(cfg, [], sleep=Sleeps()).fetch(DAY)
    papers = {p.doi: p for p in listing.papers}
    parkinson = papers["10.1101/2026.02.19.26346512"]
    assert parkinson.authors == ["E. Lindqvist", "N. Haddad", "B. A. Okonkwo"]
    assert (parkinson.announce_type, parkinson.primary_category) == ("new", "neurology")
    assert parkinson.locations[0].url == "https://www.medrxiv.org/content/10.1101/2026.02.19.26346512v1"
    assert parkinson.locations[0].kind == "medrxiv" and parkinson.locations[0].source == "medrxiv"
    trial = papers["10.1101/2025.12.02.25341177"]  # version 2 of an older preprint, since published
    assert trial.announce_type == "replace" and trial.locations[0].extra["published_doi"] == "10.1001/jamaoto.2026.0112"
    assert "category" not in replay_server.requests[0].query  # no categories configured: all of them
    assert listing.message == "medrxiv: 3 postings in all categories from 2026-02-24 to 2026-02-24"


def test_a_source_that_does_not_answer_within_timeout_seconds_is_named(replay_server):
    replay_server.add("/late.xml", Reply(200, fixture("journal_rss.xml"), delay=5))
    cfg = FeedSourceConfig(
        type="feed", name="slow", url=f"{replay_server.url}/late.xml", timeout_seconds=0.2, max_retries=0
    )
    with pytest.raises(SourceError, match=r"Cannot reach .*/late.xml \(ReadTimeout"):
        make_source(cfg, [], sleep=Sleeps()).fetch(DAY)


def test_rss_1_0_journal_feed_with_prism_and_dc_dois():
    title, entries = parse_feed(fixture("journal_rss.xml"), source="elife")
    assert title == "eLife: Neuroscience"
    papers = {p.title: (p, when) for p, when in entries}
    sparse, when = papers["Sparse coding of odor identity in the mouse olfactory bulb"]
    assert (sparse.arxiv_id, sparse.doi, when) == (
        "doi:10.7554/elife.99001",
        "10.7554/elife.99001",
        dt.date(2026, 2, 23),
    )
    assert sparse.authors == ["Maria Rossi", "Jun Tanaka"]
    assert sparse.abstract.startswith("Mitral cells") and "<p>" not in sparse.abstract
    thalamus = papers["Thalamic control of cortical state transitions across sleep"][0]
    assert thalamus.doi == "10.7554/elife.99002"  # from dc:identifier only
    assert thalamus.locations[0].url == "https://elifesciences.org/articles/99002"


def test_atom_lab_feed_arxiv_links_dois_in_text_and_plain_posts():
    _, entries = parse_feed(fixture("lab_atom.xml"), source="nordmann-lab")
    keys = [p.arxiv_id for p, _ in entries]
    assert keys[0] == "2602.20150"  # links arXiv: joins the arXiv record
    assert keys[1] == "doi:10.1038/s41586-026-01234-5"  # DOI found in the summary
    assert keys[2].startswith("nordmann-lab:") and entries[2][0].authors == []


def test_feed_source_lists_the_window_and_broken_feeds_are_errors(replay_server):
    replay_server.add("/elife.xml", Reply(200, fixture("journal_rss.xml"), {"Content-Type": "application/rdf+xml"}))
    cfg = FeedSourceConfig(type="feed", name="elife", url=f"{replay_server.url}/elife.xml", days=7)
    listing = make_source(cfg, [], sleep=Sleeps()).fetch(DAY)
    assert [p.doi for p in listing.papers] == ["10.7554/elife.99001", "10.7554/elife.99002"]  # not last month's

    replay_server.add("/elife.xml", Reply.text("<html><body>502 Bad Gateway</body></html>", content_type="text/html"))
    with pytest.raises(FeedError, match="elife is not a readable RSS or Atom feed"):
        make_source(cfg, [], sleep=Sleeps()).fetch(DAY)


def test_truncated_feed_keeps_what_could_be_read(caplog):
    data = fixture("lab_atom.xml")
    cut = data[: data.index(b"<entry>", data.index(b"</entry>"))] + b"<entry><title>Half"
    _, entries = parse_feed(cut, source="lab")
    assert [p.arxiv_id for p, _ in entries] == ["2602.20150"]
    assert "not well-formed" in caplog.text


# -- configuration ------------------------------------------------------------


def test_arxiv_section_is_the_default_arxiv_source(tmp_path):
    cfg = parse_config(
        {"categories": ["q-bio.NC"], "arxiv": {"contact": "me@example.org", "delay_seconds": 5}},
        tmp_path / "p.toml",
    )
    (arxiv,) = cfg.enabled_sources()
    assert (arxiv.type, arxiv.label, arxiv.delay_seconds, arxiv.contact) == ("arxiv", "arxiv", 5, "me@example.org")


def test_sources_tables_add_to_arxiv_or_replace_it(tmp_path):
    data = {
        "sources": [
            {"type": "biorxiv", "categories": ["neuroscience"]},
            {"type": "medrxiv", "days": 2},
            {"type": "feed", "name": "elife", "url": "https://elifesciences.org/rss/subject/neuroscience.xml"},
        ]
    }
    cfg = parse_config(data, tmp_path / "p.toml")
    assert [s.label for s in cfg.enabled_sources()] == ["arxiv", "biorxiv", "medrxiv", "elife"]
    data["sources"].append({"type": "arxiv", "enabled": False})
    cfg = parse_config(data, tmp_path / "p.toml")
    assert [s.label for s in cfg.enabled_sources()] == ["biorxiv", "medrxiv", "elife"]


@pytest.mark.parametrize(
    "source, message",
    [
        ({"type": "feed"}, "sources.0.feed.url: Field required"),
        ({"type": "nature"}, "sources.0: Input tag 'nature' found using 'type' does not match"),
        ({"type": "feed", "url": "x", "name": "My Feed"}, "is not a source name"),
        ({"type": "arxiv", "delay_seconds": 1}, "greater than or equal to 3"),
    ],
)
def test_bad_sources_tables_are_explained(tmp_path, source, message):
    from paperradar.core.errors import ConfigError

    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_config({"sources": [source]}, tmp_path / "p.toml")


def test_two_sources_with_one_name_are_refused(tmp_path):
    from paperradar.core.errors import ConfigError

    feeds = [{"type": "feed", "url": "https://a.example/rss"}, {"type": "feed", "url": "https://b.example/rss"}]
    with pytest.raises(ConfigError, match="two \\[\\[sources\\]\\] are called feed"):
        parse_config({"sources": feeds}, tmp_path / "p.toml")


def readme_sources_table() -> dict[str, set[str]]:
    """The keys the README's source configuration table names, per source type."""
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Sources:", 1)[1].split("\n## ", 1)[0]
    types = ["arxiv", "biorxiv", "medrxiv", "openreview", "feed", "semanticscholar"]
    keys: dict[str, set[str]] = {t: set() for t in types}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].startswith("`"):
            continue
        applies = types if cells[1] == "all" else re.findall(r"`([a-z]+)`", cells[1])
        for t in applies:
            keys[t].update(re.findall(r"`([a-z_]+)`", cells[0]))
    return keys


def test_readme_sources_table_names_every_key_and_only_real_ones():
    from paperradar.core.source_settings import (
        ArxivSourceConfig,
        OpenReviewSourceConfig,
        SemanticScholarSourceConfig,
    )

    models = {
        "arxiv": ArxivSourceConfig,
        "biorxiv": BiorxivSourceConfig,
        "medrxiv": BiorxivSourceConfig,
        "openreview": OpenReviewSourceConfig,
        "feed": FeedSourceConfig,
        "semanticscholar": SemanticScholarSourceConfig,
    }
    table = readme_sources_table()
    for kind, model in models.items():
        assert table[kind] == set(model.model_fields), kind
