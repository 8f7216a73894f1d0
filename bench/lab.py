"""A lab on one server: 50 profiles over a 1,000-paper day, workers on the queue, and web latency per backend.

Part 1 (profiles). A throwaway PostgreSQL cluster (tests/pgcluster.py) holds the store and the job
queue; the day is 1,000 real papers from ../shared/data/days; an answer-at-once stand-in for the LLM
(tests/fake_openai.py) plays the judge, so the seconds are paperradar's own work. No shared day has
1,000 papers, so the newest days' papers are stored as one day's announcements. Profiles are made
from the two profiles in ../shared/data/profiles (their topic text, free text) each with three
titles of other days as "also of interest", so no two are alike. Settings, each on a fresh store and
queue: one profile and one worker; 50 profiles and one worker; 50 profiles and two workers. Measured:
from `paperradar schedule` until the queue is empty, with the workers already up (their model load
not counted). Each run is the whole day: ingest (the papers are stored already), embed once, then one
job per profile (prefilter, judge, digest, deliver), then the impact tournament.

Part 2 (web). bench/web.py's 100,000-paper store, once as a SQLite file and once in PostgreSQL,
served by uvicorn; p50 / p95 of the day page and of keyword search over loopback.

    python bench/lab.py                                   # 50 profiles, 1,000 papers, 100,000 for the web
    python bench/lab.py --profiles 5 --papers 200 --web-papers 5000 --requests 30   # a quick look

The last line is ``lab: 50 profiles ... ; web p95 ...``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
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
import web as web_bench  # noqa: E402
from shared_day import SHARED, read_listing  # noqa: E402

from paperradar.core.accounts import hash_password  # noqa: E402
from paperradar.core.clock import utcnow  # noqa: E402
from paperradar.core.config import ProfileConfig, load_config  # noqa: E402
from paperradar.core.store import Store  # noqa: E402
from paperradar.worker.jobs import make_app  # noqa: E402
from paperradar.worker.queue import ensure_schema  # noqa: E402
from tests.fake_openai import FakeOpenAI  # noqa: E402
from tests.faults import fault_model  # noqa: E402
from tests.pgcluster import start_cluster  # noqa: E402

CLI = "from paperradar.cli import app; app(prog_name='paperradar')"
WEB_ROUTES = ("day page", "keyword search (two words)", "keyword search (one word)")


def pick_day(data: Path, n_papers: int):
    """A day of ``n_papers`` real papers, and titles of papers not in it (for the profiles).

    No day of the shared data has 1,000 papers (the largest has 412), so the
    day is the newest days' papers together, announced on the newest date.
    """
    files = sorted((data / "days").glob("*.jsonl"), reverse=True)
    papers, seen, others = [], set(), []
    for f in files:
        for p in read_listing(f)[0]:
            if p.arxiv_id in seen:
                continue
            seen.add(p.arxiv_id)
            (papers if len(papers) < n_papers else others).append(p)
    return files[0].stem, papers, [p.title for p in others]


def make_profiles(data: Path, n: int, titles: list[str], seed: int = 0) -> list[tuple[str, ProfileConfig]]:
    bases = []
    for folder in sorted((data / "profiles").iterdir()):
        text = "\n\n".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("profile*.txt")))
        if text.strip():
            bases.append((folder.name, text))
    rng = random.Random(seed)
    out = []
    for k in range(n):
        name, text = bases[k % len(bases)]
        extra = "; ".join(rng.sample(titles, 3))
        out.append((f"{name.lower()}-{k:02d}", ProfileConfig(text=f"{text}\n\nAlso of interest: work like {extra}.")))
    return out


def write_config(root: Path, server: FakeOpenAI, store_url: str, queue_url: str, profile: ProfileConfig) -> Path:
    cfg = root / "paperradar.toml"
    cfg.write_text(
        f"""[profile]
text = {json.dumps(profile.text)}

[paperradar]
categories = ["cs.LG", "stat.ML", "cs.AI", "cs.CL", "cs.CV"]
database = "{store_url}"
output_dir = "digests"

[prefilter]
shortlist_size = 30

[signals]
sources = []

[site]
dir = "site"

[feed]
enabled = false

[llm]
base_url = "{server.base_url}"
api_key_env = "BENCH_LLM_KEY"
structured_output = "none"

[tournament]
budget = 20

