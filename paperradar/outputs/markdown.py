"""The digest as Markdown."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..core.digest import Digest, DigestEntry
from ..core.models import REASON_LABELS, Paper, Reason, location_facts

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
    if e.signals and (badges := signal_badges(e.signals)):
        lines.append(f"**Community:** {badges}  ")
    lines += ["", md_escape(p.abstract), ""]
    return "\n".join(lines)


# -- whole-day sections (Digest.sections), by name; any other section is not shown in Markdown --


def md_table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """A Markdown table's lines; a column named with a trailing ``>`` is right-aligned (numbers)."""
    names = [c.removesuffix(">") for c in columns]
    rule = ["---:" if c.endswith(">") else "---" for c in columns]
    return [f"| {' | '.join(names)} |", f"|{'|'.join(rule)}|", *(f"| {' | '.join(map(str, r))} |" for r in rows)]


def render_usage(rows: list[dict]) -> str:
    """Markdown table of the day's LLM usage per model."""
    columns = ["model", "requests>", "cached>", "prompt tokens>", "completion tokens>", "total>", "cost>"]
    body = [
        (
            f"{r['model']} ({r['backend']})",
            r["calls"],
            r["cached"],
            f"{r['input_tokens']:,}",
            f"{r['output_tokens']:,}",
            f"{r['total_tokens']:,}",
            "n/a (no price)" if r["cost_usd"] is None else f"${r['cost_usd']:.4f}",
        )
        for r in rows
    ]
    return "\n".join(["## LLM usage", "", *md_table(columns, body)])


def by_models(board: dict) -> str:
    """Which LLMs gave the verdicts, as ' by gpt-4o-mini' (a board saved by an older version has none)."""
    models = board.get("models") or []
    return f" by {md_escape(', '.join(models))}" if models else ""


def render_leaderboards(boards: Sequence[Any], limit: int | None = None, *, reasons: bool = True) -> str:
    """Leaderboards as Markdown tables (used by the digest and the CLI)."""
    out = ["## Impact leaderboard", ""]
    for b in boards:
        b = b if isinstance(b, dict) else b.as_dict()
        rows = b["rows"][:limit] if limit else b["rows"]
        bias = b["first_position_win_rate"]
        coherence = "n/a" if b["coherence"] is None else f"{b['coherence']:.2f}"
        out += [
            f"### {md_escape(b['pool'])}",
            "",
            f"{b['matches']} LLM comparisons{by_models(b)} · reliability (SSR) {b['ssr']:.2f} · agreement with the "
            f"single ratings (Spearman) {coherence} · first-shown paper won "
            f"{'n/a' if bias is None else f'{bias:.0%}'} of decisive comparisons.",
            "",
        ]
        out += md_table(
            ["#>", "paper", "rating>", "W-L-T>", "matches>", "win rate>", "overall>"],
            (
                (
                    r["rank"],
                    f"[{md_escape(r['title'])}]({r['url']})",
                    f"{r['rating']:.0f} ± {r['uncertainty']:.0f}",
                    f"{r['wins']}-{r['losses']}-{r['ties']}",
                    r["matches"],
                    "–" if r["win_rate"] is None else f"{r['win_rate']:.0%}",
                    r["overall"] or "–",
                )
                for r in rows
            ),
        )
        if reasons and rows:
            top = rows[0]
            won = [g for g in top["games"] if g["result"] == "win"]
            if won:
                out += ["", f"Why {md_escape(top['arxiv_id'])} leads: {md_escape(won[-1]['reason'])}"]
        out.append("")
    return "\n".join(out).rstrip()


def render_personal_leaderboards(boards: Sequence[Any], limit: int | None = None) -> str:
    out = ["## For you: personal leaderboard", ""]
    for b in boards:
        b = b if isinstance(b, dict) else b.as_dict()
        rows = b["rows"][:limit] if limit else b["rows"]
        agree = b.get("agreement")
        out += [
            f"### {md_escape(b['pool'])}",
            "",
            f"{b['matches']} LLM rankings{by_models(b)} asked which paper this profile's reader would rather read "
            "first · "
            f"reliability (SSR) {b['ssr']:.2f} · rank correlation with the impact leaderboard "
            f"{'n/a' if agree is None else f'{agree:.2f}'}"
            + (" (for you and important differ)" if agree is not None and agree < 0.5 else "")
            + ".",
            "",
        ]
        out += md_table(
            ["#>", "paper", "rating>", "W-L>", "matches>"],
            (
                (
                    r["rank"],
                    f"[{md_escape(r['title'])}]({r['url']})",
                    f"{r['rating']:.0f} ± {r['uncertainty']:.0f}",
                    f"{r['wins']}-{r['losses']}",
                    r["matches"],
                )
                for r in rows
            ),
        )
        out.append("")
    return "\n".join(out).rstrip()


def signal_badges(signals: dict[str, Any]) -> str:
    """One Markdown line of badges: used by the trending section and each paper entry."""
    parts = []
    if signals.get("upvotes") is not None:
        hf = f"🤗 {signals['upvotes']} upvotes"
        parts.append(f"[{hf}]({signals['hf_url']})" if signals.get("hf_url") else hf)
    if signals.get("points") is not None:
        parts.append(f"▲ {signals['points']} points on HN")
    if signals.get("discussed") and signals.get("thread_url"):
        parts.append(f"[💬 discussed ({signals.get('comments', 0)} comments)]({signals['thread_url']})")
    if signals.get("github"):
        parts.append(f"[code]({signals['github']})")
    return " · ".join(parts)


def render_trending(items: list[dict[str, Any]]) -> str:
    intro = "Most upvoted and discussed papers of the past days, from all of arXiv (not only your profile)."
    lines = ["## Trending", "", intro, ""]
    for i, item in enumerate(items, 1):
        here = f" · in today's digest (#{item['digest_rank']})" if item.get("digest_rank") else ""
        lines.append(f"{i}. [{md_escape(item['title'])}]({item['abs_url']}) — {signal_badges(item)}{here}")
    return "\n".join(lines)


def render_new_citations(items: list[dict]) -> str:
    lines = ["## New papers citing yours", ""]
    for item in items:
        lines.append(f"- [{md_escape(item['title'])}]({item['url']}) cites {md_escape(', '.join(item['cites']))}")
    return "\n".join(lines)


# A leaderboard section holds at most [tournament] leaderboard_size rows: the enricher cut it.
SECTION_RENDERERS: dict[str, Callable[[Any], str]] = {
    "cites_you": render_new_citations,
    "usage": render_usage,
    "leaderboard": render_leaderboards,
    "personal_leaderboard": render_personal_leaderboards,
    "trending": render_trending,
}


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
