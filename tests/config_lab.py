"""A workspace for the configuration-effect tests: one base config, a change, the real stage, what came out.

A :class:`Lab` holds a real SQLite store with a few synthetic days (the earlier ones
judged by :func:`tests.faults.fault_model` through the fake OpenAI server, so the
prefilter has history to learn from), a base ``paperradar.toml`` as a dict, and
:meth:`Lab.run` runs the real pipeline stages in-process on a copy of that store
with one change merged into the config. The word-hashing embedder of
:mod:`tests.faultcli` stands in for the model: no model load per key.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paperradar.core.config import Config, parse_config
from paperradar.core.pipeline import run_day
from paperradar.core.store import Store

from .conftest import make_paper
from .fake_openai import FakeOpenAI, ok
from .faultcli import HashEmbedder
from .faults import BLOCK, fault_model

DAY = dt.date(2026, 2, 24)
HISTORY = [DAY - dt.timedelta(days=d) for d in (7, 6, 5, 4)]
TOPICS = [
    "sharpness minima loss landscape",
    "grokking delayed generalization",
    "optimizer momentum learning rate",
    "mixture experts routing scaling",
    "robots warehouse policy gradient",
    "crops satellite yield forecasting",
    "churn telecom customers boosting",
    "graphs message passing molecules",
    "speech recognition acoustic models",
    "protein folding structure prediction",
]


def day_papers(day: dt.date, n: int = 60) -> list:
    """``n`` papers for ``day``: two topics each, some followed authors, two categories."""
    k = (day - HISTORY[0]).days
    out = []
    for i in range(n):
        a, b = TOPICS[(i + k) % len(TOPICS)], TOPICS[(3 * i + 2 * k + 1) % len(TOPICS)]
        cat = "cs.LG" if i % 3 else "stat.ML"
        out.append(
            make_paper(
                f"2602.{k}{i:04d}",
                f"On {a.split()[0]} and {b.split()[1]} number {i}",
                f"We study {a} together with {b}; experiment {i} on day {k} shows {a.split()[-1]} matters.",
                authors=("Claude Shannon",) if i % 11 == 0 else (f"Author {i}",),
                categories=[cat, "cs.AI"] if i % 4 == 0 else [cat],
                primary_category=cat,
                announced=day,
                # A few new versions of older papers: listed only with include_replacements.
                **({"announce_type": "replace", "version": 2} if i % 13 == 12 else {}),
            )
        )
    return out


BASE: dict[str, Any] = {
    "paperradar": {"categories": ["cs.LG", "stat.ML"], "database": "radar.db", "output_dir": "out"},
    "signals": {"sources": []},
    "site": {"dir": "site"},
    "llm": {
        "api_key_env": "TEST_LLM_KEY",
        "structured_output": "none",
        "concurrency": 1,
        "max_retries": 1,
        "retry_wait_seconds": 0,
        "timeout_seconds": 10,
    },
    "judge": {"batch_size": 8, "min_relevance": 8},
    "tournament": {"budget": 6, "personal_budget": 0, "target_ssr": 1.0, "group_size": 3},
    "profile": {
        "authors": ["Claude Shannon"],
        "keywords": ["grokking"],
        "topics": [{"name": "Training dynamics", "relevant": "sharpness minima loss landscape optimizer momentum"}],
    },
}


def merge(base: dict, change: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str | int | float):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)


def to_toml(data: dict) -> str:
    """Enough TOML for these configs: one table per section, inline tables below that."""
    lines = []
    for section, body in data.items():
        if isinstance(body, list):  # [[sources]]
            for item in body:
                lines += [f"[[{section}]]", *(f"{k} = {_toml_value(v)}" for k, v in item.items())]
            continue
        lines.append(f"[{section}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in body.items()]
    return "\n".join(lines) + "\n"


@dataclass
class Outcome:
    config: Config
    ctx: Any
    root: Path

    def digest(self) -> str:
        """The Markdown digest without the lines that differ between any two runs."""
        text = (self.config.output_dir / DAY.isoformat() / "digest.md").read_text(encoding="utf-8")
        text = re.sub(r"## LLM usage.*?(?=\n## |\Z)", "", text, flags=re.S)
        return "\n".join(line for line in text.splitlines() if "Generated" not in line)

    def digest_json(self) -> dict:
        return json.loads((self.config.output_dir / DAY.isoformat() / "digest.json").read_text(encoding="utf-8"))

    def usage(self) -> str:
        """The digest's LLM usage table (tokens and cost per model)."""
        text = (self.config.output_dir / DAY.isoformat() / "digest.md").read_text(encoding="utf-8")
        return re.search(r"## LLM usage.*?(?=\n## |\Z)", text, flags=re.S).group(0)

    def shortlist(self) -> list[tuple[str, float, list[str]]]:
        with Store(self.config.database) as store:
            cands = store.candidates_for_day(DAY)
        return [(c.paper.arxiv_id, round(c.score, 4), [r.label for r in c.reasons]) for c in cands]

    def detail(self, stage: str) -> dict:
        with Store(self.config.database) as store:
            return store.latest_stage_detail(DAY, stage) or {}


