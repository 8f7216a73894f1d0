"""Fault injection on whole runs: the CLI in a child process, SIGKILLed at every stage boundary and in
the middle of LLM batches, and two runs of the same day at once, against the fake OpenAI server.

Each case checks what the README promises: no duplicate rows, no call paid twice (llm_calls), the
same digest as an uninterrupted run, and a clear message.
"""

from __future__ import annotations

import re
import signal
import threading
import time

import pytest

from paperradar.core.runlock import lock_is_free

from .conftest import DAY
from .fake_openai import FakeOpenAI
from .faults import duplicate_rows, fault_model, make_workspace, paid_twice

pytestmark = pytest.mark.postgres

STAGES = ["ingest", "embed", "prefilter", "judge", "signals", "tournament", "digest", "deliver"]


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI(default=fault_model) as s:
        yield s


@pytest.fixture(scope="module")
def reference(server, tmp_path_factory):
    """An uninterrupted run: its digest and what it paid."""
    ws = make_workspace(tmp_path_factory.mktemp("whole"), server)
    done = ws.run()
    assert done.returncode == 0, done.stderr
    with ws.store() as store:
        paid = store.conn.execute("SELECT count(*) FROM llm_calls WHERE cached = 0").fetchone()[0]
        matches = store.count("matches")
    assert matches == 12
    return ws.digest(), paid


def check_resumed(ws, reference):
    digest, paid = reference
    assert ws.digest() == digest
    with ws.store() as store:
        assert paid_twice(store) == 0
        assert store.conn.execute("SELECT count(*) FROM llm_calls WHERE cached = 0").fetchone()[0] == paid
        assert set(duplicate_rows(store).values()) == {0}
        assert store.count("matches") == 12
        runs = store.runs(10)
    return runs


# Every boundary: before each stage, and after the last one (all done, the run not yet recorded ok).
BOUNDARIES = [("FAULT_KILL_BEFORE", s) for s in STAGES] + [("FAULT_KILL_AFTER", STAGES[-1])]


@pytest.mark.parametrize(("where", "stage"), BOUNDARIES, ids=[f"{w[11:].lower()}-{s}" for w, s in BOUNDARIES])
def test_kill_at_a_stage_boundary_then_rerun(tmp_path, server, reference, where, stage):
    ws = make_workspace(tmp_path, server)
    killed = ws.run(env={where: stage})
    assert killed.returncode == -signal.SIGKILL
    listed = ws.cli("runs")
    assert "failed" in listed.stdout and "interrupted" in listed.stdout, listed.stdout
    again = ws.run()
    assert again.returncode == 0, again.stderr
    runs = check_resumed(ws, reference)
    assert [r["status"] for r in runs[:2]] == ["ok", "failed"]


@pytest.mark.parametrize(("kind", "nth"), [("judge", 2), ("assess", 3), ("match", 1), ("match", 6)])
def test_kill_mid_llm_batch_then_rerun(tmp_path, server, reference, kind, nth):
    ws = make_workspace(tmp_path, server)
    seen = 0
    lock = threading.Lock()
    proc = None

    def kind_of(request):
        user = request["messages"][-1]["content"]
        if "<paper_1" in user:
            return "match"
        return "assess" if request["messages"][0]["content"].startswith("You review") else "judge"

    def killer(request):
        nonlocal seen
        with lock:
            if kind_of(request) == kind:
                seen += 1
                if seen == nth:
                    proc.send_signal(signal.SIGKILL)
        return fault_model(request)

    server.default = killer
    try:
        proc = ws.cli("run", "--date", "2026-02-24", wait=False)
        proc.communicate(timeout=120)
    finally:
        server.default = fault_model
    assert proc.returncode == -signal.SIGKILL
    again = ws.run()
    assert again.returncode == 0, again.stderr
    check_resumed(ws, reference)


def test_two_runs_of_the_same_day_at_once(tmp_path, server, reference):
    ws = make_workspace(tmp_path, server)
    second_done = threading.Event()

    def held(request):
        # The first run waits at its first LLM call until the second has tried, so on a fast machine
        # it cannot finish (and free the day) before the second process has even started.
        second_done.wait(timeout=8)
        return fault_model(request)

    server.default = held
    try:
        first = ws.cli("run", "--date", "2026-02-24", wait=False)
        while lock_is_free(ws.db, DAY) and first.poll() is None:  # the first holds the day before the second starts
            time.sleep(0.01)
        second = ws.run()
        second_done.set()
        out, err = first.communicate(timeout=120)
    finally:
        second_done.set()
        server.default = fault_model
    assert first.returncode == 0, err
    assert second.returncode == 1, second.stdout
    assert "Another paperradar run for 2026-02-24 is in progress" in second.stderr
    assert "Traceback" not in second.stderr
    check_resumed(ws, reference)


@pytest.mark.parametrize(
    ("setting", "cap", "column"),
    [
        ("budget_tokens", 1500, "input_tokens + output_tokens"),
        ("max_cost_per_run", 0.0002, "cost_usd"),
    ],
)
def test_run_budget_holds_across_judge_and_tournament(tmp_path, server, setting, cap, column):
    ws = make_workspace(tmp_path, server, llm_extra=f"{setting} = {cap}\nmax_tokens = 50")
    done = ws.run()
    assert done.returncode == 0, done.stderr
    with ws.store() as store:
        spent = store.conn.execute(f"SELECT sum({column}) FROM llm_calls WHERE cached = 0").fetchone()[0]
        stages = {r[0] for r in store.conn.execute("SELECT DISTINCT stage FROM llm_calls WHERE cached = 0")}
    assert spent <= cap
    assert "judge" in stages  # the cap was shared, not spent by one stage before the next began
    header = ws.digest().split("\n## ", 1)[0]  # what the budget left out is named at the top of the digest
    assert "Not judged because of the run's cost cap" in header
    assert re.search(r"Tournament stopped after \d+ of 12 LLM comparisons: Run (token|cost) cap reached", header)


def test_two_digest_writers_interleaved_never_mix_files(tmp_path, monkeypatch):
    """Writer A is held just before its first rename while writer B writes both files; then A finishes.

    With one shared temporary name (the old ``digest.tmp``) B's JSON landed in ``digest.md`` and A's
    rename failed with FileNotFoundError; with a temporary file per write each file is whole."""
    import json
    import os

    from paperradar.core import files
    from paperradar.outputs.write import write_digest

    from .sample_digest import sample_digest

    first, second = sample_digest(n_extra=1), sample_digest(n_extra=3)
    real_replace, held = os.replace, []

    def replace(src, dst):
        if not held:
            held.append(dst)
            write_digest(second, tmp_path)  # B runs from start to end while A is between write and rename
        real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", replace)
    paths = write_digest(first, tmp_path)
    assert held == [paths["markdown"]]
    markdown, data = paths["markdown"].read_text(encoding="utf-8"), paths["json"].read_text(encoding="utf-8")
    assert markdown.startswith("#") and not markdown.lstrip().startswith("{")
    assert len(json.loads(data)["entries"]) == len(first.entries)  # A's JSON, renamed last
    assert sorted(p.name for p in paths["markdown"].parent.iterdir()) == ["digest.json", "digest.md"]
