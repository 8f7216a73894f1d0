import json
from dataclasses import replace

import pytest

from paperradar.core import pipeline
from paperradar.core.pipeline import run_day
from paperradar.core.store import Store
from paperradar.sources.arxiv_source import announced_day_for_submission

from .conftest import DAY, SAMPLE_PAPERS

pytestmark = pytest.mark.postgres


def snapshot(store):
    q = {
        "papers": "SELECT * FROM papers ORDER BY arxiv_id",
        "announcements": "SELECT * FROM announcements ORDER BY arxiv_id",
        "embeddings": "SELECT arxiv_id, model, content_hash, vector FROM embeddings ORDER BY arxiv_id",
        "candidates": "SELECT day, arxiv_id, score, rank, shortlisted, excluded, reasons FROM candidates "
        "ORDER BY arxiv_id",
    }
    return {k: store.conn.execute(v).fetchall() for k, v in q.items()}


@pytest.fixture
def stored(config):
    with Store(config.database) as store:
        store.upsert_papers(SAMPLE_PAPERS, DAY)
    return config


def test_run_writes_digest_with_reasons(stored, embedder):
    ctx = run_day(stored, DAY, embedder=embedder)
    md = ctx.paths["markdown"].read_text()
    data = json.loads(ctx.paths["json"].read_text())
    assert md.startswith("# paperradar digest — 2026-02-24")
    # The cross-list from cs.RO is excluded by the negative keyword; 4 seen without replacements? all 5 announced.
    assert data["counts"] == {"seen": 5, "shortlisted": 3}
    ids = [e["paper"]["arxiv_id"] for e in data["entries"]]
    assert ids[0] == "2602.00001"
    assert "2602.00004" not in ids  # "reinforcement learning" is a negative keyword
    assert "2602.00005" in ids and "followed author" in md  # Claude Shannon is followed
    assert data["entries"][0]["paper"]["abs_url"] == "https://arxiv.org/abs/2602.00001"
    assert "Training dynamics" in md


def test_rerun_is_idempotent_and_embeds_nothing(stored, embedder):
    run_day(stored, DAY, embedder=embedder)
    with Store(stored.database) as store:
        before = snapshot(store)
    run_day(stored, DAY, embedder=embedder)
    with Store(stored.database) as store:
        after = snapshot(store)
        runs = store.runs(2)
    assert before == after
    embed_stage = next(s for s in runs[0]["stages"] if s["stage"] == "embed")
    assert embed_stage["detail"]["computed"] == 0
    first_embed = next(s for s in runs[1]["stages"] if s["stage"] == "embed")
    assert first_embed["detail"]["computed"] == 5
    assert [r["status"] for r in runs] == ["ok", "ok"]


def test_crash_between_stages_is_finished_by_next_run(stored, embedder, monkeypatch):
    def boom(ctx):
        raise RuntimeError("power cut")

    crashed = [replace(s, run=boom) if s.name == "prefilter" else s for s in pipeline.default_stages(stored)]
    with pytest.raises(RuntimeError, match="power cut"):
        run_day(stored, DAY, embedder=embedder, stage_list=crashed)
    with Store(stored.database) as store:
        run = store.runs(1)[0]
        assert run["status"] == "failed" and "power cut" in run["error"]
        assert [s["stage"] for s in run["stages"]] == ["ingest", "embed"]
        assert store.count("embeddings") == 5 and store.count("candidates") == 0

    ctx = run_day(stored, DAY, embedder=embedder)
    assert ctx.digest.counts["shortlisted"] == 3
    with Store(stored.database) as store:
        assert store.count("papers") == 5
        assert store.count("candidates") == 5
        assert store.runs(1)[0]["stages"][1]["detail"]["computed"] == 0


def test_crash_inside_a_stage_leaves_no_partial_rows(stored, embedder, monkeypatch):
    calls = {"n": 0}
    real = Store.put_embeddings

    def flaky(self, model, rows):
        def gen():
            for i, row in enumerate(rows):
                if i == 2:
                    raise OSError("disk full")
                yield row

        calls["n"] += 1
        return real(self, model, gen())

    monkeypatch.setattr(Store, "put_embeddings", flaky)
    with pytest.raises(OSError):
        run_day(stored, DAY, embedder=embedder)
    with Store(stored.database) as store:
        assert store.count("embeddings") == 0


@pytest.mark.parametrize(
    "submitted, expected",
    [
        ("2026-02-23T15:00:00+00:00", "2026-02-24"),  # Mon 10:00 ET -> Tue listing
        ("2026-02-23T20:00:00+00:00", "2026-02-25"),  # Mon 15:00 ET, after the cut-off
        ("2026-02-27T20:00:00+00:00", "2026-03-03"),  # Fri after cut-off -> Mon evening -> Tue
        ("2026-02-27T14:00:00+00:00", "2026-03-02"),  # Fri 09:00 ET -> Sun evening -> Mon
        ("2026-02-28T12:00:00+00:00", "2026-03-03"),  # Saturday
    ],
)
def test_announced_day_for_submission(submitted, expected):
    import datetime as dt

    assert announced_day_for_submission(dt.datetime.fromisoformat(submitted)).isoformat() == expected


def test_builtin_stages_register_in_pipeline_order():
    from paperradar.core.config import Config

    assert [s.name for s in pipeline.default_stages(Config())] == [
        "ingest",
        "embed",
        "prefilter",
        "judge",
        "signals",
        "tournament",
        "digest",
        "deliver",
    ]


def test_local_ids_link_to_an_arxiv_title_search():
    from paperradar.core.models import Paper

    real = Paper(arxiv_id="2602.19143", title="T", abstract="A")
    local = Paper(arxiv_id="demo-0016", title="4+3 Phases of Scaling", abstract="A")
    assert real.has_arxiv_id and real.pdf_url == "https://arxiv.org/pdf/2602.19143"
    assert not local.has_arxiv_id
    assert local.abs_url == "https://arxiv.org/search/?query=4%2B3+Phases+of+Scaling&searchtype=title"
    assert local.pdf_url == local.abs_url
