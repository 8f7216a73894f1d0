"""The day's jobs and how each enqueues the next: ingest → embed → one job per profile → tournament.

Every job runs stages of the ordinary pipeline (:func:`~paperradar.core.pipeline.run_day`),
so each is idempotent for the same reason a rerun of ``paperradar run`` is: stages
skip what the store already holds, and every LLM answer is cached in ``llm_calls``
by its request, so a job run twice (a retry, or a killed worker's job run again by
another) pays for nothing twice.

Locks: a job's ``queueing_lock`` keeps a second copy of it from waiting in the queue,
and its ``lock`` keeps two copies from running at once: per day for ingest, embed and
the tournament, per (profile, day) for a profile's job.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import procrastinate
from procrastinate import exceptions as pq_exceptions
from procrastinate.retry import BaseRetryStrategy, RetryDecision, RetryStrategy

from ..core.config import Config
from ..core.embedding import Embedder
from ..core.errors import ConfigError
from ..core.pipeline import run_day
from ..core.profiles import config_for_profile
from ..core.repositories.profiles import DEFAULT_PROFILE_ID
from ..core.runlock import RunLocked
from ..core.schedule import announcement_day
from ..core.static_embed import StaticEmbedder
from ..core.store import Store

logger = logging.getLogger("paperradar.worker")

INGEST, EMBED, PROFILE, TOURNAMENT, PERIODIC = (
    "paperradar.ingest",
    "paperradar.embed",
    "paperradar.profile",
    "paperradar.tournament",
    "paperradar.schedule",
)
# What one profile's job runs: the day's shortlist, its judgments and its digest, delivered. Its embed
# stage computes nothing: it loads the vectors the day's embed job stored, for the prefilter.
PROFILE_STAGES = ["embed", "prefilter", "judge", "signals", "digest", "deliver"]
# Back-off of a failed job: 2, 4, 8, 16, 32 s … before attempts 1, 2, 3 …
BACKOFF_SECONDS = 2
# A job that waits (the tournament for the day's profile jobs, any job for a day another run holds)
# comes back after 1, 2, 4 … at most 60 s.
MAX_WAIT_SECONDS = 60


class Retry(BaseRetryStrategy):
    """Exponential back-off for anything that may pass (a server down, the day locked by a
    `paperradar run`); none for a configuration error, which only its fix can cure."""

    def __init__(self, retries: int):
        self.retries = retries
        self.inner = RetryStrategy(max_attempts=retries, exponential_wait=BACKOFF_SECONDS)

    def get_retry_decision(self, *, exception: BaseException, job) -> RetryDecision | None:
        # procrastinate reads max_attempts=0 as "no limit"; retries = 0 means none.
        if self.retries == 0 or isinstance(exception, ConfigError):
            return None
        return self.inner.get_retry_decision(exception=exception, job=job)


@dataclass
class Models:
    """The embedding models one worker process loads once and lends to every job it runs."""

    embedder: Embedder | None = None
    static: StaticEmbedder | None = None

    def keep(self, ctx) -> None:
        self.embedder = self.embedder or ctx.embedder
        self.static = self.static or ctx.static


@dataclass
class Profile:
    id: int
    config: Config


def active_profiles(config: Config) -> list[Profile]:
    """The store's active profiles, each with the configuration it runs with (the default one: as configured)."""
    with Store(config.database) as store:
        return [Profile(r.id, config_for_profile(config, r)) for r in store.profiles.active()]


