"""One record per work: the same work on three sources, and near-identical titles that are different works."""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path

import pytest

from paperradar.core.config import parse_config
from paperradar.core.dedup import conflicting, normalize_doi, title_key
from paperradar.core.pipeline import run_day
from paperradar.core.store import Store
from paperradar.core.works import Works

from .loopback import Reply

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
DAY = dt.date(2026, 2, 24)
IDENTITY = "Sparse Coding of Odor Identity in the Mouse Olfactory Bulb"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# -- identifiers --------------------------------------------------------------


def test_title_keys_ignore_case_punctuation_accents_and_latex():
    a = title_key("Sparse Coding of Odor Identity in the Mouse Olfactory Bulb", ["Maria Rossi", "J. Tanaka"])
    b = title_key("Sparse coding of odor identity in the mouse olfactory-bulb.", ["Rossi, M."])
    c = title_key("Sparse   coding of odor identity in the mouse olfactory bulb", ["Rossi M"])
    assert a == b == c == "sparse coding of odor identity in the mouse olfactory bulb|rossi"
    assert title_key("Schrödinger bridges for $\\mathcal{O}(n)$ sampling", ["José Núñez"]) == title_key(
        "Schrodinger Bridges for  sampling", ["Jose Nunez"]
    )


@pytest.mark.parametrize(
    "first, second",
    [
        (
            "Sparse coding of odor identity in the mouse olfactory bulb",
            "Sparse coding of odor intensity in the mouse olfactory bulb",
        ),
        ("Scaling Laws for Neural Language Models", "Scaling Laws for Neural Machine Translation"),
        ("Deep Learning for Symbolic Mathematics, Part I", "Deep Learning for Symbolic Mathematics, Part II"),
        ("Attention Is All You Need", "Attention Is Not All You Need"),
        ("GPT-4 Technical Report on Safety", "GPT-5 Technical Report on Safety"),
    ],
)
def test_near_identical_titles_have_different_keys(first, second):
    assert title_key(first, ["Ada Lovelace"]) != title_key(second, ["Ada Lovelace"])


def test_generic_titles_and_missing_authors_give_no_title_key():
    assert title_key("Introduction", ["Ada Lovelace"]) is None
    assert title_key("A long enough title for matching", []) is None


def test_dois_are_normalized_and_conflicts_detected():
    assert normalize_doi("https://doi.org/10.1101/2026.02.20.639001.") == "10.1101/2026.02.20.639001"
    assert normalize_doi("doi:10.7554/eLife.99001") == "10.7554/elife.99001"
    assert normalize_doi("NA") is None
    stored = {"doi": ["10.1101/2026.02.20.639001"], "arxiv": ["2602.20101"]}
    assert conflicting(stored, {"doi": "10.1101/2026.02.21.639100"})  # two bioRxiv preprints
    assert not conflicting(stored, {"doi": "10.7554/elife.99001"})  # preprint and journal version
    assert conflicting(stored, {"arxiv": "2602.20999"})


# -- the pipeline's ingest with four sources ----------------------------------

CONFIG = """
[paperradar]
categories = ["q-bio.NC"]
database = "db/paperradar.db"
output_dir = "out"

[[sources]]
type = "arxiv"
rss_base_url = "{url}/rss"
api_base_url = "{url}/api/query"

[[sources]]
type = "biorxiv"
base_url = "{url}"
categories = ["neuroscience"]
delay_seconds = 0

[[sources]]
type = "feed"
name = "elife"
url = "{url}/elife.xml"
delay_seconds = 0

[[sources]]
type = "feed"
name = "nordmann-lab"
url = "{url}/lab.atom"
delay_seconds = 0
"""


@pytest.fixture
def four_sources(replay_server, tmp_path):
    text = CONFIG.format(url=replay_server.url)
    path = tmp_path / "paperradar.toml"
    path.write_text(text)
    replay_server.always("/rss/q-bio.NC", Reply(200, fixture("arxiv_rss_q-bio.NC.xml")))
    pages = "/details/biorxiv/2026-02-24/2026-02-24"
    replay_server.always(f"{pages}/0", Reply(200, fixture("biorxiv_neuroscience_page1.json")))
    replay_server.always(f"{pages}/2", Reply(200, fixture("biorxiv_neuroscience_page2.json")))
    replay_server.always("/elife.xml", Reply(200, fixture("journal_rss.xml")))
    replay_server.always("/lab.atom", Reply(200, fixture("lab_atom.xml")))
    return parse_config(tomllib.loads(text), path)


def works_table(store: Store) -> dict[str, list[tuple[str, str]]]:
    rows = store.conn.execute("SELECT arxiv_id, source, source_id FROM paper_locations ORDER BY rowid").fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for key, source, source_id in rows:
        out.setdefault(key, []).append((source, source_id))
    return out


