"""The SQLite store: papers, announcements, embeddings, runs and shortlists.

One file in WAL mode, so the daily job and the web server can use it at the
same time. Opening a store applies any pending migrations. Every write that
belongs together happens in one transaction: a crash leaves no half-written
paper or run behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from .db import Database
from .errors import StoreError
from .migrations import MIGRATIONS, TransactionalConnection
from .models import Candidate, Paper, Reason, cap_paper
from .redact import redact
from .repositories.assessments import AssessmentRepository
from .repositories.browse import BrowseRepository
from .repositories.deliveries import DeliveryRepository
from .repositories.feedback import FeedbackRepository
from .repositories.judgments import JudgmentRepository
from .repositories.library import LibraryRepository
from .repositories.llm_calls import LLMCallRepository
from .repositories.matches import MatchRepository
from .repositories.rankings import RankingRepository
from .repositories.runs import RunRepository
from .repositories.signals import SignalRepository
from .repositories.web_logins import WebLoginRepository
from .repositories.works import WorkRepository


@dataclass
class JudgedDay:
    day: str
    ranking: list[str]  # eligible candidates, best first
    shortlisted: int
    explored: list[str]
    read: set[str]  # judged with a usable answer
    picked: set[str]
    profile_version: str | None


def utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class UpsertResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: list[str] = field(default_factory=list)  # "<id>: title, abstract" kept over empty incoming fields
    truncated: list[str] = field(default_factory=list)  # "<id>: abstract" cut to the size caps


class Store:
    def __init__(self, path: str | Path, *, migrate: bool = True):
        self.path = Path(path)
        self.db = Database(self.path)
        if migrate:
            self.migrate()

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (each thread has its own)."""
        return self.db.conn

    def close(self) -> None:
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
        return FeedbackRepository(self.db)

    @cached_property
    def signals(self) -> SignalRepository:
        return SignalRepository(self.db)

    @cached_property
    def deliveries(self) -> DeliveryRepository:
        return DeliveryRepository(self.db)

    @cached_property
    def web_logins(self) -> WebLoginRepository:
        return WebLoginRepository(self.db)

    @cached_property
    def run_history(self) -> RunRepository:
        return RunRepository(self.db)

    # -- migrations ---------------------------------------------------------

    def applied_migrations(self) -> list[str]:
        self.conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
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
                    fn(TransactionalConnection(conn))
                    conn.execute(
                        "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                        (fn.__name__, utcnow()),
                    )
            except sqlite3.Error as exc:
                raise StoreError(
                    f"Migration {fn.__name__} failed on {self.path}: {exc}. "
                    "The database was left as it was; back it up and report this."
                ) from exc
            ran.append(fn.__name__)
        return ran

    @property
    def schema_version(self) -> int:
        return len(self.applied_migrations())

    # -- papers -------------------------------------------------------------

    def upsert_papers(self, papers: Iterable[Paper], day: dt.date | None = None) -> UpsertResult:
        """Store papers announced on ``day`` (their own ``announced`` if None).

        A newer version replaces the stored text; the first announcement day is
        kept so a replacement does not pretend to be new. An empty incoming
        title, abstract, author list or category list never replaces a stored
        one (a broken feed item must not wipe a paper): those are listed in
        ``kept``. Fields over the size caps are cut and listed in ``truncated``.
        """
        result = UpsertResult()
        now = utcnow()
        with self.transaction() as conn:
            for p in papers:
                p, cut = cap_paper(p)
                if cut:
                    result.truncated.append(f"{p.arxiv_id}: {', '.join(cut)}")
                when = day or p.announced
                row = conn.execute(
                    "SELECT version, title, abstract, authors, categories, comment FROM papers WHERE arxiv_id = ?",
                    (p.arxiv_id,),
                ).fetchone()
                values = (
                    p.version,
                    p.title,
                    p.abstract,
                    json.dumps(p.authors, ensure_ascii=False),
                    json.dumps(p.categories),
                    p.primary_category,
                    p.comment,
                    p.submitted.isoformat() if p.submitted else None,
                    p.updated.isoformat() if p.updated else None,
                )
                if row is not None:
                    # Same positions in row and values: title 1, abstract 2, authors 3, categories 4.
                    fields = {1: "title", 2: "abstract", 3: "authors", 4: "categories"}
                    kept = [i for i in fields if values[i] in ("", "[]") and row[i] not in ("", "[]")]
                    if kept:
                        values = tuple(row[i] if i in kept else v for i, v in enumerate(values))
                        result.kept.append(f"{p.arxiv_id}: {', '.join(fields[i] for i in kept)}")
                if row is None:
                    conn.execute(
                        "INSERT INTO papers (version, title, abstract, authors, categories, "
                        "primary_category, comment, submitted, updated, arxiv_id, "
                        "first_announced, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                        (*values, p.arxiv_id, when.isoformat() if when else None, now),
                    )
                    result.new += 1
                elif p.version >= row[0] and tuple(row) != values[:4] + (values[4], values[6]):
                    conn.execute(
                        "UPDATE papers SET version=?, title=?, abstract=?, authors=?, "
                        "categories=?, primary_category=?, comment=?, submitted=COALESCE(?, submitted), "
                        "updated=COALESCE(?, updated) WHERE arxiv_id=?",
                        (*values, p.arxiv_id),
                    )
                    result.updated += 1
                else:
                    result.unchanged += 1
                if cut:
                    conn.execute("UPDATE papers SET truncated = ? WHERE arxiv_id = ?", (json.dumps(cut), p.arxiv_id))
                if when is not None:
                    conn.execute(
                        "INSERT INTO announcements (arxiv_id, day, announce_type, version) "
                        "VALUES (?,?,?,?) ON CONFLICT(arxiv_id, day) DO UPDATE SET "
                        "announce_type=excluded.announce_type, version=excluded.version",
                        (p.arxiv_id, when.isoformat(), p.announce_type, p.version),
                    )
        return result

    _PAPER_COLS = (
        "p.arxiv_id, p.version, p.title, p.abstract, p.authors, p.categories, "
        "p.primary_category, p.comment, p.submitted, p.updated"
    )

    @staticmethod
    def _paper(row: sqlite3.Row | tuple, announce_type: str = "new", day: str | None = None) -> Paper:
        return Paper(
            arxiv_id=row[0],
            version=row[1],
            title=row[2],
            abstract=row[3],
            authors=json.loads(row[4]),
            categories=json.loads(row[5]),
            primary_category=row[6],
            comment=row[7],
            submitted=row[8],
            updated=row[9],
            announce_type=announce_type,
            announced=day,
        )

    def papers_for_day(self, day: dt.date, *, include_replacements: bool = False) -> list[Paper]:
        types = ("new", "cross", "replace", "replace-cross") if include_replacements else ("new", "cross")
        marks = ",".join("?" * len(types))
        rows = self.conn.execute(
            f"SELECT {self._PAPER_COLS}, a.announce_type, a.day FROM announcements a "
            f"JOIN papers p USING (arxiv_id) WHERE a.day = ? AND a.announce_type IN ({marks}) "
            "ORDER BY p.arxiv_id",
            (day.isoformat(), *types),
        ).fetchall()
        return [self._paper(r[:10], r[10], r[11]) for r in rows]

    def get_paper(self, arxiv_id: str) -> Paper | None:
        row = self.conn.execute(
            f"SELECT {self._PAPER_COLS}, p.first_announced FROM papers p WHERE p.arxiv_id = ?",
            (arxiv_id,),
        ).fetchone()
        return self._paper(row[:10], "new", row[10]) if row else None

    def days(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT DISTINCT day FROM announcements ORDER BY day DESC")]

    def count(self, table: str) -> int:
        return self.db.count(table)

    def titles(self, ids: Sequence[str]) -> dict[str, str]:
        """The stored title of each of ``ids`` that is in the store."""
        out: dict[str, str] = {}
        ids = list(ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            out.update(self.conn.execute(f"SELECT arxiv_id, title FROM papers WHERE arxiv_id IN ({marks})", chunk))
        return out

    # -- embeddings ---------------------------------------------------------

    def embedded_ids(self, model: str) -> list[str]:
        """Every paper with a vector from ``model``, in id order."""
        rows = self.conn.execute("SELECT arxiv_id FROM embeddings WHERE model = ? ORDER BY arxiv_id", (model,))
        return [r[0] for r in rows]

    def get_embeddings(self, ids: list[str], model: str) -> dict[str, tuple[str, np.ndarray]]:
        out: dict[str, tuple[str, np.ndarray]] = {}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            for arxiv_id, h, blob in self.conn.execute(
                f"SELECT arxiv_id, content_hash, vector FROM embeddings WHERE model = ? AND arxiv_id IN ({marks})",
                (model, *chunk),
            ):
                out[arxiv_id] = (h, np.frombuffer(blob, dtype=np.float32))
        return out

    def put_embeddings(self, model: str, rows: Iterable[tuple[str, str, np.ndarray]]) -> int:
        now = utcnow()
        n = 0
        with self.transaction() as conn:
            for arxiv_id, content_hash, vec in rows:
                v = np.asarray(vec, dtype=np.float32)
                conn.execute(
                    "INSERT OR REPLACE INTO embeddings (arxiv_id, model, content_hash, dim, vector, "
                    "created_at) VALUES (?,?,?,?,?,?)",
                    (arxiv_id, model, content_hash, v.shape[0], v.tobytes(), now),
                )
                n += 1
        return n

    # -- runs ---------------------------------------------------------------

    def start_run(self, day: dt.date, command: str) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO runs (day, command, started_at, status, pid) VALUES (?,?,?, 'running', ?)",
                (day.isoformat(), command, utcnow(), os.getpid()),
            )
            return cur.lastrowid

    def record_stage(self, run_id: int, stage: str, started_at: str, seconds: float, detail: dict) -> None:
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO run_stages (run_id, stage, started_at, seconds, detail) VALUES (?,?,?,?,?)",
                (run_id, stage, started_at, seconds, json.dumps(detail, default=str)),
            )

    def finish_run(self, run_id: int, status: str, error: str | None = None, *, only_if_running: bool = False) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET finished_at=?, status=?, error=? WHERE id=?"
                + (" AND status = 'running'" if only_if_running else ""),
                (utcnow(), status, redact(error), run_id),
            )

    def runs(self, limit: int = 20) -> list[dict]:
        rows = list(self.db.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit]))
        for r in rows:
            r["stages"] = [
                {**s, "detail": json.loads(s["detail"])}
                for s in self.db.query(
                    "SELECT stage, seconds, detail FROM run_stages WHERE run_id = ? ORDER BY rowid",
                    [r["id"]],
                )
            ]
        return rows

    def latest_stage_detail(self, day: dt.date, stage: str) -> dict | None:
        """What ``stage`` reported in the latest run of ``day`` that ran it."""
        row = self.conn.execute(
            "SELECT s.detail FROM run_stages s JOIN runs r ON r.id = s.run_id WHERE r.day = ? AND s.stage = ? "
            "ORDER BY r.id DESC LIMIT 1",
            (day.isoformat(), stage),
        ).fetchone()
        return json.loads(row[0]) if row else None

    # -- prefilter results --------------------------------------------------

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
        explored = set(explored)
        with self.transaction() as conn:
            conn.execute("DELETE FROM candidates WHERE day = ?", (day.isoformat(),))
            for i, c in enumerate(ranked):
                shortlisted = i < shortlist_size and not c.excluded
                conn.execute(
                    "INSERT INTO candidates (day, arxiv_id, profile_hash, score, rank, shortlisted, "
                    "excluded, reasons, explored, profile_version) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        day.isoformat(),
                        c.paper.arxiv_id,
                        profile_hash,
                        c.score,
                        i + 1 if shortlisted else None,
                        int(shortlisted),
                        int(c.excluded),
                        json.dumps([r.model_dump() for r in c.reasons]),
                        int(c.paper.arxiv_id in explored and not shortlisted),
                        profile_version,
                    ),
                )

    def candidates_seen(self, day: dt.date) -> int:
        """How many papers the prefilter ranked for ``day``."""
        return self.conn.execute("SELECT count(*) FROM candidates WHERE day = ?", (day.isoformat(),)).fetchone()[0]

    def candidate_days(self) -> list[str]:
        """Days with a ranked shortlist (so a digest), newest first."""
        return [r[0] for r in self.conn.execute("SELECT DISTINCT day FROM candidates ORDER BY day DESC")]

    def candidates_for_day(
        self, day: dt.date, *, shortlisted_only: bool = True, explored: bool = False
    ) -> list[Candidate]:
        """The day's candidates by score; ``explored`` adds the random sample below the cut."""
        where = ""
        if shortlisted_only:
            where = "AND (c.shortlisted = 1 OR c.explored = 1)" if explored else "AND c.shortlisted = 1"
        rows = self.conn.execute(
            f"SELECT {self._PAPER_COLS}, a.announce_type, c.day, c.score, c.excluded, c.reasons "
            "FROM candidates c JOIN papers p USING (arxiv_id) "
            "LEFT JOIN announcements a ON a.arxiv_id = c.arxiv_id AND a.day = c.day "
            f"WHERE c.day = ? {where} ORDER BY c.score DESC",
            (day.isoformat(),),
        ).fetchall()
        return [
            Candidate(
                paper=self._paper(r[:10], r[10] or "new", r[11]),
                score=r[12],
                excluded=bool(r[13]),
                reasons=[Reason(**x) for x in json.loads(r[14])],
            )
            for r in rows
        ]

    # -- the judge's verdicts as the prefilter learns from them --

    def judged_days(self, before: dt.date, limit: int) -> list[JudgedDay]:
        """The latest ``limit`` days before ``before`` whose candidates the judge has read.

        Each with its eligible ranking (best first), how many were shortlisted,
        the explored sample, the papers the judge read and those it picked.
        """
        days = [
            r[0]
            for r in self.conn.execute(
                "SELECT DISTINCT c.day FROM candidates c JOIN judgments j ON j.day = c.day AND j.arxiv_id = c.arxiv_id "
                "WHERE c.day < ? AND j.status = 'ok' ORDER BY c.day DESC LIMIT ?",
                (before.isoformat(), limit),
            )
        ]
        out = []
        for day in sorted(days):
            rows = self.conn.execute(
                "SELECT c.arxiv_id, c.shortlisted, c.explored, c.profile_version, j.status, j.selected "
                "FROM candidates c LEFT JOIN judgments j ON j.day = c.day AND j.arxiv_id = c.arxiv_id "
                "WHERE c.day = ? AND c.excluded = 0 ORDER BY c.score DESC, c.arxiv_id",
                (day,),
            ).fetchall()
            out.append(
                JudgedDay(
                    day=day,
                    ranking=[r[0] for r in rows],
                    shortlisted=sum(r[1] for r in rows),
                    explored=[r[0] for r in rows if r[2]],
                    read={r[0] for r in rows if r[4] == "ok"},
                    picked={r[0] for r in rows if r[4] == "ok" and r[5]},
                    profile_version={r[3] for r in rows if r[3]}.pop() if any(r[3] for r in rows) else None,
                )
            )
        return out

    def papers_by_ids(self, ids: Iterable[str]) -> dict[str, Paper]:
        ids = list(dict.fromkeys(ids))
        out: dict[str, Paper] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self.conn.execute(f"SELECT {self._PAPER_COLS} FROM papers p WHERE p.arxiv_id IN ({marks})", chunk):
                out[r[0]] = self._paper(r)
        return out

    def profile_hash_for_day(self, day: dt.date) -> str | None:
        row = self.conn.execute(
            "SELECT profile_hash FROM candidates WHERE day = ? LIMIT 1", (day.isoformat(),)
        ).fetchone()
        return row[0] if row else None

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
        return BrowseRepository(self.db)

    # -- the LLM call log and the judge (paperradar.core.repositories) --

    @cached_property
    def llm_calls(self) -> LLMCallRepository:
        """The LLM call log, which is also the LLM's cache."""
        return LLMCallRepository(self.db)

    @cached_property
    def judgments(self) -> JudgmentRepository:
        """The judge's verdicts."""
        return JudgmentRepository(self.db)
