"""Polite HTTP for the sources that are not arXiv: pacing, retries, Retry-After, a User-Agent.

Every source's API has its own manners (bioRxiv and OpenReview want slow
clients, Semantic Scholar answers 429 without a key), so each configured
source gets its own :class:`PoliteClient` with the delay, retries and
User-Agent from its ``[[sources]]`` table. ``sleep`` and ``clock`` are
parameters so tests with a recorded 429 run without waiting.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from ..core.errors import FeedError, SourceError
from ..core.retry import Backoff, RetryableStatus, send_with_retries
from ..core.source_settings import SourceBase

USER_AGENT = "paperradar/0.1 (+https://github.com/paperradar/paperradar; self-hosted research radar)"


# Largest response read: a day's arXiv RSS for several busy categories is a few MB.
MAX_RESPONSE_BYTES = 32 * 2**20
# Longest Retry-After we honour; asking for more than this means "not today" for a daily job.
MAX_RETRY_AFTER = 300.0


def read_capped(response: httpx.Response, hint: str, limit: int | None = None) -> bytes:
    """A streamed body, refused past ``limit`` bytes (:data:`MAX_RESPONSE_BYTES`) with ``hint`` saying what to check."""
    limit = MAX_RESPONSE_BYTES if limit is None else limit
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise FeedError(f"{response.request.url} sent more than {limit // 2**20} MB{hint}")
        chunks.append(chunk)
    return b"".join(chunks)


def fetch_capped(http: httpx.Client, method: str, url: str, hint: str, **kw) -> httpx.Response:
    """One request, its body read up to :data:`MAX_RESPONSE_BYTES` (a giant answer is refused, not parsed)."""
    with http.stream(method, url, **kw) as streamed:
        body = read_capped(streamed, hint)
    # The body is already decoded: the copy must not claim a content-encoding.
    headers = [(k, v) for k, v in streamed.headers.multi_items() if k not in ("content-encoding", "content-length")]
    return httpx.Response(streamed.status_code, headers=headers, content=body, request=streamed.request)


class Pacer:
    """At most one call per ``delay_seconds``: :meth:`pace` sleeps for what is left of the gap."""

    def __init__(self, delay_seconds: float, *, sleep: Callable[[float], None], clock: Callable[[], float]):
        self.delay_seconds = delay_seconds
        self.sleep = sleep
        self.clock = clock
        self._last: float | None = None

    def pace(self) -> None:
        if self._last is not None:
            wait = self.delay_seconds - (self.clock() - self._last)
            if wait > 0:
                self.sleep(wait)
        self._last = self.clock()


class PoliteClient:
    """GETs and POSTs to one service, at most one request per ``delay_seconds``."""

    def __init__(
        self,
        name: str,
        *,
        delay_seconds: float = 1.0,
        max_retries: int = 4,
        timeout: float = 30.0,
        user_agent: str = USER_AGENT,
        headers: dict[str, str] | None = None,
        hint: str = "",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.name = name
        self.delay_seconds = delay_seconds
        self.max_retries = max_retries
        self.hint = hint
        self.sleep = sleep
        self.clock = clock
        self.http = httpx.Client(
            timeout=timeout, headers={"User-Agent": user_agent, **(headers or {})}, follow_redirects=True
        )
        self._pacer = Pacer(delay_seconds, sleep=sleep, clock=clock)
        self._wait = Backoff(max(delay_seconds, 1.0), 120, asked_cap=MAX_RETRY_AFTER)

    @classmethod
    def for_source(
        cls,
        cfg: SourceBase,
        *,
        hint: str,
        sleep: Callable[[float], None] = time.sleep,
        headers: dict[str, str] | None = None,
    ) -> PoliteClient:
        """The client of one ``[[sources]]`` table: its name, pacing, retries, timeout and user agent."""
        return cls(
            cfg.label,
            delay_seconds=cfg.delay_seconds,
            max_retries=cfg.max_retries,
            timeout=cfg.timeout_seconds,
            user_agent=cfg.user_agent,
            headers=headers,
            hint=hint,
            sleep=sleep,
        )

    def close(self) -> None:
        self.http.close()

    def get(self, url: str, params: dict[str, Any] | None = None) -> bytes:
        return self._send("GET", url, params=params).content

    def get_json(self, url: str, params: dict[str, Any] | None = None) -> Any:
        return self._json(self._send("GET", url, params=params))

    def post_json(self, url: str, body: Any, params: dict[str, Any] | None = None) -> Any:
        return self._json(self._send("POST", url, params=params, json=body))

    def _json(self, response: httpx.Response) -> Any:
        try:
            return json.loads(response.content)
        except ValueError:
            start = " ".join(response.content[:120].decode("utf-8", "replace").split()) or "an empty body"
            raise FeedError(
                f"{self.name}: {response.request.url} did not answer JSON (it starts with {start!r}). "
                f"The service may be down or showing an error page: try again later{self._hint()}."
            ) from None

    def _hint(self) -> str:
        return f", and {self.hint}" if self.hint else ""

    def _send(self, method: str, url: str, **kw) -> httpx.Response:
        attempts = self.max_retries + 1

        def once() -> httpx.Response:
            self._pacer.pace()
            return self._request(method, url, **kw)

        try:
            response = send_with_retries(once, attempts=attempts, wait=self._wait, sleep=self.sleep)
        except RetryableStatus as exc:
            r = exc.response
            advice = (
                f"{self.name} is rate-limiting: wait a few minutes, and raise this source's delay_seconds if it repeats"
                if r.status_code == 429
                else f"{self.name} seems to be down or overloaded: try again later"
            )
            raise SourceError(
                f"{r.request.url} still answered HTTP {r.status_code} {r.reason_phrase} after {attempts} tries. "
                f"{advice}."
            ) from None
        except httpx.TransportError as exc:
            raise SourceError(
                f"Cannot reach {url} ({type(exc).__name__}: {str(exc) or 'no details'}). "
                f"Check the network connection and this source's base_url{self._hint()}."
            ) from exc
        if response.status_code >= 400:
            said = _said(response)
            raise SourceError(
                f"{self.name}: {response.request.url} answered HTTP {response.status_code} "
                f"{response.reason_phrase}{f' ({said})' if said else ''}" + (f"; {self.hint}." if self.hint else ".")
            )
        return response

    def _request(self, method: str, url: str, **kw) -> httpx.Response:
        hint = f", so it was not read. Check this source's base_url or url{self._hint()}."
        try:
            return fetch_capped(self.http, method, url, hint, **kw)
        except FeedError as e:
            raise FeedError(f"{self.name}: {e}") from None


def _said(response: httpx.Response) -> str:
    """The error a JSON API put in its answer ({"error": ...} or {"message": ...}), shortened."""
    try:
        data = json.loads(response.content)
    except ValueError:
        return ""
    if isinstance(data, dict):
        text = data.get("error") or data.get("message") or ""
        return " ".join(str(text).split())[:200]
    return ""
