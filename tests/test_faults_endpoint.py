"""Hostile configuration and a failing LLM endpoint: secrets never leak, errors print as written, a dead
endpoint stops the run (failed, non-zero exit) instead of being asked hundreds of times."""

from __future__ import annotations

import sqlite3

import pytest
from typer.testing import CliRunner

from paperradar.cli import app

from .conftest import DAY
from .fake_openai import FakeOpenAI, error
from .faults import make_workspace

SECRET = "hunter2SECRETpw"
runner = CliRunner()


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def everything_written(ws) -> str:
    """The store's every row and every output file, as one text."""
    conn = sqlite3.connect(ws.db)
    dump = "\n".join(conn.iterdump())
    conn.close()
    files = [p for p in ws.root.rglob("*") if p.is_file() and p.suffix != ".db" and p.name != "paperradar.toml"]
    return dump + "".join(p.read_text(encoding="utf-8", errors="replace") for p in files)


@pytest.fixture
def failing_server():
    with FakeOpenAI(default=lambda request: error(500, "upstream exploded [/red] [bold]")) as s:
        yield s


def test_credentials_in_base_url_never_reach_the_store_outputs_or_messages(tmp_path, failing_server):
    ws = make_workspace(tmp_path, failing_server)
    text = ws.config.read_text(encoding="utf-8").replace("http://", f"http://radar:{SECRET}@")
    ws.config.write_text(text, encoding="utf-8")
    done = ws.run()
    written = everything_written(ws)
    assert "radar:***@" in written or "***@" in written  # the errors were stored, redacted
    assert SECRET not in written
    assert SECRET not in done.stdout + done.stderr
    assert (ws.root / "out" / DAY.isoformat() / "digest.md").exists()
    # The outputs the secret once reached were all written (and so searched above).
    assert {"atom.xml", "rss.xml", "index.html"} <= {p.name for p in (ws.root / "site").rglob("*")}


def test_dead_endpoint_trips_the_breaker_and_fails_the_run(tmp_path, failing_server):
    ws = make_workspace(tmp_path, failing_server, llm_extra="max_consecutive_failures = 3")
    done = ws.run()
    assert done.returncode == 1
    assert "failed 3 times in a row" in done.stderr and "Traceback" not in done.stderr
    assert "[/red] [bold]" in done.stderr  # upstream text printed as written, not as markup
    requests = failing_server.requests
    assert not any("<paper_1" in r["messages"][-1]["content"] for r in requests)  # no tournament
    assert len(requests) <= (3 + 2) * 2  # breaker + in flight (concurrency 2), each tried twice
    with ws.store() as store:
        run = store.runs(1)[0]
    assert run["status"] == "failed" and "in a row" in run["error"]


def test_html_200_is_a_logged_llm_error_not_a_crash(tmp_path):
    page = {"status": 200, "body": "<html><body>Please log in</body></html>", "headers": {"Content-Type": "text/html"}}
    with FakeOpenAI(default=lambda request: page) as server:
        ws = make_workspace(tmp_path, server, llm_extra="max_consecutive_failures = 2")
        done = ws.run()
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "not a chat completion" in done.stderr
    with ws.store() as store:
        errors = [r[0] for r in store.conn.execute("SELECT error FROM llm_calls")]
    assert errors and all("not a chat completion" in e for e in errors)


def test_key_pasted_into_api_key_env_is_refused_and_not_printed(tmp_path):
    cfg = tmp_path / "paperradar.toml"
    cfg.write_text('[llm]\napi_key_env = "sk-proj-Abc123Def456Ghi789"\n', encoding="utf-8")
    result = cli("runs", "--config", cfg)
    assert result.exit_code == 1
    assert "api_key_env" in result.output and "NAME of an environment variable" in result.output
    assert "Abc123Def456" not in result.output


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'[paperradar]\ncategories = ["cs.LG"]\n# caf\xe9\n', "is not UTF-8 text"),
        (b'[llm.stages.judgee]\nmodel = "x"\n', "unknown stage judgee"),
        (b'[llm]\nbase_url = "http://x"\nunknown_key = 1\n', "llm.unknown_key: unknown key"),
    ],
)
def test_config_mistakes_are_one_clear_line(tmp_path, content, expected):
    cfg = tmp_path / "paperradar.toml"
    cfg.write_bytes(content)
    result = cli("runs", "--config", cfg)
    assert result.exit_code == 1
    assert expected in result.output and "Traceback" not in result.output


