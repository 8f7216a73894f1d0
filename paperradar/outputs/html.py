"""The digest as one self-contained HTML page, shared by the e-mail and the static site.

Mail clients drop ``<style>`` blocks, scripts and remote assets, so every
style is inline and the layout is a centred table; the same page reads fine
in a browser. Jinja2 autoescaping is on for every template: titles,
abstracts, author names and LLM output are untrusted text and must stay text.

Whole-day sections with their own look are listed in
:data:`HTML_SECTION_RENDERERS`; any other section is shown by a generic
renderer (tables for lists of records, key/value rows for mappings).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from ..core.digest import Digest, DigestEntry
from ..core.models import REASON_LABELS, Paper, Reason, location_facts

SECTION_TITLES = {
    "usage": "LLM usage",
    "leaderboard": "Impact leaderboard",
    "personal_leaderboard": "For you: personal leaderboard",
    "trending": "Trending",
}
# Rendered in the page footer rather than among the papers.
FOOTER_SECTIONS = ("usage",)
MAX_AUTHORS = 12

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

# Inline styles, kept in one place so e-mail and site look the same.
S = {
    "table": "border-collapse:collapse;width:100%;font-size:13px;margin:6px 0 0 0;",
    "th": "text-align:left;padding:4px 8px;border-bottom:1px solid #d0d7de;color:#57606a;font-weight:600;",
    "td": "text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top;",
    "th_key": "text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;color:#57606a;width:35%;",
    "link": "color:#0b57d0;text-decoration:none;",
}


def clean(text: object) -> str:
    """Collapse whitespace and drop control characters (invalid in XML, noise in HTML)."""
    return " ".join(_CONTROL.sub(" ", str(text)).split())


def anchor(entry: DigestEntry) -> str:
    return "paper-" + re.sub(r"[^A-Za-z0-9]", "-", entry.paper.arxiv_id)


def authors_text(paper: Paper, limit: int = MAX_AUTHORS) -> str:
    names = [clean(a) for a in paper.authors]
    if not names:
        return "Unknown authors"
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" et al. ({len(names)} authors)"
    return ", ".join(names)


def reason_text(r: Reason) -> str:
    return f"{REASON_LABELS.get(r.kind, r.kind)} “{clean(r.label)}” ({r.score:.2f})"


def humanize(key: object) -> str:
    return clean(key).replace("_", " ")


def is_url(value: object) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))


def fmt_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return clean(value)


def link(url: str, text: str) -> Markup:
    return Markup('<a href="{}" style="{}">{}</a>').format(url, S["link"], text)


def inline_value(value: Any) -> Markup:
    """One value on one line: scalars, lists, nested mappings (their ``url`` becomes a link)."""
    if value is None:
        return Markup("–")
    if is_url(value):
        return link(value, "link")
    if isinstance(value, dict):
        parts = [
            Markup("{} {}").format(humanize(k), inline_value(v))
            for k, v in value.items()
            if k != "url" and v is not None and not str(k).startswith("_")
        ]
        if is_url(value.get("url")):
            parts.append(link(value["url"], "link"))
        return Markup(", ").join(parts)
    if isinstance(value, list | tuple):
        return Markup(", ").join(inline_value(v) for v in value)
    return escape(fmt_scalar(value))


def details(data: dict[str, Any] | None, skip: tuple[str, ...] = ()) -> list[tuple[str, Markup]]:
    """(label, value) rows for a stage's per-paper dict, whatever keys it has."""
    if not data:
        return []
    return [
        (humanize(k), inline_value(v))
        for k, v in data.items()
        if k not in skip and not str(k).startswith("_") and v not in (None, "", [], {})
    ]


def _record_cell(row: dict, key: str) -> Markup:
    value = row.get(key)
    if key == "title" and row.get("arxiv_id"):
        return link(f"https://arxiv.org/abs/{clean(row['arxiv_id'])}", clean(value))
    if key == "title" and is_url(row.get("url")):
        return link(row["url"], clean(value))
    return inline_value(value)


