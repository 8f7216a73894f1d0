"""A 1,000-paper day through the spine: seconds per stage, cold and warm.

The day is assembled from the real papers of ../shared/data/days (newest days
first until 1,000 papers), written as an arXiv RSS listing and served by a
loopback HTTP server (tests/loopback.py), so ingest parses real feed XML over
HTTP. The run is ``paperradar.core.pipeline.run_day`` with the configuration's
defaults and the day's scanner profile (P15), in a temporary folder:

- model load: the transformer and the static model loaded before the run (the
  static model is distilled first if the cache has none; that is shown apart);
- cold: a fresh database, everything computed;
- warm: the same day again, everything cached;
- LLM stages: the judge and the tournament against the fake OpenAI server
  (tests/fake_openai.py), which answers at once, so their seconds are
  paperradar's own overhead (prompts, parsing, SQLite logging), not a model's.

The machine may be shared, so seconds are noisy; ``--backend transformer``
runs the torch fp32 path (the default before ONNX Runtime int8) for comparison. The last line is
``day seconds (excluding model load and LLM) X.X``: the cold run's
stages (ingest + embed + prefilter + digest, and deliver) without judge and tournament.

    python bench/run_day.py
    python bench/run_day.py --papers 300 --no-llm        # a quick look
    python bench/run_day.py --backend transformer   # torch fp32, the old default
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from judge_tokens import load_profile  # noqa: E402
from shared_day import SHARED, read_listing  # noqa: E402

from paperradar.core.config import Config  # noqa: E402
from paperradar.core.models import Paper  # noqa: E402
from paperradar.core.pipeline import run_day  # noqa: E402
from paperradar.core.store import Store  # noqa: E402
from tests.fake_openai import FakeOpenAI, judge_everything, ok  # noqa: E402
from tests.loopback import ReplayServer, Reply  # noqa: E402

DAY = dt.date(2026, 2, 24)
SPINE = ["ingest", "embed", "prefilter", "digest"]
LLM_STAGES = ["judge", "tournament"]
CATEGORIES = ["cs.LG", "stat.ML"]
rss_type = {"Content-Type": "application/rss+xml; charset=utf-8"}


def assemble(data: Path, n: int) -> list[Paper]:
    index = json.loads((data / "days" / "index.json").read_text())
    papers: dict[str, Paper] = {}
    for entry in sorted(index, key=lambda e: e["date"], reverse=True):
        for p in read_listing(data / "days" / f"{entry['date']}.jsonl")[0]:
            papers.setdefault(p.arxiv_id, p)
        if len(papers) >= n:
            break
    return list(papers.values())[:n]


def rss(papers: list[Paper], day: dt.date) -> bytes:
    """The day as arXiv's RSS writes it (the shape of tests/fixtures/arxiv/rss_*.xml)."""
    stamp = format_datetime(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone(dt.timedelta(hours=-5))))
    items = []
    for p in papers:
        cats = "".join(f"<category>{escape(c)}</category>" for c in p.categories or ["cs.LG"])
        items.append(
            f"<item><title>{escape(p.title)}</title><link>https://arxiv.org/abs/{p.arxiv_id}</link>"
            f"<description>arXiv:{p.arxiv_id}v1 Announce Type: new \nAbstract: {escape(p.abstract)}</description>"
            f'<guid isPermaLink="false">oai:arXiv.org:{p.arxiv_id}v1</guid>{cats}<pubDate>{stamp}</pubDate>'
            f"<arxiv:announce_type>new</arxiv:announce_type>"
            f"<dc:creator>{escape(', '.join(p.authors))}</dc:creator></item>"
        )
    return (
        "<?xml version='1.0' encoding='UTF-8'?>"
        '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">'
        f"<channel><title>cs.LG, stat.ML updates on arXiv.org</title><link>http://rss.arxiv.org/rss/cs.LG+stat.ML</link>"
        f"<description>bench</description><pubDate>{stamp}</pubDate>{''.join(items)}</channel></rss>"
    ).encode()


ASSESSMENT = {
    "contribution": "A new method.",
    "strengths": ["clear"],
    "concerns": ["small experiments"],
    "impact": "Moderate.",
    "audience": "ML researchers",
    "significance": 6,
    "rigor": 5,
    "novelty": 6,
    "clarity": 7,
    "overall": 6,
}


def answer(request: dict) -> dict:
    """An instant, valid answer for whichever stage asks: judge, impact assessment, match or k-wise ranking."""
    kind = (request.get("response_format") or {}).get("json_schema", {}).get("name")
    if kind == "match":
        return ok({"winner": 1 + len(request["messages"][-1]["content"]) % 2, "reason": "clearer evidence"})
    if kind == "ranking":
        k = len(request["response_format"]["json_schema"]["schema"]["properties"]["ranking"]["items"]["enum"])
        return ok({"ranking": list(range(1, k + 1)), "reason": "in the order shown"})
    if kind == "impact_assessment":
        return ok(ASSESSMENT)
    return judge_everything(request)


