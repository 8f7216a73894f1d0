#!/usr/bin/env python3
"""One digest section per source, from the recorded API answers the tests replay.

Starts the tests' loopback server (``tests/loopback.py``) with the recorded answers in
``tests/fixtures/`` (arXiv RSS, bioRxiv and medRxiv details pages, OpenReview notes, an RSS 1.0
journal feed, an Atom lab feed, Semantic Scholar author papers and citations), runs the real
ingest, embed, prefilter and digest stages of one day with every source configured, then prints
``paperradar digest --format markdown --source NAME`` for each source: the papers that appear
there, as a reader gets them. Nothing leaves the machine.

    python scripts/source_examples.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.loopback import ReplayServer, Reply  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "sources"
DAY = dt.date(2026, 2, 24)
SOURCES = ["arxiv", "biorxiv", "medrxiv", "iclr2027", "elife", "nordmann-lab", "semanticscholar"]

CONFIG = """
[paperradar]
categories = ["q-bio.NC"]
database = "db/paperradar.db"
output_dir = "out"

[arxiv]
rss_base_url = "{url}/rss"

[prefilter]
shortlist_size = 30

[[profile.topics]]
name = "Olfaction"
relevant = "How the olfactory system encodes odors: olfactory bulb, piriform cortex, sparse codes, smell loss."

[[sources]]
type = "biorxiv"
base_url = "{url}"
categories = ["neuroscience"]
delay_seconds = 0

[[sources]]
type = "medrxiv"
base_url = "{url}"
delay_seconds = 0

[[sources]]
type = "openreview"
name = "iclr2027"
base_url = "{url}"
venues = ["ICLR.cc/2027/Conference"]
delay_seconds = 0

[[sources]]
type = "feed"
name = "elife"
url = "{url}/elife.xml"
delay_seconds = 0

[[sources]]
type = "feed"
name = "nordmann-lab"
url = "{url}/lab.atom"
delay_seconds = 0

[[sources]]
type = "semanticscholar"
base_url = "{url}"
authors = ["1741101"]
my_papers = ["2310.01234", "10.1101/2025.01.01.000001"]
delay_seconds = 0
"""


def fixture(name: str, folder: Path = FIXTURES) -> bytes:
    return (folder / name).read_bytes()


def script_answers(server: ReplayServer) -> None:
    """The same recorded answers as tests/test_more_sources.py and tests/test_sources.py."""
    server.always("/rss/q-bio.NC", Reply(200, fixture("arxiv_rss_q-bio.NC.xml")))
    pages = f"/details/biorxiv/{DAY}/{DAY}"
    server.always(f"{pages}/0", Reply(200, fixture("biorxiv_neuroscience_page1.json")))
    server.always(f"{pages}/2", Reply(200, fixture("biorxiv_neuroscience_page2.json")))
    server.always(f"/details/medrxiv/{DAY}/{DAY}/0", Reply(200, fixture("medrxiv_page1.json")))
    server.add("/notes", Reply(200, fixture("openreview_page1.json")), Reply(200, fixture("openreview_page2.json")))
    server.always("/elife.xml", Reply(200, fixture("journal_rss.xml"), {"Content-Type": "application/rdf+xml"}))
    server.always("/lab.atom", Reply(200, fixture("lab_atom.xml"), {"Content-Type": "application/atom+xml"}))
    server.add("/author/1741101/papers", Reply(200, fixture("s2_author_page1.json")))
    server.add("/author/1741101/papers", Reply(200, fixture("s2_author_page2.json")))
    server.always("/paper/ARXIV:2310.01234/citations", Reply(200, fixture("s2_citations.json")))
    server.always("/paper/DOI:10.1101/2025.01.01.000001/citations", Reply(404, fixture("s2_not_found.json")))

    def batch(request):
        ids = request.json()["ids"]
        return Reply.json(
            [{"paperId": f"s2-{i}", "citationCount": n} if i.startswith("ARXIV") else None for n, i in enumerate(ids)]
        )

    server.always("/paper/batch", batch)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="folder for the database and digests (default: a temporary one)")
    args = ap.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

    from typer.testing import CliRunner

    from paperradar.cli import app
    from paperradar.core.config import parse_config
    from paperradar.core.pipeline import run_day

    folder = args.keep or Path(tempfile.mkdtemp(prefix="paperradar-sources-"))
    folder.mkdir(parents=True, exist_ok=True)
    with ReplayServer() as server:
        script_answers(server)
        text = CONFIG.format(url=server.url)
        path = folder / "paperradar.toml"
        path.write_text(text, encoding="utf-8")
        config = parse_config(tomllib.loads(text), path)
        run_day(config, DAY, stages=["ingest", "embed", "prefilter", "digest"], command="examples")
    runner = CliRunner()
    for name in SOURCES:
        cmd = ["digest", "--date", DAY.isoformat(), "--format", "markdown", "--source", name, "-c", str(path)]
        out = runner.invoke(app, cmd)
        if out.exit_code != 0:
            print(out.output, file=sys.stderr)
            return 1
        print(f"<!-- paperradar {' '.join(cmd[:-2])} -->")
        print(out.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
