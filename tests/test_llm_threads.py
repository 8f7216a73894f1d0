"""The LLM client and the judge across threads: each thread writes through its own connection, no store
write happens under the LLM's lock, and a prompt asked by two threads at once is paid for once."""

from __future__ import annotations

import ast
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from paperradar.core.llm import LLM
from paperradar.core.models import Candidate
from paperradar.core.store import Store
from paperradar.stages.judge import judge_shortlist

from .conftest import DAY, SAMPLE_PAPERS
from .fake_openai import FakeOpenAI, judge_everything, ok

MESSAGES = [{"role": "system", "content": "Reply with JSON."}, {"role": "user", "content": "hello"}]
WAIT = 30  # seconds a helper thread may wait for the other before the test fails instead of hanging


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "s.db") as s:
        s.upsert_papers(SAMPLE_PAPERS, DAY)
        yield s


def paid(store: Store) -> int:
    return sum(u.calls for u in store.llm_calls.usage())


def test_two_threads_asking_the_same_prompt_at_once_pay_once(store, monkeypatch):
    arrived, release = threading.Event(), threading.Event()

    def slow_first_answer(request):
        arrived.set()
        assert release.wait(WAIT), "the test never released the first request"
        return ok('{"papers": []}', prompt_tokens=10, completion_tokens=5)

    with FakeOpenAI(default=slow_first_answer) as server:
        llm = LLM(server.llm_config(monkeypatch), store, day=DAY.isoformat())
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(llm.complete, "judge", MESSAGES)
            assert arrived.wait(WAIT)
            second = pool.submit(llm.complete, "judge", MESSAGES)
            # Release the first answer only once the second thread waits for it (two users of the key):
            # without the in-flight guard the second request would reach the server instead.
            for _ in range(WAIT * 100):
                if sum(users[0] for _, users in llm._in_flight._keys.values()) == 2 or len(server.requests) > 1:
                    break
                time.sleep(0.01)
            release.set()
            a, b = first.result(WAIT), second.result(WAIT)
        assert len(server.requests) == 1
    assert not a.cached and b.cached and a.text == b.text
    assert paid(store) == 1 and llm.spend.calls == 1 and llm.spend.cached == 1
    (hit,) = [c for c in store.llm_calls.recent() if c.cached]
    assert hit.error is None


def test_many_threads_served_from_the_cache_each_log_their_own_hit(store, monkeypatch):
    with FakeOpenAI(default=lambda r: ok('{"papers": []}', prompt_tokens=10, completion_tokens=5)) as server:
        config = server.llm_config(monkeypatch)
        LLM(config, store).complete("judge", MESSAGES)
        # A fresh client per thread: only the database can keep their hits apart.
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda _: LLM(config, store).complete("judge", MESSAGES), range(16)))
        assert len(server.requests) == 1
    source = next(c.id for c in store.llm_calls.recent(limit=100) if not c.cached)
    ids = store.conn.execute("SELECT cached_from FROM llm_calls WHERE cached = 1").fetchall()
    assert all(r.cached for r in results) and len({r.call_id for r in results}) == 16
    assert ids == [(source,)] * 16


class OwnedLock:
    """A lock that knows which thread holds it, to check who writes while holding it."""

    def __init__(self):
        self._lock = threading.Lock()
        self.owner: int | None = None

    def __enter__(self):
        self._lock.acquire()
        self.owner = threading.get_ident()
        return self

    def __exit__(self, *exc):
        self.owner = None
        self._lock.release()

    def held_here(self) -> bool:
        return self.owner == threading.get_ident()


def test_the_judge_writes_to_the_store_without_the_llm_lock(store, config, monkeypatch):
    with FakeOpenAI(default=judge_everything) as server:
        config.llm = server.llm_config(monkeypatch, concurrency=3)
        config.judge.batch_size = 2
        llm = LLM.from_config(config, store, day=DAY.isoformat())
        lock = llm._lock = OwnedLock()
        writes: list[tuple[str, int, bool]] = []

        def spy(repo, name):
            real = getattr(repo, name)

            def call(*args, **kw):
                writes.append((name, threading.get_ident(), lock.held_here()))
                return real(*args, **kw)

            monkeypatch.setattr(repo, name, call)

        for name in ("log", "serve_cached", "mark_unusable"):
            spy(store.llm_calls, name)
        for name in ("save", "select"):
            spy(store.judgments, name)
        result = judge_shortlist(store, config, DAY, [Candidate(paper=p, score=1.0) for p in SAMPLE_PAPERS], llm)
    assert result.judged == len(SAMPLE_PAPERS) and not result.failed
    assert {w[0] for w in writes} >= {"log", "serve_cached", "save", "select"}
    assert not [w for w in writes if w[2]], "a store write ran under the LLM lock"
    # The calls were logged from the pool's threads, the verdicts from this one: one connection each.
    assert {w[1] for w in writes if w[0] == "save"} == {threading.get_ident()}
    assert threading.get_ident() not in {w[1] for w in writes if w[0] == "log"}


# -- the module structure these changes rely on ----------------------------------------------------

PACKAGE = Path(__file__).resolve().parent.parent / "paperradar"


@pytest.mark.parametrize(
    "module",
    [
        "core/llm.py",
        "core/llm_backends.py",
        "core/llm_local.py",
        "core/llm_openai.py",
        "core/llm_protocol.py",
        "stages/judge.py",
        "stages/judge_prompt.py",
        "stages/costs.py",
    ],
)
def test_no_lazy_import_of_another_paperradar_module(module):
    """A function-level import of a sibling hid an import cycle (llm ↔ llm_local, costs ↔ judge)."""
    tree = ast.parse((PACKAGE / module).read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    lazy = [
        f"line {n.lineno}"
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and id(n) not in top and (n.level or (n.module or "").startswith("paperradar"))
    ]
    assert lazy == []
