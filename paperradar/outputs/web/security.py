"""Who may use the web app, and proof that a form came from it.

- Binding: the app listens on a loopback address unless an access token is set
  (``PAPERRADAR_WEB_TOKEN``); anything else would publish the database and the
  profile editor to the network.
- Access: with a token, every request needs it, as ``Authorization: Bearer``,
  an ``X-Paperradar-Token`` header, or the cookie the login form sets. The
  cookie names a row of ``web_logins`` and carries its HMAC under the token
  (never the token); logging out revokes the row, so the cookie is dead even
  if it was copied. Wrong tokens are throttled per client address.
- CSRF: every visitor gets a random session cookie; a form's token is an HMAC
  of that session id with a per-process secret, checked on every POST (form
  field ``csrf_token`` or header ``X-CSRF-Token``, which HTMX sends through
  ``hx-headers``). A page on another site can neither read the cookie nor
  compute the token.
- Host header: without a token only loopback host names are answered, so a DNS
  rebinding page cannot talk to the local server under its own name.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from ...core.errors import PaperradarError

TOKEN_ENV = "PAPERRADAR_WEB_TOKEN"
SESSION_COOKIE = "paperradar_session"
AUTH_COOKIE = "paperradar_auth"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
TOKEN_HEADER = "x-paperradar-token"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


class WebSecurityError(PaperradarError):
    """The server would be reachable from the network without an access token."""


def is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_from_env() -> str | None:
    token = os.environ.get(TOKEN_ENV, "").strip()
    return token or None


def check_bind(host: str, token: str | None, *, accounts: bool = False) -> None:
    """Refuse a network address unless visitors must log in (a token, or the store's user accounts)."""
    if is_loopback(host):
        return
    if accounts and not token:
        return
    if not token:
        raise WebSecurityError(
            f"Refusing to listen on {host}: that address is reachable from other machines and no access token "
            "is set. Add a user (`paperradar users add NAME --admin`; then every visitor must log in), "
            f"set {TOKEN_ENV} to a long random string (e.g. `openssl rand -hex 24`), or bind to "
            "127.0.0.1 (the default) and reach it through an SSH tunnel."
        )
    if len(token) < 16:
        raise WebSecurityError(f"{TOKEN_ENV} is too short to protect a public server; use at least 16 characters.")


# Login throttling: this many wrong tokens from one address within the window
# lock that address out until the oldest of them leaves the window.
MAX_LOGIN_FAILURES = 5
LOGIN_WINDOW_SECONDS = 60.0


class Guard:
    """Per-process secrets and the checks the middleware makes.

    ``borrow`` lends a store (for the login table); ``clock`` is a parameter so
    throttling can be tested without waiting.
    """

    def __init__(
        self,
        token: str | None,
        borrow: Callable[[], AbstractContextManager] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.token = token
        self._secret = secrets.token_bytes(32)
        self._borrow = borrow
        self._clock = clock
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def new_session() -> str:
        return secrets.token_urlsafe(24)

    def csrf_token(self, session_id: str) -> str:
        return hmac.new(self._secret, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session_id: str | None, sent: str | None) -> bool:
        return bool(session_id and sent) and hmac.compare_digest(self.csrf_token(session_id), sent)

    def _sign(self, login_id: str) -> str:
        assert self.token is not None
        return hmac.new(self.token.encode(), b"paperradar-web-login:" + login_id.encode(), hashlib.sha256).hexdigest()

    def issue_login(self) -> str:
        """A new login (a row in the store) and the cookie value that names it."""
        from ...core.store import utcnow

        login_id = secrets.token_urlsafe(18)
        with self._borrow() as store:
            store.web_logins.add(login_id, utcnow())
        return f"{login_id}.{self._sign(login_id)}"

    def _login_id(self, cookie: str | None) -> str | None:
        login_id, _, sig = (cookie or "").partition(".")
        if login_id and sig and hmac.compare_digest(sig, self._sign(login_id)):
            return login_id
        return None

    def login_valid(self, cookie: str | None) -> bool:
        login_id = self._login_id(cookie)
        if login_id is None or self._borrow is None:
            return False
        with self._borrow() as store:
            login = store.web_logins.get(login_id)
        return login is not None and login.active

    def revoke_login(self, cookie: str | None) -> None:
        from ...core.store import utcnow

        login_id = self._login_id(cookie) if self.token else None
        if login_id is None or self._borrow is None:
            return
        with self._borrow() as store:
            store.web_logins.revoke(login_id, utcnow())

    def login_wait(self, client: str) -> float:
        """Seconds before ``client`` may try a token again (0: now)."""
        now = self._clock()
        with self._lock:
            recent = [t for t in self._failures.get(client, []) if now - t < LOGIN_WINDOW_SECONDS]
            self._failures[client] = recent
            if len(recent) < MAX_LOGIN_FAILURES:
                return 0.0
            return LOGIN_WINDOW_SECONDS - (now - recent[-MAX_LOGIN_FAILURES])

    def login_failed(self, client: str) -> None:
        with self._lock:
            self._failures.setdefault(client, []).append(self._clock())

    def token_ok(self, sent: str | None) -> bool:
        return bool(self.token and sent) and hmac.compare_digest(sent.encode(), self.token.encode())

    def token_in_headers(self, headers) -> bool:
        """The access token sent by a script (``Authorization: Bearer`` or the token header)."""
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and self.token_ok(auth[7:].strip()):
            return True
        return self.token_ok(headers.get(TOKEN_HEADER))

    def authenticated(self, headers, cookies) -> bool:
        if self.token is None:
            return True
        return self.token_in_headers(headers) or self.login_valid(cookies.get(AUTH_COOKIE))
