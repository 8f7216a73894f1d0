"""Slack and JSON webhook delivery against the loopback replay server."""

from __future__ import annotations

import tomllib

from paperradar.core.config import parse_config
from paperradar.core.store import Store
from paperradar.outputs.deliver import deliver_all, deliveries

from .loopback import Reply
from .sample_digest import DAY, sample_digest
from .test_email_delivery import free_port


def make_config(tmp_path, server, extra: str = ""):
    text = f"""
[paperradar]
database = "db/paperradar.db"
output_dir = "out"
[slack]
webhook_url_env = "TEST_SLACK_WEBHOOK"
[webhook]
url = "{server.url}/hook?token=secret"
[delivery]
top = 2
attempts = 3
retry_wait_seconds = 0
[site]
base_url = "https://me.example.io/radar/"
{extra}
"""
    path = tmp_path / "paperradar.toml"
    path.write_text(text)
    return parse_config(tomllib.loads(text), path)


def test_slack_message_is_compact_escaped_and_sent_once(tmp_path, replay_server, monkeypatch):
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", f"{replay_server.url}/services/T0/B0/xyz")
    replay_server.add("/services/T0/B0/xyz", Reply.text("ok"), method="POST")
    config = make_config(tmp_path, replay_server)
    with Store(config.database) as store:
        [result] = deliver_all(store, config, sample_digest(), channels=["slack"])
        assert (result.status, result.attempts, result.target) == ("sent", 1, "$TEST_SLACK_WEBHOOK")
        assert result.response == "HTTP 200 ok"
        [request] = replay_server.requests
        assert request.headers["content-type"] == "application/json"
        payload = request.json()
        sections = [b for b in payload["blocks"] if b["type"] == "section"]
        assert len(sections) == 2  # delivery.top
        first, second = (s["text"]["text"] for s in sections)
        assert first.startswith("*1. <https://arxiv.org/abs/2602.11111|Grokking Is a Phase Transition in Sharpness>*")
        assert "relevance 9/10" in first and "Directly about training dynamics" in first
        # Slack control sequences in paper text are escaped, so <!channel> pings nobody.
        assert "&lt;script&gt;" in second and "<script>" not in second
        assert "<!channel>" not in str(payload)
        assert "https://me.example.io/radar/2026-02-24.html" in str(payload["blocks"][1])
        # The webhook URL is a secret: only the variable's name is stored.
        [row] = deliveries(store, DAY)
        assert row.target == "$TEST_SLACK_WEBHOOK" and "xyz" not in str(row)

        [again] = deliver_all(store, config, sample_digest(), channels=["slack"])
        assert again.status == "skipped" and len(replay_server.requests) == 1


def test_slack_server_errors_are_retried_then_reported(tmp_path, replay_server, monkeypatch):
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", f"{replay_server.url}/hook")
    replay_server.add("/hook", Reply.text("busy", 503), Reply.text("rate limited", 429), Reply.text("down", 500))
    config = make_config(tmp_path, replay_server)
    with Store(config.database) as store:
        [result] = deliver_all(store, config, sample_digest(), channels=["slack"])
        assert (result.status, result.attempts) == ("failed", 3)
        assert result.response == "HTTP 500 down"
        assert deliveries(store, DAY)[0].status == "failed"
    assert replay_server.pending() == {}


def test_slack_client_errors_are_not_retried(tmp_path, replay_server, monkeypatch):
    monkeypatch.setenv("TEST_SLACK_WEBHOOK", f"{replay_server.url}/hook")
    replay_server.add("/hook", Reply.text("invalid_payload", 400))
    config = make_config(tmp_path, replay_server)
    with Store(config.database) as store:
        [result] = deliver_all(store, config, sample_digest(), channels=["slack"])
    assert (result.status, result.attempts, result.response) == ("failed", 1, "HTTP 400 invalid_payload")


def test_missing_slack_variable_is_reported(tmp_path, replay_server, monkeypatch):
    monkeypatch.delenv("TEST_SLACK_WEBHOOK", raising=False)
    config = make_config(tmp_path, replay_server)
    with Store(config.database) as store:
        [result] = deliver_all(store, config, sample_digest(), channels=["slack"])
    assert result.status == "failed" and "TEST_SLACK_WEBHOOK is not set" in result.response
    assert replay_server.requests == []


def test_json_webhook_payload_and_recovery(tmp_path, replay_server):
    replay_server.add("/hook", Reply.text("busy", 503), Reply.json({"received": True}), method="POST")
    config = make_config(tmp_path, replay_server)
    with Store(config.database) as store:
        [result] = deliver_all(store, config, sample_digest(), channels=["webhook"])
        assert (result.status, result.attempts) == ("sent", 2)
        # Query strings can hold tokens: the stored target has none.
        assert result.target == f"{replay_server.url}/hook"
        assert deliveries(store, DAY)[0].target == f"{replay_server.url}/hook"
    request = replay_server.requests[-1]
    assert request.query["token"] == "secret"
    body = request.json()
    assert body["day"] == str(DAY) and body["url"] == "https://me.example.io/radar/2026-02-24.html"
    assert [p["arxiv_id"] for p in body["papers"]] == ["2602.11111", "2602.22222"]
    assert body["papers"][1]["title"].startswith("Attention <script>")  # JSON: data, escaped by the encoder
    assert body["papers"][0]["judgment"]["relevance"] == 9
    assert body["papers"][0]["abs_url"] == "https://arxiv.org/abs/2602.11111"


def test_connection_refused_is_retried(tmp_path, replay_server):
    config = make_config(tmp_path, replay_server)
    config.webhook.url = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there
    with Store(config.database) as store:
        [result] = deliver_all(store, config, sample_digest(), channels=["webhook"])
    assert (result.status, result.attempts) == ("failed", 3)
    assert "ConnectError" in result.response
