"""Salvaging JSON from a model's answer: prose around it, code fences, JSONL."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel

_FENCE = re.compile(r"```(?:json|jsonl)?\s*\n(.*?)```", re.S | re.I)


def _values_in(text: str) -> list[Any]:
    """Every top-level JSON object/array embedded in ``text``, in order."""
    decoder = json.JSONDecoder()
    out, i = [], 0
    while i < len(text):
        start = min((p for p in (text.find("{", i), text.find("[", i)) if p >= 0), default=-1)
        if start < 0:
            break
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            i = start + 1
            continue
        out.append(value)
        i = end
    return out


def extract_json(text: str) -> Any:
    """The JSON in a model's answer: plain, fenced, wrapped in prose, or JSONL.

    Several objects (JSONL, or one per fence) come back as a list. Raises
    ValueError when there is none.
    """
    stripped = text.strip()
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    fenced = _FENCE.findall(stripped)
    values = [v for block in fenced for v in _values_in(block)] if fenced else _values_in(stripped)
    if not values:
        raise ValueError("no JSON object or array found in the answer")
    if len(values) == 1:
        return values[0]
    if all(isinstance(v, dict) for v in values):
        return values
    # Prose can hold stray brackets ("[1]"); the biggest value is the answer.
    return max(values, key=lambda v: len(json.dumps(v)))


def coerce_to(schema: type[BaseModel], data: Any) -> Any:
    """Wrap a bare list (JSONL, or an array) into a schema whose only field is a list."""
    if isinstance(data, list) and len(schema.model_fields) == 1:
        return {next(iter(schema.model_fields)): data}
    return data
