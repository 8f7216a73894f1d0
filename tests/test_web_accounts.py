"""Accounts in the web app: logins, and authorization on every route.

Two members, ada and bob, each with a profile that ranked, judged and gave
feedback on the same day; root is an admin. Every route of the app is listed
in ROUTES with a check of what a member may not see or change there: a new
route without an entry fails ``test_every_route_has_an_authorization_check``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from paperradar.core import feedback as fb
from paperradar.core.accounts import hash_password
from paperradar.core.config import ProfileConfig, load_config
from paperradar.core.models import Candidate, Reason
from paperradar.core.repositories.judgments import Judgment, Selection
from paperradar.core.store import Store
from paperradar.outputs.web import create_app
from paperradar.outputs.web.security import TOKEN_ENV

from .conftest import DAY, SAMPLE_PAPERS
from .webdata import HashEmbedder, fill_store

pytestmark = pytest.mark.postgres

PASSWORDS = {"ada": "ada-password-1", "bob": "bob-password-2", "root": "root-password-3"}
AT = "2026-02-24T09:00:00+00:00"


@dataclass
class Lab:
    config: object
    ada: int  # profile ids
    bob: int

    def store(self) -> Store:
        return Store(self.config.database)


def _rank(handle: Store, top: str, label: str) -> None:
    ranked = [top, *(p.arxiv_id for p in SAMPLE_PAPERS if p.arxiv_id != top)]
    papers = {p.arxiv_id: p for p in SAMPLE_PAPERS}
    handle.save_candidates(
        DAY,
        f"hash-{label}",
        [
            Candidate(paper=papers[a], score=3.0 - i, reasons=[Reason(kind="criterion", label=label, score=3.0 - i)])
            for i, a in enumerate(ranked)
        ],
        shortlist_size=1,
    )
    handle.judgments.save(
        [
            Judgment(
                day=DAY.isoformat(),
                arxiv_id=top,
                model="gpt-4o-mini",
                stage="judge",
                criteria_hash=label,
                status="ok",
                created_at=AT,
                relevance=9,
                novelty=8,
                comment=f"verdict for {label}",
            )
        ]
    )
    handle.judgments.select(DAY, "relevance+novelty", lambda j: Selection(j.arxiv_id, 17.0, True))


@pytest.fixture
def lab(tmp_path, store_location, monkeypatch) -> Lab:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    path = tmp_path / "paperradar.toml"
    path.write_text(f'[paperradar]\ndatabase = "{store_location}"\n[profile]\nkeywords = ["grokking"]\n')
    config = load_config(path)
    fill_store(config)
    with Store(config.database) as store:
        users = {
            name: store.users.add(name, hash_password(pw), "admin" if name == "root" else "member", None, AT)
            for name, pw in PASSWORDS.items()
        }
        ada = store.profiles.add(
            users["ada"].id, "main", ProfileConfig(keywords=["ada-keyword"]), AT, max_cost_per_run=0.5
        )
        bob = store.profiles.add(
            users["bob"].id, "main", ProfileConfig(keywords=["bob-keyword"]), AT, max_cost_per_run=0.7
        )
        _rank(store.for_profile(ada.id), "2602.00001", "ada-topic")
        _rank(store.for_profile(bob.id), "2602.00003", "bob-topic")
        fb.record(store.for_profile(ada.id), "2602.00001", "note", "ada-secret-note")
        fb.record(store.for_profile(bob.id), "2602.00003", "note", "bob-secret-note")
    return Lab(config, ada.id, bob.id)


def client_for(lab: Lab, name: str | None) -> TestClient:
    c = TestClient(create_app(lab.config, embedder=HashEmbedder()), base_url="http://127.0.0.1")
    if name is not None:
        r = c.post(
            "/login",
            data={"name": name, "password": PASSWORDS[name], "next": "/", "csrf_token": csrf(c, "/login")},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
    return c


def csrf(c: TestClient, path: str = "/profiles") -> str:
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', c.get(path).text).group(1)


@pytest.fixture
def bob(lab):
    with client_for(lab, "bob") as c:
        yield c


# -- one check per route: what bob (a member) may not see or change of ada's --------------------


def _scoped_get(path: str, *, leak: tuple[str, ...] = ("ada-secret-note", "ada-topic", "verdict for ada-topic")):
    """GET ``path``: ada's profile is refused, and bob's own page shows nothing of ada's."""

    def check(lab: Lab, bob: TestClient) -> None:
        sep = "&" if "?" in path else "?"
        assert bob.get(f"{path}{sep}profile={lab.ada}").status_code == 403
        own = bob.get(path)
        assert own.status_code == 200, own.text
        for secret in leak:
            assert secret not in own.text, (path, secret)

    return check


