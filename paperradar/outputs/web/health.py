"""``GET /healthz``: whether this server can answer, for a load balancer, Docker or systemd.

No login: it says nothing a visitor could not learn from the login page, only
whether the store answers, which engine it is, how many migrations it has,
the newest announcement day it holds and, when a job queue is configured
(``[worker] queue``, or a PostgreSQL store), whether its database answers and how
many jobs wait. 200 when the store answered ("degraded" when the queue did not),
503 when the store did not, with the reason (redacted: a URL in an error loses
its password).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ...core.db import open_database
from ...core.migrations import MIGRATIONS
from ...core.redact import redact
from ...core.repositories.tables import TableRepository
from .render import Web

log = logging.getLogger("paperradar.outputs.web.health")
PATH = "/healthz"


def backend_of(database: object) -> str:
    return "postgresql" if str(database).startswith(("postgresql://", "postgres://")) else "sqlite"


def check(web: Web) -> tuple[int, dict[str, Any]]:
    """The status code and the JSON body of the health check."""
    report: dict[str, Any] = {"status": "ok", "database": {"backend": backend_of(web.config.database)}}
    try:
        with web.borrow() as store:
            applied = store.applied_migrations()
            days = store.days()
            waiting = TableRepository(store.db).queue_waiting()
    except Exception as exc:  # whatever broke, the answer is "unavailable" and why, never a 500
        reason = redact(f"{type(exc).__name__}: {exc}".strip())
        log.warning("health check failed: %s", reason, extra={"check": "database"})
        report["status"] = "unavailable"
        report["database"]["error"] = reason
        return 503, report
    expected = [m.__name__ for m in MIGRATIONS]
    report["migrations"] = {
        "applied": len(applied),
        "expected": len(expected),
        "pending": [name for name in expected if name not in applied],
    }
    report["newest_day"] = days[0] if days else None
    report["queue"] = queue_report(web.config, waiting)
    if report["queue"].get("reachable") is False:
        report["status"] = "degraded"  # the pages work; the workers cannot get jobs
    return 200, report


def queue_location(config) -> str | None:
    """The job queue's database: ``[worker] queue``, else the store when it is PostgreSQL, else none."""
    if config.worker.queue:
        return config.worker.queue
    return str(config.database) if backend_of(config.database) == "postgresql" else None


def queue_report(config, waiting_in_store: int | None) -> dict[str, Any]:
    location = queue_location(config)
    if location is None:
        return {"configured": False}
    if location == str(config.database):
        waiting = waiting_in_store
    else:
        try:
            db = open_database(location)
            try:
                waiting = TableRepository(db).queue_waiting()
            finally:
                db.close()
        except Exception as exc:
            reason = redact(f"{type(exc).__name__}: {exc}".strip())
            log.warning("health check: the job queue does not answer: %s", reason, extra={"check": "queue"})
            return {"configured": True, "reachable": False, "error": reason}
    # No queue tables yet: no worker or `paperradar schedule` has connected; they create them.
    return {"configured": True, "reachable": True, "waiting": waiting}


def router(web: Web) -> APIRouter:
    routes = APIRouter()

    @routes.get(PATH, include_in_schema=False)
    def healthz() -> JSONResponse:
        status, body = check(web)
        return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

    return routes
