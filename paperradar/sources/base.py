"""The source interface: anything that lists a day's papers.

A source turns one configured ``[[sources]]`` table into :class:`Listing`s of
:class:`~paperradar.core.models.Paper` records, each carrying the
:class:`~paperradar.core.models.Location` it was found at. What happens next (one
record per work, announcements, embeddings) is the same for every source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..core.models import Paper


@dataclass
class Listing:
    """What a source listed for a day; ``message`` says what happened in words."""

    papers: list[Paper] = field(default_factory=list)
    message: str = ""


class Source(Protocol):
    name: str
    kind: str

    def fetch(self, day: dt.date, known: Sequence[Paper] = ()) -> Listing:
        """The papers this source has for ``day``; ``known`` holds what earlier sources listed that day."""
        ...

    def close(self) -> None: ...
