"""Hugging Face / Hacker News signals: parsing, storing, trending and the digest badges."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from paperradar.core.config import SignalsConfig
from paperradar.core.errors import FeedError
from paperradar.core.store import Store
from paperradar.signals.client import Signal
from paperradar.signals.collect import latest_signals, save_signals
from paperradar.signals.hackernews import arxiv_ids_in_url, parse_search
from paperradar.signals.huggingface import parse_daily_papers

FIX = Path(__file__).parent / "fixtures" / "signals"
DAY = dt.date(2026, 2, 24)
NOW = dt.datetime(2026, 2, 24, 20, 0, tzinfo=dt.UTC)


def test_parse_hf_daily_papers_keeps_good_items_and_notes_malformed_ones():
    signals, problems = parse_daily_papers((FIX / "hf_daily_2026-02-24.json").read_bytes(), DAY, NOW)
    assert [s.arxiv_id for s in signals] == ["2602.00001", "2602.09999"]
    grok = signals[0]
    assert (grok.source, grok.ref, grok.value, grok.comments) == ("hf", "2026-02-24", 87, 4)
    assert grok.url == "https://huggingface.co/papers/2602.00001"
    assert grok.posted_at == dt.datetime(2026, 2, 24, 2, 11, 9, tzinfo=dt.UTC)
    assert grok.extra["github"] == "https://github.com/example/grokking-sharpness"
    assert grok.extra["submitted_by"] == "Grace Hopper"
    assert grok.extra["authors"] == ["Ada Lovelace", "Alan Turing"]
    assert signals[1].extra["submitted_by"] == "Someone"  # the newer submittedOnDailyBy field
    assert len(problems) == 3
    assert all("skipped item" in p for p in problems)


def test_hf_link_fields_cannot_break_out_of_markdown():
    item = {"paper": {"id": "2602.00005", "upvotes": 1, "githubRepo": "https://x.org/a) [click](javascript:alert(1)"}}
    signals, _ = parse_daily_papers(json.dumps([item]).encode(), DAY, NOW)
    assert "github" not in signals[0].extra


def test_parse_hf_empty_and_garbage():
    assert parse_daily_papers(b"[]", DAY, NOW) == ([], [])
    with pytest.raises(FeedError, match="not JSON"):
        parse_daily_papers(b"<html>Bad gateway</html>", DAY, NOW)
    with pytest.raises(FeedError, match="Invalid date"):
        parse_daily_papers(b'{"error": "Invalid date"}', DAY, NOW)


def test_parse_hn_search_matches_the_exact_paper():
    signals, problems = parse_search((FIX / "hn_search_2602.00001.json").read_bytes(), NOW, "2602.00001")
    # The story with an id that only shares a prefix is not this paper.
    assert [(s.ref, s.value, s.comments) for s in signals] == [("47110001", 212, 58), ("47120002", 9, 2)]
    assert signals[0].url == "https://news.ycombinator.com/item?id=47110001"
    assert signals[0].extra["link"] == "https://arxiv.org/abs/2602.00001"
    assert signals[0].posted_at == dt.datetime(2026, 2, 24, 14, 3, 11, tzinfo=dt.UTC)
    assert len(problems) == 1 and "hit 3" in problems[0]


def test_parse_hn_empty_and_garbage():
    assert parse_search((FIX / "hn_search_empty.json").read_bytes(), NOW, "2602.00002") == ([], [])
    with pytest.raises(FeedError):
        parse_search(b'{"message": "no hits key"}', NOW)


@pytest.mark.parametrize(
    ("url", "ids"),
    [
        ("https://arxiv.org/abs/2602.00001", ["2602.00001"]),
        ("https://arxiv.org/pdf/2602.00001v2.pdf", ["2602.00001"]),
        ("https://www.arxiv.org/html/2602.00001v1", ["2602.00001"]),
        ("http://arxiv.org/abs/hep-th/9901001", ["hep-th/9901001"]),
        ("https://arxiv.org/abs/2602.000012", []),
        ("https://example.com/2602.00001", []),
    ],
)
def test_arxiv_ids_in_url(url, ids):
    assert arxiv_ids_in_url(url) == ids


def sig(arxiv_id, source, ref, value, comments=0, *, posted, observed=NOW, url=None, **extra):
    return Signal(
        arxiv_id=arxiv_id,
        source=source,
        ref=ref,
        observed_at=observed,
        posted_at=posted,
        value=value,
        comments=comments,
        url=url or f"https://example.org/{source}/{ref}",
        extra=extra,
    )


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "signals.db")
    yield s
    s.close()


def test_save_is_idempotent_and_keeps_a_time_series(store):
    posted = NOW - dt.timedelta(hours=6)
    first = sig("2602.00001", "hn", "1", 10, 1, posted=posted, observed=NOW - dt.timedelta(hours=5))
    later = sig("2602.00001", "hn", "1", 90, 30, posted=posted)
    save_signals(store, [first, later])
    save_signals(store, [later])
    assert store.count("signals") == 2
    (latest,) = latest_signals(store, until=NOW, since=NOW - dt.timedelta(days=7))
    assert (latest.value, latest.comments) == (90, 30)
    # As of before the later fetch, the digest sees the earlier numbers.
    (earlier,) = latest_signals(store, until=NOW - dt.timedelta(hours=1), since=NOW - dt.timedelta(days=7))
    assert earlier.value == 10
    # Before any fetch (a backfilled day), the first observation made after it.
    (first_seen,) = latest_signals(store, until=posted + dt.timedelta(minutes=1), since=NOW - dt.timedelta(days=7))
    assert first_seen.value == 10
    # A story posted after the day is not part of that day.
    assert latest_signals(store, until=posted - dt.timedelta(minutes=1), since=NOW - dt.timedelta(days=7)) == []


def test_trending_decays_with_age_and_respects_the_window(store):
    from paperradar.signals import trending

    settings = SignalsConfig(window_days=7, half_life_days=2.0, trending_size=10)
    end = trending.day_end(DAY)
    save_signals(
        store,
        [
            # Same raw signal, different ages: the fresh one must rank first.
            sig("2602.00010", "hf", "2026-02-24", 100, posted=end - dt.timedelta(days=0.5)),
            sig("2602.00011", "hf", "2026-02-20", 100, posted=end - dt.timedelta(days=4.5)),
            # Outside the window: ignored.
            sig("2602.00012", "hn", "77", 5000, 900, posted=end - dt.timedelta(days=9)),
        ],
    )
    top = trending.trending(store, DAY, settings)
    assert [p.arxiv_id for p in top] == ["2602.00010", "2602.00011"]
    assert top[0].score == pytest.approx(100 * 0.5**0.25)
    assert top[1].score == pytest.approx(100 * 0.5**2.25)


def test_digest_gets_trending_section_badges_and_markdown(store):
    from paperradar.core.digest import build_digest
    from paperradar.core.models import Candidate, Paper
    from paperradar.outputs.markdown import render_markdown
    from paperradar.signals import trending

    papers = [
        Paper(arxiv_id="2602.00001", title="Grokking and sharpness", abstract="A.", announced=DAY),
        Paper(arxiv_id="2602.00002", title="Quiet paper", abstract="B.", announced=DAY),
    ]
    store.upsert_papers(papers, DAY)
    store.save_candidates(DAY, "h", [Candidate(paper=p, score=1.0 - i) for i, p in enumerate(papers)], 2)
    hf, _ = parse_daily_papers((FIX / "hf_daily_2026-02-24.json").read_bytes(), DAY, NOW)
    hn, _ = parse_search((FIX / "hn_search_2602.00001.json").read_bytes(), NOW, "2602.00001")
    save_signals(store, hf + hn)
    digest = build_digest(store, DAY, [trending.signals_enricher(SignalsConfig())])

    entry = {e.paper.arxiv_id: e for e in digest.entries}
    s = entry["2602.00001"].signals
    assert s["upvotes"] == 87 and s["points"] == 212 and s["comments"] == 58 + 4
    assert s["discussed"] is True
    assert s["thread_url"] == "https://news.ycombinator.com/item?id=47110001"
    assert s["hf_url"] == "https://huggingface.co/papers/2602.00001"
    assert s["trending_rank"] == 1
    assert entry["2602.00002"].signals is None

    section = digest.sections["trending"]
    assert [t["arxiv_id"] for t in section] == ["2602.00001", "2602.09999"]
    assert section[0]["digest_rank"] == 1 and section[1]["digest_rank"] is None
    assert section[1]["title"] == "A Paper Outside Your Categories"  # from HF: not in our store

    md = render_markdown(digest)
    assert "## Trending" in md
    assert "[💬 discussed (62 comments)](https://news.ycombinator.com/item?id=47110001)" in md
    assert "**Community:** [🤗 87 upvotes](https://huggingface.co/papers/2602.00001) · ▲ 212 points on HN" in md
    assert md.count("**Community:**") == 1


def test_digest_without_signals_is_unchanged(store):
    from paperradar.core.digest import build_digest
    from paperradar.signals import trending

    digest = build_digest(store, DAY, [trending.signals_enricher(SignalsConfig())])
    assert "trending" not in digest.sections


# -- fetching, against the loopback replay server ----------------------------


def no_wait_client(sleeps: list[float] | None = None):
    from tenacity import wait_none

    from paperradar.signals.client import SignalClient

    return SignalClient(retry_wait=wait_none(), sleep=(sleeps.append if sleeps is not None else lambda s: None))


def hf_responder(by_date: dict[str, list]):
    """Answers per ?date=, each date's replies used in order (the last one repeats)."""
    from tests.loopback import Reply

    def respond(req):
        queue = by_date.get(req.query.get("date"), [Reply.json([])])
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return respond


