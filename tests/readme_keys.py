"""The configuration keys the README documents, and the ones the config models accept.

Keys are dotted paths: ``prefilter.min_shortlist``, ``paperradar.database`` (the top-level
settings live in ``[paperradar]``), ``llm.stages.judge`` (a whole per-stage table),
``llm.prices`` (the price table), ``sources.feed.days`` (a ``[[sources]]`` key of one type).

The README documents a key in one of three ways: a row of a ``| key | default | meaning |`` table
whose first cell names it as ``[table] key`` (several comma-separated, or a whole table such as
``[llm.stages.assess]``); a row of the ``[[sources]]`` table (``| `key` | applies to | … |``); or
a line ``key = …`` (commented out or not) of a ```` ```toml ```` example under its table header.
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

from pydantic import BaseModel

from paperradar.core.config import LLM_STAGES, Config
from paperradar.core.source_settings import SourceConfig

README = Path(__file__).resolve().parents[1] / "README.md"

_CELL_KEY = re.compile(r"`\[([a-z_.]+)\](?:\s+([a-z_]+))?`|`([a-z_]+)`")
_SOURCE_ROW = re.compile(r"^\|\s*(`[a-z_]+`(?:\s*,\s*`[a-z_]+`)*)\s*\|\s*([^|]+?)\s*\|")
_TOML_HEADER = re.compile(r"^#?\s*\[\[?([a-z_.]+)(?:\.\"[^\"]*\")?\]\]?")
_TOML_KEY = re.compile(r"^#?\s*([a-z_]+)\s*=")
SOURCE_TYPES = ("arxiv", "biorxiv", "medrxiv", "openreview", "feed", "semanticscholar")


def _path(table: str, key: str | None) -> str:
    return table if key is None else f"{table}.{key}"


def table_keys(text: str | None = None) -> dict[str, str]:
    """Keys named in the first cell of a ``[table] key`` row -> the row's default cell."""
    found: dict[str, str] = {}
    for line in (text if text is not None else README.read_text(encoding="utf-8")).splitlines():
        if not line.startswith("| `["):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        table = None
        for m in _CELL_KEY.finditer(cells[0]):
            if m.group(1):
                table = m.group(1)
                found[_path(table, m.group(2))] = cells[1]
            else:  # `[prefilter] min_shortlist`, `max_shortlist`: the same table
                found[_path(table, m.group(3))] = cells[1]
    return found


def _section(text: str, title_start: str) -> str:
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("## "):
            inside = line.startswith(f"## {title_start}")
        elif inside:
            out.append(line)
    return "\n".join(out)


def source_keys(text: str | None = None) -> dict[str, str]:
    """``sources.<type>.<key>`` for every row of the Sources section's table ("all" = every type)."""
    text = text if text is not None else README.read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for line in _section(text, "Sources").splitlines():
        m = _SOURCE_ROW.match(line)
        if not m or m.group(2) in ("applies to", "---"):
            continue
        keys = re.findall(r"`([a-z_]+)`", m.group(1))
        applies = m.group(2)
        types = SOURCE_TYPES if applies == "all" else re.findall(r"`([a-z]+)`", applies)
        for t in types:
            for k in keys:
                found[f"sources.{t}.{k}"] = applies
    return found


def toml_example_keys(text: str | None = None) -> set[str]:
    """Keys set (or shown commented out) in the README's ```toml examples, under their table."""
    text = text if text is not None else README.read_text(encoding="utf-8")
    found: set[str] = set()
    for block in re.findall(r"```toml\n(.*?)```", text, flags=re.S):
        table = "paperradar"
        for raw in block.splitlines():
            line = raw.strip()
            if h := _TOML_HEADER.match(line):
                table = h.group(1)
                if table.startswith(("llm.stages.", "llm.prices")):
                    found.add(table)
                continue
            if (k := _TOML_KEY.match(line)) and not table.startswith(("llm.stages.", "llm.prices")):
                found.add(f"{table}.{k.group(1)}")
    # [[sources]] examples name keys per type; the type is the table's `type = "…"` line.
    return {k for k in found if not k.startswith("sources.")}


def documented_keys() -> set[str]:
    return set(table_keys()) | set(source_keys()) | toml_example_keys()


def _model_fields(model: type[BaseModel], prefix: str) -> set[str]:
    out: set[str] = set()
    for name, info in model.model_fields.items():
        if info.exclude:
            continue  # not read from the file
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out |= _model_fields(ann, f"{prefix}{name}.")
        else:
            out.add(f"{prefix}{name}")
    return out


def model_keys() -> set[str]:
    """Every key a user can set in paperradar.toml, by the config models."""
    keys: set[str] = set()
    for name, info in Config.model_fields.items():
        if info.exclude:
            continue
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys |= _model_fields(ann, f"{name}.")
        elif name != "sources":
            keys.add(f"paperradar.{name}")
    # [llm.stages.<stage>] is a table per known stage; [llm.prices."model"] one setting, the price table.
    keys -= {"llm.stages"}
    keys |= {f"llm.stages.{s}" for s in LLM_STAGES}
    for member in typing.get_args(typing.get_args(SourceConfig)[0]):
        for t in typing.get_args(member.model_fields["type"].annotation):
            keys |= {f"sources.{t}.{f}" for f in member.model_fields}
    return keys
