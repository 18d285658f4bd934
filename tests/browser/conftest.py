"""Browser fixtures: the app on a live local port, driven by Playwright in Debian's Chromium.

Browser tests run once, on SQLite (``make test`` skips them on the PostgreSQL pass). CSRF and
the CSP are on, as in production. ``axe_check(page)`` fails a test on any serious or critical
accessibility violation (WCAG 2.1 A/AA rules); ``page`` also fails the test if the browser
reports a CSP violation or a JavaScript error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal import create_app
from tests.conftest import _empty_tables, make_test_config

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@dataclass
class LiveServer:
    url: str
    app: object

    def outbox(self):
        """Messages written to the development outbox, oldest first."""
        from portal.jobs.mail import read_outbox

        return read_outbox(Path(self.app.config["OUTBOX_DIR"]))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_app_config(database_url, tmp_path) -> dict:
    """Settings of the live app; override in a test module to change one."""
    from portal.core.keys import ensure_keys

    if database_url.startswith("postgresql"):
        pytest.skip("browser tests run once, on SQLite")
    ensure_keys(tmp_path / "keys")
    port = _free_port()
    return make_test_config(
        database_url, tmp_path, BASE_URL=f"http://127.0.0.1:{port}", WTF_CSRF_ENABLED=True,
        TRUSTED_HOSTS=["127.0.0.1"], _PORT=port,
    )


#: Every distinct HTML page the live servers sent during this run: digest -> (path, html).
#: test_zz_html_validity.py checks them all with the Nu HTML Checker at the end.
VISITED_HTML: dict[str, tuple[str, str]] = {}


def _keep_html(response):
    """Keep the HTML of each page served, as the browser received it."""
    from flask import request

    if response.mimetype == "text/html" and not response.is_streamed:
        body = response.get_data(as_text=True)
        if not body.strip():  # a 204 answer to an autosave, say: no page at all
            return response
        digest = hashlib.sha256(body.encode()).hexdigest()
        VISITED_HTML.setdefault(digest, (request.path, body))
    return response


@pytest.fixture(scope="session")
def visited_html() -> dict[str, tuple[str, str]]:
    """The HTML pages kept so far in this run (VISITED_HTML)."""
    return VISITED_HTML


@pytest.fixture
def live_server(live_app_config):
    """The portal served on 127.0.0.1 in a background thread for the length of one test."""
    port = live_app_config.pop("_PORT")
    app = create_app(live_app_config)
    app.after_request(_keep_html)
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        engine = app.extensions["db_engine"]
        _empty_tables(engine)
        engine.dispose()


@pytest.fixture(scope="session")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test`, which installs it")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, tmp_path):
    """A fresh browser context and page; fails the test on CSP violations or script errors."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.set_default_timeout(15000)
    yield page
    context.close()
    assert not problems, "browser reported: " + "; ".join(problems)


def _axe_source() -> str:
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


@pytest.fixture(scope="session")
def axe_source() -> str:
    return _axe_source()


@pytest.fixture
def axe_check(axe_source):
    """Run axe-core on the current page; fail on serious or critical WCAG 2.1 A/AA violations.

    The script is evaluated through the DevTools protocol, so the page's CSP stays enforced.
    """

    def check(page, *, context: str = "") -> list[dict]:
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(axe_source + "\n;0")
        result = page.evaluate(
            """async () => {
                const r = await axe.run(document, {runOnly: {type: 'tag',
                    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
                return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
            }"""
        )
        bad = [v for v in result if v["impact"] in ("serious", "critical")]
        where = context or page.url
        assert not bad, f"axe violations on {where}:\n" + json.dumps(bad, indent=2)
        return result

    return check


@pytest.fixture
def narrow(page):
    """The page at 320 px wide (WCAG 1.4.10 reflow): no horizontal scrolling is allowed."""
    page.set_viewport_size({"width": 320, "height": 800})

    def assert_no_horizontal_scroll():
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"page scrolls sideways at 320 px ({width} px wide) on {page.url}"

    return assert_no_horizontal_scroll


@pytest.fixture
def visit(page, axe_check, narrow):
    """A requester in the browser at 320 px, axe-checking every page (the journey tests)."""
    from tests.browser.test_journey_patient import Visit

    return Visit(page, axe_check, narrow)


STAFF_PASSWORD = "correct horse battery staple"  # tests.factories' default


def sign_in_staff(page, base: str, email: str, secret: str, *, step: int = 0) -> None:
    """Sign a member of staff in through the real pages: password, then the authenticator's
    code (``step=1``: the next code, for a second sign-in within the same 30 seconds)."""
    from tests.factories import totp_now

    page.goto(base + "/staff/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/staff/mfa"))
    page.get_by_label("Code", exact=True).fill(totp_now(secret, step=step))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/staff/mfa" not in url)


def click_and_settle(page, locator) -> None:
    """Click, then wait until the page has settled: a navigation has loaded, or the clerk's
    request page has swapped in its new content without one (in_place.js counts each swap on
    ``<html data-in-place-swaps>``)."""
    from playwright.sync_api import Error

    page.evaluate("() => { window.__swapsBefore ="
                  " document.documentElement.getAttribute('data-in-place-swaps') || '0'; }")
    locator.click()
    with contextlib.suppress(Error):  # a navigation took the old page's context away
        page.wait_for_function(
            "() => window.__swapsBefore === undefined || (document.documentElement"
            ".getAttribute('data-in-place-swaps') || '0') !== window.__swapsBefore")
    page.wait_for_load_state()
