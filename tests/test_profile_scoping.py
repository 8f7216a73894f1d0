"""Per-profile rows: two profiles run the same day on one store.

Papers and embeddings are shared (embedded once); candidates, judgments,
explored samples, feedback, deliveries and the LLM log are each profile's own.
"""

from __future__ import annotations

import tomllib
from collections import Counter

import pytest

from paperradar.core import feedback as fb
from paperradar.core.accounts import hash_password
from paperradar.core.config import ProfileConfig, parse_config
from paperradar.core.pipeline import run_day
from paperradar.core.profiles import config_for_profile
from paperradar.core.store import Store

from .conftest import DAY, PROFILE_TOML, SAMPLE_PAPERS
from .fake_openai import FakeOpenAI, ids_in

pytestmark = pytest.mark.postgres

STAGES = ["embed", "prefilter", "judge", "digest"]
AT = "2026-02-24T09:00:00+00:00"


@pytest.fixture
def server():
    with FakeOpenAI() as s:
        yield s


@pytest.fixture
def lab(tmp_path, store_location, server, monkeypatch):
    text = PROFILE_TOML.replace('database = "db/paperradar.db"', f'database = "{store_location}"')
    path = tmp_path / "paperradar.toml"
    path.write_text(text, encoding="utf-8")
    config = parse_config(tomllib.loads(text), path)
    config.llm = server.llm_config(monkeypatch, concurrency=1)
    config.prefilter.explore_fraction = 0.5
    config.prefilter.explore_max = 1
    with Store(config.database) as store:
        store.upsert_papers(SAMPLE_PAPERS, DAY)
        ada = store.users.add("ada", hash_password("ada-password"), "member", "ada@lab.org", AT)
        robots = store.profiles.add(
            ada.id,
            "robots",
            ProfileConfig(keywords=["warehouse robots", "satellite"], authors=["Grace Hopper"]),
            AT,
            max_cost_per_run=0.25,
        )
    return config, robots


def test_two_profiles_judge_the_same_day_without_mixing(lab, server, embedder):
    config, robots = lab
    first = run_day(config, DAY, embedder=embedder, stages=STAGES)
    with Store(config.database) as store:
        handle = store.for_profile(robots.id)
        second = run_day(config_for_profile(config, robots), DAY, store=handle, embedder=embedder, stages=STAGES)
        default = store.for_profile(1)

        # Papers are embedded once: the second profile's run computed nothing.
        assert store.count("embeddings") == len(SAMPLE_PAPERS)
        embed = [next(s for s in r["stages"] if s["stage"] == "embed")["detail"] for r in store.runs(2)]
        assert [e["computed"] for e in embed] == [0, len(SAMPLE_PAPERS)]

        # Each profile ranked every paper of the day, with its own profile.
        assert default.candidates_seen(DAY) == handle.candidates_seen(DAY) == len(SAMPLE_PAPERS)
        assert store.count("candidates") == 2 * len(SAMPLE_PAPERS)
        assert default.profile_hash_for_day(DAY) != handle.profile_hash_for_day(DAY)
        mine = [c.paper.arxiv_id for c in handle.candidates_for_day(DAY)]
        theirs = [c.paper.arxiv_id for c in default.candidates_for_day(DAY)]
        assert mine != theirs and "2602.00004" in mine and "2602.00004" not in theirs  # robots vs. its negative kw

        # Each judged its own shortlist and explored sample, in its own requests, logged to it.
        judged_mine = {j.arxiv_id for j in handle.judgments.for_day(DAY)}
        judged_theirs = {j.arxiv_id for j in default.judgments.for_day(DAY)}
        assert len(server.requests) == 2
        assert judged_theirs == set(ids_in(server.requests[0])) and judged_mine == set(ids_in(server.requests[1]))
        assert store.count("judgments") == len(judged_mine) + len(judged_theirs)
        explored_mine = set(handle.judged_days(DAY.replace(day=25), 5)[0].explored)
        assert explored_mine <= judged_mine and explored_mine.isdisjoint(set(mine[: len(mine)]) - judged_mine)
        assert [u.calls for u in handle.llm_calls.usage(day=DAY)] == [1]
        assert [u.calls for u in default.llm_calls.usage(day=DAY)] == [1]

        # Digests do not overwrite each other.
        assert first.paths["json"] != second.paths["json"] and first.paths["json"].exists()
        assert f"profiles/{robots.id}-robots" in str(second.paths["json"])

        # Feedback is the profile's own.
        fb.record(handle, "2602.00004", "up")
        fb.record(default, "2602.00004", "down")
        assert fb.state(handle, "2602.00004").vote == "up" and fb.state(default, "2602.00004").vote == "down"
        assert fb.feedback_labels(handle) == {"2602.00004": 1} and fb.feedback_labels(default) == {"2602.00004": -1}
        assert [e.kind for e in handle.feedback.events()] == ["up"]

        # A rerun of either profile pays nothing and changes nothing of the other's.
        every = "SELECT profile_id, day, arxiv_id, profile_hash, score, rank, shortlisted, reasons FROM candidates"
        before = sorted(store.conn.execute(every).fetchall())
        run_day(config_for_profile(config, robots), DAY, store=handle, embedder=embedder, stages=STAGES)
        assert len(server.requests) == 2
        assert sorted(store.conn.execute(every).fetchall()) == before

        # The lab leaderboard counts the profiles that picked each paper.
        def picked(h: Store) -> set[str]:
            shortlisted = {c.paper.arxiv_id for c in h.candidates_for_day(DAY)}
            return shortlisted | {j.arxiv_id for j in h.judgments.for_day(DAY) if j.selected}

        expected = Counter([*picked(handle), *picked(default)])
        assert {p.arxiv_id: p.profiles for p in store.lab.picks(DAY, DAY)} == dict(expected)
        assert 2 in expected.values() and 1 in expected.values()


