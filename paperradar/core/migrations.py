"""Schema migrations, applied in order when a store is opened.

A released migration is never edited: a change to the schema is a new
function appended to :data:`MIGRATIONS`. Each runs in its own transaction and
is recorded in ``_migrations`` so it runs exactly once per database file.
"""

from __future__ import annotations

import json
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


@migration
def m006_llm_calls_and_judgments(conn: sqlite3.Connection) -> None:
    # Every LLM request is a row, failed attempts and cache hits included, so
    # `paperradar llm-log` can account for each token and a rerun can answer
    # an identical prompt from here instead of paying again.
    conn.executescript(
        """
        CREATE TABLE llm_calls (
            id INTEGER PRIMARY KEY,
            run_id INTEGER,                 -- NULL for calls outside a pipeline run
            day TEXT,                       -- the announcement day the call worked on, if any
            stage TEXT NOT NULL,            -- judge / title / ...
            backend TEXT NOT NULL,          -- openai / local
            model TEXT NOT NULL,
            cache_key TEXT NOT NULL,        -- sha256 of model, messages, schema and options
            messages TEXT NOT NULL,         -- JSON list of chat messages
            options TEXT NOT NULL,          -- JSON: temperature, max_tokens, response_format kind
            response TEXT,                  -- raw text the model returned
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL,                  -- NULL when the model has no price
            latency_s REAL,
            attempt INTEGER NOT NULL DEFAULT 1,
            cached INTEGER NOT NULL DEFAULT 0,  -- 1: answered from cached_from, nothing paid
            cached_from INTEGER,
            error TEXT,                     -- NULL on success; an unusable answer is an error too
            created_at TEXT NOT NULL
        );
        CREATE INDEX llm_calls_cache ON llm_calls(cache_key);
        CREATE INDEX llm_calls_day ON llm_calls(day);
        CREATE INDEX llm_calls_run ON llm_calls(run_id);
        CREATE TABLE judgments (
            day TEXT NOT NULL,
            arxiv_id TEXT NOT NULL,
            model TEXT NOT NULL,
            stage TEXT NOT NULL,            -- judge (abstract) or title (title-only pass)
            criteria_hash TEXT NOT NULL,    -- profile + rubric: a changed profile is judged again
            relevance INTEGER,
            novelty INTEGER,
            criterion TEXT,
            comment TEXT,
            status TEXT NOT NULL,           -- ok / failed / title-rejected
            error TEXT,
            call_id INTEGER,                -- the llm_calls row the scores came from
            score REAL,                     -- combined by [judge] sort; NULL unless status = ok
            selected INTEGER NOT NULL DEFAULT 0,  -- reached [judge] min_relevance / min_novelty
            sort TEXT,                      -- the sort expression score was computed with
            created_at TEXT NOT NULL,
            PRIMARY KEY (day, arxiv_id)
        );
        """
    )


@migration
def m007_assessments_and_matches(conn: sqlite3.Connection) -> None:
    # Assessments are kept per model, so switching models adds rows instead of
    # overwriting; matches are facts about an ordered pair and are shared by
    # every tournament (day, week, category, shortlist) that contains both papers.
    conn.executescript(
        """
        CREATE TABLE assessments (
            arxiv_id TEXT NOT NULL,
            model TEXT NOT NULL,
            version INTEGER NOT NULL,       -- paper version assessed
            full_text INTEGER NOT NULL,     -- 1: arXiv HTML was read, 0: title + abstract
            contribution TEXT NOT NULL,
            strengths TEXT NOT NULL,        -- JSON list
            concerns TEXT NOT NULL,         -- JSON list
            impact TEXT NOT NULL,
            audience TEXT NOT NULL,
            significance INTEGER NOT NULL,  -- 1-10 each
            rigor INTEGER NOT NULL,
            novelty INTEGER NOT NULL,
            clarity INTEGER NOT NULL,
            overall INTEGER NOT NULL,
            call_id INTEGER,                -- llm_calls row
            generated_at TEXT NOT NULL,
            PRIMARY KEY (arxiv_id, model)
        );
        CREATE TABLE matches (
            id INTEGER PRIMARY KEY,
            first_id TEXT NOT NULL,         -- shown first to the judge
            second_id TEXT NOT NULL,
            model TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('first', 'second', 'tie')),
            reason TEXT NOT NULL,
            pool TEXT NOT NULL,             -- the tournament that scheduled it, e.g. cs.LG/2026-02-24/day
            call_id INTEGER,
            created_at TEXT NOT NULL,
            UNIQUE (first_id, second_id, model)
        );
        CREATE INDEX matches_first ON matches(first_id);
        CREATE INDEX matches_second ON matches(second_id);
        """
    )


