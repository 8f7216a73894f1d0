"""A pool of papers, its stored verdicts as rating state, and its leaderboard.

Shared by the pairwise tournament (:mod:`paperradar.stages.tournament`) and the
k-wise one (:mod:`paperradar.stages.group_tournament`): both run on a
:class:`Pool`, fit the ratings to every stored verdict through :class:`State`
and report a :class:`TournamentReport`; both leaderboards are built here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from ..core.config import TournamentConfig
from ..core.models import Assessment, Paper
from ..core.repositories.matches import Match
from ..core.repositories.rankings import Ranking
from ..core.store import Store
from .group_match import Question
from .ratings import BTFit, Rankings, Tally, fit_bt, scale_separation_reliability, spearman

Period = Literal["day", "week"]


@dataclass
class Pool:
    name: str
    papers: list[Paper]

    @property
    def ids(self) -> list[str]:
        return [p.arxiv_id for p in self.papers]


def period_days(day: dt.date, period: Period) -> list[dt.date]:
    span = 7 if period == "week" else 1
    return [day - dt.timedelta(days=i) for i in range(span)]


def selected_ids(store: Store, days: Sequence[dt.date]) -> list[str]:
    """The judge's picks of those days, or the prefilter shortlist where the judge did not run."""
    out: list[str] = []
    for d in days:
        out += [i for i in store.matches.picks(d) if i not in out]
    return out


def make_pool(store: Store, day: dt.date, *, period: Period = "day", category: str | None = None) -> Pool:
    """A category's papers announced in the period, or (no category) the period's shortlist."""
    days = period_days(day, period)
    name = f"{category or 'shortlist'}/{period}/{day.isoformat()}"
    if category is None:
        ids = selected_ids(store, days)
        # One query, not one per paper: on PostgreSQL each is a round trip.
        found = store.papers.get_many(ids)
        papers = [found[i] for i in ids if i in found]
        return Pool(name, papers)
    seen: dict[str, Paper] = {}
    for d in sorted(days):
        for p in store.papers_for_day(d):
            if category in p.categories and p.arxiv_id not in seen:
                seen[p.arxiv_id] = p
    return Pool(name, list(seen.values()))


@dataclass
class State:
    """A pool's verdicts for one question as arrays for the rating fit and the scheduler.

    The impact question combines the pairwise matches (Bradley–Terry, with
    ties) and the k-wise calls (Plackett–Luce); the personal question has
    k-wise calls only, for one reader (``profile_key``). Each ranking also
    counts as a win and a loss for every pair it orders.
    """

    ids: list[str]
    tally: Tally
    judged: np.ndarray
    matches: list[Match]
    rankings: Rankings = field(default_factory=Rankings)
    ranking_rows: list[Ranking] = field(default_factory=list)

    @classmethod
    def load(
        cls,
        store: Store,
        ids: Sequence[str],
        model: str | None = None,
        *,
        question: Question = "impact",
        profile_key: str = "",
    ) -> State:
        ids = list(ids)
        index = {a: i for i, a in enumerate(ids)}
        tally = Tally(len(ids))
        judged = np.zeros((len(ids), len(ids)), dtype=bool)
        matches = store.matches.among(ids, model) if question == "impact" else []
        for m in matches:
            f, s = index[m.first_id], index[m.second_id]
            tally.add(f, s, m.outcome)
            judged[f, s] = True
        rankings = Rankings()
        rows = store.rankings.among(ids, question, profile_key, model)
        for r in rows:
            order = [index[a] for a in r.ranked]
            rankings.add([index[a] for a in r.shown], order)
            for i, w in enumerate(order):
                for loser in order[i + 1 :]:
                    tally.record(w, loser)
        return cls(ids, tally, judged, matches, rankings, rows)

    def fit(self, tc: TournamentConfig, previous: BTFit | None = None) -> BTFit:
        return fit_bt(
            self.tally.A,
            self.tally.B,
            rankings=self.rankings,
            prior_sd=tc.prior_sd,
            init=previous.theta if previous is not None else None,
            init_bias=previous.bias if previous is not None else 0.0,
        )


@dataclass
class TournamentReport:
    pool: str
    papers: int
    comparisons: int = 0
    failed: int = 0
    existing: int = 0
    ssr: float = 0.0
    stopped: str = ""
    # Set when the run's budget (or its circuit breaker) stopped the calls before the target.
    budget_stop: str = ""
    target: int | None = None
    assess: dict[str, Any] = field(default_factory=dict)

    def detail(self) -> dict:
        return {
            "pool": self.pool,
            "papers": self.papers,
            "comparisons": self.comparisons,
            "failed": self.failed,
            "existing_matches": self.existing,
            "ssr": round(self.ssr, 3),
            "stopped": self.stopped,
            "assess": self.assess,
        } | ({"budget_stop": self.budget_stop, "target": self.target} if self.budget_stop else {})


@dataclass
class Row:
    rank: int
    arxiv_id: str
    title: str
    url: str
    rating: float  # Elo scale
    uncertainty: float  # one standard error, Elo scale
    wins: int
    losses: int
    ties: int
    matches: int
    win_rate: float | None  # ties count half
    overall: int | None  # the assessment's single-item rating
    games: list[dict] = field(default_factory=list)


