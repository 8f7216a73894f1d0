import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paperradar.cli import app
from paperradar.core.store import Store

from .conftest import DAY, SAMPLE_PAPERS

pytestmark = pytest.mark.postgres

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_every_command_has_help():
    import typer.main

    group = typer.main.get_command(app)
    for name in group.list_commands(None):
        result = invoke(name, "--help")
        assert result.exit_code == 0, name
        assert "Usage" in result.output


def test_init_writes_a_valid_template_and_refuses_to_overwrite(tmp_path):
    target = tmp_path / "paperradar.toml"
    assert invoke("init", target).exit_code == 0
    from paperradar.core.config import load_config

    assert load_config(target).categories == ["cs.LG", "stat.ML"]
    again = invoke("init", target)
    assert again.exit_code == 1 and "--force" in again.output


def test_bad_config_is_one_clear_line(tmp_path):
    cfg = tmp_path / "paperradar.toml"
    cfg.write_text("[prefilter]\nshortlist_size = 0\n")
    result = invoke("run", "--date", "2026-02-24", "--config", cfg)
    assert result.exit_code == 1
    assert "prefilter.shortlist_size" in result.output and "Traceback" not in result.output


def test_bad_date_is_explained(config_path):
    result = runner.invoke(app, ["run", "--date", "24/02/2026", "--config", str(config_path)])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_digest_before_run_says_what_to_do(config_path):
    result = invoke("digest", "--date", "2026-02-24", "--config", config_path)
    assert result.exit_code == 1
    assert "paperradar run --date 2026-02-24" in result.output


def test_run_then_digest_and_runs(config, config_path, embedder, monkeypatch):
    monkeypatch.setattr("paperradar.core.context.Embedder", lambda *a, **k: embedder)
    with Store(config.database) as store:
        store.upsert_papers(SAMPLE_PAPERS, DAY)
    result = invoke("run", "--date", "2026-02-24", "--config", config_path)
    assert result.exit_code == 0, result.output
    assert "5 papers seen, 3 shortlisted" in result.output
    md_path = config.output_dir / "2026-02-24" / "digest.md"
    assert f"markdown: {md_path}" in result.output

    out = invoke("digest", "--date", "2026-02-24", "--format", "json", "--config", config_path)
    assert json.loads(out.stdout)["counts"]["shortlisted"] == 3

    table = invoke("runs", "--config", config_path)
    assert "prefilter" in table.output and "ok" in table.output


@pytest.mark.parametrize("args", [["--from", "2026-02-24"], ["--from", "2026-02-25", "--to", "2026-02-24"]])
def test_ingest_range_arguments_are_checked(config_path, args):
    result = runner.invoke(app, ["ingest", *args, "--config", str(config_path)])
    assert result.exit_code == 2


@pytest.mark.slow
def test_demo_runs_offline_end_to_end_and_again_without_recomputing(tmp_path, monkeypatch):
    import httpx

    from paperradar.demo import setup as demo_setup

    # Whatever is installed here, the demo under test is the one CI users get: no local LLM.
    monkeypatch.setattr(demo_setup, "local_backend_installed", lambda: False)

    def no_network(*args, **kwargs):
        raise AssertionError("the demo must not touch the network")

    monkeypatch.setattr(httpx.Client, "send", no_network)
    folder = tmp_path / "demo"
    first = invoke("demo", folder)
    assert first.exit_code == 0, first.output
    digest = folder / "digests" / "2026-02-24" / "digest.md"
    text = digest.read_text(encoding="utf-8")
    assert "Papers seen: 161 · shortlisted: 15" in text
    assert "Grokking Finite-Dimensional Algebra" in text and "**Why:**" in text
    assert (folder / "site" / "index.html").exists()
    with Store(folder / "paperradar.db") as store:
        embedded = store.conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
    second = invoke("demo", folder)
    assert second.exit_code == 0, second.output
    assert digest.read_text(encoding="utf-8") == text
    with Store(folder / "paperradar.db") as store:
        assert store.conn.execute("SELECT count(*) FROM embeddings").fetchone()[0] == embedded == 161
        runs = store.runs(5)
        assert [r["status"] for r in runs[:2]] == ["ok", "ok"]
        embed_stage = next(s for s in runs[0]["stages"] if s["stage"] == "embed")
        assert embed_stage["detail"]["computed"] == 0


def test_demo_config_with_the_local_extra_judges_offline_and_skips_assessments():
    import tomllib

    from paperradar.core.config import parse_config
    from paperradar.demo import demo_profile_path
    from paperradar.demo.setup import demo_config_text

    profile = demo_profile_path().read_text(encoding="utf-8")
    local = parse_config(tomllib.loads(demo_config_text(profile, local_judge=True)), Path("demo.toml"))
    assert local.llm.backend == "local" and local.judge.enabled == "on" and local.tournament.enabled == "off"
    assert local.signals.sources == []
    plain = parse_config(tomllib.loads(demo_config_text(profile)), Path("demo.toml"))
    assert plain.llm.backend == "openai" and plain.signals.sources == []
