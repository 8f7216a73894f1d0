"""Screenshots of the web app on a real arXiv day, for the README and visual review.

Uses the bundled demo day (or, with --data, a listing read at run time and
never copied into the repo), runs the real embed + prefilter stages with a small profile, adds judge scores, impact
assessments and tournament matches that stand in for LLM output (placeholder
text, labelled as such), runs the real personal tournament against a scripted
stand-in ranker (its reasons labelled as placeholders), then photographs today's digest, a paper page and
the leaderboard with Debian chromium.

    python bench/web_screenshots.py [--data ../shared/data] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import socket
import sys
import tempfile
import threading
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from paperradar.core import feedback as fb  # noqa: E402
from paperradar.core.config import parse_config  # noqa: E402
from paperradar.core.pipeline import run_day  # noqa: E402
from paperradar.core.store import Store  # noqa: E402
from paperradar.signals.client import Signal  # noqa: E402
from paperradar.signals.collect import save_signals  # noqa: E402

DAY = dt.date(2026, 2, 24)
CONFIG = """
[paperradar]
categories = ["cs.LG", "stat.ML", "cs.AI", "cs.CL"]
database = "paperradar.db"
output_dir = "digests"

[prefilter]
shortlist_size = 12

[llm]
model = "placeholder-stand-in"   # the personal tournament's verdicts come from StandInRanker, not an LLM

[profile]
keywords = ["mixture of experts", "quantization"]
negative_keywords = ["medical imaging"]

[[profile.topics]]
name = "Efficient models"
relevant = "Making neural networks cheaper: sparsity, pruning, quantization, low-rank adapters, KV-cache tricks."
irrelevant = "Applying an existing compression recipe to a new dataset."