class Lab:
    def __init__(self, root: Path, server: FakeOpenAI | None, base: dict | None = None):
        self.root, self.server = root, server
        llm = {}
        if server:
            llm = {"llm": {"base_url": server.base_url}, "tournament": {"html_base_url": f"{server.replay.url}/html"}}
        self.base = merge(merge(BASE, llm), base or {})
        self.runs = 0
        self._base_seen: dict = {}

    def config(self, change: dict | None = None, root: Path | None = None) -> Config:
        root = root or self.root
        root.mkdir(parents=True, exist_ok=True)
        path = root / "paperradar.toml"
        path.write_text(to_toml(merge(self.base, change or {})), encoding="utf-8")
        return parse_config(tomllib.loads(path.read_text(encoding="utf-8")), path)

    def seed(self, judged: bool = True, day_size: int = 60) -> None:
        """The store of the base config: every day's papers, the history days embedded, prefiltered and judged."""
        cfg = self.config()
        with Store(cfg.database) as store:
            for day in HISTORY:
                store.upsert_papers(day_papers(day, 30), day)
            store.upsert_papers(day_papers(DAY, day_size), DAY)
        if judged:
            for day in HISTORY:
                run_day(cfg, day, stages=["embed", "prefilter", "judge"], embedder=HashEmbedder())

    def run_in_place(self, stages) -> None:
        """Stages of DAY's run on the lab's own store, with the base config: what every probe starts from."""
        run_day(self.config(), DAY, stages=list(stages), embedder=HashEmbedder())

    def run(self, change: dict | None = None, stages=("embed", "prefilter"), **kw) -> Outcome:
        """The given stages of DAY's run on a copy of the seeded store, with ``change`` merged into the config."""
        self.runs += 1
        root = self.root / f"run{self.runs}"
        root.mkdir()
        shutil.copy(self.root / "radar.db", root / "radar.db")
        cfg = self.config(change, root)
        kw.setdefault("embedder", HashEmbedder())
        ctx = run_day(cfg, DAY, stages=list(stages), **kw)
        return Outcome(cfg, ctx, root)

    def differs(self, change: dict, observe) -> tuple[Any, Any]:
        """``observe(self, {})`` (computed once per observer) and ``observe(self, change)``."""
        if observe not in self._base_seen:
            self._base_seen[observe] = observe(self, {})
        return self._base_seen[observe], observe(self, change)


LIKED = ("sharpness", "grokking", "momentum")


def topic_model(request: dict) -> dict:
    """:func:`tests.faults.fault_model`, except that the judge picks papers about LIKED words (and only those)."""
    if not request["messages"][0]["content"].startswith(("You screen", "You pre-screen")):
        return fault_model(request)
    papers = [
        {
            "id": pid,
            "relevance": 9 if any(w in text for w in LIKED) else 2,
            "novelty": 2 + sum(map(ord, pid)) % 7,
            "criterion": "Training dynamics",
            "comment": f"About {pid}.",
        }
        for _, pid, text in BLOCK.findall(request["messages"][-1]["content"])
    ]
    return ok({"papers": papers})


def fault_server() -> FakeOpenAI:
    return FakeOpenAI(default=topic_model)