@migration
def m008_papers_fts(conn: sqlite3.Connection) -> None:
    # Keyword search for the web app. An external-content FTS5 index: the text
    # lives once, in papers, and triggers keep the index in step with every
    # insert, update and delete; 'rebuild' indexes the papers already stored.
    conn.executescript(
        """
        CREATE VIRTUAL TABLE papers_fts USING fts5(
            title, abstract, authors,
            content='papers', content_rowid='rowid',
            tokenize='porter unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN
            INSERT INTO papers_fts(rowid, title, abstract, authors)
            VALUES (new.rowid, new.title, new.abstract, new.authors);
        END;
        CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN
            INSERT INTO papers_fts(papers_fts, rowid, title, abstract, authors)
            VALUES ('delete', old.rowid, old.title, old.abstract, old.authors);
        END;
        CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, abstract, authors ON papers BEGIN
            INSERT INTO papers_fts(papers_fts, rowid, title, abstract, authors)
            VALUES ('delete', old.rowid, old.title, old.abstract, old.authors);
            INSERT INTO papers_fts(rowid, title, abstract, authors)
            VALUES (new.rowid, new.title, new.abstract, new.authors);
        END;
        INSERT INTO papers_fts(papers_fts) VALUES ('rebuild');
        """
    )


@migration
def m009_feedback(conn: sqlite3.Connection) -> None:
    # An append-only log of clicks: the history is kept (the learner may weigh
    # recent opinions more) and the view gives each paper's current state. The
    # latest of up/down/clear is the vote, the latest of save/unsave the flag.
    conn.executescript(
        """
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY,
            arxiv_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('up', 'down', 'save', 'clear', 'unsave', 'note')),
            created_at TEXT NOT NULL,
            note TEXT
        );
        CREATE INDEX feedback_paper ON feedback(arxiv_id, id);
        CREATE VIEW feedback_state AS
        SELECT f.arxiv_id,
            (SELECT CASE v.kind WHEN 'clear' THEN NULL ELSE v.kind END FROM feedback v
             WHERE v.arxiv_id = f.arxiv_id AND v.kind IN ('up', 'down', 'clear')
             ORDER BY v.id DESC LIMIT 1) AS vote,
            COALESCE((SELECT s.kind = 'save' FROM feedback s
             WHERE s.arxiv_id = f.arxiv_id AND s.kind IN ('save', 'unsave')
             ORDER BY s.id DESC LIMIT 1), 0) AS saved,
            (SELECT n.note FROM feedback n
             WHERE n.arxiv_id = f.arxiv_id AND n.note IS NOT NULL
             ORDER BY n.id DESC LIMIT 1) AS note,
            MAX(f.created_at) AS updated_at
        FROM feedback f GROUP BY f.arxiv_id;
        """
    )


@migration
def m010_tournament_plans_run_pids_truncation(conn: sqlite3.Connection) -> None:
    # tournament_plans: each round of a pool's tournament is stored before it is
    # paid for, so a rerun finishes the round a crash interrupted and a
    # finished day's tournament is never bought again. runs.pid names the
    # process holding the day's run lock (a dead one marks the run failed).
    # papers.truncated lists the fields cut to the size caps at ingest.
    conn.executescript(
        """
        CREATE TABLE tournament_plans (
            pool TEXT NOT NULL,
            model TEXT NOT NULL,
            round INTEGER NOT NULL,
            slot INTEGER NOT NULL,
            first_id TEXT NOT NULL,
            second_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (pool, model, round, slot)
        );
        ALTER TABLE runs ADD COLUMN pid INTEGER;
        ALTER TABLE papers ADD COLUMN truncated TEXT;
        """
    )