def check_day(lab: Lab, bob: TestClient) -> None:
    _scoped_get("/day/2026-02-24")(lab, bob)
    page = bob.get("/day/2026-02-24").text
    # Bob's shortlist, with his reasons and his note (the shared leaderboard and trending may name others).
    assert "Scaling Laws for Mixture-of-Experts" in page and "verdict for bob-topic" in page


def check_paper(lab: Lab, bob: TestClient) -> None:
    _scoped_get("/paper/2602.00001")(lab, bob)


def check_feedback_post(lab: Lab, bob: TestClient) -> None:
    token = csrf(bob)
    data = {"arxiv_id": "2602.00001", "kind": "note", "note": "bob was here", "next": "/", "csrf_token": token}
    refused = bob.post(f"/feedback?profile={lab.ada}", data=data, follow_redirects=False)
    assert refused.status_code == 403
    assert bob.post("/feedback", data=data, follow_redirects=False).status_code == 303
    with lab.store() as store:
        assert fb.state(store.for_profile(lab.ada), "2602.00001").note == "ada-secret-note"
        assert fb.state(store.for_profile(lab.bob), "2602.00001").note == "bob was here"


def check_feedback_csv(lab: Lab, bob: TestClient) -> None:
    _scoped_get("/feedback.csv")(lab, bob)
    assert "bob-secret-note" in bob.get("/feedback.csv").text


def check_profile_get(lab: Lab, bob: TestClient) -> None:
    _scoped_get("/profile", leak=("ada-keyword", "0.5"))(lab, bob)
    own = bob.get("/profile").text
    assert "bob-keyword" in own and 'value="0.7"' in own  # bob's settings and budget


def check_profile_post(lab: Lab, bob: TestClient) -> None:
    form = {
        "topic_count": "0",
        "authors": "",
        "keywords": "stolen",
        "negative_keywords": "",
        "seed_papers": "",
        "max_cost_per_run": "99",
        "recipients": "bob@evil.example",
        "csrf_token": csrf(bob),
    }
    assert bob.post(f"/profile?profile={lab.ada}", data=form, follow_redirects=False).status_code == 403
    assert bob.post(f"/profile?profile={lab.bob}", data=form, follow_redirects=False).status_code == 303
    with lab.store() as store:
        ada, mine = store.profiles.get(lab.ada), store.profiles.get(lab.bob)
    assert ada.settings.keywords == ["ada-keyword"] and ada.max_cost_per_run == 0.5 and ada.recipients == []
    assert (
        mine.settings.keywords == ["stolen"] and mine.max_cost_per_run == 99 and mine.recipients == ["bob@evil.example"]
    )
    # Nor the default profile (paperradar.toml's): only the operator and admins open it.
    assert bob.post("/profile?profile=1", data=form, follow_redirects=False).status_code == 403


def check_profiles_page(lab: Lab, bob: TestClient) -> None:
    page = bob.get("/profiles").text
    assert f"/profile?profile={lab.bob}" in page and f"/profile?profile={lab.ada}" not in page
    assert "ada/main" not in page and ">default<" not in page


