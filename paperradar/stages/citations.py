"""What other sources know about a work, as prefilter lifts and digest sections.

- A paper citing one of your papers (``my_papers`` of a Semantic Scholar
  source) is lifted by that source's ``cites_weight``, with the reason shown.
- A paper by an author followed by Semantic Scholar id gets the prefilter's
  ``author_weight``, like a followed name.
- Citation counts lift by ``citation_weight`` x log(1 + citations) (off by default).
- The digest lists the day's newly found citations of your papers, including
  those of works announced on an earlier day (which are not judged again).
"""

from __future__ import annotations

import math

from ..core.context import RunContext
from ..core.digest import Digest
from ..core.hookspecs import hookimpl
from ..core.models import Reason
from ..core.source_settings import SemanticScholarSourceConfig
from ..core.store import Store
from ..core.works import Works


def _s2(ctx: RunContext) -> SemanticScholarSourceConfig | None:
    return next((s for s in ctx.config.enabled_sources() if s.type == "semanticscholar"), None)


def source_boosts(ctx: RunContext) -> dict:
    cfg = _s2(ctx)
    if cfg is None or not ctx.papers:
        return {}
    locations = Works(ctx.store).locations(p.arxiv_id for p in ctx.papers)
    followed = {a.casefold() for a in ctx.config.profile.authors}
    out: dict = {}
    for p in ctx.papers:
        facts: dict = {}
        for loc in locations.get(p.arxiv_id, []):
            for key, value in loc.extra.items():
                if isinstance(value, list):
                    facts[key] = list(dict.fromkeys([*facts.get(key, []), *value]))
                else:
                    facts.setdefault(key, value)
        score, reasons = 0.0, []
        if cites := facts.get("cites"):
            score += cfg.cites_weight
            reasons.append(Reason(kind="cites", label=", ".join(cites), score=cfg.cites_weight))
        names = [a for a in facts.get("followed_authors", []) if a.casefold() not in followed]
        if names:
            w = ctx.config.prefilter.author_weight
            score += w
            reasons.append(Reason(kind="author", label=", ".join(names), score=w))
        count = facts.get("citation_count")
        if cfg.citation_weight and isinstance(count, int) and count > 0:
            lift = round(cfg.citation_weight * math.log1p(count), 4)
            score += lift
            reasons.append(Reason(kind="cited", label=f"{count} citations", score=lift))
        if reasons:
            # The booster interface explains with one reason; the strongest stands for the rest.
            best = max(reasons, key=lambda r: r.score)
            if len(reasons) > 1:
                best = best.model_copy(update={"label": "; ".join(r.label for r in reasons)})
            out[p.arxiv_id] = (score, best)
    return out


def add_new_citations(store: Store, digest: Digest) -> None:
    found = Works(store).new_citations(digest.day)
    if found:
        digest.sections["cites_you"] = found


@hookimpl
def register_score_boosters(config):
    return [source_boosts]


@hookimpl
def register_digest_enrichers(config):
    return [add_new_citations]