def generic_section(value: Any) -> Markup:
    """Any JSON-like section value as e-mail-safe HTML."""
    if isinstance(value, dict):
        rows = value.get("rows") or value.get("entries") or value.get("papers")
        if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
            rest = {k: v for k, v in value.items() if v is not rows}
            return (generic_section(rest) if rest else Markup("")) + generic_section(rows)
        body = Markup("").join(
            Markup('<tr><th style="{}">{}</th><td style="{}">{}</td></tr>').format(
                S["th_key"], humanize(k), S["td"], inline_value(v)
            )
            for k, v in value.items()
            if not str(k).startswith("_")
        )
        return Markup('<table role="presentation" style="{}">{}</table>').format(S["table"], body)
    if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        keys: list[str] = []
        for row in value:
            keys += [k for k in row if k not in keys and not str(k).startswith("_") and k != "url"]
        # Links live in the title cell; a bare id column is noise next to it.
        if "title" in keys and "arxiv_id" in keys:
            keys.remove("arxiv_id")
        head = Markup("").join(Markup('<th style="{}">{}</th>').format(S["th"], humanize(k)) for k in keys)
        body = Markup("").join(
            Markup("<tr>{}</tr>").format(
                Markup("").join(Markup('<td style="{}">{}</td>').format(S["td"], _record_cell(r, k)) for k in keys)
            )
            for r in value
        )
        return Markup('<table role="presentation" style="{}"><tr>{}</tr>{}</table>').format(S["table"], head, body)
    if isinstance(value, list):
        items = Markup("").join(Markup("<li>{}</li>").format(inline_value(v)) for v in value)
        return Markup('<ul style="margin:6px 0 0 18px;padding:0;">{}</ul>').format(items)
    if isinstance(value, str):
        paras = [p for p in re.split(r"\n\s*\n", value) if p.strip()]
        return Markup("").join(Markup('<p style="margin:6px 0;">{}</p>').format(clean(p)) for p in paras)
    return escape(fmt_scalar(value))


def render_section(name: str, value: Any) -> Markup:
    fn = HTML_SECTION_RENDERERS.get(name)
    return fn(value) if fn else generic_section(value)


def judgment_view(j: dict[str, Any] | None) -> dict[str, Any] | None:
    """Known judge fields get their own place; anything else is listed as details."""
    if not j:
        return None
    scores = [
        f"{humanize(k)} {fmt_scalar(j[k])}/10"
        for k in ("relevance", "novelty")
        if isinstance(j.get(k), int | float) and not isinstance(j.get(k), bool)
    ]
    text = next((j[k] for k in ("comment", "summary", "rationale") if j.get(k)), None)
    known = (
        "relevance",
        "novelty",
        "comment",
        "summary",
        "rationale",
        "model",
        "source",
        "status",
        "error",
        "score",
        "stage",
        "raw",
        "prompt_hash",
    )
    source = j.get("source") or j.get("model")
    return {
        "scores": scores,
        "text": clean(text) if text else None,
        "model": clean(source) if source else None,
        "failed": judge_failed(j),
        "details": details(j, skip=known),
    }


def judge_failed(j: dict[str, Any] | None) -> str | None:
    if j and j.get("status") == "failed":
        return clean(j.get("error") or "no usable answer")
    return None


ASSESSMENT_RATINGS = ("overall", "significance", "rigor", "novelty", "clarity")
ASSESSMENT_TEXTS = ("contribution", "impact", "audience")
ASSESSMENT_LISTS = ("strengths", "concerns")
ASSESSMENT_HIDDEN = ("arxiv_id", "model", "version", "full_text", "call_id", "generated_at", "generated")


def assessment_view(a: dict[str, Any] | None) -> dict[str, Any] | None:
    """The impact assessment: ratings line, texts, strengths and concerns; other keys as details."""
    if not a:
        return None
    ratings = [f"{k} {fmt_scalar(a[k])}/10" for k in ASSESSMENT_RATINGS if isinstance(a.get(k), int | float)]
    known = ASSESSMENT_RATINGS + ASSESSMENT_TEXTS + ASSESSMENT_LISTS + ASSESSMENT_HIDDEN
    when = a.get("generated") or str(a.get("generated_at") or "")[:10]
    by = " · ".join(clean(x) for x in (a.get("model"), when) if x)
    return {
        "ratings": ratings,
        "texts": [(humanize(k).capitalize(), clean(a[k])) for k in ASSESSMENT_TEXTS if a.get(k)],
        "lists": [
            (humanize(k).capitalize(), [clean(x) for x in (a[k] if isinstance(a[k], list) else [a[k]])])
            for k in ASSESSMENT_LISTS
            if a.get(k)
        ],
        "by": by,
        "details": details(a, skip=known),
    }


SIGNAL_KEYS = ("upvotes", "points", "comments", "hf_url", "hn_url", "thread_url", "discussed", "github")
SIGNAL_HIDDEN = ("trending_rank", "trending_score")


