"""Who may use the web app, and proof that a form came from it.

- Binding: the app listens on a loopback address unless an access token is set
  (``PAPERRADAR_WEB_TOKEN``); anything else would publish the database and the
  profile editor to the network.
- Access: with a token, every request needs it, as ``Authorization: Bearer``,
  an ``X-Paperradar-Token`` header, or the cookie the login form sets (the
  cookie holds an HMAC of the token, never the token).
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

from ..errors import PaperradarError

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


def check_bind(host: str, token: str | None) -> None:
    if is_loopback(host):
        return
    if not token:
        raise WebSecurityError(
            f"Refusing to listen on {host}: that address is reachable from other machines and no access token "
            f"is set. Set {TOKEN_ENV} to a long random string (e.g. `openssl rand -hex 24`), or bind to "
            "127.0.0.1 (the default) and reach it through an SSH tunnel."
        )
    if len(token) < 16:
        raise WebSecurityError(f"{TOKEN_ENV} is too short to protect a public server; use at least 16 characters.")


class Guard:
    """Per-process secrets and the checks the middleware makes."""

    def __init__(self, token: str | None):
        self.token = token
        self._secret = secrets.token_bytes(32)

    @staticmethod
    def new_session() -> str:
        return secrets.token_urlsafe(24)

    def csrf_token(self, session_id: str) -> str:
        return hmac.new(self._secret, b"csrf:" + session_id.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session_id: str | None, sent: str | None) -> bool:
        return bool(session_id and sent) and hmac.compare_digest(self.csrf_token(session_id), sent)

    def auth_cookie_value(self) -> str:
        # Derived from the token alone, so a login survives a server restart.
        assert self.token is not None
        return hmac.new(self.token.encode(), b"paperradar-web-login", hashlib.sha256).hexdigest()

    def token_ok(self, sent: str | None) -> bool:
        return bool(self.token and sent) and hmac.compare_digest(sent.encode(), self.token.encode())

    def authenticated(self, headers, cookies) -> bool:
        if self.token is None:
            return True
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and self.token_ok(auth[7:].strip()):
            return True
        if self.token_ok(headers.get(TOKEN_HEADER)):
            return True
        cookie = cookies.get(AUTH_COOKIE)
        return bool(cookie) and hmac.compare_digest(cookie, self.auth_cookie_value())
