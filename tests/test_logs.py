"""Structured logs: JSON lines with timestamp, level, logger, message and the record's fields; text by default."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest
from typer.testing import CliRunner

from paperradar.cli import app
from paperradar.core.logs import configure_logging

from .webdata import fill_store

SECRET_URL = "postgresql://radar:hunter2-very-secret@db.example/radar"


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def restore_loggers():
    names = ("paperradar", "uvicorn")
    saved = {n: (list(logging.getLogger(n).handlers), logging.getLogger(n).level) for n in names}
    yield
    for n, (handlers, level) in saved.items():
        logger = logging.getLogger(n)
        logger.handlers[:] = handlers
        logger.setLevel(level)


def test_a_json_line_carries_the_record_and_its_fields_redacted(restore_loggers):
    out = io.StringIO()
    configure_logging("json", stream=out)
    log = logging.getLogger("paperradar.worker")
    log.info("job %s done", "judge", extra={"day": "2026-02-24", "profile": "alice", "job": 17, "seconds": 1.5})
    log.warning("cannot reach %s", SECRET_URL, extra={"stage": "ingest", "url": SECRET_URL})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("stage failed", extra={"stage": "judge"})
    first, second, third = json_lines(out.getvalue())
    assert first["message"] == "job judge done" and first["level"] == "info" and first["logger"] == "paperradar.worker"
    assert (first["day"], first["profile"], first["job"], first["seconds"]) == ("2026-02-24", "alice", 17, 1.5)
    stamp = dt.datetime.fromisoformat(first["timestamp"])
    assert stamp.utcoffset() == dt.timedelta(0)
    assert "hunter2" not in json.dumps(second) and second["stage"] == "ingest" and second["level"] == "warning"
    assert third["level"] == "error" and "ValueError: boom" in third["exception"]


def test_text_shows_warnings_only_and_configuring_again_replaces_the_handler(restore_loggers):
    out = io.StringIO()
    configure_logging("text", stream=out)
    configure_logging("text", stream=out)
    log = logging.getLogger("paperradar.test")
    log.info("not shown")
    log.warning("shown once", extra={"day": "2026-02-24"})
    assert out.getvalue() == "WARNING paperradar.test: shown once\n"
    with pytest.raises(ValueError, match="use one of text, json"):
        configure_logging("xml")


def test_uvicorn_access_lines_become_fields(restore_loggers):
    out = io.StringIO()
    configure_logging("json", loggers=("paperradar", "uvicorn"), stream=out)
    access = logging.getLogger("uvicorn.access")
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:50000", "GET", "/healthz", "1.1", 200)
    (line,) = json_lines(out.getvalue())
    assert (line["method"], line["path"], line["status"], line["logger"]) == ("GET", "/healthz", 200, "uvicorn.access")


@pytest.fixture
def filled(config):
    fill_store(config)
    return config


def digest_cli(config, *args: str, env: dict | None = None):
    return CliRunner().invoke(
        app, [*args, "digest", "--date", "2026-02-24", "--config", str(config.source)], env=env or {}
    )


def test_the_daily_run_logs_each_stage_as_json_when_asked(filled, restore_loggers):
    result = digest_cli(filled, "--log-format", "json")
    assert result.exit_code == 0, result.output
    records = json_lines(result.stderr)
    assert [r["message"] for r in records] == ["run started", "stage digest finished", "run finished"]
    stage = records[1]
    assert stage["day"] == "2026-02-24" and stage["stage"] == "digest" and stage["command"] == "digest"
    assert isinstance(stage["seconds"], float) and stage["run_id"] == records[0]["run_id"]
    assert records[2]["status"] == "ok" and records[0]["logger"] == "paperradar.core.pipeline"


def test_the_environment_variable_chooses_json_and_text_stays_quiet(filled, restore_loggers):
    assert json_lines(digest_cli(filled, env={"PAPERRADAR_LOG_FORMAT": "json"}).stderr)
    quiet = digest_cli(filled)
    assert quiet.exit_code == 0 and json_lines(quiet.stderr) == [] and "run started" not in quiet.stderr
    refused = CliRunner().invoke(app, ["--log-format", "xml", "runs"])
    assert refused.exit_code == 2 and "xml" in refused.output


def test_serve_hands_uvicorn_no_log_config_of_its_own_for_json(config, monkeypatch, restore_loggers):
    import uvicorn

    from paperradar.outputs.web import app as web_app

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append(kw))
    monkeypatch.delenv("PAPERRADAR_WEB_TOKEN", raising=False)
    web_app.serve(config, log_format="json")
    web_app.serve(config)
    assert calls[0]["log_config"] is None and calls[1]["log_config"] is uvicorn.config.LOGGING_CONFIG
    assert calls[0]["host"] == "127.0.0.1"
