"""Workers on the PostgreSQL job queue: `paperradar worker` processes in children, the fake OpenAI server,
a throwaway PostgreSQL cluster as the queue and the fault suite's workspace (SQLite store) as the store.

What the README promises: a day's jobs run once each whatever the number of workers; a worker
SIGKILLed mid-job leaves its job to another, which finishes the day with nothing paid twice; the
digest is the one an uninterrupted `paperradar run` writes.

The queue is always PostgreSQL; the tests that need it are marked ``postgres`` so that the CI's second
pass (the store, web and worker tests against PostgreSQL) runs them too.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import signal
import threading
import time
from dataclasses import dataclass

import psycopg
import pytest

from paperradar.core.accounts import hash_password
from paperradar.core.config import ProfileConfig, load_config
from paperradar.core.errors import ConfigError
from paperradar.core.runlock import day_lock
from paperradar.worker.queue import queue_url

from .conftest import DAY, TEST_BACKEND, make_paper
from .fake_openai import PATH, FakeOpenAI, error
from .faults import PAPERS, WORDS, Workspace, duplicate_rows, fault_model, make_workspace, paid_twice

DAY2 = DAY + dt.timedelta(days=1)
PAPERS2 = [make_paper(p.arxiv_id.replace("2602.2", "2602.3"), p.title + " again", p.abstract) for p in PAPERS]


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI(default=fault_model) as s:
        yield s


@pytest.fixture(scope="module")
def reference(server, tmp_path_factory, pg_cluster):
    """An uninterrupted `paperradar run` on the same backend: its digest and what it paid."""
    location = pg_cluster.new_database() if TEST_BACKEND == "postgresql" else ""
    ws = lab_workspace(tmp_path_factory.mktemp("whole"), server, "", location)
    done = ws.run()
    assert done.returncode == 0, done.stderr
    with ws.store() as store:
        paid = store.conn.execute("SELECT count(*) FROM llm_calls WHERE cached = 0").fetchone()[0]
    return ws.digest(), paid


@dataclass
class LabWorkspace(Workspace):
    """The fault suite's workspace with its store where ``store_location`` says: on PostgreSQL in the second
    CI pass (then in the queue's own database, as a lab runs it), else the workspace's SQLite file."""

    location: str = ""

    @property
    def db(self):
        return self.location or self.root / "radar.db"


def lab_workspace(
    root,
    server,
    queue: str,
    location: str = "",
    *,
    days=(DAY,),
    stalled: int = 2,
    llm_concurrency: int = 2,
    members: tuple = (),
):
    plain = make_workspace(root, server)
    ws = LabWorkspace(plain.root, plain.server, location if location.startswith("postgresql://") else "")
    text = ws.config.read_text(encoding="utf-8").replace("concurrency = 2", f"concurrency = {llm_concurrency}")
    if ws.location:
        text = text.replace('database = "radar.db"', f'database = "{ws.location}"')
        with ws.store() as store:
            store.upsert_papers(PAPERS, DAY)
    ws.config.write_text(text, encoding="utf-8")
    if queue:
        with ws.config.open("a", encoding="utf-8") as f:
            f.write(f'\n[worker]\nqueue = "{queue}"\nstalled_seconds = {stalled}\nretries = 2\n')
    with ws.store() as store:
        if DAY2 in days:
            store.upsert_papers(PAPERS2, DAY2)
        for name in members:  # a member with a profile of their own: other keywords, another shortlist
            user = store.users.add(name, hash_password(f"{name}-password"), "member", None, "2026-02-24T00:00:00Z")
            keywords = [WORDS[len(name) % len(WORDS)]]
            store.profiles.add(user.id, "main", ProfileConfig(keywords=keywords), user.created_at)
    return ws


def jobs(queue: str) -> list[dict]:
    with psycopg.connect(queue) as conn:
        rows = conn.execute(
            "SELECT id, task_name, status::text, attempts, args, lock FROM procrastinate_jobs ORDER BY id"
        ).fetchall()
    return [dict(zip(("id", "task", "status", "attempts", "args", "lock"), r, strict=True)) for r in rows]


def wait_until_done(queue: str, workers, timeout: float = 240) -> list[dict]:
    """Until no job waits or runs (a job enqueues the next before it ends, so the chain never looks idle)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = jobs(queue)
        if found and all(j["status"] not in ("todo", "doing") for j in found):
            return found
        dead = [w for w in workers if w.poll() is not None]
        assert not dead, dead[0].communicate()[1]
        time.sleep(0.2)
    raise AssertionError(f"the queue did not empty: {jobs(queue)}")


def stop(worker) -> str:
    """SIGTERM, as systemd or docker stop sends it: the worker finishes what runs and exits 0."""
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
    return err


def done_once(found: list[dict]) -> collections.Counter:
    """(task, day[, profile]) -> how many jobs of it were queued and succeeded (not counting a job's waits:
    the copies a waiting job queued of itself)."""
    count = collections.Counter()
    for j in found:
        assert j["status"] == "succeeded", j
        if j["args"].get("waited") is not None:
            continue
        count[(j["task"], j["args"]["day"], j["args"].get("profile"))] += 1
    return count


def key(request: dict) -> str:
    return json.dumps(request, sort_keys=True)


@pytest.mark.postgres
def test_two_workers_on_one_queue_run_each_job_once(tmp_path, server, pg_url, store_location):
    ws = lab_workspace(tmp_path, server, pg_url, store_location, days=(DAY, DAY2), members=("ada", "grace"))
    workers = [ws.cli("worker", wait=False) for _ in range(2)]
    try:
        for day in (DAY, DAY2):
            queued = ws.cli("schedule", "--date", day.isoformat())
            assert queued.returncode == 0, queued.stderr
            assert f"{day}: queued" in queued.stderr
        found = wait_until_done(pg_url, workers)
    finally:
        errs = [stop(w) if w.poll() is None else w.communicate()[1] for w in workers]
    assert "Traceback" not in "".join(errs)
    tournament_runs = [j for j in found if j["task"] == "paperradar.tournament"]
    count = done_once([j for j in found if j not in tournament_runs])
    expected = {
        (task, day.isoformat(), profile): 1
        for day in (DAY, DAY2)
        for task, profile in (
            ("paperradar.ingest", None),
            ("paperradar.embed", None),
            ("paperradar.profile", 1),
            ("paperradar.profile", 2),
            ("paperradar.profile", 3),
        )
    }
    assert dict(count) == expected
    # A tournament job either waited (and queued its successor) or ran: one ran per day (below).
    assert all(j["status"] == "succeeded" and j["attempts"] == 1 for j in found), found  # one attempt each
    with ws.store() as store:
        assert paid_twice(store) == 0
        # Judgments are per profile: the fault suite's check reads them per (day, paper).
        assert {k: v for k, v in duplicate_rows(store).items() if k != "judgments"} == dict.fromkeys(
            ("matches", "assessments", "papers", "rankings"), 0
        )
        per_profile = "SELECT count(*) - count(DISTINCT profile_id || '|' || day || '|' || arxiv_id) FROM judgments"
        assert store.conn.execute(per_profile).fetchone()[0] == 0
        tournaments = [r for r in store.runs(50) if r["command"] == "worker tournament" and r["status"] == "ok"]
        assert sorted(r["day"] for r in tournaments) == [DAY.isoformat(), DAY2.isoformat()]
    # The shared tournament's pool holds every profile's picks, so only the single-profile day (the kill test)
    # is compared with a `paperradar run`; here every profile has its digests.
    assert {d.name for d in (ws.root / "out").iterdir()} >= {str(DAY), str(DAY2)}
    for member in ("2-main", "3-main"):  # each member's digests in a folder of their own
        assert {d.name for d in (ws.root / "out" / "profiles" / member).iterdir()} >= {str(DAY), str(DAY2)}


@pytest.mark.postgres
def test_a_killed_workers_job_is_finished_by_another_and_nothing_is_paid_twice(
    tmp_path, server, reference, pg_url, store_location
):
    # One LLM request at a time: every answer before the killed one reached the worker and its log.
    ws = lab_workspace(tmp_path, server, pg_url, store_location, llm_concurrency=1)
    before = len(server.requests)
    judged = 0
    refused = []
    lock = threading.Lock()
    first = None

    def killer(request):
        nonlocal judged
        user = request["messages"][-1]["content"]
        with lock:
            if "<paper_1" not in user and not request["messages"][0]["content"].startswith("You review"):
                judged += 1
                if judged == 2:
                    # The worker dies while this judge batch is in flight; its answer is never received.
                    first.send_signal(signal.SIGKILL)
                    refused.append(key(request))
                    return error(500, "the asker is gone")
        return fault_model(request)

    server.default = killer
    try:
        first = ws.cli("worker", wait=False)
        assert ws.cli("schedule", "--date", DAY.isoformat()).returncode == 0
        first.communicate(timeout=120)
        assert first.returncode == -signal.SIGKILL
        stuck = [j for j in jobs(pg_url) if j["status"] == "doing"]
        assert [j["task"] for j in stuck] == ["paperradar.profile"]
        assert stuck[0]["lock"] == f"profile:1:{DAY}"
        second = ws.cli("worker", wait=False)
        try:
            found = wait_until_done(pg_url, [second])
        finally:
            err = stop(second)
    finally:
        server.default = fault_model
    assert "stalled worker: queued again" in err
    retried = [j for j in found if j["task"] == "paperradar.profile"]
    assert len(retried) == 1 and retried[0]["status"] == "succeeded"
    digest, paid = reference
    with ws.store() as store:
        assert paid_twice(store) == 0
        assert store.conn.execute("SELECT count(*) FROM llm_calls WHERE cached = 0").fetchone()[0] == paid
        assert set(duplicate_rows(store).values()) == {0}
    assert ws.digest() == digest
    # The fake server answered (and would have billed) each prompt once: the one in flight at the kill
    # got no answer, and the second worker asked it again.
    asked = collections.Counter(key(r.json()) for r in server.replay.requests_to(PATH)[before:])
    for k in refused:
        asked[k] -= 1
    assert len(refused) == 1 and max(asked.values()) == 1


@pytest.mark.postgres
def test_a_day_is_queued_once_and_its_jobs_lock_per_profile_and_day(tmp_path, server, pg_url, store_location):
    ws = lab_workspace(tmp_path, server, pg_url, store_location)
    assert "queued (ingest job" in ws.cli("schedule", "--date", DAY.isoformat()).stderr
    again = ws.cli("schedule", "--date", DAY.isoformat())
    assert again.returncode == 0 and "already queued; nothing added" in again.stderr
    assert [(j["task"], j["lock"]) for j in jobs(pg_url)] == [("paperradar.ingest", f"ingest:{DAY}")]
    run = ws.cli("worker", "--until-empty")
    assert run.returncode == 0, run.stderr
    found = jobs(pg_url)
    locks = {j["task"]: j["lock"] for j in found}
    assert locks["paperradar.profile"] == f"profile:1:{DAY}"
    assert locks["paperradar.embed"] == f"embed:{DAY}" and locks["paperradar.tournament"] == f"tournament:{DAY}"
    # Run again, the day pays nothing: every LLM answer is in llm_calls.
    before = len(server.requests)
    assert "queued (ingest job" in ws.cli("schedule", "--date", DAY.isoformat()).stderr
    assert ws.cli("worker", "--until-empty").returncode == 0
    assert len(server.requests) == before


@pytest.mark.postgres
def test_a_day_held_by_a_run_makes_its_jobs_wait_not_fail(tmp_path, server, pg_url, store_location):
    ws = lab_workspace(tmp_path, server, pg_url, store_location)
    worker = ws.cli("worker", wait=False)
    try:
        with day_lock(ws.db, DAY, "run"):  # a `paperradar run` of the day, as the worker sees it
            assert ws.cli("schedule", "--date", DAY.isoformat()).returncode == 0
            deadline = time.monotonic() + 60
            while not any(j["args"].get("waited") for j in jobs(pg_url)):
                assert time.monotonic() < deadline, jobs(pg_url)
                time.sleep(0.2)
        found = wait_until_done(pg_url, [worker])
    finally:
        stop(worker)
    ingest = [j for j in found if j["task"] == "paperradar.ingest"]
    assert [j["args"].get("waited") for j in ingest][:2] == [None, 1]
    assert all(j["status"] == "succeeded" and j["attempts"] == 1 for j in found)  # waiting is no failure
    with ws.store() as store:
        done = [r["command"] for r in store.runs(30) if r["status"] == "ok"]
    assert done.count("worker profile 1") == 1 and done.count("worker tournament") == 1


def test_the_queue_must_be_postgresql_and_the_error_names_the_fix(tmp_path):
    cfg = tmp_path / "paperradar.toml"
    cfg.write_text('[paperradar]\ndatabase = "radar.db"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[worker\] queue = \"postgresql://"):
        queue_url(load_config(cfg))
    cfg.write_text('[worker]\nqueue = "sqlite:///x.db"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="worker.queue: .*must be a postgresql:// URL"):
        load_config(cfg)
    cfg.write_text('[worker]\nqueue = "postgresql://lab:hunter2@db/radar"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="PAPERRADAR_DATABASE_PASSWORD") as exc:
        load_config(cfg)
    assert "hunter2" not in str(exc.value)
    cfg.write_text('[worker]\nqueue = "postgresql://lab@db/radar"\n', encoding="utf-8")
    assert queue_url(load_config(cfg)) == "postgresql://lab@db/radar"
