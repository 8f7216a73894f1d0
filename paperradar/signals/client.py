"""A community signal record and the polite HTTP client the HF and HN readers share."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from ..core.errors import SourceError
from ..core.repositories.signals import Signal

__all__ = ["MAX_RETRY_AFTER", "USER_AGENT", "RateLimited", "Signal", "SignalClient"]


class _Retryable(Exception):
    def __init__(self, response: httpx.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _should_retry(exc: BaseException) -> bool:
    return isinstance(exc, (httpx.TransportError, _Retryable))


MAX_RETRY_AFTER = 60.0


class _RetryAfterOrBackoff:
    """Wait what the server's Retry-After asks (capped), else back off exponentially."""

    def __init__(self, fallback):
        self.fallback = fallback

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable):
            raw = exc.response.headers.get("retry-after", "")
            try:
                return min(float(raw), MAX_RETRY_AFTER)
            except ValueError:
                pass
        return self.fallback(state)


class RateLimited(SourceError):
    """The service answered 429 Too Many Requests even after waiting."""


USER_AGENT = "paperradar/0.1 (self-hosted research radar)"


class SignalClient:
    """HTTP GET with bounded retries for the signal sources.

    ``retry_wait`` and ``sleep`` are parameters so tests run without waiting.
    """

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        attempts: int = 3,
        retry_wait: Callable[[RetryCallState], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        http: httpx.Client | None = None,
    ):
        self.http = http or httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=True)
        self.attempts = attempts
        self.retry_wait = retry_wait or wait_exponential(multiplier=2, min=2, max=30)
        self.sleep = sleep

    def close(self) -> None:
        self.http.close()

    def get(self, url: str, params: dict[str, str] | None = None) -> bytes:
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=_RetryAfterOrBackoff(self.retry_wait),
            retry=retry_if_exception(_should_retry),
            sleep=self.sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    response = self.http.get(url, params=params)
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _Retryable(response)
        except _Retryable as exc:
            code = exc.response.status_code
            if code == 429:
                raise RateLimited(
                    f"{url} keeps answering 429 Too Many Requests; paperradar will try again on the next run "
                    "(lower [signals] hn_max_queries or raise hn_delay_seconds if this repeats)."
                ) from None
            raise SourceError(f"{url} answered HTTP {code} after {self.attempts} tries.") from None
        except httpx.TransportError as exc:
            why = str(exc).rstrip(".")
            raise SourceError(f"Cannot reach {url}: {why}. Check the network or [signals] base URLs.") from exc
        except httpx.InvalidURL as exc:
            raise SourceError(f"{url} is not a usable URL ({exc}); fix the [signals] base URLs.") from exc
        if response.status_code >= 400:
            raise SourceError(f"{response.request.url} answered HTTP {response.status_code}.")
        return response.content