def test_hf_collect_over_the_window_with_a_429_then_success(replay_server):
    from paperradar.signals import huggingface
    from tests.loopback import Reply

    listing = (FIX / "hf_daily_2026-02-24.json").read_bytes()
    replay_server.always(
        "/api/daily_papers",
        hf_responder(
            {
                "2026-02-24": [Reply(429, b"slow down", {"Retry-After": "0"}), Reply(200, listing)],
                "2026-02-23": [Reply(200, (FIX / "hf_daily_empty.json").read_bytes())],
            }
        ),
    )
    sleeps: list[float] = []
    settings = SignalsConfig(hf_base_url=replay_server.url, window_days=3)
    found, problems = huggingface.collect(no_wait_client(sleeps), settings, DAY, NOW)
    assert [r.query["date"] for r in replay_server.requests] == ["2026-02-24", "2026-02-24", "2026-02-23", "2026-02-22"]
    assert sleeps == [0.0]  # the Retry-After it was given
    assert [s.arxiv_id for s in found] == ["2602.00001", "2602.09999"]
    assert len(problems) == 3  # the malformed items, each named
    assert replay_server.requests[0].headers["user-agent"].startswith("paperradar/")


def test_hf_down_is_a_warning_and_stops_asking(replay_server):
    from paperradar.signals import huggingface
    from tests.loopback import Reply

    replay_server.always("/api/daily_papers", Reply(503, b"down"))
    settings = SignalsConfig(hf_base_url=replay_server.url, window_days=7)
    found, problems = huggingface.collect(no_wait_client(), settings, DAY, NOW)
    assert found == []
    assert len(replay_server.requests) == 3  # one day, three tries; the other days are not asked
    assert len(problems) == 1 and "HTTP 503" in problems[0]