def test_same_work_on_three_sources_is_one_record(four_sources):
    ctx = run_day(four_sources, DAY, stages=["ingest"])
    with Store(four_sources.database) as store:
        works = works_table(store)
        assert works["2602.20101"] == [
            ("arxiv", "2602.20101"),
            ("biorxiv", "10.1101/2026.02.20.639001"),  # same title and first author
            ("elife", "https://elifesciences.org/articles/99001"),  # bioRxiv's journal DOI
        ]
        paper = Works(store).attach([store.get_paper("2602.20101")])[0]
        assert paper.title == IDENTITY  # arXiv came first: its text is the record's
        assert paper.sources == ["arxiv", "biorxiv", "elife"]
        assert paper.doi == "10.1101/2026.02.20.639001"
        # The lab's post about the arXiv paper joins it by its arXiv link.
        assert works["2602.20150"] == [
            ("arxiv", "2602.20150"),
            ("nordmann-lab", "https://nordmann-lab.example.org/posts/grid-cells-landmarks"),
        ]
        day_ids = [p.arxiv_id for p in store.papers_for_day(DAY)]
    detail = ctx.run_id and run_detail(four_sources)
    assert detail["biorxiv"] == {"fetched": 3, "new": 2, "updated": 0, "merged": 1}
    assert detail["elife"]["merged"] == 1 and detail["nordmann-lab"]["merged"] == 1
    # The dendritic-spikes posting is version 3: a replacement, kept out of the day as on arXiv.
    assert day_ids == [
        "2602.20101",
        "2602.20150",
        "doi:10.1038/s41586-026-01234-5",
        "doi:10.1101/2026.02.21.639100",
        "doi:10.7554/elife.99002",
        day_ids[5],
    ]
    assert day_ids[5].startswith("nordmann-lab:")


def run_detail(config) -> dict:
    with Store(config.database) as store:
        return next(s for s in store.runs(1)[0]["stages"] if s["stage"] == "ingest")["detail"]


def test_near_identical_titles_stay_two_works(four_sources):
    run_day(four_sources, DAY, stages=["ingest"])
    with Store(four_sources.database) as store:
        titles = dict(store.conn.execute("SELECT arxiv_id, title FROM papers").fetchall())
    assert titles["2602.20101"] == IDENTITY
    assert titles["doi:10.1101/2026.02.21.639100"] == "Sparse coding of odor intensity in the mouse olfactory bulb"


def test_same_title_and_first_author_but_two_preprint_dois_stay_two_works(four_sources, replay_server):
    page = fixture("biorxiv_neuroscience_page1.json").replace(
        b"Sparse coding of odor intensity in", b"Sparse coding of odor identity in"
    )
    replay_server.always("/details/biorxiv/2026-02-24/2026-02-24/0", Reply(200, page))
    run_day(four_sources, DAY, stages=["ingest"])
    with Store(four_sources.database) as store:
        works = works_table(store)
    assert ("biorxiv", "10.1101/2026.02.20.639001") in works["2602.20101"]
    assert works["doi:10.1101/2026.02.21.639100"] == [("biorxiv", "10.1101/2026.02.21.639100")]


def test_rerun_asks_no_source_again_and_refetch_changes_nothing(four_sources, replay_server):
    run_day(four_sources, DAY, stages=["ingest"])
    with Store(four_sources.database) as store:
        before = works_table(store), store.conn.execute("SELECT * FROM announcements ORDER BY 1").fetchall()
    asked = len(replay_server.requests)
    run_day(four_sources, DAY, stages=["ingest"])
    assert len(replay_server.requests) == asked
    assert all(d == {"source": "store"} for k, d in run_detail(four_sources).items() if k != "source")
    run_day(four_sources, DAY, stages=["ingest"], refetch=True)
    assert len(replay_server.requests) > asked
    with Store(four_sources.database) as store:
        after = works_table(store), store.conn.execute("SELECT * FROM announcements ORDER BY 1").fetchall()
    assert after == before


def test_a_work_seen_on_an_earlier_day_is_not_announced_again(four_sources, replay_server):
    run_day(four_sources, DAY, stages=["ingest"])
    # The next day the journal lists the published version again, and a feed keeps yesterday's post.
    later = DAY + dt.timedelta(days=1)
    replay_server.always("/details/biorxiv/2026-02-25/2026-02-25/0", Reply(200, fixture("biorxiv_empty.json")))
    replay_server.always("/rss/q-bio.NC", Reply(200, fixture("arxiv_rss_q-bio.NC.xml")))
    run_day(four_sources, later, stages=["ingest"])
    with Store(four_sources.database) as store:
        assert store.papers_for_day(later, include_replacements=True) == []


def test_one_failing_source_does_not_cost_the_day_the_others(four_sources, replay_server):
    replay_server.always("/elife.xml", Reply.text("down", status=404))
    run_day(four_sources, DAY, stages=["ingest"])
    detail = run_detail(four_sources)
    assert "404" in detail["elife"]["error"] and detail["arxiv"]["fetched"] == 2
    with Store(four_sources.database) as store:
        assert not Works(store).fetched("elife", DAY) and Works(store).fetched("arxiv", DAY)


def test_migration_indexes_papers_stored_before_it(tmp_path):
    from paperradar.core.models import Paper

    with Store(tmp_path / "old.db", migrate=False) as store:
        store.migrate(upto=9)
        store.upsert_papers([Paper(arxiv_id="2602.20101", title=IDENTITY, abstract="a", authors=["Maria Rossi"])], DAY)
        store.migrate()
        found = Works(store).resolve(
            Paper(arxiv_id="doi:10.1101/x", title=IDENTITY.lower(), abstract="", authors=["Rossi, M."])
        )
    assert found == "2602.20101"
