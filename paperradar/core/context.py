"""What a run carries from stage to stage: :class:`RunContext`, :class:`Stage`, the progress sink.

It sits low in the tree so that every stage, signal source and output can take
a context, or declare a stage, without importing the pipeline that runs them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .budget import RunBudget
from .config import Config
from .digest import Digest, Enricher
from .embedding import Embedder
from .models import Candidate, Paper
from .static_embed import StaticEmbedder
from .store import Store


class Reporter:
    """Progress sink: the CLI shows rich bars, tests and libraries stay quiet."""

    @contextlib.contextmanager
    def task(self, description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        yield lambda n=1: None

    def info(self, message: str) -> None:
        pass


@dataclass
class RunContext:
    config: Config
    store: Store
    day: dt.date
    reporter: Reporter = field(default_factory=Reporter)
    embedder: Embedder | None = None
    run_id: int | None = None
    papers: list[Paper] = field(default_factory=list)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)
    digest: Digest | None = None
    paths: dict[str, Path] = field(default_factory=dict)
    refetch: bool = False
    client: object | None = None  # an ArxivClient; tests pass one at a loopback URL
    # One allowance for every LLM request of the run, whichever stage sends it.
    budget: RunBudget = field(default_factory=RunBudget)
    static: StaticEmbedder | None = None
    # What the configured plugins add to a digest, in plugin order; the digest
    # stage applies them whether or not the stages that fill them ran this time
    # (`paperradar digest` runs only the digest stage).
    enrichers: list[Enricher] = field(default_factory=list)
    # The prefilter's extra scores: fn(ctx) -> {arxiv_id: (score, Reason)}, in plugin order.
    score_boosters: list[Callable[[RunContext], dict]] = field(default_factory=list)

    def get_embedder(self) -> Embedder:
        if self.embedder is None:
            self.embedder = Embedder(**self.config.embedding.transformer())
        return self.embedder

    def get_static(self) -> StaticEmbedder:
        if self.static is None:
            self.static = StaticEmbedder(self.config.embedding.model)
        return self.static


StageFn = Callable[[RunContext], dict]


@dataclass(frozen=True)
class Stage:
    """One step of the daily run: ``run(ctx)`` returns the detail recorded for the stage.

    ``sections`` names the parts of the digest its results fill (whole-day
    sections and entry fields); the plugin's enrichers add them when the digest
    is built. A plugin's own stage says where it goes with ``before`` or
    ``after``; built-in stages run in plugin order.
    """

    name: str
    run: StageFn
    sections: tuple[str, ...] = ()
    before: str | None = None
    after: str | None = None