[worker]
queue = "{queue_url}"
stalled_seconds = 30
""",
        encoding="utf-8",
    )
    return cfg


def queue_done(url: str) -> tuple[bool, int, dict[str, int]]:
    with psycopg.connect(url) as conn:
        busy = conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')").fetchone()[0]
        total = conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone()[0]
        workers = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()[0]
        done = dict(
            conn.execute(
                "SELECT task_name, count(*) FROM procrastinate_jobs WHERE status = 'succeeded' GROUP BY task_name"
            ).fetchall()
        )
    return total > 0 and busy == 0, workers, done


def run_setting(n_profiles: int, n_workers: int, day: str, papers, profiles, server, cluster) -> dict:

    root = Path(tempfile.mkdtemp(prefix=f"paperradar-lab-{n_profiles}p{n_workers}w-"))
    store_url = cluster.new_database()
    # The first profile is the default one (paperradar.toml's [profile]); the others are accounts' profiles.
    cfg = write_config(root, server, store_url, store_url, profiles[0][1])
    with Store(store_url) as store:
        store.upsert_papers(papers, dt.date.fromisoformat(day))
        owner = store.users.add("lab-admin", hash_password("not-used-here"), "admin", None, utcnow())
        for name, settings in profiles[1:n_profiles]:
            store.profiles.add(owner.id, name, settings, utcnow())
    env = {**os.environ, "PYTHONPATH": str(REPO), "BENCH_LLM_KEY": "sk-bench", "NO_PROXY": "127.0.0.1,localhost"}
    run = [sys.executable, "-c", CLI]
    app = make_app(load_config(cfg), store_url)
    with app.open():
        ensure_schema(app)
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
        while queue_done(store_url)[1] < n_workers:
            if any(w.poll() is not None for w in workers):
                raise SystemExit(next(w for w in workers if w.poll() is not None).communicate()[1])
            time.sleep(0.2)
        time.sleep(2)
        t0 = time.perf_counter()
        subprocess.run(
            [*run, "schedule", "--date", day, "--config", str(cfg)], env=env, check=True, capture_output=True
        )
        while True:
            done, _, jobs = queue_done(store_url)
            if done:
                break
            if any(w.poll() is not None for w in workers):
                raise SystemExit(next(w for w in workers if w.poll() is not None).communicate()[1])
            time.sleep(0.2)
        seconds = time.perf_counter() - t0
        with Store(store_url) as store:
            embedded = store.db.count("embeddings")
            shortlists = store.db.query(
                "SELECT count(DISTINCT profile_id) AS n FROM candidates WHERE day = ? AND shortlisted = 1", (day,)
            )[0]["n"]
        return {"seconds": seconds, "embedded": embedded, "jobs": jobs, "shortlists": shortlists}
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.communicate(timeout=120)
        cluster.drop_database(store_url)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=SHARED)
    ap.add_argument("--profiles", type=int, default=50)
    ap.add_argument("--papers", type=int, default=1000, help="papers of the day")
    ap.add_argument("--web-papers", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200, help="timed requests per web route")
    ap.add_argument("--skip-web", action="store_true", help="only the profiles part")
    ap.add_argument("--skip-profiles", action="store_true", help="only the web part")
    args = ap.parse_args()

    day, papers, titles = pick_day(args.data, args.papers)
    profiles = make_profiles(args.data, args.profiles, titles)
    print(f"day {day}: {len(papers)} papers; {len(profiles)} profiles from {args.data / 'profiles'}")
    cluster = start_cluster()
    try:
        results = {}
        settings = [] if args.skip_profiles else [(1, 1), (args.profiles, 1), (args.profiles, 2)]
        with FakeOpenAI(default=fault_model) as server:
            for n_profiles, n_workers in settings:
                r = run_setting(n_profiles, n_workers, day, papers, profiles, server, cluster)
                results[(n_profiles, n_workers)] = r
                print(
                    f"  {n_profiles:>3} profile(s), {n_workers} worker(s): {r['seconds']:.1f} s, "
                    f"{r['embedded']} papers embedded, {r['shortlists']} shortlists, jobs {json.dumps(r['jobs'])}",
                    flush=True,
                )
        web = {}
        if not args.skip_web:
            web["SQLite"] = web_bench.measure(None, args.web_papers, args.requests, only=WEB_ROUTES, say=print)
            pg_url = cluster.new_database()
            web["PostgreSQL"] = web_bench.measure(pg_url, args.web_papers, args.requests, only=WEB_ROUTES, say=print)
    finally:
        cluster.stop()

    parts = []
    if results:
        one = results[(1, 1)]["seconds"]
        print("\n| profiles | workers | seconds | × one profile | papers embedded | shortlists |")
        print("|---|---|---|---|---|---|")
        for (n_profiles, n_workers), r in results.items():
            print(
                f"| {n_profiles} | {n_workers} | {r['seconds']:.1f} | {r['seconds'] / one:.2f} | "
                f"{r['embedded']} | {r['shortlists']} |"
            )
        many1, many2 = results[(args.profiles, 1)], results[(args.profiles, 2)]
        parts.append(
            f"{args.profiles} profiles {many1['seconds']:.1f}s with 1 worker ({many1['seconds'] / one:.2f}x one "
            f"profile's {one:.1f}s), {many2['seconds']:.1f}s with 2 workers; papers embedded once: "
            f"{many1['embedded']} of {len(papers)}"
        )
    if web:
        print(f"\n| route ({args.web_papers:,} papers) | SQLite p50 | SQLite p95 | PostgreSQL p50 | PostgreSQL p95 |")
        print("|---|---|---|---|---|")
        for route in WEB_ROUTES:
            s, p = web["SQLite"][route], web["PostgreSQL"][route]
            print(f"| {route} | {s[0]:.1f} | {s[1]:.1f} | {p[0]:.1f} | {p[1]:.1f} |")
    if web:
        worst = {b: max(web[b][r][1] for r in WEB_ROUTES) for b in web}
        parts.append(
            f"web p95 worst of day page and search ({args.web_papers:,} papers) SQLite {worst['SQLite']:.1f} ms, "
            f"PostgreSQL {worst['PostgreSQL']:.1f} ms"
        )
    print("lab: " + "; ".join(parts))


if __name__ == "__main__":
    main()
