"""One worker process: procrastinate's worker plus a loop that hands a dead worker's jobs to the living.

procrastinate records each worker's heartbeat; a worker killed mid-job (SIGKILL,
OOM, a lost machine) leaves its job in ``doing`` with a heartbeat that stops. Every
running worker looks for such jobs every half ``[worker] stalled_seconds`` and puts
them back in the queue, where the first free worker takes them; the job then runs
again from the top, paying only for the LLM answers it did not get the first time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import procrastinate

from ..core.config import Config
from .jobs import make_app
from .queue import ensure_schema_async, queue_url

logger = logging.getLogger("paperradar.worker")


def worker_options(config: Config, concurrency: int | None = None, *, wait: bool = True) -> dict:
    stalled = config.worker.stalled_seconds
    return {
        "concurrency": concurrency or config.worker.concurrency,
        "wait": wait,
        # Heartbeats often enough that a missed one or two never looks like death.
        "update_heartbeat_interval": max(stalled / 4, 0.5),
        "stalled_worker_timeout": stalled,
        "name": "paperradar",
    }


async def requeue_stalled(app: procrastinate.App, stalled_seconds: float) -> list[int]:
    """Put the running jobs of workers silent for ``stalled_seconds`` back in the queue; their ids."""
    requeued = []
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_seconds):
        try:
            await app.job_manager.retry_job(job)
        except procrastinate.exceptions.ProcrastinateException as exc:
            # Another worker's loop requeued it first.
            logger.debug("job %s was not requeued: %s", job.id, exc)
            continue
        logger.warning("job %s (%s %s) of a stalled worker: queued again", job.id, job.task_name, job.task_kwargs)
        requeued.append(job.id)
    return requeued


async def _requeue_forever(app: procrastinate.App, stalled_seconds: float) -> None:
    while True:
        await asyncio.sleep(stalled_seconds / 2)
        try:
            await requeue_stalled(app, stalled_seconds)
        except Exception:  # a lost connection must not stop the worker; the next round tries again
            logger.exception("looking for stalled jobs failed")


async def run_worker_async(
    config: Config, *, concurrency: int | None = None, wait: bool = True, app: procrastinate.App | None = None
) -> None:
    app = app or make_app(config, queue_url(config))
    async with app.open_async():
        await ensure_schema_async(app)
        requeuer = asyncio.create_task(_requeue_forever(app, config.worker.stalled_seconds))
        try:
            await app.run_worker_async(**worker_options(config, concurrency, wait=wait))
        finally:
            requeuer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await requeuer


def run_worker(config: Config, *, concurrency: int | None = None, wait: bool = True) -> None:
    """Run jobs until SIGTERM/SIGINT (then finish the running ones and stop), or until the queue is empty."""
    asyncio.run(run_worker_async(config, concurrency=concurrency, wait=wait))
