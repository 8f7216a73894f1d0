"""Which arXiv announcement a scheduled run should process, from the clock alone.

arXiv publishes new listings five times a week, Sunday to Thursday at 20:00
US Eastern time, and dates each listing by the weekday that follows: the
Sunday-evening announcement is Monday's listing, Thursday evening's is
Friday's. Nothing is announced on Friday or Saturday evenings, so from
Thursday 20:00 until Sunday 20:00 the newest listing stays Friday's.

The rule is therefore: find the most recent Sunday–Thursday 20:00 in
America/New_York that is not in the future, and return the next day's date.
Working in that zone (not in UTC) keeps the answer right across daylight
saving changes, when 20:00 Eastern moves between 00:00 and 01:00 UTC.

arXiv's holidays are not modelled: on those days the pipeline finds no new
listing for the returned date and says so, and a rerun changes nothing.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
ANNOUNCE_TIME = dt.time(20, 0)
# Monday=0 … Sunday=6: the evenings arXiv announces on.
ANNOUNCE_WEEKDAYS = frozenset({6, 0, 1, 2, 3})


def announcement_time(day: dt.date) -> dt.datetime:
    """When the listing dated ``day`` (a weekday) was published: the evening before, 20:00 Eastern.

    Monday's listing comes out on Sunday evening, so this is always the
    previous calendar day.
    """
    return dt.datetime.combine(day - dt.timedelta(days=1), ANNOUNCE_TIME, tzinfo=NEW_YORK)


def announcement_day(now: dt.datetime) -> dt.date:
    """The date of the newest arXiv listing published at ``now``.

    ``now`` should be timezone-aware; a naive value is taken as the machine's
    local time (Python's usual reading of naive datetimes).
    """
    eastern = now.astimezone(NEW_YORK)
    evening = eastern.date()
    # At most four days back: Sunday 19:59 reaches back to Thursday.
    for _ in range(7):
        if evening.weekday() in ANNOUNCE_WEEKDAYS:
            published = dt.datetime.combine(evening, ANNOUNCE_TIME, tzinfo=NEW_YORK)
            if published <= eastern:
                return evening + dt.timedelta(days=1)
        evening -= dt.timedelta(days=1)
    raise AssertionError("unreachable: an announcement happens every week")
