"""Long id lists split for ``IN (...)`` queries."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

# Older SQLite builds allow 999 bound parameters per statement; 500 leaves
# room for the others a query binds beside the list.
CHUNK = 500


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[tuple[list[T], str]]:
    """Slices of ``items`` small enough for one statement, each with its ``?,?,…`` placeholders."""
    for start in range(0, len(items), size):
        chunk = list(items[start : start + size])
        yield chunk, ",".join("?" * len(chunk))
