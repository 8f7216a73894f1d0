"""One retry policy for everything that talks to another service.

arXiv, the other sources, the trending sites, the LLM endpoint and the
delivery channels all retry the same way: a bounded number of attempts,
exponential back-off, and a server's ``Retry-After`` honoured up to a cap (a
server asking for an hour means "not today" for a daily job, not a sleep).
Each caller decides what is worth retrying and words its own final error.
``sleep`` is a parameter everywhere so tests with a recorded 429 never wait.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt


class RetryableStatus(Exception):
    """An answer worth asking again for: 429 Too Many Requests or a 5xx."""

    def __init__(self, response: httpx.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


# Failures of one request that the next attempt may not see.
TRANSIENT_HTTP = (RetryableStatus, httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def is_retryable_status(status_code: int) -> bool:
    return status_code == 429 or status_code >= 500


def retry_after_seconds(response: Any, now: dt.datetime | None = None) -> float | None:
    """A response's Retry-After (seconds or an HTTP date) in seconds, or None."""
    headers = getattr(response, "headers", None)
    raw = (headers.get("retry-after") or "").strip() if headers is not None else ""
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def asked_wait(exc: BaseException | None) -> float | None:
    """How long the failure says to wait: its ``retry_after``, else its response's Retry-After."""
    if exc is None:
        return None
    after = getattr(exc, "retry_after", None)
    if after is not None:
        return float(after)
    response = getattr(exc, "response", None)
    return retry_after_seconds(response) if response is not None else None


class Backoff:
    """A tenacity wait: ``first`` doubling per attempt up to ``cap``, or what the server asked.

    ``asked_cap`` bounds a Retry-After (None: the server is not asked). With
    ``at_least_backoff`` the wait is the longer of the two (an LLM endpoint that
    says "retry in 0 s" while overloaded still gets a pause); otherwise the
    server's answer replaces the back-off. ``fallback`` replaces the doubling
    (tests pass tenacity's ``wait_none()`` and still see Retry-After honoured).
    """

    def __init__(
        self,
        first: float,
        cap: float,
        *,
        asked_cap: float | None = None,
        at_least_backoff: bool = False,
        fallback: Callable[[RetryCallState], float] | None = None,
    ):
        self.first = first
        self.cap = cap
        self.asked_cap = asked_cap
        self.at_least_backoff = at_least_backoff
        self.fallback = fallback

    def __call__(self, state: RetryCallState) -> float:
        if self.fallback is not None:
            backoff = self.fallback(state)
        else:
            backoff = min(self.first * 2 ** (state.attempt_number - 1), self.cap)
        if self.asked_cap is None:
            return backoff
        asked = asked_wait(state.outcome.exception() if state.outcome else None)
        if asked is None:
            return backoff
        asked = min(asked, self.asked_cap)
        return max(asked, backoff) if self.at_least_backoff else asked


def retrying(
    *,
    attempts: int,
    retry_if: Callable[[BaseException], bool] | tuple[type[BaseException], ...],
    wait: Callable[[RetryCallState], float],
    sleep: Callable[[float], None] = time.sleep,
    before_sleep: Callable[[RetryCallState], None] | None = None,
) -> Retrying:
    """The tenacity loop every client uses; the last failure is re-raised as it was."""
    test = _instance_of(retry_if) if isinstance(retry_if, tuple) else retry_if
    return Retrying(
        stop=stop_after_attempt(max(1, attempts)),
        wait=wait,
        retry=retry_if_exception(test),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )


def _instance_of(types: tuple[type[BaseException], ...]) -> Callable[[BaseException], bool]:
    return lambda exc: isinstance(exc, types)


def send_with_retries(
    request: Callable[[], httpx.Response],
    *,
    attempts: int,
    wait: Callable[[RetryCallState], float],
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """``request()`` until it answers something other than 429/5xx, at most ``attempts`` times.

    Raises :class:`RetryableStatus` (holding the last answer) or the last
    transport error when the attempts run out; any other answer is returned,
    4xx included, for the caller to word.
    """
    for attempt in retrying(attempts=attempts, retry_if=TRANSIENT_HTTP, wait=wait, sleep=sleep):
        with attempt:
            response = request()
            if is_retryable_status(response.status_code):
                raise RetryableStatus(response)
    return response
