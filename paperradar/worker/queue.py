"""The job queue's database: which one (``[worker] queue``), its schema, and the procrastinate app."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import procrastinate

from ..core.config import Config
from ..core.errors import ConfigError

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
PASSWORD_ENV = "PAPERRADAR_DATABASE_PASSWORD"


def queue_url(config: Config) -> str:
    """``[worker] queue``, else the store's ``database`` when that is PostgreSQL; else an error naming the fix."""
    if config.worker.queue:
        return config.worker.queue
    database = str(config.database)
    if database.startswith(POSTGRES_SCHEMES):
        return database
    where = f" in {config.source}" if config.source else ""
    raise ConfigError(
        f"The job queue needs PostgreSQL, and [paperradar] database{where} is a SQLite file ({database}). "
        'Set [worker] queue = "postgresql://USER@HOST/DB" (the password from $PAPERRADAR_DATABASE_PASSWORD), '
        'or move the store to PostgreSQL with database = "postgresql://…".'
    )


def connector(url: str) -> procrastinate.PsycopgConnector:
    """The queue's connections; the password from $PAPERRADAR_DATABASE_PASSWORD, as the store's (or libpq's own
    PGPASSWORD / ~/.pgpass), since the URL in the file never holds one."""
    password = os.environ.get(PASSWORD_ENV)
    kwargs = {"password": password} if password and urlsplit(url).password is None else {}
    return procrastinate.PsycopgConnector(conninfo=url, kwargs=kwargs)


def ensure_schema(app: procrastinate.App) -> bool:
    """Create procrastinate's tables on first use, like our own migrations; True when it did.

    Two workers starting at once may both find the schema missing: the loser's
    CREATE fails on the winner's objects, and it goes on once the tables are there.
    """
    if app.check_connection():
        return False
    try:
        app.schema_manager.apply_schema()
    except Exception:
        if not app.check_connection():
            raise
        return False
    return True


async def ensure_schema_async(app: procrastinate.App) -> bool:
    if await app.check_connection_async():
        return False
    try:
        await app.schema_manager.apply_schema_async()
    except Exception:
        if not await app.check_connection_async():
            raise
        return False
    return True