def test_hf_bad_json_for_one_day_skips_that_day_only(replay_server):
    from paperradar.signals import huggingface
    from tests.loopback import Reply

    listing = (FIX / "hf_daily_2026-02-24.json").read_bytes()
    replay_server.always(
        "/api/daily_papers",
        hf_responder({"2026-02-24": [Reply(200, b"<html>oops</html>")], "2026-02-23": [Reply(200, listing)]}),
    )
    settings = SignalsConfig(hf_base_url=replay_server.url, window_days=2)
    found, problems = huggingface.collect(no_wait_client(), settings, DAY, NOW)
    assert len(found) == 2 and all(s.ref == "2026-02-23" for s in found)
    assert "not JSON" in problems[0]


def hn_responder(by_id: dict[str, object]):
    from tests.loopback import Reply

    def respond(req):
        arxiv_id = req.query["query"].removeprefix("arxiv.org/abs/")
        reply = by_id.get(arxiv_id, Reply(200, (FIX / "hn_search_empty.json").read_bytes()))
        return reply(req) if callable(reply) else reply

    return respond


def test_hn_collect_is_spaced_capped_and_stops_on_rate_limit(replay_server):
    from paperradar.signals import hackernews
    from tests.loopback import Reply

    replay_server.always(
        "/api/v1/search",
        hn_responder(
            {
                "2602.00001": Reply(200, (FIX / "hn_search_2602.00001.json").read_bytes()),
                "2602.00003": Reply(429, b"", {"Retry-After": "1"}),
            }
        ),
    )
    sleeps: list[float] = []
    settings = SignalsConfig(hn_base_url=replay_server.url, hn_delay_seconds=0.5, hn_max_queries=10)
    ids = ["2602.00001", "2602.00002", "2602.00003", "2602.00004"]
    found, problems, queries = hackernews.collect(no_wait_client(sleeps), settings, ids, NOW)
    first = replay_server.requests[0].query
    assert first == {"query": "arxiv.org/abs/2602.00001", "restrictSearchableAttributes": "url", "tags": "story"}
    assert [s.ref for s in found] == ["47110001", "47120002"]
    assert queries == 3  # 2602.00004 is never asked once the API says 429
    assert len(replay_server.requests) == 2 + 3  # three tries for the rate-limited query
    assert sleeps == [0.5, 0.5, 1.0, 1.0]  # the pause between papers, then Retry-After
    assert any("stopped after 2 of 4" in p and "429" in p for p in problems)


