"""The one clock every stored timestamp comes from (UTC, ISO 8601, whole seconds)."""

from __future__ import annotations

import datetime as dt


def utcnow() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
