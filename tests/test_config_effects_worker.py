"""Each documented [worker] key changes what the job queue does, against a throwaway PostgreSQL cluster.

The real components read each key: the queue's URL, procrastinate's worker running two jobs at
once or one after the other, the retry strategy registered on the day's tasks, the loop that
requeues a dead worker's jobs, and the periodic task that enqueues the newest announcement day.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import procrastinate
import psycopg
import pytest

from paperradar.core.config import Config
from paperradar.core.errors import ConfigError
from paperradar.worker import jobs
from paperradar.worker.jobs import INGEST, PERIODIC, make_app
from paperradar.worker.queue import ensure_schema, ensure_schema_async, queue_url
from paperradar.worker.run import requeue_stalled, run_worker_async

PROBES = {
    "worker.queue": {"queue": "PG"},
    "worker.concurrency": {"concurrency": 2},
    "worker.retries": {"retries": 0},
    "worker.stalled_seconds": {"stalled_seconds": 2},
    "worker.cron": {"cron": "30 1 * * 1-5"},
}


def config(tmp_path, pg_url: str, change: dict) -> Config:
    worker = {"queue": pg_url, **{k: (pg_url if v == "PG" else v) for k, v in change.items()}}
    return Config.model_validate({"database": str(tmp_path / "radar.db"), "worker": worker})


def queued(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT task_name, lock FROM procrastinate_jobs ORDER BY id").fetchall()


def probe_queue(tmp_path, pg_url, change) -> object:
    cfg = Config.model_validate({"database": str(tmp_path / "radar.db"), "worker": change and {"queue": pg_url}})
    try:
        url = queue_url(cfg)
    except ConfigError as exc:
        return str(exc)
    app = make_app(cfg, url)
    with app.open():
        ensure_schema(app)
        jobs.schedule_day(app, dt.date(2026, 2, 24))
    return queued(pg_url)


def probe_concurrency(tmp_path, pg_url, change) -> object:
    """Two jobs that wait (2 s at most) for each other: they meet only if the worker runs both at once."""
    cfg = config(tmp_path, pg_url, change)
    app = make_app(cfg, pg_url)
    barrier = threading.Barrier(2, timeout=2)
    met = []

    @app.task(name="probe.meet")
    def meet(n: int) -> None:
        try:
            barrier.wait()
            met.append(n)
        except threading.BrokenBarrierError:
            met.append(-n)

    async def go():
        async with app.open_async():
            await ensure_schema_async(app)
            await meet.defer_async(n=1)
            await meet.defer_async(n=2)
            await run_worker_async(cfg, wait=False, app=app)

    asyncio.run(go())
    return sorted(n > 0 for n in met)


def probe_retries(tmp_path, pg_url, change) -> object:
    """What the day's tasks do after a first failed attempt."""
    app = make_app(config(tmp_path, pg_url, change), pg_url)
    job = procrastinate.jobs.Job(id=1, queue="default", lock=None, queueing_lock=None, task_name=INGEST, attempts=1)
    decision = app.tasks[INGEST].retry_strategy.get_retry_decision(exception=RuntimeError("down"), job=job)
    return None if decision is None else decision.retry_at is not None


def probe_stalled(tmp_path, pg_url, change) -> object:
    """A running job whose worker's last heartbeat is 5 s old: stalled or not."""
    cfg = config(tmp_path, pg_url, change)
    app = make_app(cfg, pg_url)

    async def go():
        async with app.open_async():
            await ensure_schema_async(app)
            await app.tasks[INGEST].defer_async(day="2026-02-24")
            worker = await app.job_manager.register_worker()
            job = await app.job_manager.fetch_job(queues=None, worker_id=worker)
            with psycopg.connect(pg_url, autocommit=True) as conn:
                conn.execute("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '5 seconds'")
            requeued = await requeue_stalled(app, cfg.worker.stalled_seconds)
            return requeued == [job.id]

    return asyncio.run(go())


def probe_cron(tmp_path, pg_url, change) -> object:
    """The periodic tasks a worker runs, and what the periodic one enqueues when it fires."""
    app = make_app(config(tmp_path, pg_url, change), pg_url)
    crons = sorted(t.cron for t in app.periodic_registry.periodic_tasks.values())
    if PERIODIC in app.tasks:
        with app.open():
            ensure_schema(app)
            # Tuesday 2026-02-24 01:30 UTC: Monday evening's announcement, the listing of the 24th.
            app.tasks[PERIODIC](timestamp=int(dt.datetime(2026, 2, 24, 1, 30, tzinfo=dt.UTC).timestamp()))
        return crons, queued(pg_url)
    return crons, []


OBSERVE = {
    "worker.queue": probe_queue,
    "worker.concurrency": probe_concurrency,
    "worker.retries": probe_retries,
    "worker.stalled_seconds": probe_stalled,
    "worker.cron": probe_cron,
}


@pytest.mark.parametrize("key", sorted(PROBES))
def test_worker_key_changes_what_the_queue_does(key, tmp_path, pg_cluster):
    observe = OBSERVE[key]
    before = observe(tmp_path, pg_cluster.new_database(), {})
    after = observe(tmp_path, pg_cluster.new_database(), PROBES[key])
    assert before != after
    expected = {
        "worker.queue": [("paperradar.ingest", "ingest:2026-02-24")],
        "worker.concurrency": [True, True],
        "worker.retries": None,
        "worker.stalled_seconds": True,
        "worker.cron": (["30 1 * * 1-5"], [("paperradar.ingest", "ingest:2026-02-24")]),
    }[key]
    assert after == expected