def test_hn_failures_are_warnings_and_the_cap_holds(replay_server):
    from paperradar.signals import hackernews
    from tests.loopback import Reply

    replay_server.always("/api/v1/search", hn_responder({"2602.00001": Reply(200, b"<html>maintenance</html>")}))
    settings = SignalsConfig(hn_base_url=replay_server.url, hn_delay_seconds=0, hn_max_queries=3)
    ids = [f"2602.0000{i}" for i in range(1, 7)]
    found, problems, queries = hackernews.collect(no_wait_client(), settings, ids, NOW)
    assert queries == 3 and found == []
    assert len(problems) == 1 and "2602.00001" in problems[0]


def test_hn_gives_up_after_repeated_failures(replay_server):
    from paperradar.signals import hackernews
    from tests.loopback import Reply

    replay_server.always("/api/v1/search", Reply(500, b"error"))
    settings = SignalsConfig(hn_base_url=replay_server.url, hn_delay_seconds=0, hn_max_queries=50)
    found, problems, queries = hackernews.collect(no_wait_client(), settings, [f"2602.{i:05d}" for i in range(20)], NOW)
    assert queries == hackernews.MAX_FAILURES
    assert problems[-1].startswith("Hacker News lookups stopped after 3 failures")


def test_signals_stage_in_the_pipeline_feeds_the_digest(replay_server, tmp_path):
    """End to end: shortlisted papers are looked up on HN, HF is read, the digest shows both."""
    from paperradar.core.config import Config
    from paperradar.core.models import Candidate, Paper
    from paperradar.core.pipeline import run_day
    from paperradar.outputs.markdown import render_markdown
    from tests.loopback import Reply

    replay_server.always(
        "/api/daily_papers",
        hf_responder({"2026-02-24": [Reply(200, (FIX / "hf_daily_2026-02-24.json").read_bytes())]}),
    )
    replay_server.always(
        "/api/v1/search",
        hn_responder({"2602.00001": Reply(200, (FIX / "hn_search_2602.00001.json").read_bytes())}),
    )
    config = Config(
        database=tmp_path / "p.db",
        output_dir=tmp_path / "digests",
        signals=SignalsConfig(
            hf_base_url=replay_server.url, hn_base_url=replay_server.url, hn_delay_seconds=0, window_days=2
        ),
    )
    store = Store(config.database)
    papers = [
        Paper(arxiv_id="2602.00001", title="Grokking and sharpness", abstract="A.", announced=DAY),
        Paper(arxiv_id="2602.00002", title="Quiet paper", abstract="B.", announced=DAY),
    ]
    store.upsert_papers(papers, DAY)
    store.save_candidates(DAY, "h", [Candidate(paper=p, score=1.0 - i) for i, p in enumerate(papers)], 2)
    ctx = run_day(config, DAY, store=store, stages=["signals", "digest"])
    detail = store.runs(1)[0]["stages"][0]
    assert detail["stage"] == "signals"
    assert detail["detail"]["hf"] == 2 and detail["detail"]["hn"] == 2 and detail["detail"]["hn_queries"] == 2
    assert len(replay_server.requests_to("/api/daily_papers")) == 2
    md = render_markdown(ctx.digest)
    assert "## Trending" in md and "💬 discussed" in md
    assert ctx.paths["markdown"].read_text(encoding="utf-8") == md
    store.close()


