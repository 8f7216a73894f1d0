"""Reading the judge's answers: lenient per-paper parsing and the checks that decide what is asked again.

An id missing from an answer, answered twice or with a score outside 1-10 is
a problem of that paper only; ids that were not in the batch are discarded.
Structured-output servers get a schema that allows only the batch's ids.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from ..core.models import split_arxiv_id


def _lenient_int(v: Any) -> int | None:
    # A malformed score must fail only its own paper, not the whole batch.
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, str) and re.fullmatch(r"\s*\d+\s*", v):
        return int(v)
    return None


def _text(v: Any) -> str:
    return "" if v is None else " ".join(str(v).split())[:300]


class JudgeItem(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Annotated[str, BeforeValidator(lambda v: str(v).strip())]
    relevance: Annotated[int | None, BeforeValidator(_lenient_int)] = None
    novelty: Annotated[int | None, BeforeValidator(_lenient_int)] = None
    criterion: Annotated[str, BeforeValidator(_text)] = ""
    comment: Annotated[str, BeforeValidator(_text)] = ""


class JudgeAnswer(BaseModel):
    papers: list[JudgeItem]


def answer_schema(ids: Sequence[str], *, with_novelty: bool, criteria: Sequence[str] = ()) -> dict:
    """JSON schema for structured-output servers: only the batch's ids (and criteria) are possible."""
    # An enum, not minimum/maximum: llama.cpp's grammars enforce enums but not integer ranges.
    score = {"type": "integer", "enum": list(range(1, 11))}
    props: dict[str, Any] = {"id": {"type": "string", "enum": list(ids)}, "relevance": score}
    if with_novelty:
        criterion = {"type": "string", "enum": [*criteria, "none"]} if criteria else {"type": "string"}
        props |= {"novelty": score, "criterion": criterion, "comment": {"type": "string", "maxLength": 200}}
    item = {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}
    return {
        "type": "object",
        "properties": {"papers": {"type": "array", "items": item, "minItems": len(ids), "maxItems": len(ids)}},
        "required": ["papers"],
        "additionalProperties": False,
    }


def _normal_id(raw: str) -> str:
    try:
        return split_arxiv_id(raw)[0]
    except ValueError:
        return raw


def check_answer(
    batch_ids: Sequence[str], items: Sequence[JudgeItem], *, with_novelty: bool
) -> tuple[dict[str, JudgeItem], dict[str, str], list[str]]:
    """(usable items by id, problem by id, invented ids) for one answer."""
    wanted = set(batch_ids)
    seen: dict[str, JudgeItem] = {}
    problems: dict[str, str] = {}
    invented: list[str] = []
    for item in items:
        pid = _normal_id(item.id)
        if pid not in wanted:
            invented.append(item.id)
            continue
        if pid in seen:
            problems[pid] = "answered more than once"
            continue
        seen[pid] = item
    for pid, item in seen.items():
        if pid in problems:
            continue
        for name in ("relevance", "novelty") if with_novelty else ("relevance",):
            value = getattr(item, name)
            if value is None or not 1 <= value <= 10:
                problems[pid] = f"{name} {value!r} is not an integer from 1 to 10"
                break
    for pid in batch_ids:
        if pid not in seen and pid not in problems:
            problems[pid] = "no answer for this id"
    return {k: v for k, v in seen.items() if k not in problems}, problems, invented