def stage_seconds(store: Store, run_id: int) -> dict[str, float]:
    return store.run_history.stage_seconds(run_id)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=SHARED)
    ap.add_argument("--papers", type=int, default=1000)
    ap.add_argument("--backend", choices=["onnx", "cascade", "transformer"], default=None, help="default: the config's")
    ap.add_argument("--max-tokens", type=int, default=None, help="default: the config's")
    ap.add_argument("--no-llm", action="store_true", help="skip the judge/tournament run against the fake server")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    papers = assemble(args.data, args.papers)
    profile = load_profile(args.data / "profiles" / "P15" / "profile-topics.txt", False)
    feed = rss(papers, DAY)
    server = ReplayServer().always(f"/rss/{'+'.join(CATEGORIES)}", lambda _req: Reply(200, feed, rss_type))
    with tempfile.TemporaryDirectory() as tmp, server:
        root = Path(tmp)
        embedding = {}
        if args.backend:
            embedding["backend"] = args.backend
        if args.max_tokens:
            embedding["max_tokens"] = args.max_tokens
        base = {
            "categories": CATEGORIES,
            "database": root / "cold.db",
            "output_dir": root / "digests",
            "arxiv": {"rss_base_url": f"{server.url}/rss"},
            "profile": profile.model_dump(),
            "signals": {"sources": []},
            "judge": {"enabled": "off"},
            "tournament": {"enabled": "off"},
        }
        config = Config.model_validate({**base, "embedding": {**Config().embedding.model_dump(), **embedding}})
        e = config.embedding
        print(
            f"{len(papers)} papers of {args.data / 'days'} as the RSS listing of {DAY}; "
            f"[embedding] backend={e.backend} max_tokens={e.max_tokens} cascade_fraction={e.cascade_fraction}"
        )

        from paperradar.core.embedding import Embedder
        from paperradar.core.static_embed import StaticEmbedder

        t0 = time.perf_counter()
        embedder = Embedder(**e.transformer())
        embedder.encode(["warm up"])
        load_t = time.perf_counter() - t0
        if embedder.fallback_reason:
            print(f"ONNX Runtime path unavailable, torch used: {embedder.fallback_reason}")
        elif embedder._onnx is not None:
            exported = embedder._onnx.build_seconds
            print(
                f"ONNX int8 model {embedder._onnx.folder} ({embedder._onnx.size_bytes() / 1e6:.0f} MB)"
                + (f", exported and quantized at first use in {exported:.1f} s" if exported else "")
            )
        static = StaticEmbedder(e.model)
        t0 = time.perf_counter()
        if e.backend == "cascade":
            static.encode(["warm up"])
        load_s = time.perf_counter() - t0
        built = (
            f", of which {static.build_seconds:.1f} s distilling it (first use only)" if static.build_seconds else ""
        )
        print(f"model load: transformer {load_t:.1f} s, static {load_s:.1f} s{built}\n")

        results = {}
        with Store(config.database) as store:
            for label in ("cold", "warm"):
                t0 = time.perf_counter()
                ctx = run_day(config, DAY, store=store, embedder=embedder, client=None, static=static)
                total = time.perf_counter() - t0
                results[label] = (stage_seconds(store, ctx.run_id), total, ctx)

        header = f"{'stage':<12} {'cold s':>8} {'warm s':>8}"
        print(header)
        print("-" * len(header))
        cold, warm = results["cold"][0], results["warm"][0]
        for stage in cold:
            print(f"{stage:<12} {cold[stage]:>8.2f} {warm.get(stage, 0):>8.2f}")
        print(f"{'run total':<12} {results['cold'][1]:>8.2f} {results['warm'][1]:>8.2f}")
        detail = results["cold"][2]
        print(f"shortlisted {len(detail.candidates)} of {len(detail.papers)}")

        if not args.no_llm:
            print("\nLLM stages against the fake OpenAI server (answers at once: paperradar's own overhead)")
            os.environ["BENCH_FAKE_KEY"] = "sk-bench"
            with FakeOpenAI(default=answer) as fake:
                llm = {"base_url": fake.base_url, "api_key_env": "BENCH_FAKE_KEY", "retry_wait_seconds": 0}
                cfg = Config.model_validate(
                    {
                        **base,
                        "database": root / "cold.db",
                        "embedding": config.embedding.model_dump(),
                        "llm": llm,
                        "judge": {"enabled": "on"},
                        "tournament": {"enabled": "on"},
                    }
                )
                with Store(cfg.database) as store:
                    t0 = time.perf_counter()
                    ctx = run_day(cfg, DAY, store=store, embedder=embedder, static=static, stages=LLM_STAGES)
                    took = time.perf_counter() - t0
                    secs = stage_seconds(store, ctx.run_id)
                calls = len(fake.requests)
            for stage in LLM_STAGES:
                print(f"{stage:<12} {secs.get(stage, 0):>8.2f}")
            print(f"{calls} LLM calls in {took:.2f} s: {1000 * took / max(calls, 1):.1f} ms of overhead per call")

    # Every stage but the LLM's counts (deliver and signals too, though the spine is the first four).
    spine = sum(v for s, v in cold.items() if s not in LLM_STAGES)
    print(
        f"\nspine stages (cold): {' + '.join(f'{s} {cold.get(s, 0):.2f}' for s in SPINE)}; "
        f"all non-LLM stages {spine:.2f}"
    )
    print(f"day seconds (excluding model load and LLM) {spine:.1f}")


if __name__ == "__main__":
    main()
