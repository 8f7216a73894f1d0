"""WebLoginRepository and RunRepository on a real SQLite file."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from paperradar.core.repositories.runs import RunningRun
from paperradar.core.repositories.web_logins import WebLogin
from paperradar.core.store import Store


@pytest.mark.postgres
def test_a_revoked_login_stays_on_record_but_is_not_active(tmp_path, store_location):
    with Store(store_location) as store:
        logins = store.web_logins
        logins.add("one", "t1")
        logins.add("two", "t1")
        logins.revoke("one", "t2")

        assert logins.get("one") == WebLogin("one", "t1", "t2") and not logins.get("one").active
        assert logins.get("two").active
        assert logins.get("three") is None


@pytest.mark.postgres
def test_running_lists_only_runs_still_marked_running(tmp_path, store_location):
    with Store(store_location) as store:
        done = store.start_run(dt.date(2026, 2, 23), "run")
        store.finish_run(done, "ok")
        running = store.start_run(dt.date(2026, 2, 24), "run")

        assert store.run_history.running() == [RunningRun(running, "2026-02-24", os.getpid())]
