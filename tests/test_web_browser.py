"""The web app in a real browser: Debian chromium driven by Playwright against uvicorn on loopback."""

from __future__ import annotations

import os
import re
import socket
import threading
from pathlib import Path

import pytest

from paperradar.core import feedback as fb
from paperradar.core.store import Store
from paperradar.outputs.web import create_app
from paperradar.outputs.web.security import TOKEN_ENV

from .webdata import HOSTILE_ID, HOSTILE_TITLE, HashEmbedder, fill_store

CHROMIUM = Path(os.environ.get("PAPERRADAR_CHROMIUM", "/usr/bin/chromium"))
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"browser tests need Debian chromium at {CHROMIUM} (apt-get install -y chromium); .ci/run installs it",
    ),
]


@pytest.fixture
def server(config, monkeypatch):
    """The app on a free loopback port; the socket listens before the thread starts, so no waiting."""
    import uvicorn

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    fill_store(config)
    app = create_app(config, embedder=HashEmbedder())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", config
    srv.should_exit = True
    thread.join(timeout=30)
    sock.close()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    p = context.new_page()
    dialogs: list[str] = []
    p.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    p.dialogs = dialogs
    yield p
    context.close()


def test_today_then_paper_page(server, page):
    base, _ = server
    page.goto(base + "/")
    assert page.locator("h1").inner_text() == "Digest for 2026-02-24"
    assert page.locator("ol.entries > li.card").count() == 4
    page.get_by_role("link", name="Grokking and the Sharpness of Minima in Transformer Training").click()
    page.wait_for_url(re.compile(r"/paper/2602\.00001$"))
    assert "drop in loss-landscape sharpness" in page.locator(".abstract-text").inner_text()
    assert page.locator(".match").count() == 2
    page.wait_for_selector("ol.related li")  # fetched by HTMX once the page is shown
    assert page.locator("ol.related li").count() == 8


def test_thumbs_up_persists_after_reload(server, page):
    base, config = server
    page.goto(base + "/paper/2602.00003")
    up = page.locator("form.feedback button.fb-up")
    assert up.get_attribute("aria-pressed") == "false"
    up.click()  # HTMX posts with the CSRF header and swaps the buttons in place
    page.wait_for_selector('form.feedback button.fb-up[aria-pressed="true"]')
    page.reload()
    assert page.locator("form.feedback button.fb-up").get_attribute("aria-pressed") == "true"
    page.locator("form.feedback button.fb-save").click()
    page.wait_for_selector('form.feedback button.fb-save[aria-pressed="true"]')
    with Store(config.database) as store:
        state = fb.state(store, "2602.00003")
    assert state.vote == "up" and state.saved


def test_search_from_the_header(server, page):
    base, _ = server
    page.goto(base + "/")
    box = page.get_by_role("searchbox", name="Search papers")
    box.fill("mixture of experts")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=mixture"))
    first = page.locator("h3.ptitle a").first
    assert first.inner_text() == "Scaling Laws for Mixture-of-Experts Language Models"
    assert page.locator(".snippet mark").count() >= 1
    page.get_by_role("radio", name="meaning").check()
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"mode=semantic"))
    assert page.locator("h3.ptitle a").count() > 0


def test_category_filter_updates_in_place(server, page):
    base, _ = server
    page.goto(base + "/")
    page.locator("select[name=category]").select_option("cs.LG")
    page.locator("input[name=min_score]").fill("1.5")
    page.locator("input[name=min_score]").dispatch_event("change")
    page.wait_for_url(re.compile(r"min_score=1\.5"))
    page.wait_for_selector("text=2 of 4 papers")
    assert page.locator("ol.entries > li.card").count() == 2


def test_hostile_title_renders_inert(server, page):
    base, _ = server
    for path in ("/", f"/paper/{HOSTILE_ID}", "/search?q=attention"):
        page.goto(base + path)
        page.wait_for_load_state("load")
        assert page.get_by_text(HOSTILE_TITLE, exact=True).first.is_visible(), path
    assert page.locator("img[src=x]").count() == 0 and page.locator("svg").count() == 0
    page.goto(base + f"/paper/{HOSTILE_ID}")
    assert page.locator("h1").inner_text() == HOSTILE_TITLE
    assert "Mallory <svg onload=alert(4)>" in page.locator(".authors-full").inner_text()
    assert page.dialogs == []
