"""Workers on a PostgreSQL job queue (procrastinate): `paperradar worker` and `paperradar schedule`.

PostgreSQL itself is the broker, so a lab runs no extra service. A day is a
chain of jobs, each enqueuing the next when it finishes: ingest once, embed
once, one job per profile (prefilter, judge, signals, digest, deliver), then the
tournament, which waits for the day's profile jobs and rewrites their digests
with its leaderboard.
"""
