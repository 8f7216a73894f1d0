"""Community signals: observations of papers on Hugging Face Daily Papers and Hacker News.

The ``signals`` table is a time series, one row per observation; the readers
in :mod:`paperradar.signals` fetch them and :mod:`paperradar.signals.trending`
weighs them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..db import Database


class Signal(BaseModel):
    """One observation of a paper on a community site."""

    arxiv_id: str
    source: Literal["hf", "hn"]
    ref: str = Field(description="HN story id, or the HF daily-papers date the paper was listed on")
    observed_at: dt.datetime
    posted_at: dt.datetime | None = None
    value: int = Field(0, description="HF upvotes / HN points")
    comments: int = 0
    url: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


def _iso(t: dt.datetime | None) -> str | None:
    # One spelling (UTC, seconds) so stored times compare as text; a naive time is taken as UTC.
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat(timespec="seconds")


class SignalRepository:
    def __init__(self, db: Database):
        self.db = db

    def save(self, signals: Iterable[Signal]) -> int:
        """Store observations (idempotent per source, story/listing, paper and time); return how many."""
        n = 0
        with self.db.transaction() as conn:
            for s in signals:
                conn.execute(
                    "INSERT INTO signals (arxiv_id, source, ref, observed_at, posted_at, value, comments, url, "
                    "extra) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(source, ref, arxiv_id, observed_at) DO UPDATE "
                    "SET value=excluded.value, comments=excluded.comments, url=excluded.url, extra=excluded.extra, "
                    "posted_at=excluded.posted_at",
                    (
                        s.arxiv_id,
                        s.source,
                        s.ref,
                        _iso(s.observed_at),
                        _iso(s.posted_at),
                        s.value,
                        s.comments,
                        s.url,
                        json.dumps(s.extra, ensure_ascii=False),
                    ),
                )
                n += 1
        return n

    def latest(self, *, until: dt.datetime, since: dt.datetime, arxiv_ids: Iterable[str] | None = None) -> list[Signal]:
        """One observation of each story/listing posted between ``since`` and ``until``.

        The newest one made by ``until``, so rebuilding an old digest shows what it
        showed then; failing that (signals fetched after the day, as in a
        backfill) the first one made after it.
        """
        end = _iso(until)
        params: list[Any] = [end, end, end, _iso(since)]
        where = ""
        if arxiv_ids is not None:
            ids = list(arxiv_ids)
            if not ids:
                return []
            where = f"AND arxiv_id IN ({','.join('?' * len(ids))})"
            params += ids
        rows = self.db.conn.execute(
            "SELECT arxiv_id, source, ref, observed_at, posted_at, value, comments, url, extra FROM ("
            "  SELECT *, ROW_NUMBER() OVER (PARTITION BY source, ref, arxiv_id ORDER BY observed_at > ?,"
            "    CASE WHEN observed_at <= ? THEN observed_at END DESC, observed_at) AS rn"
            "  FROM signals WHERE COALESCE(posted_at, observed_at) <= ? AND COALESCE(posted_at, observed_at) >= ? "
            f"  {where}) AS latest WHERE rn = 1 ORDER BY arxiv_id, source, ref",
            params,
        ).fetchall()
        return [
            Signal(
                arxiv_id=r[0],
                source=r[1],
                ref=r[2],
                observed_at=r[3],
                posted_at=r[4],
                value=r[5],
                comments=r[6],
                url=r[7],
                extra=json.loads(r[8]),
            )
            for r in rows
        ]

    def discussed(self, source: str, since: str) -> list[str]:
        """Papers with a ``source`` post since ``since`` (an ISO day or time), most points first."""
        return [
            r[0]
            for r in self.db.conn.execute(
                "SELECT arxiv_id FROM signals WHERE source = ? AND posted_at >= ? "
                "GROUP BY arxiv_id ORDER BY max(value) DESC",
                (source, since),
            )
        ]

    def shortlisted(self, after: dt.date, until: dt.date) -> list[str]:
        """The shortlists of the days after ``after`` up to ``until``: newest day first, best rank first.

        Reads the prefilter's ``candidates``: these are the papers worth looking up on HN.
        """
        return [
            r[0]
            for r in self.db.conn.execute(
                "SELECT arxiv_id FROM candidates WHERE shortlisted = 1 AND day > ? AND day <= ? "
                "GROUP BY arxiv_id ORDER BY MAX(day) DESC, MIN(rank), arxiv_id",
                (after.isoformat(), until.isoformat()),
            )
        ]