@dataclass
class DayJobs:
    """The tasks of one configuration, registered on its procrastinate app."""

    app: procrastinate.App
    config: Config
    models: Models = field(default_factory=Models)

    def run(self, config: Config, day: str, stages: list[str], command: str, profile: int = DEFAULT_PROFILE_ID):
        with Store(config.database) as store:
            ctx = run_day(
                config,
                dt.date.fromisoformat(day),
                # The profile's handle: its candidates, judgments and digest, and its own (profile, day) lock.
                store=store.for_profile(profile),
                stages=stages,
                command=command,
                embedder=self.models.embedder,
                static=self.models.static,
            )
        self.models.keep(ctx)
        return ctx

    # -- the tasks -------------------------------------------------------------------------

    def ingest(self, day: str, waited: int = 0) -> None:
        if self.attempt(INGEST, f"ingest:{day}", self.config, ["ingest"], waited, day=day):
            defer(self.app, EMBED, day=day, lock=f"embed:{day}")

    def embed(self, day: str, waited: int = 0) -> None:
        if self.attempt(EMBED, f"embed:{day}", self.config, ["embed"], waited, day=day):
            for p in active_profiles(self.config):
                defer(self.app, PROFILE, day=day, profile=p.id, lock=f"profile:{p.id}:{day}")
            defer(self.app, TOURNAMENT, day=day, lock=f"tournament:{day}")

    def profile(self, day: str, profile: int, waited: int = 0) -> None:
        found = {p.id: p for p in active_profiles(self.config)}
        if profile not in found:
            logger.warning("profile %s is no longer active; its job for %s does nothing", profile, day)
            return
        self.attempt(
            PROFILE, f"profile:{profile}:{day}", found[profile].config, PROFILE_STAGES, waited, day=day, profile=profile
        )

    def tournament(self, day: str, waited: int = 0) -> None:
        lock = f"tournament:{day}"
        if pending := pending_profile_jobs(self.app, day):
            logger.info("the tournament of %s waits for %d profile job(s)", day, pending)
            self.again(TOURNAMENT, lock, waited, day=day)
        elif self.attempt(TOURNAMENT, lock, self.config, ["tournament"], waited, day=day):
            # The digests went out without the day's leaderboard; the archive, web app and site get it now.
            for p in active_profiles(self.config):
                self.run(p.config, day, ["digest"], f"worker digest {p.id}", p.id)

    def periodic(self, timestamp: int) -> None:
        day = announcement_day(dt.datetime.fromtimestamp(timestamp, dt.UTC))
        schedule_day(self.app, day)

    # -- waiting ---------------------------------------------------------------------------

    def attempt(self, task: str, lock: str, config: Config, stages: list[str], waited: int, **kwargs) -> bool:
        """Run ``stages`` for the job; False when another run held the day, and the job comes back later.

        A `paperradar run` of the same day on the same store holds the day's run lock: the job
        waits for it instead of failing, so waiting never uses up its retries.
        """
        profile = kwargs.get("profile", DEFAULT_PROFILE_ID)
        command = " ".join(["worker", task.rsplit(".", 1)[1], *([str(profile)] if "profile" in kwargs else [])])
        try:
            self.run(config, kwargs["day"], stages, command, profile)
        except RunLocked as exc:
            logger.info("%s waits: %s", lock, exc)
            self.again(task, lock, waited, **kwargs)
            return False
        return True

    def again(self, task: str, lock: str, waited: int, **kwargs) -> None:
        """Queue the task again after 1, 2, 4 … at most 60 s (the running copy ends without error)."""
        defer(self.app, task, lock=lock, schedule_in=min(2**waited, MAX_WAIT_SECONDS), waited=waited + 1, **kwargs)


def pending_profile_jobs(app: procrastinate.App, day: str) -> int:
    return sum(
        1
        for status in ("todo", "doing")
        for job in app.job_manager.list_jobs(task=PROFILE, status=status)
        if job.task_kwargs.get("day") == day
    )


def defer(app: procrastinate.App, task: str, *, lock: str, schedule_in: int | None = None, **kwargs) -> int | None:
    """Enqueue ``task`` unless a copy with the same lock already waits; its id, or None."""
    options: dict = {"lock": lock, "queueing_lock": lock}
    if schedule_in is not None:
        options["schedule_in"] = {"seconds": schedule_in}
    try:
        return app.tasks[task].configure(**options).defer(**kwargs)
    except pq_exceptions.AlreadyEnqueued:
        logger.info("%s for %s is already queued", task, kwargs.get("day"))
        return None


def schedule_day(app: procrastinate.App, day: dt.date) -> int | None:
    """Enqueue the day's ingest job (the rest follows from it); None when it is already queued."""
    return defer(app, INGEST, day=day.isoformat(), lock=f"ingest:{day.isoformat()}")


def register(app: procrastinate.App, config: Config) -> DayJobs:
    """Register the day's tasks (and the periodic one when ``[worker] cron`` is set) on ``app``."""
    jobs = DayJobs(app, config)
    retry = Retry(config.worker.retries)
    app.task(name=INGEST, retry=retry)(jobs.ingest)
    app.task(name=EMBED, retry=retry)(jobs.embed)
    app.task(name=PROFILE, retry=retry)(jobs.profile)
    app.task(name=TOURNAMENT, retry=retry)(jobs.tournament)
    if config.worker.cron:
        app.periodic(cron=config.worker.cron, periodic_id="day")(app.task(name=PERIODIC)(jobs.periodic))
    return jobs


def make_app(config: Config, url: str) -> procrastinate.App:
    from .queue import connector

    app = procrastinate.App(connector=connector(url))
    register(app, config)
    return app
