"""What every route of the web app shares: the store, the templates, request helpers.

:class:`Web` holds the configuration, the store (one per app; each request
thread reads and writes through its own SQLite connection, see
:mod:`paperradar.core.db`), the access guard and the Jinja environment;
the helpers parse and check what a request brings.
"""

from __future__ import annotations

import datetime as dt
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from ...core.config import Config
from ...core.injection import flags
from ...core.models import REASON_LABELS, location_facts
from ...core.pipeline import digest_enrichers
from ...core.store import Store
from . import data
from .accounts import USER_COOKIE, Viewer, session_user
from .security import CSRF_FIELD, Guard

HERE = Path(__file__).parent
PER_PAGE = 20
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


PROFILE_LISTS = ("authors", "keywords", "negative_keywords", "seed_papers")
MAX_TOPICS = 200


def form_problems(form) -> list[str]:
    """What makes a profile form submission incomplete; a partial form must not erase what it lacks."""
    raw = form.get("topic_count")
    if not isinstance(raw, str) or not raw.strip().isdigit() or int(raw) > MAX_TOPICS:
        return [f"topic_count: expected a number from 0 to {MAX_TOPICS}, got {raw!r}; nothing was saved"]
    expected = [*PROFILE_LISTS]
    for i in range(int(raw)):
        expected += [f"topic_{i}_name", f"topic_{i}_relevant"]
    missing = [k for k in expected if k not in form]
    if missing:
        return [
            f"the form is incomplete (missing {', '.join(missing[:6])}{' …' if len(missing) > 6 else ''}); "
            "nothing was saved: reload the profile page and submit it again"
        ]
    return []


def host_name(header: str) -> str:
    """The Host header without its port: "127.0.0.1:8000" -> "127.0.0.1", "[::1]:80" -> "[::1]"."""
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0].lower()


def parse_day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise HTTPException(
            400, f"{value!r} is not a date. Dates are written YYYY-MM-DD, e.g. /day/2026-02-24."
        ) from None


def safe_next(value: str | None, default: str = "/") -> str:
    """Only same-site paths: a crafted ?next= must not send the user elsewhere."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def _highlight(snippet: str | None) -> Markup:
    if not snippet:
        return Markup("")
    text = str(escape(snippet))
    return Markup(text.replace(data.SNIPPET_OPEN, "<mark>").replace(data.SNIPPET_CLOSE, "</mark>"))


def _paper_url(arxiv_id: str) -> str:
    return "/paper/" + urllib.parse.quote(arxiv_id, safe="/.")


def _authors(authors: list[str], limit: int = 8) -> str:
    if len(authors) > limit:
        return ", ".join(authors[:limit]) + f" et al. ({len(authors)} authors)"
    return ", ".join(authors) or "Unknown authors"


def make_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,  # all templates, whatever their extension
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(highlight=_highlight, paper_url=_paper_url, authors=_authors)
    env.globals.update(
        reason_label=lambda k: REASON_LABELS.get(k, k), location_facts=location_facts, instruction_flags=flags
    )
    return env


class Web:
    """Everything a request handler needs, shared by the app's routes."""

    def __init__(self, config: Config, token: str | None, embedder: Any = None):
        self.config = config
        self._store: Store | None = None
        self._opening = threading.Lock()
        self.guard = Guard(token, borrow=self.borrow)
        self.index = data.VectorIndex(config.embedding.key)
        self.env = make_env()
        self._embedder = embedder
        # What the configured plugins add to a day's page, as in the written digest.
        self.enrichers = digest_enrichers(config)

    @contextmanager
    def borrow(self) -> Iterator[Store]:
        """The app's store; each request thread uses its own connection to it (see core.db)."""
        with self._opening:
            if self._store is None:
                # Opened at the first request, not at import: the daily run may create the file later.
                self._store = Store(self.config.database, migrate=False)
        try:
            yield self._store
        except BaseException:
            # A request that failed mid-transaction must not leave its half-done writes on this thread's connection.
            self._store.conn.rollback()
            raise

    def viewer(self, request: Request) -> Viewer | None:
        """Who sent ``request``, or None when it must log in first (see :mod:`.accounts`)."""
        with self.borrow() as store:
            request.state.accounts = store.users.any_active()
            if request.state.accounts:
                user = session_user(store, request.cookies.get(USER_COOKIE))
                if user is not None:
                    return Viewer(user)
                return Viewer(None) if self.guard.token_in_headers(request.headers) else None
        return Viewer(None) if self.guard.authenticated(request.headers, request.cookies) else None

    @property
    def embedder(self):
        if self._embedder is None:
            from ...core.embedding import Embedder

            self._embedder = Embedder(**self.config.embedding.transformer())
        return self._embedder

    def tournament(self):
        from ...stages import tournament

        return tournament

    def render(self, request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        session = getattr(request.state, "session", "")
        ctx.setdefault("title", "paperradar")
        html = self.env.get_template(name).render(
            request_path=request.url.path,
            csrf_token=self.guard.csrf_token(session) if session else "",
            csrf_field=CSRF_FIELD,
            auth_enabled=self.guard.token is not None or getattr(request.state, "accounts", False),
            viewer=getattr(request.state, "viewer", None),
            current_profile=getattr(request.state, "profile", None),
            **ctx,
        )
        return HTMLResponse(html, status_code=status)
