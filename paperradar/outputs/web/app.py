"""``paperradar serve``: the digest, paper pages, leaderboards, search, feedback and profile.

Server-rendered with Jinja2 (autoescape on: every title, abstract, author and
LLM comment is untrusted text), HTMX for in-place updates, no build step.
Each request uses the app's :class:`~paperradar.core.store.Store` through its
thread's own connection (WAL mode lets the daily run write meanwhile). See :mod:`.security` for the
access token, CSRF and bind rules.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import escape
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...core import feedback as fb
from ...core.config import Config
from ...core.digest import build_digest
from ...core.errors import PaperradarError
from ...core.logs import configure_logging
from ...core.models import split_arxiv_id
from ...core.store import Store
from ...core.works import Works
from ...signals.trending import entry_signals
from . import data, health
from .account_routes import add_account_routes
from .accounts import current_profile, profile_settings
from .render import CSP, HERE, PER_PAGE, Web, host_name, parse_day, safe_next
from .security import (
    CSRF_FIELD,
    CSRF_HEADER,
    LOOPBACK_HOSTS,
    SESSION_COOKIE,
    Guard,
    check_bind,
    token_from_env,
)

log = logging.getLogger("paperradar.outputs.web")


def create_app(
    config: Config, *, token: str | None = None, embedder: Any = None, trusted_hosts: tuple[str, ...] | None = None
) -> FastAPI:
    """The web app for ``config``'s database.

    ``token`` defaults to ``PAPERRADAR_WEB_TOKEN``; ``embedder`` (anything with
    ``encode(list[str])``) replaces the configured model for semantic search;
    ``trusted_hosts`` limits the Host header (``serve`` sets loopback names when
    there is no token).
    """
    token = (token if token is not None else token_from_env()) or None
    Store(config.database).close()  # migrations (FTS index, feedback) run once, here
    web = Web(config, token, embedder)
    app = FastAPI(title="paperradar", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.web = web
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        host = host_name(request.headers.get("host", ""))
        if trusted_hosts is not None and host not in trusted_hosts:
            return PlainTextResponse(f"Host {host!r} is not served here.", status_code=400)
        session = request.cookies.get(SESSION_COOKIE)
        new_session = None
        if not session or not re.fullmatch(r"[A-Za-z0-9_\-]{20,64}", session):
            session = new_session = Guard.new_session()
        request.state.session = session
        path = request.url.path
        # No viewer for static files and the health check (which must answer even when the store does not).
        public = path.startswith("/static/") or path == health.PATH
        request.state.viewer = None if public else web.viewer(request)
        if not public and path != "/login" and request.state.viewer is None:
            if request.method == "GET":
                response: Response = RedirectResponse("/login?next=" + urllib.parse.quote(path), status_code=303)
            else:
                response = web.render(request, "error.html", 401, code=401, message="Log in first.")
        else:
            response = await call_next(request)
        if new_session:
            response.set_cookie(SESSION_COOKIE, new_session, httponly=True, samesite="lax")
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    async def csrf(request: Request) -> None:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        sent = request.headers.get(CSRF_HEADER)
        if not sent:
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        if not web.guard.csrf_ok(request.state.session, sent):
            raise HTTPException(
                403,
                "This form has expired or did not come from this site (missing or wrong CSRF token). "
                "Reload the page and try again.",
            )

    def store_dep(request: Request) -> Iterator[Store]:
        """The store as the request's profile sees it (403 for a profile that is not the viewer's)."""
        with web.borrow() as store:
            request.state.profile = current_profile(request, store)
            yield store.for_profile(request.state.profile.id)

    def shared_store_dep() -> Iterator[Store]:
        """The whole store, for pages that check who may see what themselves."""
        with web.borrow() as store:
            yield store

    app.router.dependencies.append(Depends(csrf))
    app.include_router(health.router(web))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if not hasattr(request.state, "session"):
            request.state.session = ""
        message = exc.detail if isinstance(exc.detail, str) else "Something went wrong."
        if exc.status_code == 404 and message == "Not Found":
            message = f"There is no page at {request.url.path}."
        if request.headers.get("hx-request"):
            return HTMLResponse(f'<p class="error">{escape(message)}</p>', status_code=exc.status_code)
        return web.render(request, "error.html", exc.status_code, code=exc.status_code, message=message)

    @app.exception_handler(PaperradarError)
    async def app_error(request: Request, exc: PaperradarError):
        return web.render(request, "error.html", 400, code=400, message=str(exc))

    # -- digest -------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    def today(
        request: Request, category: str = "", min_score: str = "", source: str = "", store: Store = Depends(store_dep)
    ):
        days = data.days_with_digest(store)
        if not days:
            return web.render(request, "empty.html", title="paperradar")
        return show_day(request, store, dt.date.fromisoformat(days[0]), days, category, min_score, source)

    @app.get("/day/{day}", response_class=HTMLResponse)
    def day_page(
        request: Request,
        day: str,
        category: str = "",
        min_score: str = "",
        source: str = "",
        store: Store = Depends(store_dep),
    ):
        return show_day(request, store, parse_day(day), data.days_with_digest(store), category, min_score, source)

    def show_day(request, store: Store, day: dt.date, days: list[str], category: str, min_score: str, source: str):
        try:
            threshold = float(min_score) if min_score.strip() else None
        except ValueError:
            raise HTTPException(400, f"min_score {min_score!r} is not a number, e.g. 1.5.") from None
        digest = build_digest(store, day, web.enrichers)
        categories = sorted({c for e in digest.entries for c in e.paper.categories})
        sources = sorted({s for e in digest.entries for s in e.paper.sources})
        entries = [
            e
            for e in digest.entries
            if (not category or category in e.paper.categories)
            and (not source or source in e.paper.sources)
            and (threshold is None or e.score >= threshold)
        ]
        states = fb.states(store, [e.paper.arxiv_id for e in entries])
        iso = day.isoformat()
        older = next((d for d in days if d < iso), None)
        newer = next((d for d in reversed(days) if d > iso), None)
        return web.render(
            request,
            "day.html",
            title=f"paperradar · {iso}",
            digest=digest,
            entries=entries,
            states=states,
            categories=categories,
            category=category,
            sources=sources,
            source=source,
            min_score=min_score,
            days=days,
            older=older,
            newer=newer,
            known=iso in days,
        )

    # -- paper --------------------------------------------------------------------------------

    @app.get("/paper/{arxiv_id:path}", response_class=HTMLResponse)
    def paper_page(request: Request, arxiv_id: str, store: Store = Depends(store_dep)):
        try:
            key = split_arxiv_id(arxiv_id)[0]
        except ValueError:
            key = None
        # Local ids (the demo day's filler) are not arXiv-shaped but have pages too.
        paper = store.get_paper(key or arxiv_id)
        if paper is None and key is None:
            raise HTTPException(404, f"{arxiv_id!r} is not an arXiv id (they look like 2602.19938).")
        if paper is None:
            raise HTTPException(
                404,
                f"Paper {key} is not in this database. It may be outside your categories; "
                f"see it on arXiv: https://arxiv.org/abs/{key}",
            )
        key = paper.arxiv_id
        paper = Works(store).attach([paper])[0]
        return web.render(
            request,
            "paper.html",
            title=f"{paper.title} · paperradar",
            paper=paper,
            candidates=data.candidate_rows(store, key),
            judgments=data.judgment_rows(store, key),
            assessments=data.assessment_rows(store, key),
            matches=data.match_rows(store, key),
            signals=entry_signals(store, key, web.config.signals),
            state=fb.state(store, key),
        )

    @app.get("/related/{arxiv_id:path}", response_class=HTMLResponse)
    def related_papers(
        request: Request, arxiv_id: str, k: int = Query(8, ge=1, le=50), store: Store = Depends(store_dep)
    ):
        # Loaded by the paper page after it is shown: the page never waits for the similarity scan.
        paper = store.get_paper(arxiv_id)
        if paper is None:
            raise HTTPException(404, f"Paper {arxiv_id} is not in this database.")
        related = data.related(store, web.index, paper.arxiv_id, k)
        name = "_related.html" if request.headers.get("hx-request") else "related.html"
        return web.render(request, name, title=f"Related to {paper.title}", paper=paper, related=related)

    # -- feedback -----------------------------------------------------------------------------

    @app.post("/feedback")
    def give_feedback(
        request: Request,
        arxiv_id: str = Form(...),
        kind: str = Form(...),
        note: str | None = Form(None),
        next: str = Form("/"),
        store: Store = Depends(store_dep),
    ):
        if kind == "note":
            state = fb.record(store, arxiv_id, "note", note or "")
        elif kind in ("up", "down", "save"):
            state = fb.toggle(store, arxiv_id, kind)
        else:
            raise HTTPException(400, f"{kind!r} is not a kind of feedback (up, down, save or note).")
        if request.headers.get("hx-request"):
            return web.render(request, "_feedback.html", state=state, next=safe_next(next))
        return RedirectResponse(safe_next(next), status_code=303)

    @app.get("/feedback", response_class=HTMLResponse)
    def feedback_page(request: Request, only: str = "", store: Store = Depends(store_dep)):
        if only not in ("", "up", "down", "saved"):
            raise HTTPException(400, f"only={only!r}: use up, down or saved.")
        rows = fb.all_states(store, only=only or None)
        return web.render(request, "feedback.html", title="Feedback · paperradar", rows=rows, only=only)

    @app.get("/feedback.csv")
    def feedback_csv(events: bool = False, store: Store = Depends(store_dep)):
        return Response(
            fb.export_csv(store, events=events),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="paperradar-feedback.csv"'},
        )

    # -- search -------------------------------------------------------------------------------

    @app.get("/search", response_class=HTMLResponse)
    def search(
        request: Request,
        q: str = "",
        mode: str = "keyword",
        page: int = Query(1, ge=1, le=1000),
        store: Store = Depends(store_dep),
    ):
        if mode not in ("keyword", "semantic"):
            raise HTTPException(400, f"mode={mode!r}: use keyword or semantic.")
        q = q.strip()[:500]
        result = data.SearchPage(page=page, per_page=PER_PAGE)
        if q and mode == "keyword":
            result = data.keyword_search(store, q, page, PER_PAGE)
        elif q:
            vector = web.embedder.encode([q])[0]
            result = data.semantic_search(store, web.index, vector, page, PER_PAGE)
        states = fb.states(store, [h.paper.arxiv_id for h in result.hits])
        return web.render(
            request, "search.html", title="Search · paperradar", q=q, mode=mode, result=result, states=states
        )

    # -- leaderboard --------------------------------------------------------------------------

    @app.get("/leaderboard", response_class=HTMLResponse)
    def leaderboard_page(
        request: Request,
        day: str = "",
        period: str = "day",
        category: str = "",
        question: str = "impact",
        store: Store = Depends(store_dep),
    ):
        if period not in ("day", "week"):
            raise HTTPException(400, f"period={period!r}: use day or week.")
        if question not in ("impact", "personal"):
            raise HTTPException(400, f"question={question!r}: use impact or personal.")
        days = data.days_with_digest(store)
        when = parse_day(day) if day else (dt.date.fromisoformat(days[0]) if days else dt.date.today())
        tournament = web.tournament()
        board = None
        if tournament is not None:
            pool = tournament.make_pool(store, when, period=period, category=category or None)
            if question == "personal":
                from ...stages.group_tournament import personal_leaderboard

                tc = web.config.tournament
                board = personal_leaderboard(
                    store, pool, tc, profile=profile_settings(request, web.config)
                ) or personal_leaderboard(store, pool, tc)
            else:
                board = tournament.leaderboard(store, pool, web.config.tournament)
            if board is not None and not board.rows:
                board = None
        return web.render(
            request,
            "leaderboard.html",
            title=("Personal leaderboard" if question == "personal" else "Leaderboard") + " · paperradar",
            board=board,
            question=question,
            day=when.isoformat(),
            period=period,
            category=category,
            categories=web.config.categories,
            days=days,
            available=tournament is not None,
        )

    add_account_routes(app, web, store_dep, shared_store_dep)

    return app


def serve(config: Config, host: str = "127.0.0.1", port: int = 8000, log_format: str = "text") -> None:
    """Run the app with uvicorn; refuses a non-loopback address without an access token.

    With ``log_format = "json"`` uvicorn's own records (startup, access lines) are JSON lines too.
    """
    import uvicorn

    token = token_from_env()
    with Store(config.database) as store:
        accounts = store.users.any_active()
    check_bind(host, token, accounts=accounts)
    trusted = None if token or accounts else LOOPBACK_HOSTS
    app = create_app(config, token=token, trusted_hosts=trusted)
    log_config: Any = uvicorn.config.LOGGING_CONFIG
    if log_format == "json":
        configure_logging("json", loggers=("paperradar", "uvicorn"))
        log_config = None
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False, log_config=log_config)