@migration
def m011_rankings(conn: sqlite3.Connection) -> None:
    # k-wise matches: one row per LLM call that ranked several papers, for the
    # impact question or for one reader's profile (profile_key, '' for
    # impact). Verdicts are stored per call and everything else (ratings, W/L
    # per pair, leaderboards) is derived from them; the same papers shown in
    # the same order are never bought twice. ranking_members indexes calls by
    # paper; ranking_plans holds each round before it is paid, so a rerun
    # finishes an interrupted round and buys nothing already done.
    # personal_boards: which reader a pool's personal leaderboard is for and
    # whether the digest orders the shortlist by it.
    conn.executescript(
        """
        CREATE TABLE rankings (
            id INTEGER PRIMARY KEY,
            question TEXT NOT NULL CHECK (question IN ('impact', 'personal')),
            profile_key TEXT NOT NULL DEFAULT '',
            model TEXT NOT NULL,
            shown TEXT NOT NULL,            -- JSON list of arXiv ids, in the order shown
            ranked TEXT NOT NULL,           -- the same ids, best first
            reason TEXT NOT NULL,
            pool TEXT NOT NULL,
            call_id INTEGER,                -- llm_calls row
            created_at TEXT NOT NULL,
            UNIQUE (question, profile_key, model, shown)
        );
        CREATE TABLE ranking_members (
            ranking_id INTEGER NOT NULL REFERENCES rankings(id) ON DELETE CASCADE,
            arxiv_id TEXT NOT NULL,
            PRIMARY KEY (ranking_id, arxiv_id)
        );
        CREATE INDEX ranking_members_paper ON ranking_members(arxiv_id);
        CREATE TABLE ranking_plans (
            pool TEXT NOT NULL,
            question TEXT NOT NULL,
            profile_key TEXT NOT NULL,
            model TEXT NOT NULL,
            round INTEGER NOT NULL,
            slot INTEGER NOT NULL,
            shown TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (pool, question, profile_key, model, round, slot)
        );
        CREATE TABLE personal_boards (
            pool TEXT PRIMARY KEY,
            profile_key TEXT NOT NULL,
            order_digest INTEGER NOT NULL DEFAULT 0,
            updated_at TEXT NOT NULL
        );
        """
    )


@migration
def m012_sources_and_locations(conn: sqlite3.Connection) -> None:
    # One record per work, however many sources list it: paper_locations says
    # where a work appears (with each source's own id, version and facts such
    # as an OpenReview decision), work_ids finds a stored work by DOI, arXiv id
    # or normalized title + first author, and source_fetches remembers which
    # source was read for which day so a rerun does not ask again.
    from .dedup import identifiers
    from .models import Paper

    conn.executescript(
        """
        ALTER TABLE papers ADD COLUMN doi TEXT;
        CREATE TABLE paper_locations (
            source TEXT NOT NULL,           -- the configured source's name
            source_id TEXT NOT NULL,        -- arXiv id, DOI, OpenReview forum id, feed entry id
            arxiv_id TEXT NOT NULL REFERENCES papers(arxiv_id) ON DELETE CASCADE,
            kind TEXT NOT NULL,             -- arxiv / biorxiv / medrxiv / openreview / feed / semanticscholar
            url TEXT,
            version INTEGER,
            extra TEXT NOT NULL DEFAULT '{}',  -- JSON: decision, ratings, venue, citation count, cites
            first_seen TEXT NOT NULL,       -- the run day it was first listed
            updated_at TEXT NOT NULL,
            PRIMARY KEY (source, source_id)
        );
        CREATE INDEX paper_locations_paper ON paper_locations(arxiv_id);
        CREATE TABLE work_ids (
            kind TEXT NOT NULL,             -- arxiv / doi / title
            value TEXT NOT NULL,
            arxiv_id TEXT NOT NULL REFERENCES papers(arxiv_id) ON DELETE CASCADE,
            PRIMARY KEY (kind, value)
        );
        CREATE INDEX work_ids_paper ON work_ids(arxiv_id);
        CREATE TABLE source_fetches (
            source TEXT NOT NULL,
            day TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            papers INTEGER NOT NULL,
            PRIMARY KEY (source, day)
        );
        """
    )
    rows = conn.execute("SELECT arxiv_id, title, authors FROM papers").fetchall()
    for arxiv_id, title, authors in rows:
        paper = Paper(arxiv_id=arxiv_id, title=title, abstract="", authors=json.loads(authors))
        for kind, value in identifiers(paper).items():
            conn.execute(
                "INSERT OR IGNORE INTO work_ids (kind, value, arxiv_id) VALUES (?,?,?)", (kind, value, arxiv_id)
            )


@migration
def m013_candidates_exploration(conn: sqlite3.Connection) -> None:
    # explored: judged although below the cut (a random sample that measures
    # the shortlist's recall and gives labels the prefilter did not choose).
    # profile_version: what the profile said when the day was ranked, so the
    # judge's verdicts on it count fully only while the profile says the same.
    conn.executescript(
        """
        ALTER TABLE candidates ADD COLUMN explored INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE candidates ADD COLUMN profile_version TEXT;
        CREATE INDEX candidates_day_score ON candidates (day, excluded, score DESC);
        """
    )


@migration
def m014_web_logins(conn: sqlite3.Connection) -> None:
    # One row per web login: the cookie names its row, and logging out revokes
    # it, so a copied cookie stops working after logout (and across restarts).
    conn.executescript(
        """
        CREATE TABLE web_logins (
            id TEXT PRIMARY KEY,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        """
    )
