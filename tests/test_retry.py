"""The one retry policy every client uses (core/retry.py)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from tenacity import RetryCallState, wait_none

from paperradar.core.retry import Backoff, RetryableStatus, retry_after_seconds, retrying, send_with_retries


def state_after(attempt: int, exc: BaseException | None) -> RetryCallState:
    state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    if exc is not None:
        state.set_exception((type(exc), exc, None))
    return state


class Slow(Exception):
    def __init__(self, retry_after):
        self.retry_after = retry_after


def answer(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", "http://127.0.0.1/x"))


def test_backoff_doubles_up_to_its_cap():
    wait = Backoff(2.0, 10.0)
    assert [wait(state_after(n, None)) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 10.0]


def test_a_retry_after_replaces_the_backoff_up_to_its_cap():
    wait = Backoff(2.0, 120.0, asked_cap=60.0)
    assert wait(state_after(3, RetryableStatus(answer(429, **{"Retry-After": "5"})))) == 5.0
    assert wait(state_after(1, RetryableStatus(answer(503, **{"Retry-After": "3600"})))) == 60.0
    # Not asked: the server's answer is ignored.
    assert Backoff(2.0, 120.0)(state_after(1, RetryableStatus(answer(429, **{"Retry-After": "30"})))) == 2.0


def test_at_least_backoff_takes_the_longer_of_the_two():
    wait = Backoff(4.0, 120.0, asked_cap=120.0, at_least_backoff=True)
    assert wait(state_after(1, Slow(0.0))) == 4.0
    assert wait(state_after(1, Slow(30.0))) == 30.0
    assert wait(state_after(1, Slow(900.0))) == 120.0


def test_a_fallback_wait_still_honours_retry_after():
    wait = Backoff(2.0, 30.0, asked_cap=60.0, fallback=wait_none())
    assert wait(state_after(2, RetryableStatus(answer(429)))) == 0.0
    assert wait(state_after(2, RetryableStatus(answer(429, **{"Retry-After": "1"})))) == 1.0


def test_retry_after_as_an_http_date():
    now = dt.datetime(2026, 2, 24, 12, 0, tzinfo=dt.UTC)
    assert retry_after_seconds(answer(503, **{"Retry-After": "Tue, 24 Feb 2026 12:00:30 GMT"}), now=now) == 30.0
    assert retry_after_seconds(answer(503, **{"Retry-After": "soon"})) is None
    assert retry_after_seconds(None) is None


def test_send_with_retries_asks_again_on_429_and_5xx_only():
    answers = iter([answer(503), answer(429, **{"Retry-After": "2"}), answer(200)])
    sleeps: list[float] = []
    got = send_with_retries(
        lambda: next(answers), attempts=3, wait=Backoff(1.0, 10.0, asked_cap=5.0), sleep=sleeps.append
    )
    assert got.status_code == 200 and sleeps == [1.0, 2.0]

    calls = []
    assert send_with_retries(lambda: calls.append(1) or answer(404), attempts=5, wait=wait_none()).status_code == 404
    assert len(calls) == 1  # a 4xx is the caller's to word, never retried

    with pytest.raises(RetryableStatus) as failed:
        send_with_retries(lambda: answer(500), attempts=2, wait=wait_none(), sleep=lambda s: None)
    assert failed.value.response.status_code == 500


def test_retrying_reraises_the_last_failure_after_the_attempts():
    tries = []

    def flaky():
        tries.append(1)
        raise httpx.ConnectError("refused")

    with pytest.raises(httpx.ConnectError):
        retrying(attempts=3, retry_if=(httpx.TransportError,), wait=wait_none(), sleep=lambda s: None)(flaky)
    assert len(tries) == 3
