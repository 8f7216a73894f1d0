"""`paperradar deliver` and `paperradar site build` end to end, with a real SMTP server."""

from __future__ import annotations

import datetime as dt
import json

from typer.testing import CliRunner

from paperradar.cli import app
from paperradar.core.store import Store
from paperradar.outputs.write import write_digest

from .sample_digest import DAY, sample_digest
from .test_email_delivery import Handler, free_port, make_config, smtp  # noqa: F401  (smtp is a fixture)

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_deliver_sends_once_and_force_sends_again(tmp_path, smtp):  # noqa: F811
    handler = Handler()
    config = make_config(tmp_path, smtp(handler))
    write_digest(sample_digest(), config.output_dir)
    cfg = config.source

    first = invoke("deliver", "--date", DAY, "--config", cfg)
    assert first.exit_code == 0, first.output
    assert len(handler.received) == 2
    # Default channels: e-mail plus the feeds and the site, which are on by default.
    assert (config.output_dir / "atom.xml").is_file() and (config.site.dir / f"{DAY}.html").is_file()

    again = invoke("deliver", "--date", DAY, "--config", cfg, "--channel", "email")
    assert again.exit_code == 0 and "already sent" in again.output
    assert len(handler.received) == 2

    forced = invoke("deliver", "--date", DAY, "--config", cfg, "--channel", "email", "--force")
    assert forced.exit_code == 0 and len(handler.received) == 4
    with Store(config.database) as store:
        rows = store.conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()
    assert rows == [("sent", 4)]


def test_deliver_failure_exits_nonzero_with_the_servers_answer(tmp_path, smtp):  # noqa: F811
    handler = Handler(reply="554 5.7.1 Relay access denied")
    config = make_config(tmp_path, smtp(handler))
    write_digest(sample_digest(), config.output_dir)
    result = invoke("deliver", "--date", DAY, "--config", config.source, "--channel", "email")
    assert result.exit_code == 1
    assert "554 5.7.1 Relay access denied" in result.output


def test_deliver_without_a_digest_says_what_to_run(tmp_path):
    config = make_config(tmp_path, free_port())
    result = invoke("deliver", "--date", "2026-01-05", "--config", config.source)
    assert result.exit_code == 1
    assert "paperradar run --date 2026-01-05" in result.output


def test_unknown_channel_is_an_error(tmp_path):
    config = make_config(tmp_path, free_port())
    write_digest(sample_digest(), config.output_dir)
    result = invoke("deliver", "--date", DAY, "--config", config.source, "--channel", "fax")
    assert result.exit_code == 1 and "Unknown delivery channel fax" in result.output


def test_site_build(tmp_path):
    config = make_config(tmp_path, free_port())
    for day in (DAY - dt.timedelta(days=1), DAY):
        write_digest(sample_digest(day), config.output_dir)
    out = tmp_path / "public"
    result = invoke("site", "build", "--config", config.source, "--out", out)
    assert result.exit_code == 0, result.output
    assert "2 day pages" in result.output
    assert (out / "index.html").is_file() and (out / "rss.xml").is_file()
    assert json.loads((config.output_dir / str(DAY) / "digest.json").read_text())["day"] == str(DAY)


def test_pipeline_stage_reports_failures_without_raising(tmp_path, smtp):  # noqa: F811
    from types import SimpleNamespace

    from paperradar.outputs.deliver import stage_deliver

    handler = Handler(reply="554 5.7.1 Relay access denied")
    config = make_config(tmp_path, smtp(handler))
    digest = sample_digest()
    write_digest(digest, config.output_dir)
    said: list[str] = []
    with Store(config.database) as store:
        ctx = SimpleNamespace(store=store, config=config, digest=digest, reporter=SimpleNamespace(info=said.append))
        detail = stage_deliver(ctx)
    assert detail["sent"] == 0 and detail["written"] == 3  # atom, rss, site
    assert len(detail["failed"]) == 2 and all("554 5.7.1" in f for f in detail["failed"])
    assert len(said) == 2 and "Relay access denied" in said[0]
