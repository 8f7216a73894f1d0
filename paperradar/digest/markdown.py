"""The digest as Markdown."""

from __future__ import annotations

import re
from collections.abc import Callable

from ..models import REASON_LABELS, Paper, Reason, location_facts
from . import Digest, DigestEntry

# Renderers for Digest.sections, by section name; stages add theirs.
SECTION_RENDERERS: dict[str, Callable[[object], str]] = {}


def section_renderer(name: str):
    def register(fn):
        SECTION_RENDERERS[name] = fn
        return fn

    return register


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def md_escape(text: str) -> str:
    """Keep paper text from turning into Markdown/HTML markup."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def anchor(entry: DigestEntry) -> str:
    return "paper-" + entry.paper.arxiv_id.replace(".", "-").replace("/", "-")


def reason_text(r: Reason) -> str:
    return f"{REASON_LABELS[r.kind]} “{md_escape(r.label)}” ({r.score:.2f})"


def source_links(p: Paper) -> str:
    """Every place the work appears, with what each place says about it (decision, rating, citations)."""
    parts = []
    for loc in p.locations:
        name = f"[{md_escape(loc.source)}]({loc.url})" if loc.url else md_escape(loc.source)
        facts = location_facts(loc)
        parts.append(f"{name} ({md_escape(facts)})" if facts else name)
    return " · ".join(parts)


def render_entry(e: DigestEntry) -> str:
    p = e.paper
    lines = [f'<a id="{anchor(e)}"></a>', f"### {e.rank}. {md_escape(p.title)}", ""]
    lines.append(f"**Authors:** {md_escape(', '.join(p.authors)) or 'unknown'}  ")
    cats = f" · {', '.join(p.categories)}" if p.categories else ""
    kind = {"cross": " · cross-list", "replace": " · replaced", "replace-cross": " · replaced cross-list"}
    if p.has_arxiv_id:
        link = f"**arXiv:** [{p.arxiv_id}]({p.abs_url}) · [PDF]({p.pdf_url})"
    elif p.landing_url or p.doi:
        link = f"**Link:** [{md_escape(p.doi or p.arxiv_id)}]({p.abs_url})"
    else:
        link = f"**arXiv:** not an arXiv id ({p.arxiv_id}) · [search arXiv by title]({p.abs_url})"
    lines.append(f"{link}{cats}{kind.get(p.announce_type, '')}  ")
    if p.locations:
        lines.append(f"**Source:** {source_links(p)}  ")
    if e.reasons:
        lines.append("**Why:** " + "; ".join(reason_text(r) for r in e.reasons) + "  ")
    scores = [f"prefilter {e.score:.3f}"]
    if e.judgment and e.judgment.get("relevance") is not None:
        scores.append(f"relevance {e.judgment['relevance']}/10")
        scores.append(f"novelty {e.judgment['novelty']}/10")
        if e.judgment.get("source"):
            scores[-1] += f" (by the {md_escape(str(e.judgment['source']))})"
    lines.append("**Scores:** " + " · ".join(scores) + "  ")
    if e.flags:
        quoted = " / ".join(f"“{md_escape(f[:200])}”" for f in e.flags)
        note = "kept out of every LLM prompt; check this paper yourself"
        lines.append(f"**⚠ Instruction-like text** ({note}): {quoted}  ")
    if e.judgment and e.judgment.get("comment"):
        who = e.judgment.get("source") or e.judgment.get("model", "LLM")
        lines.append(f"**Judge ({md_escape(str(who))}):** {md_escape(e.judgment['comment'])}  ")
    if e.judgment and e.judgment.get("status") == "failed":
        lines.append(f"**Judge:** no usable answer ({md_escape(str(e.judgment.get('error') or 'unknown error'))})  ")
    if p.comment:
        lines.append(f"**Comments:** {md_escape(p.comment)}  ")
    if e.signals:
        from ..trending import signal_badges  # late: trending imports this module

        if badges := signal_badges(e.signals):
            lines.append(f"**Community:** {badges}  ")
    lines += ["", md_escape(p.abstract), ""]
    return "\n".join(lines)


def render_markdown(digest: Digest) -> str:
    c = digest.counts
    out = [f"# paperradar digest — {digest.day.isoformat()}", ""]
    count_line = " · ".join(f"{k}: {v}" for k, v in c.items())
    out += [f"Papers {count_line}. Ranked by {digest.ranked_by}.", ""]
    if digest.notes:
        out += [f"- {md_escape(n)}" for n in digest.notes] + [""]
    for name, value in digest.sections.items():
        fn = SECTION_RENDERERS.get(name)
        if fn:
            out += [fn(value), ""]
    if not digest.entries:
        out += ["No papers matched your profile on this day.", ""]
        return "\n".join(out)
    out += ["## Contents", ""]
    out += [f"{e.rank}. [{md_escape(e.paper.title)}](#{anchor(e)})" for e in digest.entries]
    out += ["", "## Papers", ""]
    out += [render_entry(e) for e in digest.entries]
    return "\n".join(out).rstrip() + "\n"
