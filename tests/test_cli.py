import json

import pytest
from typer.testing import CliRunner

from paperradar.cli import app
from paperradar.store import Store

from .conftest import DAY, SAMPLE_PAPERS

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
    from paperradar.config import load_config

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
    monkeypatch.setattr("paperradar.pipeline.Embedder", lambda *a, **k: embedder)
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