def test_deliveries_and_budgets_are_per_profile(lab):
    config, robots = lab
    with Store(config.database) as store:
        handle, default = store.for_profile(robots.id), store.for_profile(1)
        row = handle.deliveries.claim(DAY, "email", "ada@lab.org", AT)
        handle.deliveries.finish(row, "sent", 1, "250 ok", AT)
        assert handle.deliveries.current(DAY, "email", "ada@lab.org") is not None
        assert default.deliveries.current(DAY, "email", "ada@lab.org") is None  # the default profile still sends
        assert default.deliveries.recorded() == [] and len(handle.deliveries.recorded()) == 1
        run_config = config_for_profile(config, store.profiles.get(robots.id))
    assert run_config.llm.max_cost_per_run == 0.25 and config.llm.max_cost_per_run is None
    assert run_config.profile.keywords == ["warehouse robots", "satellite"]
    assert run_config.email.recipients == config.email.recipients  # none of its own: the server's


def test_old_rows_become_the_default_profiles(tmp_path):
    """A store from before profiles: its candidates, judgments and feedback are profile 1's after migrating."""
    path = tmp_path / "old.db"
    from paperradar.core.migrations import MIGRATIONS

    upto = next(i for i, m in enumerate(MIGRATIONS) if m.__name__ == "m015_users_and_profiles")
    with Store(path, migrate=False) as old:
        old.migrate(upto=upto)
        old.upsert_papers(SAMPLE_PAPERS, DAY)
        with old.transaction() as conn:
            conn.execute(
                "INSERT INTO candidates (day, arxiv_id, profile_hash, score, rank, shortlisted, excluded, reasons) "
                "VALUES (?, '2602.00001', 'h', 2.0, 1, 1, 0, '[]')",
                (DAY.isoformat(),),
            )
            conn.execute("INSERT INTO feedback (arxiv_id, kind, created_at) VALUES ('2602.00001', 'save', ?)", (AT,))
    with Store(path) as store:
        assert [c.paper.arxiv_id for c in store.candidates_for_day(DAY)] == ["2602.00001"]
        assert fb.state(store, "2602.00001").saved
        assert (
            store.for_profile(2).candidates_for_day(DAY) == []
            and not fb.state(store.for_profile(2), "2602.00001").saved
        )
        assert [p.name for p in store.profiles.active()] == ["default"]


def test_profiles_of_one_day_run_side_by_side_and_each_only_once(tmp_path, store_location):
    """A profile's run locks (profile, day): another profile's run of the day may start, its own second may not."""
    from paperradar.core.runlock import RunLocked, day_lock, fail_abandoned_runs, profile_scope

    with Store(store_location) as store:
        where = store_location
        with day_lock(where, DAY, "run"), day_lock(where, DAY, "run", profile_scope(2)):
            with day_lock(where, DAY, "run", profile_scope(3)):
                pass
            with pytest.raises(RunLocked), day_lock(where, DAY, "run", profile_scope(2)):
                pass
            with pytest.raises(RunLocked), day_lock(where, DAY, "run"):
                pass
            # The live run of profile 2 is not taken for a dead one while only its own lock is held.
            live = store.for_profile(2).start_run(DAY, "run")
            dead = store.for_profile(3).start_run(DAY, "run")
            assert fail_abandoned_runs(store) == 1
        statuses = {r["id"]: r["status"] for r in store.runs(5)}
        assert statuses[live] == "running" and statuses[dead] == "failed"
        assert {r["id"]: r["profile_id"] for r in store.runs(5)} == {live: 2, dead: 3}
