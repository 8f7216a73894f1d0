"""``GET /healthz``: no login, the store's engine, migrations and newest day; 503 when the store does not answer."""

from __future__ import annotations

import os
import socket

import pytest
from fastapi.testclient import TestClient

from paperradar.core.migrations import MIGRATIONS
from paperradar.outputs.web import create_app
from paperradar.outputs.web.security import TOKEN_ENV

from .webdata import HashEmbedder, fill_store

TOKEN = "correct-horse-battery-staple-42"


@pytest.mark.postgres
def test_health_answers_without_a_login_and_describes_the_store(config, store_location, monkeypatch):
    config.database = store_location
    fill_store(config)
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    with TestClient(create_app(config, embedder=HashEmbedder()), base_url="http://127.0.0.1") as client:
        r = client.get("/healthz")
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        body = r.json()
        assert body["status"] == "ok"
        backend = "postgresql" if str(store_location).startswith("postgresql://") else "sqlite"
        assert body["database"] == {"backend": backend}
        assert body["migrations"] == {"applied": len(MIGRATIONS), "expected": len(MIGRATIONS), "pending": []}
        assert body["newest_day"] == "2026-02-24"
        if backend == "sqlite":  # the job queue lives in PostgreSQL only
            assert body["queue"] == {"configured": False}
        else:  # a PostgreSQL store is the queue's database too; no worker has created its tables yet
            assert body["queue"] == {"configured": True, "reachable": True, "waiting": None}
        # Only the health check is open: the pages still ask for the token.
        assert client.get("/", follow_redirects=False).status_code == 303


def test_health_is_503_with_the_reason_when_the_store_does_not_answer(config, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    app = create_app(config, embedder=HashEmbedder())  # migrates the store, opens nothing for requests yet
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{config.database}{suffix}"):
            os.remove(f"{config.database}{suffix}")
    config.database.write_bytes(b"this is not a SQLite database, it was overwritten" * 100)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        r = client.get("/healthz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable"
    assert body["database"]["backend"] == "sqlite"
    assert "not a database" in body["database"]["error"]


def test_an_empty_store_is_healthy_with_no_day_yet(config, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with TestClient(create_app(config, embedder=HashEmbedder()), base_url="http://127.0.0.1") as client:
        body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["newest_day"] is None
    assert body["migrations"]["pending"] == []


def test_a_configured_queue_is_checked_and_an_unreachable_one_degrades_the_status(config, pg_url, monkeypatch):
    from paperradar.worker.jobs import make_app
    from paperradar.worker.queue import ensure_schema

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    config.worker.queue = pg_url
    with make_app(config, pg_url).open() as queue:
        ensure_schema(queue)
    with TestClient(create_app(config, embedder=HashEmbedder()), base_url="http://127.0.0.1") as client:
        body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["queue"] == {"configured": True, "reachable": True, "waiting": 0}

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    config.worker.queue = f"postgresql://paperradar@127.0.0.1:{closed}/queue"
    with TestClient(create_app(config, embedder=HashEmbedder()), base_url="http://127.0.0.1") as client:
        r = client.get("/healthz")
    assert r.status_code == 200  # the store answers: the pages work
    body = r.json()
    assert body["status"] == "degraded"
    assert body["queue"]["configured"] is True and body["queue"]["reachable"] is False
    assert "Connection refused" in body["queue"]["error"] or "connect" in body["queue"]["error"]
