"""The routes about who: log in and out, the profile editor, profiles, users, the lab leaderboard.

Every route here checks its viewer itself (see :mod:`.accounts`): the profile
editor works on the request's profile (a member's own only), ``/users`` is for
admins, ``/lab`` is shared by everyone logged in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from ...core.accounts import check_name, check_role, hash_password, verify_password
from ...core.clock import utcnow
from ...core.errors import PaperradarError
from ...core.profiles import ProfileFile
from ...core.store import Store
from .accounts import PROFILE_COOKIE, USER_COOKIE, Viewer, new_session_cookie, require_admin, session_hash
from .render import Web, form_problems, parse_day, safe_next
from .security import AUTH_COOKIE

SESSION_DAYS = 30


def _submitted_profile(form) -> dict[str, Any]:
    from .profile_edit import lines

    topics = []
    for i in range(int(form["topic_count"]) + 1):
        name, relevant = str(form.get(f"topic_{i}_name", "")).strip(), str(form.get(f"topic_{i}_relevant", ""))
        irrelevant = str(form.get(f"topic_{i}_irrelevant", "")).strip()
        if form.get(f"topic_{i}_delete") or not (name or relevant.strip() or irrelevant):
            continue
        topics.append({"name": name, "relevant": relevant.strip(), "irrelevant": irrelevant})
    return {
        "topics": topics,
        **{k: lines(str(form.get(k, ""))) for k in ("authors", "keywords", "negative_keywords", "seed_papers")},
    }


def _budget_fields(form) -> dict[str, Any]:
    """A stored profile's LLM budget and recipients as the form sent them (absent fields: cleared)."""
    from .profile_edit import lines

    raw = str(form.get("max_cost_per_run", "")).strip()
    return {"max_cost_per_run": raw or None, "recipients": lines(str(form.get("recipients", "")))}


