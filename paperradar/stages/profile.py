"""The user's profile as the prefilter sees it: texts to compare papers with.

Each topic becomes one probe text ("name: relevant"), seed papers are probes
through their own embeddings, and authors/keywords are matched literally.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np

from ..core.config import ProfileConfig
from ..core.embedding import Embedder, embed_papers, normalize_text
from ..core.store import Store
from .profile_text import parse_profile_text


def fold(text: str) -> str:
    """Lower-case and strip accents so 'Gödel' matches 'Godel'."""
    t = normalize_text(text)
    if t.isascii():
        # Most abstracts: nothing to decompose, and the per-character pass below
        # was a tenth of the prefilter's time on a 1,000-paper day.
        return t.casefold()
    t = unicodedata.normalize("NFKD", t)
    return "".join(c for c in t if not unicodedata.combining(c)).casefold()


def keyword_pattern(keyword: str) -> re.Pattern:
    # Word boundaries stop "MoE" from matching "Moebius"; folded like the text.
    return re.compile(r"(?<!\w)" + re.escape(fold(keyword)) + r"(?!\w)")


@dataclass
class Probe:
    kind: str  # "criterion" or "seed"
    label: str
    vector: np.ndarray


@dataclass
class PreparedProfile:
    config: ProfileConfig
    probes: list[Probe] = field(default_factory=list)
    missing_seeds: list[str] = field(default_factory=list)

    @property
    def matrix(self) -> np.ndarray:
        return np.vstack([p.vector for p in self.probes]) if self.probes else np.zeros((0, 1), np.float32)


def _label(piece: str, words: int = 8) -> str:
    w = piece.split()
    return " ".join(w[:words]) + (" …" if len(w) > words else "")


def topic_text(name: str, relevant: str) -> str:
    return normalize_text(f"{name}: {relevant}")


def profile_hash(profile: ProfileConfig, model: str) -> str:
    data = json.dumps([profile.model_dump(mode="json"), model], sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def profile_version(profile: ProfileConfig) -> str:
    """The version of what the profile says it wants: its text and topics.

    Verdicts are labels of this version; following another author or adding a
    keyword does not change what the judge was asked, a new topic does.
    """
    data = json.dumps([profile.text.strip(), [t.model_dump(mode="json") for t in profile.topics]], sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()[:12]


def prepare_profile(profile: ProfileConfig, embedder: Embedder, store: Store) -> PreparedProfile:
    prepared = PreparedProfile(config=profile)
    if profile.text.strip():
        pieces = parse_profile_text(profile.text).probes
        if pieces:
            vecs = embedder.encode([normalize_text(p) for p in pieces])
            prepared.probes += [Probe("criterion", _label(p), v) for p, v in zip(pieces, vecs, strict=True)]
    if profile.topics:
        vecs = embedder.encode([topic_text(t.name, t.relevant) for t in profile.topics])
        prepared.probes += [Probe("criterion", t.name, v) for t, v in zip(profile.topics, vecs, strict=True)]
    seeds = [store.get_paper(i) for i in profile.seed_papers]
    found = [p for p in seeds if p is not None]
    prepared.missing_seeds = [i for i, p in zip(profile.seed_papers, seeds, strict=True) if p is None]
    if found:
        vectors, _ = embed_papers(store, found, embedder)
        prepared.probes += [Probe("seed", f"{p.arxiv_id}: {p.title}", vectors[p.arxiv_id]) for p in found]
    # Imported library items (`paperradar library import`) are seed papers too.
    from ..core.library import library_seeds

    have = {p.arxiv_id for p in found}
    library = [s for s in library_seeds(store, embedder.key) if s[2] is None or s[2] not in have]
    prepared.probes += [Probe("seed", label, vector) for label, vector, _ in library]
    prepared.missing_seeds = [i for i in prepared.missing_seeds if i not in {s[2] for s in library}]
    return prepared