@dataclass
class Leaderboard:
    pool: str
    rows: list[Row]
    matches: int  # LLM calls: pairwise comparisons plus k-wise rankings
    ssr: float
    coherence: float | None  # Spearman between assessment overall ratings and tournament ratings
    first_position_win_rate: float | None
    position_bias: float  # fitted log-odds advantage of the first position
    position_bias_se: float
    order_consistency: float | None  # pairs judged in both orders that got the same winner
    question: str = "impact"
    profile_key: str = ""
    rankings: int = 0  # of the calls, those that ranked several papers at once
    # Per group size: fitted log-strength bonus of each shown position (last = 0), and the raw share of
    # calls won by the paper shown there.
    position_effects: dict[int, list[float]] = field(default_factory=dict)
    top_rate: dict[int, list[float]] = field(default_factory=dict)
    # Personal boards: Spearman between this board's ratings and the impact board's, over shared papers.
    agreement: float | None = None
    models: list[str] = field(default_factory=list)  # the LLMs whose verdicts the ratings are fitted to

    def as_dict(self) -> dict:
        return asdict(self)


def _order_consistency(matches: Sequence[Match]) -> float | None:
    seen: dict[tuple[str, str, str], str] = {}
    agree = total = 0
    for m in matches:
        winner = {"first": m.first_id, "second": m.second_id, "tie": "tie"}[m.outcome]
        other = seen.get((m.second_id, m.first_id, m.model))
        if other is not None:
            total += 1
            agree += other == winner
        seen[(m.first_id, m.second_id, m.model)] = winner
    return agree / total if total else None


def _games(state: State, ids: Sequence[str]) -> dict[str, list[dict]]:
    games: dict[str, list[dict]] = {i: [] for i in ids}
    for m in state.matches:
        for me, other, pos in ((m.first_id, m.second_id, "first"), (m.second_id, m.first_id, "second")):
            games[me].append(
                {
                    "match_id": m.id,
                    "opponent": other,
                    "result": m.result(pos),
                    "shown": pos,
                    "reason": m.reason,
                    "model": m.model,
                }
            )
    for r in state.ranking_rows:
        k = len(r.shown)
        for place, me in enumerate(r.ranked):
            shown = f"{r.shown.index(me) + 1} of {k}"
            for other_place, other in enumerate(r.ranked):
                if other != me:
                    games[me].append(
                        {
                            "match_id": f"r{r.id}",
                            "opponent": other,
                            "result": "win" if place < other_place else "loss",
                            "shown": shown,
                            "reason": r.reason,
                            "model": r.model,
                            "place": f"{place + 1} of {k}",
                        }
                    )
    return games


def leaderboard(
    store: Store,
    pool: Pool,
    tc: TournamentConfig | None = None,
    *,
    model: str | None = None,
    assessment_model: str | None = None,
    only_played: bool = True,
    question: Question = "impact",
    profile_key: str = "",
) -> Leaderboard:
    """Rank a pool by its verdicts for ``question``: rows best first, with each paper's games and the reasons."""
    tc = tc or TournamentConfig()
    state = State.load(store, pool.ids, model, question=question, profile_key=profile_key)
    fit = state.fit(tc)
    t = state.tally
    assessments: dict[str, Assessment] = store.assessments.for_papers(pool.ids, assessment_model)
    games = _games(state, pool.ids)
    order = np.argsort(-fit.theta, kind="stable")
    rows: list[Row] = []
    for i in order:
        if only_played and t.matches[i] == 0:
            continue
        p = pool.papers[i]
        n = int(t.matches[i])
        a = assessments.get(p.arxiv_id)
        rows.append(
            Row(
                rank=len(rows) + 1,
                arxiv_id=p.arxiv_id,
                title=p.title,
                url=p.abs_url,
                rating=round(float(fit.elo[i]), 1),
                uncertainty=round(float(fit.elo_se[i]), 1),
                wins=int(t.wins[i]),
                losses=int(t.losses[i]),
                ties=int(t.ties[i]),
                matches=n,
                win_rate=round((t.wins[i] + 0.5 * t.ties[i]) / n, 3) if n else None,
                overall=a.overall if a else None,
                games=games[p.arxiv_id],
            )
        )
    played = t.matches > 0
    pairs = [(r.overall, r.rating) for r in rows if r.overall is not None]
    return Leaderboard(
        pool=pool.name,
        rows=rows,
        matches=len(state.matches) + len(state.ranking_rows),
        ssr=round(scale_separation_reliability(fit.theta[played], fit.se[played]), 3) if played.any() else 0.0,
        coherence=spearman(*zip(*pairs, strict=True)) if len(pairs) >= 3 else None,
        first_position_win_rate=t.first_position_win_rate(),
        position_bias=round(fit.bias, 3),
        position_bias_se=round(fit.bias_se, 3),
        order_consistency=_order_consistency(state.matches),
        question=question,
        profile_key=profile_key,
        rankings=len(state.ranking_rows),
        position_effects={k: [round(x, 3) for x in v] for k, v in fit.positions.items()},
        top_rate={k: [round(x, 3) for x in state.rankings.top_rate(k)] for k in state.rankings.sizes},
        models=sorted({m.model for m in state.matches} | {r.model for r in state.ranking_rows}),
    )


def top_rows(board: dict, size: int) -> dict:
    """A leaderboard as the digest shows it: its first ``size`` rows."""
    return board | {"rows": board["rows"][:size]}