def test_signals_stage_survives_an_unreachable_source(tmp_path, monkeypatch):
    from paperradar.core.config import Config
    from paperradar.core.pipeline import run_day

    monkeypatch.setattr("paperradar.signals.collect.make_signal_client", lambda settings: no_wait_client())

    # Nothing listens on port 9 of the loopback: every request fails to connect.
    dead = "http://127.0.0.1:9"
    config = Config(
        database=tmp_path / "p.db",
        output_dir=tmp_path / "digests",
        signals=SignalsConfig(hf_base_url=dead, hn_base_url=dead, hn_delay_seconds=0, window_days=1),
    )
    store = Store(config.database)
    run_day(config, DAY, store=store, stages=["signals"])
    run = store.runs(1)[0]
    assert run["status"] == "ok"
    assert any("Cannot reach" in w for w in run["stages"][0]["detail"]["warnings"])
    store.close()


def test_migrations_add_signals_and_library_to_an_old_store(tmp_path):
    old = Store(tmp_path / "old.db", migrate=False)
    old.migrate(upto=2)
    old.upsert_papers([], DAY)
    assert "signals" not in old.db.table_names()
    old.close()
    store = Store(tmp_path / "old.db")
    assert {"signals", "library_items"} <= set(store.db.table_names())
    assert {"m003_signals", "m004_library_items"} <= set(store.applied_migrations())
    store.close()


def test_cli_trending_and_learn(replay_server, tmp_path):
    from typer.testing import CliRunner

    from paperradar import cli
    from tests.loopback import Reply

    replay_server.always(
        "/api/daily_papers",
        hf_responder({"2026-02-24": [Reply(200, (FIX / "hf_daily_2026-02-24.json").read_bytes())]}),
    )
    cfg = tmp_path / "paperradar.toml"
    cfg.write_text(
        f'[paperradar]\ndatabase = "db.sqlite"\n[signals]\nsources = ["hf"]\nwindow_days = 2\n'
        f'hf_base_url = "{replay_server.url}"\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    result = runner.invoke(cli.app, ["trending", "--date", "2026-02-24", "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "2602.00001" in result.output and "87" in result.output
    assert len(replay_server.requests) == 2
    again = runner.invoke(cli.app, ["trending", "--date", "2026-02-24", "--no-fetch", "--config", str(cfg)])
    assert again.exit_code == 0 and "2602.00001" in again.output
    assert len(replay_server.requests) == 2
    learn = runner.invoke(cli.app, ["learn", "--date", "2026-02-24", "--config", str(cfg)])
    assert learn.exit_code == 0, learn.output
    assert "not enough labels" in learn.output