[[profile.topics]]
name = "How networks learn"
relevant = "Training dynamics, representation learning, interpretability of features inside deep networks."
"""


def build(folder: Path, data: Path | None):
    cfg_path = folder / "paperradar.toml"
    cfg_path.write_text(CONFIG, encoding="utf-8")
    config = parse_config(tomllib.loads(CONFIG), cfg_path)
    if data is None:
        from paperradar.demo import load_demo_papers

        papers = [p.model_copy(update={"announced": DAY}) for p in load_demo_papers()]
    else:
        from shared_day import LISTING, read_listing

        papers = [p.model_copy(update={"announced": DAY}) for p in read_listing(data / LISTING)[0]]
    with Store(config.database) as store:
        store.upsert_papers(papers, DAY)
        run_day(config, DAY, store=store, stages=["embed", "prefilter"], command="screenshots")
        shortlist = store.candidates_for_day(DAY)
        rng = random.Random(7)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        judged = []
        with store.transaction() as conn:
            for c in shortlist:
                rel = max(3, min(10, round(5 + 1.6 * c.score + rng.uniform(-1, 1))))
                nov = rng.randint(4, 9)
                top = c.top_reason.label if c.top_reason else "your profile"
                judged.append((c.paper, rel + nov))
                conn.execute(
                    "INSERT INTO judgments (day, arxiv_id, model, stage, criteria_hash, relevance, novelty, "
                    "criterion, comment, status, score, selected, sort, created_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        DAY.isoformat(),
                        c.paper.arxiv_id,
                        "demo-judge",
                        "judge",
                        "x",
                        rel,
                        nov,
                        top,
                        f"[placeholder judge comment] On topic for “{top}”; relevance {rel}, novelty {nov}.",
                        "ok",
                        rel + nov,
                        int(rel >= 5),
                        "relevance+novelty",
                        now.isoformat(),
                    ),
                )
            top8 = [p for p, _ in sorted(judged, key=lambda x: -x[1])[:8]]
            for i, p in enumerate(top8):
                o = max(4, 9 - i // 2)
                conn.execute(
                    "INSERT INTO assessments (arxiv_id, model, version, full_text, contribution, strengths, "
                    "concerns, impact, audience, significance, rigor, novelty, clarity, overall, generated_at) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        p.arxiv_id,
                        "demo-judge",
                        1,
                        0,
                        "[placeholder assessment] What the paper adds, in one line.",
                        json.dumps(["Clear experimental design", "Code released"]),
                        json.dumps(["Evaluated on few benchmarks"]),
                        "Could change how practitioners tune this.",
                        "Researchers working on efficient models",
                        o,
                        o - 1,
                        o,
                        8,
                        o,
                        now.isoformat(),
                    ),
                )
            strength = {p.arxiv_id: 8 - i + rng.uniform(-1.5, 1.5) for i, p in enumerate(top8)}
            k = 0
            for a in top8:
                for b in top8:
                    if a.arxiv_id < b.arxiv_id and rng.random() < 0.6:
                        first, second = (a, b) if rng.random() < 0.5 else (b, a)
                        win = "first" if strength[first.arxiv_id] > strength[second.arxiv_id] else "second"
                        k += 1
                        conn.execute(
                            "INSERT INTO matches (first_id, second_id, model, outcome, reason, pool, created_at) "
                            "VALUES (?,?,?,?,?,?,?)",
                            (
                                first.arxiv_id,
                                second.arxiv_id,
                                "demo-judge",
                                win,
                                "[placeholder verdict] The winner's contribution reaches more readers and its "
                                "evidence is more direct.",
                                f"shortlist/day/{DAY}",
                                now.isoformat(),
                            ),
                        )
        save_signals(
            store,
            [
                Signal(
                    arxiv_id=top8[0].arxiv_id,
                    source="hn",
                    ref="1",
                    observed_at=now,
                    posted_at=now,
                    value=214,
                    comments=87,
                    url="https://news.ycombinator.com/",
                ),
                Signal(
                    arxiv_id=top8[1].arxiv_id,
                    source="hf",
                    ref=DAY.isoformat(),
                    observed_at=now,
                    posted_at=now,
                    value=41,
                    url="https://huggingface.co/papers",
                ),
            ],
        )
        fb.record(store, top8[0].arxiv_id, "up")
        fb.record(store, top8[2].arxiv_id, "save")
        personal_tournament(store, config)
    return config, top8[0].arxiv_id


READER_WORDS = (
    "quantiz",
    "sparse",
    "sparsity",
    "prun",
    "low-rank",
    "mixture of experts",
    "kv",
    "dynamics",
    "interpretab",
    "representation",
    "feature",
)


class StandInRanker:
    """A scripted stand-in for the LLM of k-wise calls (placeholder text, labelled as such).

    It ranks the papers shown by how many of the profile's words they contain, with a little noise, so the
    personal leaderboard on the screenshot comes from the real tournament code, not from inserted rows. The
    noise is drawn from the call's own text (calls run in parallel threads), so every run draws the same.
    """

    name = "stand-in"

    def chat(self, model, messages, options, json_schema):
        import re
        import zlib

        from paperradar.core.llm_protocol import RawCompletion

        user = messages[1]["content"]
        blocks = re.findall(r"<paper_(\d+) id=\"[^\"]+\">(.*?)</paper_\1>", user, re.S)
        rng = random.Random(zlib.crc32(user.encode("utf-8")))

        def liking(text: str) -> float:
            return sum(w in text.lower() for w in READER_WORDS) + rng.uniform(0, 1.5)

        order = sorted(blocks, key=lambda b: -liking(b[1]))
        answer = {
            "ranking": [int(n) for n, _ in order],
            "reason": "[placeholder ranking] The first paper is closest to the reader's topics; "
            "the last is furthest from them.",
        }
        return RawCompletion(json.dumps(answer), 900, 60)


def personal_tournament(store: Store, config) -> None:
    """The demo day's personal leaderboard: 24 k-wise calls answered by :class:`StandInRanker`."""
    from paperradar.core.llm import LLM
    from paperradar.stages.group_tournament import stage_personal_board
    from paperradar.stages.pools import make_pool

    llm = LLM(config.llm, store, day=DAY.isoformat(), backend=StandInRanker())
    stage_personal_board(store, llm, config, make_pool(store, DAY), calls=24)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="folder with a listing (default: the bundled demo day)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()

    import uvicorn
    from playwright.sync_api import sync_playwright

    from paperradar.outputs.web import create_app

    folder = Path(tempfile.mkdtemp(prefix="paperradar-shots-"))
    config, top = build(folder, args.data)
    app = create_app(config, token="")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    args.out.mkdir(parents=True, exist_ok=True)
    shots = [
        ("web-today.png", "/", 1280),
        ("web-paper.png", f"/paper/{top}", 1280),
        ("web-leaderboard.png", "/leaderboard", 1280),
        ("web-leaderboard-personal.png", "/leaderboard?question=personal", 1280),
        ("web-today-mobile.png", "/", 390),
        ("web-search.png", "/search?q=quantization", 1280),
    ]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=args.chromium,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for name, path, width in shots:
            page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme="light")
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            if path == "/":
                page.locator("details.abstract").first.evaluate("d => d.open = true")
            if "question=personal" in path:
                # Show the stand-in's reasons: they carry the placeholder label.
                page.locator("table.board details").first.evaluate("d => d.open = true")
            page.screenshot(path=str(args.out / name), full_page=width > 400)
            page.close()
            print(args.out / name)
        browser.close()
    server.should_exit = True


if __name__ == "__main__":
    main()
