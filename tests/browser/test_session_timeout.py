"""WCAG 2.2.1 in a real browser: a warning before the R-SEC-1 idle sign-out, "Stay signed in"
that works, and a signed-out message that leaves what was typed on the page.

The idle limit is 25 seconds here, so the warning (at half-time for limits this short) comes
after about 12 seconds instead of 13 minutes.
"""

from __future__ import annotations

import re
import time

import pytest

from portal.core.db import commit, get_session
from tests.factories import make_staff_with_mfa, totp_now

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
IDLE_SECONDS = 25


@pytest.fixture
def live_app_config(live_app_config):
    live_app_config["STAFF_IDLE_TIMEOUT_MINUTES"] = IDLE_SECONDS / 60
    return live_app_config


def _sign_in_clerk(live_server, page) -> float:
    """Sign a clerk in through the real pages; returns when the session started (epoch s)."""
    with live_server.app.app_context():
        _, secret = make_staff_with_mfa(get_session(), "clerk", email="idle.clerk@example.test")
        commit()
    page.goto(live_server.url + "/staff/sign-in")
    page.get_by_label("Email address").fill("idle.clerk@example.test")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    started = time.time()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/staff/mfa"))
    page.get_by_label("Code", exact=True).fill(totp_now(secret))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/staff/mfa" not in url)
    return started


def test_stay_signed_in_keeps_the_session_past_its_first_deadline(live_server, page, axe_check):
    started = _sign_in_clerk(live_server, page)
    warning = page.get_by_role("alertdialog", name="You will be signed out soon")
    warning.wait_for(state="visible", timeout=IDLE_SECONDS * 1000)
    assert "Anything you have typed but not yet sent will be lost" in warning.inner_text()
    assert page.evaluate("document.activeElement.textContent.trim()") == "Stay signed in"
    axe_check(page, context="idle warning")
    page.get_by_role("button", name="Stay signed in").click()
    warning.wait_for(state="hidden")
    # Past the deadline the session had before the button was pressed.
    page.wait_for_timeout(max(0.0, started + IDLE_SECONDS + 1 - time.time()) * 1000)
    assert not page.get_by_role("heading", name="You have been signed out").is_visible()
    page.goto(live_server.url + "/staff/reauthenticate")
    assert "/staff/reauthenticate" in page.url
    assert page.get_by_role("button", name="Sign out").first.is_visible()


def test_at_the_limit_the_warning_says_signed_out_and_keeps_typed_text(
        live_server, page, axe_check, narrow):
    _sign_in_clerk(live_server, page)
    page.goto(live_server.url + "/staff/reauthenticate")
    typed = page.get_by_label("Password", exact=True)
    typed.fill("draft the clerk was typing")
    ended = page.get_by_role("alertdialog", name="You have been signed out")
    ended.wait_for(state="visible", timeout=(IDLE_SECONDS + 5) * 1000)
    assert page.evaluate("document.activeElement.textContent.trim()") == "Sign in again"
    assert typed.input_value() == "draft the clerk was typing"
    narrow()
    axe_check(page, context="signed-out message at 320 px")
    page.get_by_role("link", name="Sign in again").click()
    page.wait_for_url(re.compile(r"/staff/sign-in"))
