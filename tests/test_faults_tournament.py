"""Tournament reruns and crashes: a day's comparisons are bought once, and a resume ends where an
uninterrupted run ends."""

from __future__ import annotations

import pytest

from paperradar.core.config import TournamentConfig
from paperradar.core.llm import LLM
from paperradar.core.store import Store
from paperradar.stages import tournament as tm

from .conftest import DAY
from .fake_openai import FakeOpenAI
from .test_tournament import PAPERS, fake_judge, is_match

TC = TournamentConfig(batch_size=4, budget=14, target_ssr=1.0)


def paid_twice(store: Store) -> int:
    """Requests whose identical prompt was already answered and paid for."""
    return store.conn.execute(
        "SELECT count(*) FROM (SELECT cache_key FROM llm_calls WHERE cached = 0 AND error IS NULL "
        "GROUP BY cache_key HAVING count(*) > 1)"
    ).fetchone()[0]


def board(store: Store) -> list[tuple]:
    b = tm.leaderboard(store, tm.make_pool(store, DAY, category="cs.LG"), TC)
    return [(r.arxiv_id, r.rating, r.wins, r.losses, r.ties) for r in b.rows]


@pytest.fixture
def server():
    with FakeOpenAI(default=fake_judge) as s:
        yield s


def new_store(path) -> Store:
    store = Store(path)
    store.upsert_papers(PAPERS, DAY)
    return store


def play(store, server, monkeypatch):
    llm = LLM(server.llm_config(monkeypatch, concurrency=2, structured_output="none"), store, day=DAY.isoformat())
    pool = tm.make_pool(store, DAY, category="cs.LG")
    return tm.run_tournament(store, llm, TC, pool, target=TC.budget, assess=False)


def test_rerun_of_a_finished_day_buys_nothing(tmp_path, server, monkeypatch):
    with new_store(tmp_path / "a.db") as store:
        first = play(store, server, monkeypatch)
        asked = len(server.requests)
        before = board(store)
        again = play(store, server, monkeypatch)
        assert first.comparisons == 14 and first.stopped == "comparison target reached"
        assert again.comparisons == 0 and len(server.requests) == asked
        assert store.count("matches") == 14 and board(store) == before


@pytest.mark.parametrize("crash_after", [1, 6, 9, 13])
def test_crash_mid_round_resumes_to_the_uninterrupted_result(tmp_path, server, monkeypatch, crash_after):
    with new_store(tmp_path / "whole.db") as store:
        play(store, server, monkeypatch)
        expected = board(store)
    real_save = tm.save_verdict
    saved = 0

    def crashing_save(*args, **kw):
        nonlocal saved
        if saved == crash_after:
            raise KeyboardInterrupt("killed")
        saved += 1
        return real_save(*args, **kw)

    with new_store(tmp_path / "crash.db") as store:
        monkeypatch.setattr(tm, "save_verdict", crashing_save)
        with pytest.raises(KeyboardInterrupt):
            play(store, server, monkeypatch)
        monkeypatch.setattr(tm, "save_verdict", real_save)
        play(store, server, monkeypatch)
        assert board(store) == expected
        assert store.count("matches") == 14
        assert paid_twice(store) == 0
        matches = sum(1 for r in server.requests if is_match(r))
        assert matches == 14 * 2  # whole run + crashed run and resume together: each pair bought once
