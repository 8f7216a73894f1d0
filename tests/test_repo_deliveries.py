"""DeliveryRepository on a real SQLite file: claims, stale claims and the record."""

from __future__ import annotations

import datetime as dt

import pytest

from paperradar.core.store import Store

DAY = dt.date(2026, 2, 24)


@pytest.mark.postgres
def test_a_claim_is_current_until_it_fails_and_a_stale_one_is_failed(tmp_path, store_location):
    with Store(store_location) as store:
        d = store.deliveries
        first = d.claim(DAY, "email", "a@example.org", "2026-02-24T08:00:00+00:00")
        assert d.current(DAY, "email", "a@example.org").status == "sending"
        assert d.current(DAY, "email", "b@example.org") is None

        d.fail_stale_claims("2026-02-24T07:00:00+00:00")  # started after this: still running
        assert d.current(DAY, "email", "a@example.org").id == first
        d.fail_stale_claims("2026-02-24T09:00:00+00:00")
        assert d.current(DAY, "email", "a@example.org") is None
        [row] = d.recorded(DAY)
        assert (row.status, row.response) == ("failed", "interrupted before it finished")


@pytest.mark.postgres
def test_a_finished_delivery_is_recorded_newest_first_per_day(tmp_path, store_location):
    with Store(store_location) as store:
        d = store.deliveries
        a = d.claim(DAY, "slack", "$HOOK", "t1")
        d.finish(a, "sent", 2, "ok", "t2")
        b = d.claim(DAY + dt.timedelta(days=1), "slack", "$HOOK", "t3")

        sent = d.current(DAY, "slack", "$HOOK")
        assert (sent.id, sent.status, sent.attempts, sent.response, sent.sent_at) == (a, "sent", 2, "ok", "t2")
        assert [r.id for r in d.recorded()] == [b, a]
        assert [r.id for r in d.recorded(DAY)] == [a]
