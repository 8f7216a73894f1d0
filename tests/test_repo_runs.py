"""RunRepository on a real SQLite file: runs, their stages and what each stage reported."""

from __future__ import annotations

import datetime as dt

import pytest

from paperradar.core.store import Store

DAY = dt.date(2026, 2, 24)


@pytest.mark.postgres
def test_a_run_records_its_stages_in_order_and_closes_once(tmp_path, store_location):
    with Store(store_location) as store:
        runs = store.run_history
        first = runs.start(DAY, "run")
        runs.record_stage(first, "ingest", "t0", 1.5, {"papers": 3})
        runs.record_stage(first, "judge", "t1", 2.0, {"judged": 2, "when": DAY})
        runs.finish(first, "ok")
        runs.finish(first, "failed", "late", only_if_running=True)  # already closed: left as it was
        second = runs.start(DAY, "run --again")
        runs.record_stage(second, "judge", "t2", 0.5, {"judged": 0})

        recent = runs.recent(5)
        assert [(r["id"], r["status"], r["error"]) for r in recent] == [(second, "running", None), (first, "ok", None)]
        assert recent[1]["stages"] == [
            {"stage": "ingest", "seconds": 1.5, "detail": {"papers": 3}},
            {"stage": "judge", "seconds": 2.0, "detail": {"judged": 2, "when": "2026-02-24"}},
        ]
        assert [r["id"] for r in runs.recent(1)] == [second]
        assert runs.stage_seconds(first) == {"ingest": 1.5, "judge": 2.0}
        assert runs.latest_stage_detail(DAY, "judge") == {"judged": 0}
        assert runs.latest_stage_detail(DAY, "ingest") == {"papers": 3}
        assert runs.latest_stage_detail(DAY, "tournament") is None
        assert runs.latest_stage_detail(DAY + dt.timedelta(days=1), "judge") is None


@pytest.mark.postgres
def test_the_store_redacts_a_failed_runs_error_before_the_repository_stores_it(tmp_path, store_location):
    with Store(store_location) as store:
        run = store.start_run(DAY, "run")
        store.finish_run(run, "failed", "401 for key sk-abcdefghijklmnopqrstuvwxyz0123456789")

        error = store.run_history.recent(1)[0]["error"]
        assert error.startswith("401 for key") and "abcdefghijklmnopqrstuvwxyz" not in error
