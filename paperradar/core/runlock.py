"""One run per (database, day, profile) at a time, and runs whose process died shown as failed.

The default profile's lock (``scope`` "") is the day's: shared stages (ingest,
embed, the tournament) run under it. Another profile's run holds a lock of
its own (:func:`profile_scope`), so the profiles of one day run side by side.

On SQLite the lock is an advisory ``flock`` on ``<database>.locks/<day>.lock``.
The kernel drops it when the holding process ends, however it ends (kill -9
included), so a stale lock cannot outlive its run and needs no timeout; the
file records the holder's pid and start time only to name it in the message
a second run prints. On PostgreSQL, where runs may be on other machines, it
is a session advisory lock on the server, held by a connection of its own:
the server drops it when that connection ends, for the same reason, and the
connection's application_name names the holder. A run row is written only
while its day's lock is held, so a row still marked ``running`` whose day lock
is free belongs to a process that died mid-run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from .db_postgres import (
    advisory_holder,
    advisory_unlock,
    connect_for_lock,
    is_postgres_url,
    redact_url,
    try_advisory_lock,
)
from .errors import PaperradarError
from .store import Store, utcnow


class RunLocked(PaperradarError):
    """Another process is running the same day on the same database."""


def profile_scope(profile_id: int) -> str:
    """The lock scope of a profile's runs: "" (the day's own lock) for the default profile."""
    return "" if profile_id == 1 else f"profile-{profile_id}"


def lock_path(database: Path, day: dt.date, scope: str = "") -> Path:
    name = f"{day.isoformat()}.{scope}.lock" if scope else f"{day.isoformat()}.lock"
    return database.parent / f"{database.name}.locks" / name


def _advisory_key(day: dt.date, scope: str = "") -> int:
    # One 64-bit key per (day, scope), in a range of its own ("paperradar day" prefix);
    # the scope's CRC sits above the day's ordinal (< 2**20).
    return 0x5052_0000_0000_0000 + day.toordinal() + ((zlib.crc32(scope.encode()) << 20) if scope else 0)


@contextlib.contextmanager
def _pg_day_lock(url: str, day: dt.date, command: str, scope: str) -> Iterator[None]:
    holder = json.dumps({"pid": os.getpid(), "command": command, "started": utcnow()}, separators=(",", ":"))
    conn = connect_for_lock(url, holder)
    try:
        if not try_advisory_lock(conn, _advisory_key(day, scope)):
            info = {}
            with contextlib.suppress(ValueError, TypeError):
                info = json.loads(advisory_holder(conn, _advisory_key(day, scope)) or "{}")
            raise RunLocked(
                f"Another paperradar {info.get('command', 'run')} for {day} is in progress on {redact_url(url)} "
                f"(pid {info.get('pid', '?')}, started {info.get('started', '?')}). "
                "Wait for it to finish and run again; nothing was done twice."
            )
        yield
    finally:
        conn.close()  # ending the session releases the advisory lock


@contextlib.contextmanager
def day_lock(database: Path | str, day: dt.date, command: str = "run", scope: str = "") -> Iterator[None]:
    """Hold the day's run lock (``scope``: a profile's, see :func:`profile_scope`), or raise :class:`RunLocked`."""
    if is_postgres_url(database):
        with _pg_day_lock(str(database), day, command, scope):
            yield
        return
    path = lock_path(Path(database), day, scope)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(path)
            raise RunLocked(
                f"Another paperradar {holder.get('command', 'run')} for {day} is in progress on {database} "
                f"(pid {holder.get('pid', '?')}, started {holder.get('started', '?')}). "
                "Wait for it to finish and run again; nothing was done twice."
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "command": command, "started": utcnow()}).encode())
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def lock_is_free(database: Path | str, day: dt.date, scope: str = "") -> bool:
    if is_postgres_url(database):
        with contextlib.closing(connect_for_lock(str(database), "paperradar")) as conn:
            key = _advisory_key(day, scope)
            free = try_advisory_lock(conn, key)
            if free:
                advisory_unlock(conn, key)
            return free
    path = lock_path(Path(database), day, scope)
    if not path.exists():
        return True
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def fail_abandoned_runs(store: Store) -> int:
    """Mark runs whose process died (their day's lock is free) as failed; return how many."""
    n = 0
    for run in store.run_history.running():
        where = store.db.url if store.path is None else store.path
        if lock_is_free(where, dt.date.fromisoformat(run.day), profile_scope(run.profile_id)):
            store.finish_run(
                run.id,
                "failed",
                f"interrupted: process {run.pid or '?'} ended before the run finished (killed or crashed); "
                "the next run of the day resumes it",
                only_if_running=True,
            )
            n += 1
    return n
