"""Each documented [signals] and [learning] key changes what is asked, shown or kept.

Signals: the real signals and digest stages against the loopback server replaying the
recorded Hugging Face and Hacker News answers of tests/fixtures/signals. Learning: the real
embed + prefilter stages on a store with 👍/👎 feedback (tests/config_lab.py).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from tenacity import wait_none

from paperradar.core.config import Config, SignalsConfig
from paperradar.core.feedback import record
from paperradar.core.models import Candidate, Paper
from paperradar.core.pipeline import run_day
from paperradar.core.store import Store
from paperradar.outputs.markdown import render_markdown
from paperradar.signals import collect

from .config_lab import HISTORY, LIKED, Lab, day_papers
from .loopback import ReplayServer, Reply

DAY = dt.date(2026, 2, 24)
FIX = Path(__file__).parent / "fixtures" / "signals"


def _hf(request) -> Reply:
    name = "hf_daily_2026-02-24.json" if request.query.get("date") == "2026-02-24" else "hf_daily_empty.json"
    return Reply(200, (FIX / name).read_bytes())


def _hn(request) -> Reply:
    found = request.query["query"].endswith("/2602.00001")
    return Reply(200, (FIX / ("hn_search_2602.00001.json" if found else "hn_search_empty.json")).read_bytes())


def observe_signals(tmp_path: Path, change: dict, *, slow_first: bool = False) -> dict:
    """The signals and digest stages of DAY; what the servers were asked, the pauses, the digest's signal parts."""
    sleeps: list[float] = []
    with ReplayServer() as server, pytest.MonkeyPatch.context() as mp:
        for name in ("NO_PROXY", "no_proxy"):
            mp.setenv(name, "127.0.0.1,localhost")
        make = collect.make_signal_client

        def no_waits(settings):
            client = make(settings)  # the production client (its timeout); only the waiting is recorded instead
            client.sleep, client.retry_wait = sleeps.append, wait_none()
            return client

        mp.setattr(collect, "make_signal_client", no_waits)
        for prefix in ("", "/mirror"):
            server.always(f"{prefix}/api/daily_papers", _hf)
            server.always(f"{prefix}/api/v1/search", _hn)
        if slow_first:
            server.add("/api/daily_papers", Reply(200, b"[]", delay=0.6))
        settings = {"hf_base_url": server.url, "hn_base_url": server.url, "hn_delay_seconds": 0.5, "window_days": 2}
        settings |= {k: v.replace("URL", server.url) if isinstance(v, str) else v for k, v in change.items()}
        root = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        config = Config(database=root / "p.db", output_dir=root / "out", signals=SignalsConfig(**settings))
        papers = [
            Paper(arxiv_id=f"2602.0000{i}", title=f"Paper {i}", abstract="A.", announced=DAY) for i in range(1, 5)
        ]
        with Store(config.database) as store:
            store.upsert_papers(papers, DAY)
            store.save_candidates(DAY, "h", [Candidate(paper=p, score=1.0 - i) for i, p in enumerate(papers)], 4)
            ctx = run_day(config, DAY, store=store, stages=["signals", "digest"])
        requests = [(r.path, sorted(r.query.items())) for r in server.requests]
    digest = "\n".join(line for line in render_markdown(ctx.digest).splitlines() if "Generated" not in line)
    # The trending section's scores (signals decayed by age) as the digest holds them, besides the text.
    trending = repr(ctx.digest.sections.get("trending"))
    return {"requests": requests, "sleeps": sleeps, "digest": digest, "trending": trending}


SIGNAL_PROBES = {
    "signals.sources": {"sources": ["hf"]},
    "signals.hf_base_url": {"hf_base_url": "URL/mirror"},
    "signals.hn_base_url": {"hn_base_url": "URL/mirror"},
    "signals.window_days": {"window_days": 4},
    "signals.half_life_days": {"half_life_days": 0.1},
    "signals.hn_max_queries": {"hn_max_queries": 1},
    "signals.hn_delay_seconds": {"hn_delay_seconds": 4.0},
    "signals.trending_size": {"trending_size": 1},
    "signals.timeout_seconds": {"timeout_seconds": 0.2},
}


@pytest.mark.parametrize("key", sorted(SIGNAL_PROBES))
def test_signals_key_changes_what_is_asked_or_shown(key, tmp_path):
    slow = key == "signals.timeout_seconds"  # a late first answer: only the short timeout gives up on it
    before = observe_signals(tmp_path, {}, slow_first=slow)
    after = observe_signals(tmp_path, SIGNAL_PROBES[key], slow_first=slow)
    if key == "signals.hf_base_url" or key == "signals.hn_base_url":
        # The mirror answers the same: what differs is where the client asked.
        assert [p for p, _ in before["requests"]] != [p for p, _ in after["requests"]]
    assert before != after


@pytest.fixture(scope="module")
def liked(tmp_path_factory):
    """Earlier days embedded, with 👍 on papers about LIKED words and 👎 on a few others: the classifier has labels."""
    lab = Lab(tmp_path_factory.mktemp("learning-lab"), server=None)
    lab.seed(judged=False)
    for day in HISTORY:
        run_day(lab.config(), day, stages=["embed"], embedder=__import__("tests.faultcli").faultcli.HashEmbedder())
    with Store(lab.root / "radar.db") as store:
        for day in HISTORY[:2]:
            for p in day_papers(day, 30):
                text = f"{p.title} {p.abstract}"
                if any(w in text for w in LIKED[:1]):
                    record(store, p.arxiv_id, "up")
                elif re.search(r"churn|crops", text):
                    record(store, p.arxiv_id, "down")
    return lab


def shortlist(lab, change):
    return lab.run(change).shortlist()


LEARNING_PROBES = {
    "learning.enabled": {"learning": {"enabled": False}},
    "learning.min_labels": {"learning": {"min_labels": 500}},
    "learning.weight": {"learning": {"weight": 5.0}},
    "learning.full_weight_positives": {"learning": {"full_weight_positives": 1}},
    "learning.unlabeled_negatives": {"learning": {"unlabeled_negatives": 3}},
    "learning.regularization": {"learning": {"regularization": 0.001}},
}


@pytest.mark.parametrize("key", sorted(LEARNING_PROBES))
def test_learning_key_changes_the_shortlist(liked, key):
    before, after = liked.differs(LEARNING_PROBES[key], shortlist)
    assert before != after


PROBES = sorted([*SIGNAL_PROBES, *LEARNING_PROBES])