def signal_parts(sig: dict[str, Any] | None, skip: tuple[str, ...] = ()) -> list[tuple[str, str | None]]:
    """(text, link or None) for upvotes, points, discussion and code (keys of paperradar.signals.trending)."""
    if not sig:
        return []
    parts: list[tuple[str, str | None]] = []
    if sig.get("upvotes") is not None:
        hf = sig.get("hf_url")
        parts.append((f"{fmt_scalar(sig['upvotes'])} upvotes on Hugging Face", hf if is_url(hf) else None))
    if sig.get("points") is not None:
        hn = sig.get("hn_url")
        parts.append((f"{fmt_scalar(sig['points'])} points on Hacker News", hn if is_url(hn) else None))
    if sig.get("discussed") and is_url(sig.get("thread_url")):
        parts.append((f"discussed ({fmt_scalar(sig.get('comments', 0))} comments)", sig["thread_url"]))
    if is_url(sig.get("github")):
        parts.append(("code", sig["github"]))
    return parts


def signal_badges(sig: dict[str, Any] | None, skip: tuple[str, ...] = ()) -> Markup:
    """Signal badges as HTML, then any keys this module does not know."""
    parts = [link(url, text) if url else escape(text) for text, url in signal_parts(sig)]
    for label, value in details(sig, skip=SIGNAL_KEYS + SIGNAL_HIDDEN + skip):
        parts.append(Markup("{}: {}").format(label, value))
    return Markup(" · ").join(parts)


def trending_html(items: Any) -> Markup:
    if not (isinstance(items, list) and all(isinstance(i, dict) and i.get("title") for i in items)):
        return generic_section(items)
    rows = []
    for item in items:
        url = item.get("abs_url") if is_url(item.get("abs_url")) else None
        if not url and item.get("arxiv_id"):
            url = f"https://arxiv.org/abs/{clean(item['arxiv_id'])}"
        title = link(url, clean(item["title"])) if url else escape(clean(item["title"]))
        here = (
            Markup(' <span style="color:#6b7280;">· in this digest (#{})</span>').format(item["digest_rank"])
            if item.get("digest_rank")
            else Markup("")
        )
        badges = signal_badges(item, skip=("arxiv_id", "title", "abs_url", "digest_rank"))
        item_html = '<li style="margin:0 0 6px 0;">{}{}<br><span style="font-size:12px;color:#4b5563;">{}</span></li>'
        rows.append(Markup(item_html).format(title, here, badges))
    intro = "Most upvoted and discussed papers of the past days, from all of arXiv (not only your profile)."
    return Markup('<p style="font-size:13px;color:#4b5563;margin:0 0 6px 0;">{}</p><ol style="{}">{}</ol>').format(
        intro, "margin:0;padding:0 0 0 22px;font-size:14px;line-height:1.45;", Markup("").join(rows)
    )


def leaderboard_html(boards: Any) -> Markup:
    """The tournament's leaderboards (paperradar.stages.tournament.Leaderboard.as_dict), one table each."""
    if not (isinstance(boards, list) and all(isinstance(b, dict) and "rows" in b for b in boards)):
        return generic_section(boards)
    out = []
    head = ("#", "paper", "rating", "W-L-T", "win rate", "overall")
    for b in boards:
        # The digest's enricher already cut the board to [tournament] leaderboard_size rows.
        rows = [r for r in b["rows"] if isinstance(r, dict)]
        models = [clean(m) for m in b.get("models") or [] if isinstance(m, str)]
        stats = [f"{fmt_scalar(b.get('matches', 0))} LLM comparisons" + (f" by {', '.join(models)}" if models else "")]
        if isinstance(b.get("ssr"), int | float):
            stats.append(f"reliability (SSR) {b['ssr']:.2f}")
        if isinstance(b.get("coherence"), int | float):
            stats.append(f"agreement with single ratings {b['coherence']:.2f}")
        if isinstance(b.get("agreement"), int | float):
            stats.append(f"rank correlation with the impact leaderboard {b['agreement']:.2f}")
        cells = []
        for r in rows:
            url = r.get("url") if is_url(r.get("url")) else f"https://arxiv.org/abs/{clean(r.get('arxiv_id', ''))}"
            rating = r.get("rating")
            rating_text = f"{rating:.0f} ± {r.get('uncertainty') or 0:.0f}" if isinstance(rating, int | float) else "–"
            wr = r.get("win_rate")
            values = [
                escape(fmt_scalar(r.get("rank", ""))),
                link(url, clean(r.get("title", r.get("arxiv_id", "")))),
                escape(rating_text),
                escape(f"{r.get('wins', 0)}-{r.get('losses', 0)}-{r.get('ties', 0)}"),
                escape("–" if wr is None else f"{wr:.0%}"),
                escape("–" if r.get("overall") is None else fmt_scalar(r["overall"])),
            ]
            cells.append(
                Markup("<tr>{}</tr>").format(
                    Markup("").join(Markup('<td style="{}">{}</td>').format(S["td"], v) for v in values)
                )
            )
        why = Markup("")
        won = [g for g in (rows[0].get("games") or []) if g.get("result") == "win"] if rows else []
        if won and won[-1].get("reason"):
            why = Markup('<p style="font-size:13px;color:#374151;margin:6px 0 0 0;">Why #1 leads: {}</p>').format(
                clean(won[-1]["reason"])
            )
        out.append(
            Markup(
                '<div style="margin:0 0 12px 0;"><div style="font-size:14px;font-weight:600;">{}</div>'
                '<div style="font-size:12px;color:#6b7280;">{}</div>'
                '<table role="presentation" style="{}"><tr>{}</tr>{}</table>{}</div>'
            ).format(
                clean(b.get("pool", "")),
                " · ".join(stats),
                S["table"],
                Markup("").join(Markup('<th style="{}">{}</th>').format(S["th"], h) for h in head),
                Markup("").join(cells),
                why,
            )
        )
    return Markup("").join(out)


