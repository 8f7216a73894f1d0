"""Days of real papers through the job queue: wall time with 1 and with 2 `paperradar worker` processes.

The newest ``--days`` days of ../shared/data/days (at most ``--papers`` each) are stored first, so the
ingest jobs find their day stored; each setting then gets a fresh store, a fresh queue database on a
throwaway PostgreSQL cluster (tests/pgcluster.py) and the fake OpenAI server (tests/fake_openai.py,
answering at once), and `paperradar schedule` queues every day. Measured: from the first `schedule`
until no job waits or runs, with the workers already started (their model load is not counted). The
jobs are embed (the packaged transformer on CPU), prefilter, judge, tournament and digest; the LLM
answers at once, so the seconds are paperradar's own work. The machine may be shared: seconds are noisy.

    python bench/workers.py
    python bench/workers.py --days 2 --papers 100      # a quick look

The last line is ``days D, 1 worker Xs, 2 workers Ys, speed-up Z``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import psycopg  # noqa: E402
from shared_day import SHARED, read_listing  # noqa: E402

from paperradar.core.config import load_config  # noqa: E402
from paperradar.core.store import Store  # noqa: E402
from paperradar.demo import demo_profile_path  # noqa: E402
from paperradar.worker.jobs import make_app  # noqa: E402
from paperradar.worker.queue import ensure_schema  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402
from tests.faults import fault_model  # noqa: E402
from tests.pgcluster import start_cluster  # noqa: E402

CLI = "from paperradar.cli import app; app(prog_name='paperradar')"


def pick_days(data: Path, n_days: int, n_papers: int) -> dict[dt.date, list]:
    index = json.loads((data / "days" / "index.json").read_text())
    out = {}
    for entry in sorted(index, key=lambda e: e["date"], reverse=True)[:n_days]:
        out[dt.date.fromisoformat(entry["date"])] = read_listing(data / "days" / f"{entry['date']}.jsonl")[0][:n_papers]
    return out


def write_config(root: Path, server: FakeOpenAI, queue: str) -> Path:
    cfg = root / "paperradar.toml"
    cfg.write_text(
        f"""[paperradar]
categories = ["cs.LG", "stat.ML", "cs.AI", "cs.CL", "cs.CV"]
database = "radar.db"
output_dir = "digests"

[prefilter]
shortlist_size = 30

[signals]
sources = []

[site]
dir = "site"

[llm]
base_url = "{server.base_url}"
api_key_env = "BENCH_LLM_KEY"
structured_output = "none"

[tournament]
budget = 20

[worker]
queue = "{queue}"
stalled_seconds = 30

"""
        + demo_profile_path().read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    return cfg


def queue_state(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        total, busy = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status IN ('todo', 'doing')) FROM procrastinate_jobs"
        ).fetchone()
        workers = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()[0]
    return total - busy if total and not busy else -1, workers


def measure(n_workers: int, days: dict, server: FakeOpenAI, cluster) -> float:
    root = Path(tempfile.mkdtemp(prefix=f"paperradar-workers{n_workers}-"))
    queue = cluster.new_database()
    cfg = write_config(root, server, queue)
    with Store(root / "radar.db") as store:
        for day, papers in days.items():
            store.upsert_papers(papers, day)
    env = {**os.environ, "PYTHONPATH": str(REPO), "BENCH_LLM_KEY": "sk-bench", "NO_PROXY": "127.0.0.1,localhost"}
    run = [sys.executable, "-c", CLI]
    app = make_app(load_config(cfg), queue)
    with app.open():
        ensure_schema(app)  # before the workers start, so the measured part has no schema work
    workers = [
        subprocess.Popen(
            [*run, "worker", "--config", str(cfg)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n_workers)
    ]
    try:
        while queue_state(queue)[1] < n_workers:
            time.sleep(0.2)
        time.sleep(2)  # the workers import the pipeline's plugins once they are up
        t0 = time.perf_counter()
        for day in days:
            subprocess.run(
                [*run, "schedule", "--date", day.isoformat(), "--config", str(cfg)],
                env=env,
                check=True,
                capture_output=True,
            )
        while queue_state(queue)[0] < 0:
            if any(w.poll() is not None for w in workers):
                raise SystemExit(next(w for w in workers if w.poll() is not None).communicate()[1])
            time.sleep(0.2)
        return time.perf_counter() - t0
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.communicate(timeout=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=SHARED)
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--papers", type=int, default=300, help="papers per day at most")
    args = ap.parse_args()
    days = pick_days(args.data, args.days, args.papers)
    print(f"{len(days)} days, {sum(len(p) for p in days.values())} papers: {', '.join(map(str, days))}")
    cluster = start_cluster()
    try:
        with FakeOpenAI(default=fault_model) as server:
            seconds = {n: measure(n, days, server, cluster) for n in (1, 2)}
    finally:
        cluster.stop()
    print("| workers | seconds |\n|---|---|")
    for n, s in seconds.items():
        print(f"| {n} | {s:.1f} |")
    print(
        f"days {len(days)}, 1 worker {seconds[1]:.1f}s, 2 workers {seconds[2]:.1f}s, "
        f"speed-up {seconds[1] / seconds[2]:.2f}"
    )


if __name__ == "__main__":
    main()
