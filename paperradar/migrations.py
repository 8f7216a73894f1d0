"""Schema migrations, applied in order when a store is opened.

A released migration is never edited: a change to the schema is a new
function appended to :data:`MIGRATIONS`. Each runs in its own transaction and
is recorded in ``_migrations`` so it runs exactly once per database file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[Migration] = []


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append(fn)
    return fn


def split_sql(script: str) -> list[str]:
    """Statements of a script, so they can run inside the caller's transaction."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


class TransactionalConnection:
    """What a migration receives: ``executescript`` here does not commit.

    sqlite3's own ``executescript`` commits first, which would make a failed
    migration leave half its tables behind.
    """

    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def executescript(self, script: str) -> None:
        for statement in split_sql(script):
            self._conn.execute(statement)

    def __getattr__(self, name):
        return getattr(self._conn, name)


@migration
def m001_papers_and_runs(conn: sqlite3.Connection) -> None:
    conn.executescript(
        """
        CREATE TABLE papers (
            arxiv_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL DEFAULT 1,
            title TEXT NOT NULL,
            abstract TEXT NOT NULL,
            authors TEXT NOT NULL,          -- JSON list, in paper order
            categories TEXT NOT NULL,       -- JSON list, primary first
            primary_category TEXT,
            comment TEXT,
            submitted TEXT,
            updated TEXT,
            first_announced TEXT,
            ingested_at TEXT NOT NULL
        );
        -- One row per (paper, day) it was announced on: a replacement
        -- announces an old paper again on a later day.
        CREATE TABLE announcements (
            arxiv_id TEXT NOT NULL REFERENCES papers(arxiv_id),
            day TEXT NOT NULL,
            announce_type TEXT NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (arxiv_id, day)
        );
        CREATE INDEX announcements_day ON announcements(day);
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            day TEXT NOT NULL,
            command TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,           -- running / ok / failed
            error TEXT
        );
        """
    )


@migration
def m002_embeddings_stages_candidates(conn: sqlite3.Connection) -> None:
    conn.executescript(
        """
        CREATE TABLE embeddings (
            arxiv_id TEXT NOT NULL,
            model TEXT NOT NULL,
            content_hash TEXT NOT NULL,     -- re-embed only when the text changed
            dim INTEGER NOT NULL,
            vector BLOB NOT NULL,           -- float32, L2-normalised
            created_at TEXT NOT NULL,
            PRIMARY KEY (arxiv_id, model)
        );
        CREATE TABLE run_stages (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            stage TEXT NOT NULL,
            started_at TEXT NOT NULL,
            seconds REAL NOT NULL,
            detail TEXT NOT NULL,           -- JSON: counts the stage reports
            PRIMARY KEY (run_id, stage)
        );
        CREATE TABLE candidates (
            day TEXT NOT NULL,
            arxiv_id TEXT NOT NULL,
            profile_hash TEXT NOT NULL,
            score REAL NOT NULL,
            rank INTEGER,                   -- NULL when not shortlisted
            shortlisted INTEGER NOT NULL,
            excluded INTEGER NOT NULL,
            reasons TEXT NOT NULL,          -- JSON list of Reason
            PRIMARY KEY (day, arxiv_id)
        );
        """
    )


@migration
def m003_signals(conn: sqlite3.Connection) -> None:
    # Time series: every fetch adds an observation, so trending can weigh
    # how recent a discussion is and a later run sees points grow.
    conn.executescript(
        """
        CREATE TABLE signals (
            id INTEGER PRIMARY KEY,
            arxiv_id TEXT NOT NULL,         -- not a foreign key: trending papers may be outside our categories
            source TEXT NOT NULL,           -- 'hf' (Hugging Face Daily Papers) or 'hn' (Hacker News)
            ref TEXT NOT NULL,              -- HN story id / HF daily-papers date: one thread or listing
            observed_at TEXT NOT NULL,      -- when we fetched it (UTC ISO)
            posted_at TEXT,                 -- when the story/listing appeared: the age trending decays on
            value INTEGER NOT NULL,         -- HF upvotes / HN points
            comments INTEGER NOT NULL DEFAULT 0,
            url TEXT,                       -- the discussion page
            extra TEXT NOT NULL DEFAULT '{}',  -- JSON: title, github repo, submitter, ...
            UNIQUE (source, ref, arxiv_id, observed_at)
        );
        CREATE INDEX signals_paper ON signals(arxiv_id);
        CREATE INDEX signals_posted ON signals(posted_at);
        """
    )


@migration
def m004_library_items(conn: sqlite3.Connection) -> None:
    conn.executescript(
        """
        CREATE TABLE library_items (
            item_key TEXT PRIMARY KEY,      -- arxiv:<id>, doi:<doi> or title:<hash>: a re-import updates
            arxiv_id TEXT,                  -- NULL when the item could not be matched to arXiv
            doi TEXT,
            title TEXT NOT NULL,
            abstract TEXT NOT NULL DEFAULT '',
            authors TEXT NOT NULL DEFAULT '[]',  -- JSON list
            year INTEGER,
            url TEXT,
            source_format TEXT NOT NULL,    -- bibtex / zotero-csv / zotero-rdf
            source_file TEXT NOT NULL,
            imported_at TEXT NOT NULL,
            model TEXT,                     -- embedding of title + abstract, NULL until embedded
            content_hash TEXT,
            vector BLOB
        );
        CREATE INDEX library_items_arxiv ON library_items(arxiv_id);
        """
    )


@migration
def m005_deliveries(conn: sqlite3.Connection) -> None:
    # One row per delivery try-series (not per retry): a rerun of a day checks
    # for a 'sent' row before sending again, and --force adds a new row, so the
    # table is also the history of what reached whom.
    conn.executescript(
        """
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            day TEXT NOT NULL,
            channel TEXT NOT NULL,          -- email / slack / webhook / rss / site
            target TEXT NOT NULL,           -- recipient address, env var name, URL or path (never a secret)
            status TEXT NOT NULL,           -- sending / sent / failed
            attempts INTEGER NOT NULL DEFAULT 0,
            response TEXT,                  -- the server's last answer, or the error
            started_at TEXT NOT NULL,
            sent_at TEXT                    -- when it succeeded; NULL otherwise
        );
        CREATE INDEX deliveries_day ON deliveries(day, channel, target);
        """
    )
