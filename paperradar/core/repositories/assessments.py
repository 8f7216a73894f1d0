"""Impact assessments: one LLM review per (paper, model), as :class:`~paperradar.core.models.Assessment`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..db import Database
from ..models import Assessment
from .chunks import chunks
from .sql import upsert

_COLS = (
    "arxiv_id, model, version, full_text, contribution, strengths, concerns, impact, audience, "
    "significance, rigor, novelty, clarity, overall, call_id, generated_at"
)


def _strings(raw: Any) -> list[str]:
    # A row written by hand or by an old version may hold plain text: show it rather than fail the page.
    try:
        return [str(x) for x in json.loads(raw)]
    except (ValueError, TypeError):
        return [str(raw)]


def _decode(row: Sequence[Any]) -> Assessment:
    d = dict(zip(_COLS.split(", "), row, strict=True))
    d["strengths"], d["concerns"] = _strings(d["strengths"]), _strings(d["concerns"])
    d["full_text"] = bool(d["full_text"])
    return Assessment(**d)


class AssessmentRepository:
    def __init__(self, db: Database):
        self.db = db

    def save(self, a: Assessment) -> None:
        """Store ``a``, replacing that model's earlier assessment of the paper."""
        with self.db.transaction() as conn:
            conn.execute(
                upsert("assessments", _COLS.split(", "), ("arxiv_id", "model")),
                (
                    a.arxiv_id,
                    a.model,
                    a.version,
                    int(a.full_text),
                    a.contribution,
                    json.dumps(a.strengths, ensure_ascii=False),
                    json.dumps(a.concerns, ensure_ascii=False),
                    a.impact,
                    a.audience,
                    a.significance,
                    a.rigor,
                    a.novelty,
                    a.clarity,
                    a.overall,
                    a.call_id,
                    a.generated_at,
                ),
            )

    def for_papers(self, ids: Sequence[str], model: str | None = None) -> dict[str, Assessment]:
        """The assessment of each paper: by ``model`` when given and present, else the newest of any model."""
        out: dict[str, Assessment] = {}
        for chunk, marks in chunks(ids):
            rows = self.db.conn.execute(
                f"SELECT {_COLS} FROM assessments WHERE arxiv_id IN ({marks}) ORDER BY generated_at", chunk
            ).fetchall()
            for r in rows:
                a = _decode(r)
                current = out.get(a.arxiv_id)
                if current is None or current.model != model:
                    out[a.arxiv_id] = a
        return out

    def for_paper(self, arxiv_id: str) -> list[Assessment]:
        """Every model's assessment of one paper, newest first."""
        rows = self.db.conn.execute(
            f"SELECT {_COLS} FROM assessments WHERE arxiv_id = ? ORDER BY generated_at DESC", (arxiv_id,)
        ).fetchall()
        return [_decode(r) for r in rows]

    def versions(self, model: str) -> dict[str, int]:
        """The paper version each of ``model``'s assessments was made from."""
        rows = self.db.conn.execute("SELECT arxiv_id, version FROM assessments WHERE model = ?", (model,))
        return {arxiv_id: version for arxiv_id, version in rows}
