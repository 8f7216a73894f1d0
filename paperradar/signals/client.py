"""A community signal record and the polite HTTP client the HF and HN readers share."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from tenacity import RetryCallState

from ..core.config import SignalsConfig
from ..core.errors import SourceError
from ..core.repositories.signals import Signal
from ..core.retry import Backoff, RetryableStatus, send_with_retries
from ..core.store import Store

__all__ = ["MAX_RETRY_AFTER", "USER_AGENT", "Harvest", "RateLimited", "Signal", "SignalClient", "SignalSource"]

# Longest Retry-After the trending sites get; a daily job does not wait longer for a badge.
MAX_RETRY_AFTER = 60.0


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
        self.retry_wait = Backoff(2.0, 30.0, asked_cap=MAX_RETRY_AFTER, fallback=retry_wait)
        self.sleep = sleep

    def close(self) -> None:
        self.http.close()

    def get(self, url: str, params: dict[str, str] | None = None) -> bytes:
        try:
            response = send_with_retries(
                lambda: self.http.get(url, params=params),
                attempts=self.attempts,
                wait=self.retry_wait,
                sleep=self.sleep,
            )
        except RetryableStatus as exc:
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


@dataclass
class Harvest:
    """What one signal source brought back from one run."""

    found: list[Signal] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    queries: int = 0  # requests made, where the source is rationed (HN: one per paper)
    skipped: int = 0  # listings or items that could not be read


@dataclass(frozen=True)
class SignalSource:
    """A community site the signals stage reads: ``name`` is its key in ``[signals] sources``."""

    name: str
    collect: Callable[[SignalClient, Store, SignalsConfig, dt.date, dt.datetime, Callable[[int], None] | None], Harvest]
