"""The SQL of the lab migrations (m015, m016 in :mod:`.migrations`): accounts, profiles, per-profile rows.

Kept here so migrations.py stays a readable length; like a released
migration, these scripts are never edited once released: a change is a new
migration. Written in the subset SQLite and PostgreSQL share.
"""

# Rows a fresh store's migrations write (the default profile): a store holding only these is empty.
SEEDED_ROWS = {"profiles": 1}

# m015: accounts, their web sessions, and profiles (profile 1 = "default").
USERS_AND_PROFILES = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    email TEXT,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash TEXT NOT NULL,    -- argon2id, never the password
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE user_sessions (
    id TEXT PRIMARY KEY,            -- sha256 of the cookie's random value
    user_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE profiles (
    id INTEGER PRIMARY KEY,
    owner_id INTEGER REFERENCES users(id),  -- NULL: the default profile
    name TEXT NOT NULL,
    settings TEXT,                  -- JSON of ProfileConfig; NULL: [profile] of paperradar.toml
    max_cost_per_run REAL,          -- USD; NULL: [llm] max_cost_per_run
    recipients TEXT NOT NULL DEFAULT '[]',  -- JSON list; empty: [email] recipients
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (owner_id, name)
);
CREATE INDEX profiles_owner ON profiles(owner_id);
INSERT INTO profiles (name, active, created_at, updated_at)
VALUES ('default', 1, '1970-01-01T00:00:00+00:00', '1970-01-01T00:00:00+00:00');
"""

# m016: candidates, judgments, feedback, deliveries and the LLM log per profile.
PER_PROFILE_ROWS = """
CREATE TABLE candidates_by_profile (
    profile_id INTEGER NOT NULL DEFAULT 1,
    day TEXT NOT NULL,
    arxiv_id TEXT NOT NULL,
    profile_hash TEXT NOT NULL,
    score REAL NOT NULL,
    rank INTEGER,
    shortlisted INTEGER NOT NULL,
    excluded INTEGER NOT NULL,
    reasons TEXT NOT NULL,
    explored INTEGER NOT NULL DEFAULT 0,
    profile_version TEXT,
    PRIMARY KEY (profile_id, day, arxiv_id)
);
INSERT INTO candidates_by_profile (profile_id, day, arxiv_id, profile_hash, score, rank, shortlisted,
    excluded, reasons, explored, profile_version)
SELECT 1, day, arxiv_id, profile_hash, score, rank, shortlisted, excluded, reasons, explored, profile_version
FROM candidates;
DROP TABLE candidates;
ALTER TABLE candidates_by_profile RENAME TO candidates;
CREATE INDEX candidates_day_score ON candidates (profile_id, day, excluded, score DESC);
CREATE INDEX candidates_paper ON candidates (arxiv_id, day);

CREATE TABLE judgments_by_profile (
    profile_id INTEGER NOT NULL DEFAULT 1,
    day TEXT NOT NULL,
    arxiv_id TEXT NOT NULL,
    model TEXT NOT NULL,
    stage TEXT NOT NULL,
    criteria_hash TEXT NOT NULL,
    relevance INTEGER,
    novelty INTEGER,
    criterion TEXT,
    comment TEXT,
    status TEXT NOT NULL,
    error TEXT,
    call_id INTEGER,
    score REAL,
    selected INTEGER NOT NULL DEFAULT 0,
    sort TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (profile_id, day, arxiv_id)
);
INSERT INTO judgments_by_profile (profile_id, day, arxiv_id, model, stage, criteria_hash, relevance,
    novelty, criterion, comment, status, error, call_id, score, selected, sort, created_at)
SELECT 1, day, arxiv_id, model, stage, criteria_hash, relevance, novelty, criterion, comment, status,
    error, call_id, score, selected, sort, created_at
FROM judgments;
DROP TABLE judgments;
ALTER TABLE judgments_by_profile RENAME TO judgments;
CREATE INDEX judgments_paper ON judgments (arxiv_id, day);

ALTER TABLE feedback ADD COLUMN profile_id INTEGER NOT NULL DEFAULT 1;
CREATE INDEX feedback_profile_paper ON feedback (profile_id, arxiv_id, id);
DROP VIEW feedback_state;
CREATE VIEW feedback_state AS
SELECT f.profile_id, f.arxiv_id,
    (SELECT CASE v.kind WHEN 'clear' THEN NULL ELSE v.kind END FROM feedback v
     WHERE v.profile_id = f.profile_id AND v.arxiv_id = f.arxiv_id AND v.kind IN ('up', 'down', 'clear')
     ORDER BY v.id DESC LIMIT 1) AS vote,
    COALESCE((SELECT CASE s.kind WHEN 'save' THEN 1 ELSE 0 END FROM feedback s
     WHERE s.profile_id = f.profile_id AND s.arxiv_id = f.arxiv_id AND s.kind IN ('save', 'unsave')
     ORDER BY s.id DESC LIMIT 1), 0) AS saved,
    (SELECT n.note FROM feedback n
     WHERE n.profile_id = f.profile_id AND n.arxiv_id = f.arxiv_id AND n.note IS NOT NULL
     ORDER BY n.id DESC LIMIT 1) AS note,
    MAX(f.created_at) AS updated_at
FROM feedback f GROUP BY f.profile_id, f.arxiv_id;

ALTER TABLE deliveries ADD COLUMN profile_id INTEGER NOT NULL DEFAULT 1;
CREATE INDEX deliveries_profile_day ON deliveries (profile_id, day, channel, target);
ALTER TABLE llm_calls ADD COLUMN profile_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE runs ADD COLUMN profile_id INTEGER NOT NULL DEFAULT 1;
CREATE INDEX llm_calls_profile_day ON llm_calls (profile_id, day);
"""