def check_profiles_select(lab: Lab, bob: TestClient) -> None:
    token = csrf(bob)
    r = bob.post("/profiles/select", data={"profile": str(lab.ada), "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 403
    r = bob.post("/profiles/select", data={"profile": str(lab.bob), "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    # A profile cookie naming ada's profile is ignored, not obeyed.
    bob.cookies.set("paperradar_profile", str(lab.ada))
    assert "ada-keyword" not in bob.get("/profile").text


def check_users_page(lab: Lab, bob: TestClient) -> None:
    assert bob.get("/users").status_code == 403


def check_users_add(lab: Lab, bob: TestClient) -> None:
    data = {"name": "mallory", "password": "mallory-pw-1", "role": "admin", "csrf_token": csrf(bob)}
    assert bob.post("/users", data=data, follow_redirects=False).status_code == 403
    with lab.store() as store:
        assert store.users.get("mallory") is None


def check_users_disable(lab: Lab, bob: TestClient) -> None:
    assert bob.post("/users/ada/disable", data={"csrf_token": csrf(bob)}, follow_redirects=False).status_code == 403
    with lab.store() as store:
        assert store.users.get("ada").active


def check_lab(lab: Lab, bob: TestClient) -> None:
    page = bob.get("/lab?day=2026-02-24")
    assert page.status_code == 200
    # Shared: the papers both profiles picked are counted, whoever asks; no one's notes or verdicts show.
    assert "Grokking" in page.text and "Scaling Laws" in page.text
    assert "ada-secret-note" not in page.text and "verdict for ada-topic" not in page.text


def check_login_page(lab: Lab, bob: TestClient) -> None:
    with client_for(lab, None) as anon:
        r = anon.get("/login")
        assert r.status_code == 200 and 'name="password"' in r.text and 'name="token"' not in r.text


def check_login(lab: Lab, bob: TestClient) -> None:
    with client_for(lab, None) as anon:
        token = csrf(anon, "/login")
        wrong = anon.post("/login", data={"name": "ada", "password": PASSWORDS["bob"], "csrf_token": token})
        assert wrong.status_code == 401 and "ada-secret-note" not in wrong.text
        nobody = anon.post("/login", data={"name": "ghost", "password": "whatever-1", "csrf_token": token})
        assert nobody.status_code == 401
        assert anon.get("/feedback", follow_redirects=False).status_code == 303


def check_logout(lab: Lab, bob: TestClient) -> None:
    with client_for(lab, "ada") as ada:
        cookie = ada.cookies.get("paperradar_user")
        assert ada.post("/logout", data={"csrf_token": csrf(ada)}, follow_redirects=False).status_code == 303
        with client_for(lab, None) as replay:
            replay.cookies.set("paperradar_user", cookie)
            assert replay.get("/feedback", follow_redirects=False).status_code == 303  # revoked for good


def check_health(lab: Lab, bob: TestClient) -> None:
    # Public (load balancers ask it without a login): it names no user, profile or paper.
    with client_for(lab, None) as anon:
        r = anon.get("/healthz")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    for secret in ("ada", "bob", "secret", "keyword", "Grokking"):
        assert secret not in r.text


ROUTES: dict[tuple[str, str], Callable[[Lab, TestClient], None]] = {
    ("GET", "/healthz"): check_health,
    ("GET", "/"): _scoped_get("/"),
    ("GET", "/day/{day}"): check_day,
    ("GET", "/paper/{arxiv_id:path}"): check_paper,
    ("GET", "/related/{arxiv_id:path}"): _scoped_get("/related/2602.00001"),
    ("POST", "/feedback"): check_feedback_post,
    ("GET", "/feedback"): _scoped_get("/feedback"),
    ("GET", "/feedback.csv"): check_feedback_csv,
    ("GET", "/search"): _scoped_get("/search?q=grokking"),
    ("GET", "/leaderboard"): _scoped_get("/leaderboard?question=personal"),
    ("GET", "/profile"): check_profile_get,
    ("POST", "/profile"): check_profile_post,
    ("GET", "/profiles"): check_profiles_page,
    ("POST", "/profiles/select"): check_profiles_select,
    ("GET", "/users"): check_users_page,
    ("POST", "/users"): check_users_add,
    ("POST", "/users/{name}/disable"): check_users_disable,
    ("GET", "/lab"): check_lab,
    ("GET", "/login"): check_login_page,
    ("POST", "/login"): check_login,
    ("POST", "/logout"): check_logout,
}
# Paths that need no login: the login form itself, the static files and the health check.
PUBLIC = {"/login", "/static", "/healthz"}


def app_routes(app) -> set[tuple[str, str]]:
    out = set()
    for route in app.routes:
        if hasattr(route, "original_router"):  # a router included with app.include_router (newer FastAPI)
            out |= app_routes(route.original_router)
        elif isinstance(route, APIRoute):
            out |= {(m, route.path) for m in route.methods if m != "HEAD"}
        elif isinstance(route, Mount):
            out.add(("MOUNT", route.path))
        else:
            out.add(("?", getattr(route, "path", repr(route))))
    return out


def test_every_route_has_an_authorization_check(lab):
    routes = app_routes(create_app(lab.config, embedder=HashEmbedder()))
    assert routes - {("MOUNT", "/static")} == set(ROUTES), "add the new route to ROUTES with its check"


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_member_cannot_reach_another_members_data(lab, bob, route):
    ROUTES[route](lab, bob)


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
def test_every_route_but_login_needs_a_login(lab, route):
    method, path = route
    url = re.sub(r"\{[^}]+\}", "x", path).replace("x:path", "x")
    with client_for(lab, None) as anon:
        token = csrf(anon, "/login")
        if method == "GET":
            r = anon.get(url, follow_redirects=False)
            assert (
                (r.status_code == 200)
                if path in PUBLIC
                else (r.status_code == 303 and "/login" in r.headers["location"])
            )
        else:
            r = anon.post(url, data={"csrf_token": token}, follow_redirects=False)
            if path in PUBLIC:
                assert r.status_code in (401, 422)  # the form is checked, nothing else is reachable
            else:
                assert r.status_code == 401, (route, r.status_code)


def test_admin_manages_users_and_may_open_any_profile(lab):
    with client_for(lab, "root") as root:
        assert "ada" in root.get("/users").text
        assert "ada-keyword" in root.get(f"/profile?profile={lab.ada}").text
        token = csrf(root)
        r = root.post("/users", data={"name": "cy", "password": "cy-password", "csrf_token": token})
        assert r.status_code == 200 and ">cy<" in r.text
        assert root.post("/users/ada/disable", data={"csrf_token": token}, follow_redirects=False).status_code == 303
        refused = root.post("/users/root/disable", data={"csrf_token": token}, follow_redirects=False)
        assert refused.status_code == 400
    with lab.store() as store:
        assert not store.users.get("ada").active and store.users.get("cy").role == "member"
        assert [p.id for p in store.profiles.active()] == [1, lab.bob]  # a disabled user's profiles rest
    with client_for(lab, None) as anon:
        token = csrf(anon, "/login")
        r = anon.post("/login", data={"name": "ada", "password": PASSWORDS["ada"], "csrf_token": token})
        assert r.status_code == 401


def test_a_disabled_users_session_ends(lab):
    with client_for(lab, "ada") as ada:
        assert ada.get("/feedback").status_code == 200
        with lab.store() as store:
            store.users.set_active(store.users.get("ada").id, False, AT)
        assert ada.get("/feedback", follow_redirects=False).status_code == 303


def test_the_access_token_still_works_as_the_operator_in_a_lab(lab, monkeypatch):
    token = "a-long-operator-token-0123456789"
    with TestClient(create_app(lab.config, token=token, embedder=HashEmbedder()), base_url="http://127.0.0.1") as c:
        r = c.get("/feedback", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and "ada-secret-note" not in r.text  # the default profile's
        assert c.get("/feedback", follow_redirects=False).status_code == 303


def test_single_user_store_needs_no_login(tmp_path, store_location, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    path = tmp_path / "paperradar.toml"
    path.write_text(f'[paperradar]\ndatabase = "{store_location}"\n')
    config = load_config(path)
    fill_store(config)
    with TestClient(create_app(config, embedder=HashEmbedder()), base_url="http://127.0.0.1") as c:
        assert c.get("/login", follow_redirects=False).status_code == 303
        page = c.get("/")
        assert page.status_code == 200 and "Grokking" in page.text and "Log out" not in page.text