def usage_html(rows: Any) -> Markup:
    """One line per model: the footer is no place for a table."""
    if not (isinstance(rows, list) and all(isinstance(r, dict) and r.get("model") for r in rows)):
        return inline_value(rows)
    lines = []
    for r in rows:
        cost = r.get("cost_usd")
        parts = [f"{fmt_scalar(r.get('calls', 0))} requests"]
        if r.get("cached"):
            parts.append(f"{fmt_scalar(r['cached'])} cached")
        if r.get("total_tokens") is not None:
            parts.append(f"{r['total_tokens']:,} tokens")
        parts.append("cost n/a" if cost is None else f"${cost:.4f}")
        name = clean(r["model"]) + (f" ({clean(r['backend'])})" if r.get("backend") else "")
        lines.append(Markup("{}: {}").format(name, ", ".join(parts)))
    return Markup("; ").join(lines)


# Renderers for Digest.sections in HTML, by section name: fn(value) -> Markup. The
# personal leaderboard has the impact board's rows, and its agreement with impact.
HTML_SECTION_RENDERERS: dict[str, Callable[[Any], Markup]] = {
    "trending": trending_html,
    "leaderboard": leaderboard_html,
    "personal_leaderboard": leaderboard_html,
    "usage": usage_html,
}


def truncate(text: str, limit: int | None) -> str:
    text = clean(text)
    if not limit or len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " …"


def long_date(day: dt.date) -> str:
    return f"{day:%A}, {day.day} {day:%B %Y}"


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("paperradar.outputs", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(
        anchor=anchor,
        location_facts=location_facts,
        authors_text=authors_text,
        reason_text=reason_text,
        judgment_view=judgment_view,
        assessment_view=assessment_view,
        signal_badges=signal_badges,
        details=details,
        render_section=render_section,
        inline_value=inline_value,
        section_title=lambda name: SECTION_TITLES.get(name, humanize(name).capitalize()),
        truncate=truncate,
        clean=clean,
        long_date=long_date,
        S=S,
    )
    return env


def page_sections(digest: Digest) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    body = [(k, v) for k, v in digest.sections.items() if k not in FOOTER_SECTIONS and v not in (None, [], {})]
    footer = [(k, v) for k, v in digest.sections.items() if k in FOOTER_SECTIONS and v not in (None, [], {})]
    return body, footer


def render_html(
    digest: Digest,
    *,
    abstract_chars: int | None = None,
    nav: dict[str, str | None] | None = None,
    feeds: dict[str, str] | None = None,
    site_title: str = "paperradar",
    web_url: str | None = None,
) -> str:
    """The whole digest as an HTML document.

    ``abstract_chars`` shortens abstracts (e-mail: Gmail clips long messages);
    ``nav`` and ``feeds`` are the static site's relative links; ``web_url``
    is where the e-mail links to the same digest online.
    """
    body_sections, footer_sections = page_sections(digest)
    return (
        environment()
        .get_template("digest.html.j2")
        .render(
            digest=digest,
            abstract_chars=abstract_chars,
            nav=nav,
            feeds=feeds or {},
            site_title=site_title,
            web_url=web_url,
            body_sections=body_sections,
            footer_sections=footer_sections,
        )
    )


def render_entry_html(entry: DigestEntry) -> str:
    """One paper as an HTML fragment (feed entry content)."""
    return environment().get_template("entry.html.j2").render(e=entry, abstract_chars=None)