def add_account_routes(app: FastAPI, web: Web, store_dep, shared_store_dep) -> None:
    def render_profile(request: Request, status: int = 200, **ctx: Any):
        record = request.state.profile
        ctx.setdefault("problems", [])
        ctx.setdefault("saved", False)
        ctx.setdefault("budget", record.max_cost_per_run if record.max_cost_per_run is not None else "")
        ctx.setdefault("recipients", record.recipients)
        return web.render(
            request,
            "profile.html",
            status,
            title="Profile · paperradar",
            record=record,
            source=web.config.source if record.settings is None else None,
            **ctx,
        )

    # -- the profile editor: the request's profile --------------------------------------------

    @app.get("/profile", response_class=HTMLResponse)
    def profile_page(request: Request, store: Store = Depends(store_dep)):
        record = request.state.profile
        profile = record.settings if record.settings is not None else web.config.profile
        return render_profile(request, profile=profile, saved=request.query_params.get("saved") == "1")

    @app.post("/profile", response_class=HTMLResponse)
    async def profile_save(request: Request, store: Store = Depends(store_dep)):
        from .profile_edit import ProfileEditError, validate_profile, write_profile

        form = await request.form()
        record = request.state.profile
        problems = form_problems(form)
        if problems:
            current = record.settings if record.settings is not None else web.config.profile
            return render_profile(request, 422, profile=current.model_dump(), problems=problems)
        submitted = _submitted_profile(form)
        budget = _budget_fields(form)
        try:
            profile = validate_profile(submitted)
            if not (profile.topics or profile.authors or profile.keywords or profile.seed_papers):
                raise ProfileEditError(
                    [
                        "the submitted profile is empty (no topic, author, keyword or seed paper) and would "
                        "match nothing; nothing was saved"
                    ]
                )
            if record.settings is None:
                # The default profile is paperradar.toml's [profile]: written back into that file.
                if web.config.source is None:
                    raise ProfileEditError(["this server was started without a configuration file to write to"])
                web.config.profile = write_profile(web.config.source, profile).profile
            else:
                checked = _validate_budget(profile, budget)
                store.profiles.update(record.id, profile, checked.max_cost_per_run, checked.recipients, utcnow())
        except PaperradarError as exc:
            problems = exc.problems if isinstance(exc, ProfileEditError) else [str(exc)]
            return render_profile(
                request,
                422,
                profile=submitted,
                problems=problems,
                budget=budget["max_cost_per_run"] or "",
                recipients=budget["recipients"],
            )
        return RedirectResponse(f"/profile?profile={record.id}&saved=1", status_code=303)

    # -- profiles: the viewer's, and which one the pages show ---------------------------------

    @app.get("/profiles", response_class=HTMLResponse)
    def profiles_page(request: Request, store: Store = Depends(shared_store_dep)):
        viewer: Viewer = request.state.viewer
        records = viewer.profiles(store)
        chosen = request.cookies.get(PROFILE_COOKIE, "")
        return web.render(request, "profiles.html", title="Profiles · paperradar", records=records, chosen=chosen)

    @app.post("/profiles/select")
    def profiles_select(request: Request, profile: int = Form(...), store: Store = Depends(shared_store_dep)):
        record = store.profiles.get(profile)
        viewer: Viewer = request.state.viewer
        if record is None or not viewer.may_use(record):
            raise HTTPException(403, f"Profile {profile} is not one of yours; /profiles lists those you can open.")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(PROFILE_COOKIE, str(record.id), httponly=True, samesite="lax")
        return response

    # -- users (admins) -------------------------------------------------------------------------

    @app.get("/users", response_class=HTMLResponse)
    def users_page(request: Request, store: Store = Depends(shared_store_dep)):
        require_admin(request)
        return web.render(
            request,
            "users.html",
            title="Users · paperradar",
            users=store.users.all(),
            profiles=store.profiles.all(),
            problems=[],
        )

    @app.post("/users", response_class=HTMLResponse)
    def users_add(
        request: Request,
        name: str = Form(...),
        password: str = Form(...),
        email: str = Form(""),
        role: str = Form("member"),
        store: Store = Depends(shared_store_dep),
    ):
        require_admin(request)
        try:
            check_name(name)
            check_role(role)
            if store.users.get(name) is not None:
                raise PaperradarError(f"There is already a user {name!r}.")
            store.users.add(name, hash_password(password), role, email.strip() or None, utcnow())
        except PaperradarError as exc:
            return web.render(
                request,
                "users.html",
                422,
                title="Users · paperradar",
                users=store.users.all(),
                profiles=store.profiles.all(),
                problems=[str(exc)],
            )
        return RedirectResponse("/users", status_code=303)

    @app.post("/users/{name}/disable")
    def users_disable(request: Request, name: str, store: Store = Depends(shared_store_dep)):
        viewer = require_admin(request)
        user = store.users.get(name)
        if user is None:
            raise HTTPException(404, f"No user {name!r}.")
        if viewer.user is not None and viewer.user.id == user.id:
            raise HTTPException(400, "You cannot disable yourself; ask another admin, or use `paperradar users`.")
        store.users.set_active(user.id, False, utcnow())
        return RedirectResponse("/users", status_code=303)

    # -- the lab leaderboard: shared ----------------------------------------------------------

    @app.get("/lab", response_class=HTMLResponse)
    def lab_page(
        request: Request,
        day: str = "",
        days: int = Query(7, ge=1, le=365),
        store: Store = Depends(shared_store_dep),
    ):
        until = parse_day(day) if day else dt.date.today()
        rows = store.lab.picks(until - dt.timedelta(days=days - 1), until, limit=50)
        return web.render(
            request,
            "lab.html",
            title="Lab leaderboard · paperradar",
            rows=rows,
            day=until.isoformat(),
            days=days,
            profiles=len(store.profiles.active()),
        )

    # -- login ----------------------------------------------------------------------------------

    def too_many(request: Request, client: str):
        wait = web.guard.login_wait(client)
        if wait <= 0:
            return None
        response = web.render(
            request,
            "error.html",
            429,
            code=429,
            message=f"Too many failed logins from this address: try again in {wait:.0f} seconds.",
        )
        response.headers["Retry-After"] = str(max(1, round(wait)))
        return response

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/"):
        accounts = request.state.accounts
        if web.guard.token is None and not accounts:
            return RedirectResponse(safe_next(next), status_code=303)
        return web.render(
            request, "login.html", title="Log in · paperradar", next=safe_next(next), failed=False, accounts=accounts
        )

    @app.post("/login", response_class=HTMLResponse)
    def login(
        request: Request,
        token: str = Form(""),
        name: str = Form(""),
        password: str = Form(""),
        next: str = Form("/"),
        store: Store = Depends(shared_store_dep),
    ):
        accounts = request.state.accounts
        if web.guard.token is None and not accounts:
            return RedirectResponse(safe_next(next), status_code=303)
        client = request.client.host if request.client else "?"
        if (blocked := too_many(request, client)) is not None:
            return blocked
        response = RedirectResponse(safe_next(next), status_code=303)
        if accounts:
            user = store.users.get(name.strip())
            # Verified even for an unknown name, so the answer takes as long and says as little.
            ok = verify_password(user.password_hash if user else _DUMMY_HASH, password) and bool(user and user.active)
            if ok and user is not None:
                cookie = new_session_cookie()
                store.users.start_session(session_hash(cookie), user.id, utcnow())
                response.set_cookie(USER_COOKIE, cookie, httponly=True, samesite="lax", max_age=SESSION_DAYS * 86400)
                response.delete_cookie(PROFILE_COOKIE)
                return response
        elif web.guard.token_ok(token):
            response.set_cookie(
                AUTH_COOKIE, web.guard.issue_login(), httponly=True, samesite="strict", max_age=SESSION_DAYS * 86400
            )
            return response
        web.guard.login_failed(client)
        return web.render(
            request,
            "login.html",
            401,
            title="Log in · paperradar",
            next=safe_next(next),
            failed=True,
            accounts=accounts,
        )

    @app.post("/logout")
    def logout(request: Request, store: Store = Depends(shared_store_dep)):
        web.guard.revoke_login(request.cookies.get(AUTH_COOKIE))
        cookie = request.cookies.get(USER_COOKIE)
        if cookie:
            store.users.end_session(session_hash(cookie), utcnow())
        response = RedirectResponse("/login", status_code=303)
        for name in (AUTH_COOKIE, USER_COOKIE, PROFILE_COOKIE):
            response.delete_cookie(name)
        return response


def _validate_budget(profile, budget: dict[str, Any]) -> ProfileFile:
    from pydantic import ValidationError

    from .profile_edit import ProfileEditError

    try:
        return ProfileFile.model_validate({"profile": profile.model_dump(), **budget})
    except ValidationError as exc:
        raise ProfileEditError([f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]) from None


_DUMMY_HASH = hash_password("not a real password, only for timing")
