"""A profile written as free text, turned into texts the embedder can compare papers with.

People describe their interests in whatever shape suits them: numbered
topics with notes, a paragraph, bullet lists of keywords, Markdown headings.
Nothing here expects one layout. The text is cut into its blocks (paragraphs)
and lines; each piece long enough to carry meaning becomes a probe, and the
prefilter scores a paper by the probe it resembles most (in standard
deviations of the day, so a vague probe cannot dominate).

What a profile says it does *not* want ("Irrelevant: …", "Avoid …", "not
interested in …") must not become a probe: a paper that matches an
exclusion would otherwise be lifted by it. Such sentences are recognised by
how they start in ordinary English, whatever the layout around them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..core.config import ProfileConfig

# Markdown and list decoration at the start of a line: headings, bullets,
# numbering, emphasis and quote marks.
_DECORATION = re.compile(r"^\s*(?:[#>*+\-•·]+|\d+[.)]|\(?[a-zA-Z]\)|\*\*)\s*")
_EMPHASIS = re.compile(r"[*_`]+")
_SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z(\"'])")
# A sentence that opens with one of these states an exclusion.
_NEGATIVE = re.compile(
    r"^(?:irrelevant|not\s+relevant|not\s+interested|uninteresting|exclude[ds]?|excluding|avoid|ignore|skip|"
    r"don'?t|do\s+not|never|no\s+(?:papers?|work)|out\s+of\s+scope|off[- ]topic|negative|not\s+wanted|"
    r"filter\s+out|discard|reject)\b",
    re.I,
)
# Pieces shorter than this say too little to embed on their own ("Keywords:").
MIN_WORDS = 3
# MiniLM reads 256 word pieces; a block longer than this is read line by line.
MAX_BLOCK_WORDS = 150


@dataclass
class TextProfile:
    """The probe texts of a free-text profile and the exclusions set aside."""

    probes: list[str] = field(default_factory=list)
    exclusions: list[str] = field(default_factory=list)


def _clean(line: str) -> str:
    line = _DECORATION.sub("", line)
    line = _DECORATION.sub("", line)  # "1. **Topic**" has two layers
    return " ".join(_EMPHASIS.sub("", line).split())


def _is_exclusion(sentence: str) -> bool:
    return bool(_NEGATIVE.match(sentence.lstrip("(\"' ")))


def _keep(sentences: list[str], exclusions: list[str]) -> str:
    kept = []
    for s in sentences:
        (exclusions if _is_exclusion(s) else kept).append(s)
    return " ".join(kept)


def parse_profile_text(text: str) -> TextProfile:
    """Probes from any free text: one per block (paragraph), its exclusions removed.

    A block carries the context a topic needs ("Model compression: sparsity,
    pruning, quantization …"); cutting it into lines loses that context and
    gives headings and fragments equal say (measured on the shared days: a
    line per probe needed 55 % of a day for 90 % of the judge's picks, a
    block per probe 48 %). A block too long for the embedder to read whole
    is split into its lines. Duplicates collapse; the order of the text is kept.
    """
    out = TextProfile()
    seen: set[str] = set()

    def add(piece: str) -> None:
        if len(piece.split()) >= MIN_WORDS and piece.casefold() not in seen:
            seen.add(piece.casefold())
            out.probes.append(piece)

    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        kept_lines = []
        for raw in block.splitlines():
            line = _clean(raw)
            # "Relevant: …" is a label, not an exclusion; "Irrelevant: …" is.
            kept = _keep(_SENTENCE.split(line), out.exclusions) if line else ""
            if kept:
                kept_lines.append(kept)
        joined = " ".join(kept_lines)
        if len(joined.split()) <= MAX_BLOCK_WORDS:
            add(joined)
        else:
            for line in kept_lines:
                add(line)
    return out


def criteria_text(profile: ProfileConfig) -> str:
    lines = ["The reader's criteria:"]
    if profile.text.strip():
        # The reader's own words, as written: the model reads any layout.
        lines.append(profile.text.strip())
    for i, t in enumerate(profile.topics, 1):
        lines.append(f"{i}. {t.name}")
        lines.append(f"   Relevant: {' '.join(t.relevant.split())}")
        if t.irrelevant.strip():
            lines.append(f"   Not relevant: {' '.join(t.irrelevant.split())}")
    if not profile.topics and not profile.text.strip():
        lines.append("(no topics given: judge by the keywords below)")
    if profile.keywords:
        lines.append("Keywords of interest: " + ", ".join(profile.keywords))
    if profile.negative_keywords:
        lines.append("Not wanted: " + ", ".join(profile.negative_keywords))
    return "\n".join(lines)
