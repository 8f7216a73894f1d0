"""The store: one facade over the repositories, and the migration runner.

A SQLite file in WAL mode (the daily job and the web server use it at the
same time), or a PostgreSQL database for a lab (``postgresql://`` URL).
Opening a store applies any pending migrations. The SQL lives in
:mod:`paperradar.core.repositories` (``store.papers``, ``store.candidates``,
``store.run_history`` …); the methods here keep the older one-call names and
delegate in one line each. Every write that belongs together happens in one
transaction: a crash leaves no half-written paper or run behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
import psycopg

from .clock import utcnow
from .db import Database, open_database
from .db_postgres import PostgresDatabase
from .errors import StoreError
from .migrations import MIGRATIONS, TransactionalConnection, postgres_ddl
from .models import Candidate, Paper
from .redact import redact
from .repositories.assessments import AssessmentRepository
from .repositories.browse import BrowseRepository
from .repositories.candidates import CandidateRepository, JudgedDay
from .repositories.deliveries import DeliveryRepository
from .repositories.embeddings import EmbeddingRepository
from .repositories.feedback import FeedbackRepository
from .repositories.judgments import JudgmentRepository
from .repositories.lab import LabRepository
from .repositories.library import LibraryRepository
from .repositories.llm_calls import LLMCallRepository
from .repositories.matches import MatchRepository
from .repositories.papers import PaperRepository, UpsertResult
from .repositories.profiles import DEFAULT_PROFILE_ID, ProfileRepository
from .repositories.rankings import RankingRepository
from .repositories.runs import RunRepository
from .repositories.signals import SignalRepository
from .repositories.users import UserRepository
from .repositories.web_logins import WebLoginRepository
from .repositories.works import WorkRepository


class Store:
    """The store as one profile sees it: papers and embeddings are shared, the
    per-profile repositories (candidates, judgments, feedback, deliveries, LLM
    spend) read and write ``profile_id``'s rows only. Opened on a location it is
    the default profile's; :meth:`for_profile` gives another profile's handle on
    the same connections."""

    def __init__(self, location: str | Path, *, migrate: bool = True):
        self.db: Database | PostgresDatabase = open_database(location)
        # path: the SQLite file (None on PostgreSQL); location: either, for messages.
        self.path: Path | None = self.db.path
        self.location: str = self.db.location
        self.profile_id = DEFAULT_PROFILE_ID
        self._owns_db = True
        if migrate:
            self.migrate()

    def for_profile(self, profile_id: int) -> Store:
        """A handle on the same database for ``profile_id``; closing it leaves the database open."""
        handle = Store.__new__(Store)
        handle.db, handle.path, handle.location = self.db, self.path, self.location
        handle.profile_id, handle._owns_db = profile_id, False
        return handle

    @property
    def dialect(self) -> str:
        return self.db.dialect

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (each thread has its own)."""
        return self.db.conn

    def close(self) -> None:
        if self._owns_db:
            self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any exception (nestable)."""
        return self.db.transaction()

    # -- repositories (one per kind of record; see paperradar.core.repositories) --

    @cached_property
    def works(self) -> WorkRepository:
        return WorkRepository(self.db)

    @cached_property
    def library(self) -> LibraryRepository:
        return LibraryRepository(self.db)

    @cached_property
    def feedback(self) -> FeedbackRepository:
        return FeedbackRepository(self.db, self.profile_id)

    @cached_property
    def signals(self) -> SignalRepository:
        return SignalRepository(self.db)

    @cached_property
    def deliveries(self) -> DeliveryRepository:
        return DeliveryRepository(self.db, self.profile_id)

    @cached_property
    def web_logins(self) -> WebLoginRepository:
        return WebLoginRepository(self.db)

    @cached_property
    def run_history(self) -> RunRepository:
        return RunRepository(self.db, self.profile_id)

    # -- migrations ---------------------------------------------------------

    def applied_migrations(self) -> list[str]:
        create = "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        self.conn.execute(postgres_ddl(create) if self.dialect == "postgresql" else create)
        return [r[0] for r in self.conn.execute("SELECT name FROM _migrations ORDER BY rowid")]

    def migrate(self, upto: int | None = None) -> list[str]:
        """Apply pending migrations (the first ``upto`` only, for tests); return their names."""
        done = set(self.applied_migrations())
        ran = []
        for fn in MIGRATIONS[:upto]:
            if fn.__name__ in done:
                continue
            try:
                with self.transaction() as conn:
                    fn(TransactionalConnection(conn, self.dialect))
                    conn.execute(
                        "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                        (fn.__name__, utcnow()),
                    )
            except (sqlite3.Error, psycopg.Error) as exc:
                raise StoreError(
                    f"Migration {fn.__name__} failed on {self.location}: {exc}. "
                    "The database was left as it was; back it up and report this."
                ) from exc
            ran.append(fn.__name__)
        return ran

    @property
    def schema_version(self) -> int:
        return len(self.applied_migrations())

    # -- papers (paperradar.core.repositories.papers) -------------------------

    def upsert_papers(self, papers: Iterable[Paper], day: dt.date | None = None) -> UpsertResult:
        """Store papers announced on ``day``; see :meth:`PaperRepository.upsert`."""
        return self.papers.upsert(papers, day)

    def papers_for_day(self, day: dt.date, *, include_replacements: bool = False) -> list[Paper]:
        return self.papers.for_day(day, include_replacements=include_replacements)

    def get_paper(self, arxiv_id: str) -> Paper | None:
        return self.papers.get(arxiv_id)

    def papers_by_ids(self, ids: Iterable[str]) -> dict[str, Paper]:
        return self.papers.by_ids(ids)

    def titles(self, ids: Sequence[str]) -> dict[str, str]:
        """The stored title of each of ``ids`` that is in the store."""
        return self.papers.titles(ids)

    def days(self) -> list[str]:
        return self.papers.days()

    def count(self, table: str) -> int:
        return self.db.count(table)

    # -- embeddings (paperradar.core.repositories.embeddings) -----------------

    def embedded_ids(self, model: str) -> list[str]:
        """Every paper with a vector from ``model``, in id order."""
        return self.embeddings.ids(model)

    def get_embeddings(self, ids: list[str], model: str) -> dict[str, tuple[str, np.ndarray]]:
        return self.embeddings.get(ids, model)

    def put_embeddings(self, model: str, rows: Iterable[tuple[str, str, np.ndarray]]) -> int:
        return self.embeddings.put(model, rows)

    # -- runs (paperradar.core.repositories.runs) -----------------------------

    def start_run(self, day: dt.date, command: str) -> int:
        return self.run_history.start(day, command)

    def record_stage(self, run_id: int, stage: str, started_at: str, seconds: float, detail: dict) -> None:
        self.run_history.record_stage(run_id, stage, started_at, seconds, detail)

    def finish_run(self, run_id: int, status: str, error: str | None = None, *, only_if_running: bool = False) -> None:
        # Redacted here, not in the repository: an error message can quote a key from a config or a URL.
        self.run_history.finish(run_id, status, redact(error), only_if_running=only_if_running)

    def runs(self, limit: int = 20) -> list[dict]:
        return self.run_history.recent(limit)

    def latest_stage_detail(self, day: dt.date, stage: str) -> dict | None:
        """What ``stage`` reported in the latest run of ``day`` that ran it."""
        return self.run_history.latest_stage_detail(day, stage)

    # -- prefilter results and the judge's verdicts on them (repositories.candidates) --

    def save_candidates(
        self,
        day: dt.date,
        profile_hash: str,
        ranked: list[Candidate],
        shortlist_size: int,
        *,
        explored: Iterable[str] = (),
        profile_version: str | None = None,
    ) -> None:
        """Replace the day's candidates: a rerun with a changed profile rescores all of them."""
        self.candidates.save(
            day, profile_hash, ranked, shortlist_size, explored=explored, profile_version=profile_version
        )

    def candidates_seen(self, day: dt.date) -> int:
        """How many papers the prefilter ranked for ``day``."""
        return self.candidates.seen(day)

    def candidate_days(self) -> list[str]:
        """Days with a ranked shortlist (so a digest), newest first."""
        return self.candidates.days()

    def candidates_for_day(
        self, day: dt.date, *, shortlisted_only: bool = True, explored: bool = False
    ) -> list[Candidate]:
        """The day's candidates by score; ``explored`` adds the random sample below the cut."""
        return self.candidates.for_day(day, shortlisted_only=shortlisted_only, explored=explored)

    def judged_days(self, before: dt.date, limit: int) -> list[JudgedDay]:
        """The latest ``limit`` days before ``before`` whose candidates the judge has read."""
        return self.candidates.judged_days(before, limit)

    def profile_hash_for_day(self, day: dt.date) -> str | None:
        return self.candidates.profile_hash(day)

    # -- tournaments and the web's reads (paperradar.core.repositories) --

    @cached_property
    def assessments(self) -> AssessmentRepository:
        return AssessmentRepository(self.db)

    @cached_property
    def matches(self) -> MatchRepository:
        return MatchRepository(self.db)

    @cached_property
    def rankings(self) -> RankingRepository:
        return RankingRepository(self.db)

    @cached_property
    def browse(self) -> BrowseRepository:
        return BrowseRepository(self.db, self.profile_id)

    # -- the LLM call log and the judge (paperradar.core.repositories) --

    @cached_property
    def llm_calls(self) -> LLMCallRepository:
        """The LLM call log, which is also the LLM's cache."""
        return LLMCallRepository(self.db, self.profile_id)

    @cached_property
    def judgments(self) -> JudgmentRepository:
        """The judge's verdicts."""
        return JudgmentRepository(self.db, self.profile_id)

    # -- papers, embeddings and candidates (paperradar.core.repositories) --

    @cached_property
    def papers(self) -> PaperRepository:
        return PaperRepository(self.db)

    @cached_property
    def embeddings(self) -> EmbeddingRepository:
        return EmbeddingRepository(self.db)

    @cached_property
    def candidates(self) -> CandidateRepository:
        return CandidateRepository(self.db, self.profile_id)

    # -- accounts and profiles (paperradar.core.repositories.users / .profiles) --

    @cached_property
    def users(self) -> UserRepository:
        return UserRepository(self.db)

    @cached_property
    def profiles(self) -> ProfileRepository:
        return ProfileRepository(self.db)

    @cached_property
    def lab(self) -> LabRepository:
        """What the lab shares across profiles (the papers many profiles picked)."""
        return LabRepository(self.db)
