"""Who is asking, and which profile a request works on.

Two ways to run the web app:

- **Single user** (no account in the store): as before accounts existed. On
  localhost there is no login; with ``PAPERRADAR_WEB_TOKEN`` the token is the
  login. The visitor is the *operator* and works on the default profile.
- **Lab** (at least one active user): every page but ``/login`` needs a
  password login. The cookie holds a random value whose SHA-256 names a row of
  ``user_sessions``; logging out or disabling the user revokes it. The access
  token still works as a header (``Authorization: Bearer``) for scripts, as the
  operator.

A member works on their own profiles only; an admin may open any profile and
manage users. A request picks its profile with ``?profile=ID``, else the one
chosen on ``/profiles`` (a cookie), else the viewer's first.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from fastapi import HTTPException, Request

from ...core.config import Config, ProfileConfig
from ...core.repositories.profiles import DEFAULT_PROFILE_ID, ProfileRecord
from ...core.repositories.users import User
from ...core.store import Store

USER_COOKIE = "paperradar_user"
PROFILE_COOKIE = "paperradar_profile"


@dataclass(frozen=True)
class Viewer:
    """The visitor: a user, or the operator (``user`` None) of a single-user setup or with the token."""

    user: User | None

    @property
    def admin(self) -> bool:
        return self.user is None or self.user.admin

    @property
    def name(self) -> str:
        return self.user.name if self.user else "operator"

    def may_use(self, profile: ProfileRecord) -> bool:
        if self.user is None:
            return True
        return self.user.admin or profile.owner_id == self.user.id

    def profiles(self, store: Store) -> list[ProfileRecord]:
        """The profiles this viewer may open, own ones first."""
        if self.user is None:
            return store.profiles.all()
        own = store.profiles.owned_by(self.user.id)
        if not self.user.admin:
            return own
        return own + [p for p in store.profiles.all() if p.owner_id != self.user.id]


def session_hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def new_session_cookie() -> str:
    return secrets.token_urlsafe(32)


def session_user(store: Store, cookie: str | None) -> User | None:
    if not cookie or len(cookie) > 128:
        return None
    return store.users.session_user(session_hash(cookie))


def _parse_id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 12 else None


def current_profile(request: Request, store: Store) -> ProfileRecord:
    """The profile this request works on; 403 when it asks for one that is not the viewer's."""
    viewer: Viewer = request.state.viewer
    asked = request.query_params.get("profile")
    if asked is not None:
        record = store.profiles.get(_parse_id(asked) or 0)
        if record is None or not viewer.may_use(record):
            raise HTTPException(403, f"Profile {asked!r} is not one of yours; /profiles lists those you can open.")
        return record
    remembered = store.profiles.get(_parse_id(request.cookies.get(PROFILE_COOKIE)) or 0)
    if remembered is not None and viewer.may_use(remembered):
        return remembered
    if viewer.user is None:
        record = store.profiles.get(DEFAULT_PROFILE_ID)
        assert record is not None  # created by migration m015
        return record
    mine = [p for p in viewer.profiles(store) if p.owner_id == viewer.user.id]
    mine = [p for p in mine if p.active] or mine
    if mine:
        return mine[0]
    if viewer.user.admin:
        record = store.profiles.get(DEFAULT_PROFILE_ID)
        assert record is not None
        return record
    raise HTTPException(
        403,
        f"{viewer.name} has no profile yet: ask an admin to run `paperradar profiles add NAME --owner {viewer.name}`.",
    )


def require_admin(request: Request) -> Viewer:
    viewer: Viewer = request.state.viewer
    if not viewer.admin:
        raise HTTPException(403, "Only an admin may manage users.")
    return viewer


def profile_settings(request: Request, config: Config) -> ProfileConfig:
    """What the request's profile asks for: its stored settings, or [profile] for the default one."""
    record: ProfileRecord = request.state.profile
    return record.settings if record.settings is not None else config.profile