def test_directory_as_config_and_brackets_print_literally(tmp_path):
    result = cli("runs", "--config", tmp_path)
    assert result.exit_code == 1 and "is a folder, not a configuration file" in result.output
    odd = tmp_path / "x[/red]y" / "paperradar.toml"
    result = cli("runs", "--config", odd)
    assert result.exit_code == 1 and "x[/red]y" in result.output and "Traceback" not in result.output


def _every_table() -> list[tuple[str, dict]]:
    """The init template with every commented-out table switched on, as (name, document) per table."""
    import re
    import tomllib

    from paperradar.core.config import TEMPLATE

    lines = TEMPLATE.splitlines()
    # Uncomment the example tables ([[sources]], [llm.stages.*], [llm.prices.*]) and their keys.
    on, text = False, []
    for line in lines:
        if re.match(r"^# \[", line):
            on = True
        elif on and not re.match(r"^# \w[\w.\"-]* *=", line):
            on = False
        text.append(line[2:].split("  #")[0] if on else line)
    doc = tomllib.loads("\n".join(text))
    tables: list[tuple[str, list]] = []

    def walk(node, path):
        if isinstance(node, dict):
            tables.append((".".join(path) or "(top)", path))
            for k, v in node.items():
                walk(v, [*path, k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                if isinstance(v, dict):
                    walk(v, [*path, str(i)])

    walk(doc, [])
    # [llm.stages] and [llm.prices] map names to tables: a name there is checked by name (test above).
    return [(name, path) for name, path in tables if name not in ("llm.stages", "llm.prices")], doc


TABLES, TEMPLATE_DOC = _every_table()


def test_the_template_is_valid_and_has_every_kind_of_table(tmp_path):
    import copy

    from paperradar.core.config import parse_config

    parse_config(copy.deepcopy(TEMPLATE_DOC), tmp_path / "paperradar.toml")
    names = {n for n, _ in TABLES}
    assert {"llm.stages.judge", "llm.prices.my-model", "sources.0", "sources.3", "profile.topics.0"} <= names
    assert len(names) >= 20


@pytest.mark.parametrize(("name", "path"), TABLES, ids=[n for n, _ in TABLES])
def test_an_unknown_key_in_any_table_is_one_clear_line(tmp_path, name, path):
    import copy

    from paperradar.core.config import parse_config
    from paperradar.core.errors import ConfigError

    doc = copy.deepcopy(TEMPLATE_DOC)
    node = doc
    for part in path:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node["colour_mistyped"] = 1
    with pytest.raises(ConfigError) as err:
        parse_config(doc, tmp_path / "paperradar.toml")
    problems = [line for line in str(err.value).splitlines() if line.startswith("  - ")]
    assert len(problems) == 1 and problems[0].endswith(
        "colour_mistyped: unknown key (check its spelling against `paperradar init`'s template)"
    ), str(err.value)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("key sk-proj-Abc123Def456Ghi789Jkl", "key ***"),
        ("http://radar:hunter2@host/v1 failed", "http://***@host/v1 failed"),
        ("Authorization: Bearer abc.DEF-123456789", "Authorization: Bearer ***"),
        ("GET /q?api_key=abc123&x=1", "GET /q?api_key=***&x=1"),
        ("pasted 9fQ2x7LmR4tY8uW1zK6pN3vB5cD0eHjA", "pasted ***"),
        ("token a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0", "token ***"),
        # Names made of words stay readable: errors must say which file and which variable.
        ("/tmp/test_an_unknown_key_in_any_table_is_one_clear_line_0/paperradar.toml", None),
        ("set SEMANTIC_SCHOLAR_API_KEY_FOR_THE_RADAR_2026", None),
        ("paper 2602.19533v1 in cs.LG", None),
    ],
)
def test_redaction_hides_secrets_and_keeps_names(text, shown):
    from paperradar.core.redact import redact

    assert redact(text) == (text if shown is None else shown)
