"""[paperradar] log_format has an effect: the same command logs JSON lines, or stays quiet in text."""

from __future__ import annotations

import json
import tomllib

from typer.testing import CliRunner

from paperradar.cli import app

from .conftest import PROFILE_TOML
from .webdata import fill_store


def records(tmp_path, change: dict) -> list[dict]:
    """The JSON records `paperradar digest` writes on stderr with ``change`` merged into [paperradar]."""
    from paperradar.core.config import parse_config

    text = PROFILE_TOML
    if "log_format" in change.get("paperradar", {}):
        text = text.replace("[paperradar]\n", f'[paperradar]\nlog_format = "{change["paperradar"]["log_format"]}"\n', 1)
    folder = tmp_path / ("changed" if change else "base")
    folder.mkdir()
    (folder / "paperradar.toml").write_text(text, encoding="utf-8")
    config = parse_config(tomllib.loads(text), folder / "paperradar.toml")
    fill_store(config)
    result = CliRunner().invoke(app, ["digest", "--date", "2026-02-24", "--config", str(config.source)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]


# key -> (change, observe)
PROBES = {
    "paperradar.log_format": ({"paperradar": {"log_format": "json"}}, records),
}


def test_log_format_changes_what_the_daily_run_writes_on_stderr(tmp_path):
    import logging

    logger = logging.getLogger("paperradar")
    saved = list(logger.handlers), logger.level
    try:
        change, observe = PROBES["paperradar.log_format"]
        before, after = observe(tmp_path, {}), observe(tmp_path, change)
    finally:
        logger.handlers[:] = saved[0]
        logger.setLevel(saved[1])
    assert before == [] and before != after
    assert {r["stage"] for r in after if "stage" in r} == {"digest"}
