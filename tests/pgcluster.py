"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl in a temporary folder.

The server listens on 127.0.0.1 only, on a free port, with trust auth for one
role; it runs as a non-root user (initdb refuses root), so under root the
folder is handed to the ``postgres`` account Debian's package creates (or
``nobody``). Each test gets its own database, created from the cluster in
milliseconds, so tests never see each other's rows.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

ROLE = "paperradar"


def find_bindir() -> Path | None:
    """Debian keeps the server programs in /usr/lib/postgresql/<major>/bin, off PATH."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    for c in reversed(candidates):
        if (Path(c) / "initdb").exists():
            return Path(c)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _run_as() -> list[str]:
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            return ["runuser", "-u", user, "--"]
    raise RuntimeError("Running as root and no 'postgres' or 'nobody' account exists for initdb.")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Cluster:
    bindir: Path
    folder: Path
    port: int

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{dbname}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        subprocess.run(
            [*_run_as(), str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster() -> Cluster:
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed: `apt-get install postgresql` gives initdb and pg_ctl.")
    # Not under pytest's tmp folders: those are private to the test user, and
    # the server runs as another account that must reach its data folder.
    folder = Path(tempfile.mkdtemp(prefix="paperradar-pg-"))
    run_as = _run_as()
    if run_as:
        shutil.chown(folder, user=run_as[2])
    port = _free_port()
    subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(folder / "data"), "-U", ROLE, "--auth=trust", "-E", "UTF8"],
        capture_output=True,
        check=True,
    )
    options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c synchronous_commit=off -c max_connections=200"
    result = subprocess.run(
        [*run_as, str(bindir / "pg_ctl"), "-D", str(folder / "data"), "-o", options, "-l", str(folder / "log"), "-w"]
        + ["start"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        log = (folder / "log").read_text(errors="replace") if (folder / "log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"pg_ctl start failed: {result.stdout}{result.stderr}{log}")
    return Cluster(bindir=bindir, folder=folder, port=port)
