"""``bench/prefilter_days.py --llm``: a configured model measured against labelled days.

The bench runs as a user runs it (a subprocess, the production judge code)
against the fake OpenAI server, on a small days folder laid out like
../shared/data (written here, hand-made, never copied from it).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .fake_openai import FakeOpenAI, ids_in, ok, scores

REPO = Path(__file__).resolve().parent.parent
DAYS = ("2026-03-02", "2026-03-03")
TOPICS = "I follow how mixture-of-experts models route tokens and how sparse experts are trained.\n"
RUBRIC = "Relevance 9-10: about expert routing. Relevance 1-2: unrelated."


def _papers(day: str) -> list[dict]:
    rows = []
    for i in range(24):
        moe = i < 6
        title = (
            f"Routing tokens to sparse experts, variant {i}" if moe else f"Soil moisture and crop yields in region {i}"
        )
        abstract = (
            "We study load balancing of a mixture-of-experts layer and its router during training."
            if moe
            else "We survey farms and irrigation records over ten seasons."
        )
        rows.append(
            {
                "arxiv_id": f"2603.{day[-2:]}{i:03d}",
                "title": title,
                "authors": ["A. Author"],
                "categories": ["cs.LG"] if moe else ["q-bio.PE"],
                "primary_category": "cs.LG" if moe else "q-bio.PE",
                "comment": None,
                "abstract": abstract,
                # Labelled picks: five of the six MoE papers, and the first farm paper.
                "gpt5_selected": (moe and i != 5) or i == 6,
            }
        )
    return rows


@pytest.fixture
def data(tmp_path) -> Path:
    root = tmp_path / "data"
    (root / "days").mkdir(parents=True)
    (root / "profiles" / "G").mkdir(parents=True)
    (root / "profiles" / "G" / "profile-topics.txt").write_text(TOPICS, encoding="utf-8")
    (root / "profiles" / "G" / "scoring-criteria.txt").write_text(RUBRIC, encoding="utf-8")
    index = []
    for day in DAYS:
        lines = [json.dumps(r) for r in _papers(day)]
        (root / "days" / f"{day}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        index.append({"date": day, "profile_group": "G"})
    (root / "days" / "index.json").write_text(json.dumps(index), encoding="utf-8")
    return root


def obeying_titles(request: dict) -> dict:
    """Title screen: MoE titles pass, except variant 1; the judge selects every MoE paper it reads."""
    system, user = request["messages"][0]["content"], request["messages"][-1]["content"]
    ids = ids_in(request)
    titles = dict(re.findall(r'<paper id="([^"]+)">\s*<title>([^<]*)</title>', user))
    papers = []
    for pid in ids:
        title = titles[pid]
        if "titles only" in system:
            rel = 8 if "experts" in title and "variant 1" not in title else 2
        else:
            rel = 9 if "experts" in title else 2
        papers.append({**scores([pid], relevance=rel, novelty=7)["papers"][0]})
    return ok({"papers": papers}, prompt_tokens=200, completion_tokens=30)


def run_bench(data: Path, tmp_path: Path, server: FakeOpenAI, *extra: str) -> subprocess.CompletedProcess:
    config = tmp_path / "paperradar.toml"
    config.write_text(
        f"""[llm]
base_url = "{server.base_url}"
api_key_env = "TEST_LLM_KEY"
model = "fake-judge"
structured_output = "none"
max_retries = 1
retry_wait_seconds = 0
timeout_seconds = 10
""",
        encoding="utf-8",
    )
    env = {**os.environ, "TEST_LLM_KEY": "sk-test", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, str(REPO / "bench" / "prefilter_days.py"), "--days", str(data / "days")]
    cmd += ["--cache", str(tmp_path / "emb.db"), "--llm-only", "--config", str(config)]
    cmd += ["--llm-store", str(tmp_path / "llm.db"), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)


def test_llm_check_scores_screen_and_judge_against_labels_and_pays_once(data, tmp_path):
    with FakeOpenAI(default=obeying_titles) as server:
        first = run_bench(data, tmp_path, server, "--llm-scope", "all")
        assert first.returncode == 0, first.stderr
        sent = len(server.requests)
        again = run_bench(data, tmp_path, server, "--llm-scope", "all")
        assert again.returncode == 0, again.stderr
        assert len(server.requests) == sent, "a rerun must read the logged answers, not pay again"
    rows = [line for line in first.stdout.splitlines() if line.startswith("| 2026-03-0")]
    # Each day: 24 read, 6 labelled picks; the screen drops variant 1 (a pick) and the 18 farm
    # papers, one of them a pick; the judge selects the other 5 MoE papers, 4 of them picks.
    assert rows == [f"| {d} | G | 24 | 6/6 | 19 | 2 | 5 | 4 | 230 | 230 | — |" for d in DAYS]
    assert first.stdout.strip().splitlines()[-1] == "llm screen recall 0.67 judge recall 0.67 precision 0.80 tokens 920"
    assert again.stdout.strip().splitlines()[-1] == first.stdout.strip().splitlines()[-1]


def test_llm_check_reads_what_the_default_configuration_sends(data, tmp_path):
    with FakeOpenAI(default=obeying_titles) as server:
        done = run_bench(data, tmp_path, server, "--llm-days", "1")
        assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| 2026-03-0")]
    assert len(rows) == 1 and rows[0].startswith(f"| {DAYS[-1]} | G |")
    read = int(rows[0].split("|")[3])
    assert 10 <= read < 24  # the shortlist and its exploration sample, not the whole day
