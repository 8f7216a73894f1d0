"""The web app through FastAPI's TestClient: every route, error pages, CSRF, tokens, feedback, search."""

from __future__ import annotations

import csv
import io
import re
import tomllib

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from paperradar.cli import app as cli_app
from paperradar.core import feedback as fb
from paperradar.core.config import load_config
from paperradar.core.repositories.browse import fts5_query
from paperradar.core.store import Store
from paperradar.outputs.web import create_app
from paperradar.outputs.web.data import VectorIndex, search_terms
from paperradar.outputs.web.security import TOKEN_ENV, WebSecurityError, check_bind

from .conftest import DAY, SAMPLE_PAPERS
from .webdata import HOSTILE_ID, HashEmbedder, fill_store

pytestmark = pytest.mark.postgres

TOKEN = "correct-horse-battery-staple-42"


@pytest.fixture
def filled(config):
    fill_store(config)
    return config


@pytest.fixture
def client(filled, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    app = create_app(filled, embedder=HashEmbedder())
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def csrf_of(client: TestClient, path: str = "/") -> str:
    html = client.get(path).text
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', html).group(1)


# -- digest ------------------------------------------------------------------------------------


def test_today_shows_latest_digest_with_scores_and_reasons(client):
    r = client.get("/")
    assert r.status_code == 200
    assert "Digest for 2026-02-24" in r.text
    assert "Grokking and the Sharpness of Minima" in r.text
    assert "score 2.40" in r.text
    assert "Training dynamics" in r.text and "matches topic" in r.text
    assert "relevance 9/10" in r.text  # the judge's scores reach the list
    assert "2602.00002" not in r.text  # not shortlisted


def test_hostile_text_is_escaped_everywhere(client):
    for path in ("/", f"/paper/{HOSTILE_ID}", "/search?q=attention", "/search?q=attention&mode=semantic"):
        html = client.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
    paper = client.get(f"/paper/{HOSTILE_ID}").text
    assert "&lt;b onmouseover=" in paper and "<b onmouseover" not in paper


def test_day_filters_by_category_and_score(client):
    only_cv = client.get("/day/2026-02-24?category=cs.RO").text
    assert "Reinforcement Learning for Warehouse Robots" not in only_cv  # excluded, so not shortlisted
    lg = client.get("/day/2026-02-24?category=cs.LG&min_score=1.5").text
    assert "Grokking" in lg and "Scaling Laws" not in lg
    assert "2 of 4 papers" in lg


def test_bad_date_and_bad_filter_are_clear_400_pages(client):
    r = client.get("/day/2026-13-45")
    assert r.status_code == 400
    assert "is not a date" in r.text and "YYYY-MM-DD" in r.text
    r = client.get("/day/2026-02-24?min_score=lots")
    assert r.status_code == 400 and "not a number" in r.text


def test_day_without_digest_says_so(client):
    r = client.get("/day/2026-01-01")
    assert r.status_code == 200 and "No digest was made for this day" in r.text


def test_empty_store_has_an_empty_state(config, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with TestClient(create_app(config), base_url="http://127.0.0.1") as c:
        r = c.get("/")
    assert r.status_code == 200 and "No digest yet" in r.text


def test_unknown_route_is_a_404_page(client):
    r = client.get("/nowhere")
    assert r.status_code == 404 and "There is no page at /nowhere" in r.text


# -- paper page -------------------------------------------------------------------------------


def test_paper_page_has_everything_known_about_the_paper(client):
    r = client.get("/paper/2602.00001")
    assert r.status_code == 200
    t = r.text
    assert "delayed generalization follows a drop in loss-landscape sharpness" in t  # abstract
    assert "Ada Lovelace, Alan Turing" in t
    assert "https://arxiv.org/pdf/2602.00001" in t
    assert "shortlisted (#1)" in t and "Training dynamics" in t  # why it matched
    assert "Directly about sharpness and grokking &lt;i&gt;in&lt;/i&gt; transformers." in t  # judge comment, escaped
    assert "Links delayed generalisation to falling sharpness." in t and "Clear causal experiments" in t
    assert "2 won · 0 lost · 0 tied" in t
    assert "Sharper claim with causal evidence." in t and "The grokking paper&#39;s evidence is stronger." in t
    assert "120 points on HN" in t and "https://news.ycombinator.com/item?id=4242" in t
    assert 'hx-get="/related/2602.00001"' in t
    fragment = client.get("/related/2602.00001", headers={"HX-Request": "true"}).text
    assert fragment.count("similarity") == 8 and "<html" not in fragment
    assert "2602.00001" not in fragment  # not related to itself
    full = client.get("/related/2602.00001?k=3").text
    assert full.count("similarity") == 3 and "<html" in full
    assert client.get("/related/2699.99999").status_code == 404


def test_paper_page_accepts_versions_and_urls(client):
    assert client.get("/paper/2602.00001v2").status_code == 200


def test_paper_with_a_local_id_has_a_page_that_links_to_an_arxiv_search(client, filled):
    from paperradar.core.models import Paper

    with Store(filled.database) as store:
        store.upsert_papers([Paper(arxiv_id="demo-0016", title="Phases of Scaling", abstract="A filler paper.")])
    r = client.get("/paper/demo-0016")
    assert r.status_code == 200
    assert "https://arxiv.org/search/?query=Phases+of+Scaling" in r.text
    assert "arxiv.org/pdf/demo-0016" not in r.text and "arxiv.org/html/demo-0016" not in r.text


def test_unknown_or_malformed_paper_is_404(client):
    r = client.get("/paper/2699.99999")
    assert r.status_code == 404
    assert "Paper 2699.99999 is not in this database" in r.text
    r = client.get("/paper/not-an-id")
    assert r.status_code == 404 and "is not an arXiv id" in r.text


# -- feedback ---------------------------------------------------------------------------------


def test_post_without_csrf_token_is_refused(client):
    r = client.post("/feedback", data={"arxiv_id": "2602.00001", "kind": "up"})
    assert r.status_code == 403 and "CSRF" in r.text
    r = client.post("/feedback", data={"arxiv_id": "2602.00001", "kind": "up", "csrf_token": "0" * 64})
    assert r.status_code == 403
    r = client.post("/profile", data={"authors": "X"})
    assert r.status_code == 403
    with Store(client.app.state.web.config.database) as store:
        assert store.count("feedback") == 0


def test_csrf_token_is_bound_to_the_session(client, filled):
    token = csrf_of(client)
    with TestClient(client.app, base_url="http://127.0.0.1") as other:
        other.get("/")
        r = other.post("/feedback", data={"arxiv_id": "2602.00001", "kind": "up", "csrf_token": token})
    assert r.status_code == 403


def test_feedback_buttons_toggle_and_persist(client, filled):
    token = csrf_of(client)
    r = client.post(
        "/feedback",
        data={"arxiv_id": "2602.00001", "kind": "up", "csrf_token": token, "next": "/paper/2602.00001"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/paper/2602.00001"
    page = client.get("/paper/2602.00001").text
    assert re.search(r'value="up" class="fb fb-up" aria-pressed="true"', page)
    # HTMX sends the token as a header and gets the buttons back.
    r = client.post(
        "/feedback",
        data={"arxiv_id": "2602.00005", "kind": "down"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert r.status_code == 200 and r.text.startswith('<form class="feedback"')
    assert 'value="down" class="fb fb-down" aria-pressed="true"' in r.text
    client.post("/feedback", data={"arxiv_id": "2602.00003", "kind": "save"}, headers={"X-CSRF-Token": token})
    with Store(filled.database) as store:
        assert fb.feedback_labels(store) == {"2602.00001": 1, "2602.00005": -1, "2602.00003": 1}
    # A second 👍 takes the vote back.
    client.post("/feedback", data={"arxiv_id": "2602.00001", "kind": "up"}, headers={"X-CSRF-Token": token})
    with Store(filled.database) as store:
        assert "2602.00001" not in fb.feedback_labels(store)
        assert store.count("feedback") == 4  # every click is kept


def test_feedback_page_and_csv_export(client):
    token = csrf_of(client)
    for arxiv_id, kind in ((HOSTILE_ID, "save"), ("2602.00005", "down")):
        client.post("/feedback", data={"arxiv_id": arxiv_id, "kind": kind}, headers={"X-CSRF-Token": token})
    page = client.get("/feedback").text
    assert "Customer Churn Prediction" in page and "&lt;script&gt;" in page
    assert "Customer Churn" not in client.get("/feedback?only=saved").text
    r = client.get("/feedback.csv")
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    got = {(x["arxiv_id"], x["label"], x["saved"]) for x in rows}
    assert got == {(HOSTILE_ID, "1", "1"), ("2602.00005", "-1", "0")}
    events = list(csv.DictReader(io.StringIO(client.get("/feedback.csv?events=1").text)))
    assert [e["kind"] for e in events] == ["save", "down"]


def test_feedback_for_unknown_paper_or_kind_is_400(client):
    token = csrf_of(client)
    r = client.post("/feedback", data={"arxiv_id": "2699.99999", "kind": "up"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 400 and "No paper &#39;2699.99999&#39;" in r.text
    r = client.post("/feedback", data={"arxiv_id": "2602.00001", "kind": "love"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 400


def test_redirect_after_feedback_stays_on_this_site(client):
    token = csrf_of(client)
    r = client.post(
        "/feedback",
        data={"arxiv_id": "2602.00001", "kind": "save", "next": "//evil.example/x"},
        headers={"X-CSRF-Token": token},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_csv_cells_cannot_be_formulas(filled):
    with Store(filled.database) as store:
        store.conn.execute("UPDATE papers SET title = '=HYPERLINK(\"http://x\")' WHERE arxiv_id = '2602.00002'")
        fb.record(store, "2602.00002", "up")
        text = fb.export_csv(store)
    assert "'=HYPERLINK" in text


def test_cli_feedback_export(filled, config_path, tmp_path):
    with Store(filled.database) as store:
        fb.record(store, "2602.00001", "up")
        fb.record(store, "2602.00001", "note", note="read on Friday")
    out = tmp_path / "fb.csv"
    r = CliRunner().invoke(cli_app, ["feedback", "export", "-o", str(out), "-c", str(config_path)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows[0]["arxiv_id"] == "2602.00001" and rows[0]["note"] == "read on Friday" and rows[0]["vote"] == "up"


# -- search -----------------------------------------------------------------------------------


def test_keyword_search_ranks_highlights_and_pages(client):
    r = client.get("/search?q=grokking sharpness")
    assert "Grokking and the Sharpness" in r.text and "<mark>sharpness</mark>" in r.text
    first = client.get("/search?q=transformer").text
    assert "page 1 of 2" in first and 'rel="next"' in first
    second = client.get("/search?q=transformer&page=2").text
    titles = lambda html: set(re.findall(r'<h3 class="ptitle"><a href="[^"]+">([^<]+)</a>', html))  # noqa: E731
    assert titles(first) and titles(second) and not titles(first) & titles(second)
    assert len(titles(first)) == 20
    assert "Lovelace" in client.get("/search?q=lovelace").text  # authors are indexed


def test_keyword_search_treats_operators_as_text(client):
    for q in ("AND OR (", '"unclosed', "NEAR(a b", "title:* -x", "*"):
        assert client.get("/search", params={"q": q}).status_code == 200
    assert search_terms('grok* "loss landscape" OR') == ["grok", "loss landscape", "OR"]
    assert fts5_query(search_terms('grok* "loss landscape" OR')) == '"grok" "loss landscape" "OR"'


def test_huge_result_sets_rank_the_most_recent_matches(filled, monkeypatch):
    from paperradar.outputs.web import data

    monkeypatch.setattr(data, "RANK_WINDOW", 10)
    with Store(filled.database) as store:
        capped = data.keyword_search(store, "transformer", per_page=20)
        small = data.keyword_search(store, "grokking")
    assert capped.capped and capped.total == 10 and len(capped.hits) == 10
    assert not small.capped and small.total == 1


def test_semantic_search_finds_by_meaning(client):
    r = client.get("/search", params={"q": "sharpness of minima in transformer training", "mode": "semantic"})
    hits = re.findall(r'<h3 class="ptitle"><a href="/paper/([^"]+)"', r.text)
    assert hits[0] == "2602.00001"
    assert client.get("/search?q=x&mode=magic").status_code == 400


def test_search_page_without_query(client):
    r = client.get("/search")
    assert r.status_code == 200 and "results" not in r.text


# -- leaderboard ------------------------------------------------------------------------------


def test_leaderboard_ranks_the_tournament(client):
    r = client.get("/leaderboard?day=2026-02-24")
    assert r.status_code == 200
    rows = re.findall(r'<td><a href="/paper/([^"]+)">', r.text)
    assert rows[0] == "2602.00001"  # won both of its matches
    assert "Sharper claim with causal evidence." in r.text
    assert "3 LLM calls" in r.text


def test_personal_leaderboard_page_shows_the_readers_order_and_its_agreement_with_impact(filled, monkeypatch):
    from paperradar.core.store import utcnow
    from paperradar.stages.group_match import profile_key

    key = profile_key(filled.profile)
    with Store(filled.database) as store:
        for shown, ranked in (
            (["2602.00001", "2602.00003", "2602.00666"], ["2602.00666", "2602.00003", "2602.00001"]),
            (["2602.00003", "2602.00666", "2602.00001"], ["2602.00666", "2602.00003", "2602.00001"]),
        ):
            store.rankings.add(
                question="personal",
                profile_key=key,
                model="gpt-4o-mini",
                shown=shown,
                ranked=ranked,
                reason="Closest to what this reader works on.",
                pool=f"shortlist/day/{DAY}",
                call_id=None,
                created_at=utcnow(),
            )
        store.rankings.set_personal_board(f"shortlist/day/{DAY}", key, order_digest=False, updated_at=utcnow())
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with TestClient(create_app(filled, embedder=HashEmbedder()), base_url="http://127.0.0.1") as client:
        r = client.get("/leaderboard?day=2026-02-24&question=personal")
        assert r.status_code == 200 and "For you: personal leaderboard" in r.text
        rows = re.findall(r'<td><a href="/paper/([^"]+)">', r.text)
        assert rows[0] == "2602.00666"
        assert "Rank correlation with the impact leaderboard" in r.text and "differ today" in r.text
        assert "2 LLM calls (2 ranked several papers at once) by gpt-4o-mini" in r.text
        assert client.get("/leaderboard?question=gossip").status_code == 400
        empty = client.get("/leaderboard?day=2026-01-05&question=personal")
        assert "paperradar tournament --personal" in empty.text


def test_leaderboard_without_tournament_says_so(client):
    r = client.get("/leaderboard?day=2026-01-05&category=cs.LG")
    assert r.status_code == 200 and "No tournament has run" in r.text
    assert client.get("/leaderboard?period=year").status_code == 400
    assert client.get("/leaderboard?day=yesterday").status_code == 400


# -- profile editor ---------------------------------------------------------------------------


def test_profile_editor_validates_and_writes_back(client, filled, config_path):
    original = config_path.read_text(encoding="utf-8")
    config_path.write_text("# my radar\n" + original, encoding="utf-8")
    token = csrf_of(client, "/profile")
    page = client.get("/profile").text
    assert "Training dynamics" in page and "Claude Shannon" in page
    r = client.post(
        "/profile",
        data={
            "csrf_token": token,
            "topic_count": "1",
            "topic_0_name": "Training dynamics",
            "topic_0_relevant": "Loss landscapes\nand grokking.",
            "topic_1_name": "Scaling",
            "topic_1_relevant": "Scaling laws of language models.",
            "authors": "Grace Hopper\n\nClaude Shannon\n",
            "keywords": "mixture-of-experts\nsparse attention",
            "negative_keywords": "",
            "seed_papers": "https://arxiv.org/abs/2602.00003v2",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    text = config_path.read_text(encoding="utf-8")
    assert text.startswith("# my radar\n")  # other parts of the file kept
    assert tomllib.loads(text)["prefilter"]["shortlist_size"] == 3
    cfg = load_config(config_path)
    assert cfg.profile.authors == ["Grace Hopper", "Claude Shannon"]
    assert cfg.profile.seed_papers == ["2602.00003"]
    assert [t.name for t in cfg.profile.topics] == ["Training dynamics", "Scaling"]
    assert cfg.profile.topics[0].relevant == "Loss landscapes\nand grokking."
    assert "Saved." in client.get("/profile?saved=1").text


def test_profile_editor_rejects_invalid_input_and_keeps_the_file(client, config_path):
    before = config_path.read_text(encoding="utf-8")
    token = csrf_of(client, "/profile")
    r = client.post(
        "/profile",
        data={
            "csrf_token": token,
            "topic_count": "0",
            "topic_0_name": "No text",
            "topic_0_relevant": "",
            "topic_0_irrelevant": "x",
            "authors": "",
            "keywords": "",
            "negative_keywords": "",
            "seed_papers": "not-a-paper",
        },
    )
    assert r.status_code == 422
    assert "not-a-paper" in r.text and "is not an arXiv id" in r.text
    assert "topics.0.relevant" in r.text
    assert config_path.read_text(encoding="utf-8") == before


# -- access control ---------------------------------------------------------------------------


def test_non_localhost_bind_without_token_is_refused():
    with pytest.raises(WebSecurityError, match="PAPERRADAR_WEB_TOKEN"):
        check_bind("0.0.0.0", None)
    with pytest.raises(WebSecurityError, match="too short"):
        check_bind("192.168.1.4", "short")
    check_bind("0.0.0.0", TOKEN)
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(host, None)


def test_cli_serve_refuses_public_address_without_token(config_path, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    r = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "-c", str(config_path)])
    assert r.exit_code == 1 and "Refusing to listen on 0.0.0.0" in r.output


def test_token_required_by_header_or_login_cookie(filled, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with TestClient(create_app(filled), base_url="http://127.0.0.1") as c:
        r = c.get("/paper/2602.00001", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/paper/2602.00001"
        assert c.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert c.get("/", headers={"X-Paperradar-Token": "wrong"}, follow_redirects=False).status_code == 303
        assert c.get("/static/style.css").status_code == 200
        token = csrf_of(c, "/login")
        bad = c.post("/login", data={"token": "wrong", "csrf_token": token})
        assert bad.status_code == 401 and "not right" in bad.text
        ok = c.post("/login", data={"token": TOKEN, "csrf_token": token, "next": "/feedback"}, follow_redirects=False)
        assert ok.status_code == 303 and ok.headers["location"] == "/feedback"
        assert TOKEN not in ok.headers["set-cookie"]  # the cookie is derived from the token, not the token
        assert c.get("/feedback").status_code == 200
        c.post("/logout", headers={"X-CSRF-Token": token})
        assert c.get("/", follow_redirects=False).status_code == 303


def test_loopback_server_answers_only_loopback_host_names(filled, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    app = create_app(filled, trusted_hosts=("127.0.0.1", "localhost", "[::1]"))
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        assert c.get("/").status_code == 200
        assert c.get("/", headers={"Host": "rebind.evil.example"}).status_code == 400


def test_security_headers(client):
    r = client.get("/")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert "httponly" in r.headers["set-cookie"].lower()


# -- store pieces: FTS migration, vector cache ------------------------------------------------


def test_fts_migration_backfills_and_triggers_follow_changes(tmp_path):
    store = Store(tmp_path / "old.db", migrate=False)
    store.migrate(upto=7)  # a database from before the search index
    store.upsert_papers(SAMPLE_PAPERS)
    store.migrate()

    def ids(q):
        return [
            r[0]
            for r in store.conn.execute(
                "SELECT p.arxiv_id FROM papers_fts JOIN papers p ON p.rowid = papers_fts.rowid "
                "WHERE papers_fts MATCH ?",
                (q,),
            )
        ]

    assert ids("grokking") == ["2602.00001"]
    assert ids("hopper") == ["2602.00003"]
    changed = SAMPLE_PAPERS[0].model_copy(update={"title": "Zebra finches", "version": 2})
    store.upsert_papers([changed])
    assert ids("grokking") == [] and ids("zebra") == ["2602.00001"]
    store.conn.execute("DELETE FROM announcements WHERE arxiv_id = '2602.00002'")
    store.conn.execute("DELETE FROM papers WHERE arxiv_id = '2602.00002'")
    assert ids("crop") == []
    store.conn.execute("INSERT INTO papers_fts(papers_fts) VALUES ('integrity-check')")
    store.close()


def test_vector_index_loads_once_and_follows_new_embeddings(tmp_path):
    store = Store(tmp_path / "v.db")
    store.upsert_papers(SAMPLE_PAPERS)
    rng = np.random.default_rng(1)
    vecs = {
        p.arxiv_id: (v / np.linalg.norm(v)).astype(np.float32)
        for p in SAMPLE_PAPERS
        if (v := rng.normal(size=8)) is not None
    }
    store.put_embeddings("m", [(k, "h", v) for k, v in list(vecs.items())[:3]])
    index = VectorIndex("m")
    index.count_every_s = 0  # compare the row count on every refresh
    index.refresh(store)
    assert len(index) == 3
    state = index._state
    index.refresh(store)
    assert index._state is state  # unchanged table: nothing reloaded
    store.put_embeddings("m", [(k, "h", v) for k, v in list(vecs.items())[3:]])
    index.refresh(store)
    assert len(index) == 5
    store.put_embeddings("m", [("2602.00001", "h2", vecs["2602.00002"])])  # re-embedded: same row count
    index.refresh(store)
    assert len(index) == 5
    near = index.nearest(vecs["2602.00002"], 2)
    assert {near[0][0], near[1][0]} == {"2602.00001", "2602.00002"} and near[0][1] == pytest.approx(1.0)
    store.conn.execute("DELETE FROM embeddings WHERE arxiv_id = '2602.00005'")
    index.refresh(store)
    assert len(index) == 4 and index.vector("2602.00005") is None
    assert index.nearest(vecs["2602.00003"], 3, exclude="2602.00003")[0][0] != "2602.00003"
    store.close()
