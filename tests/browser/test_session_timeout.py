"""WCAG 2.2.1 in a real browser: a warning before the R-SEC-1 idle sign-out, "Stay signed in"
that works, and after the sign-out a page that keeps what was typed and sends it once the same
person has signed in again in another tab.

The idle limit is 25 seconds here, so the warning (at half-time for limits this short) comes
after about 12 seconds instead of 13 minutes.
"""

from __future__ import annotations

import re
import time

import pytest

from portal.core.db import commit, get_session
from tests.browser.conftest import STAFF_PASSWORD, sign_in_staff
from tests.factories import make_request, make_staff_with_mfa, totp_now

pytestmark = pytest.mark.browser

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
    page.get_by_label("Password", exact=True).fill(STAFF_PASSWORD)
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


def _sign_in(page, live_server, email: str, secret: str, *, step: int = 0) -> None:
    sign_in_staff(page, live_server.url, email, secret, step=step)


def _clerk_with_a_request(live_server, *emails: str) -> tuple[list[str], int]:
    with live_server.app.app_context():
        session = get_session()
        secrets = [make_staff_with_mfa(session, "clerk", email=email)[1] for email in emails]
        request_id = make_request(session).id
        commit()
    return secrets, request_id


NOTE_LABEL = "Internal note (the requester never sees it)"
ENDED = "You have been signed out"


def test_typed_text_survives_the_idle_sign_out_and_is_sent_after_signing_in_again(
        live_server, page, axe_check, narrow):
    (secret,), request_id = _clerk_with_a_request(live_server, "idle.clerk@example.test")
    _sign_in(page, live_server, "idle.clerk@example.test", secret)
    page.goto(f"{live_server.url}/staff/requests/{request_id}")
    note = page.get_by_label(NOTE_LABEL)
    note.fill("Called the treating clinic; chart is in box 14.")
    ended = page.get_by_role("alertdialog", name=ENDED)
    ended.wait_for(state="visible", timeout=(IDLE_SECONDS + 5) * 1000)
    assert page.evaluate("document.activeElement.textContent.trim()") == (
        "Sign in again (opens a new tab)")
    narrow()
    axe_check(page, context="signed-out message at 320 px")

    # Sending now would be refused: the page keeps the text and says what to do instead.
    page.get_by_role("button", name="Add the note").click()
    assert ended.is_visible() and f"/staff/requests/{request_id}" in page.url
    assert note.input_value() == "Called the treating clinic; chart is in box 14."

    # "Continue here" before signing in again changes nothing.
    page.get_by_role("button", name="Continue here").click()
    page.get_by_text("You are not signed in yet").wait_for()

    with page.expect_popup() as popup:
        page.get_by_role("link", name="Sign in again (opens a new tab)").click()
    other_tab = popup.value
    other_tab.wait_for_url(re.compile(r"/staff/sign-in"))
    # The first sign-in used this 30-second step's code, and each code works once.
    _sign_in(other_tab, live_server, "idle.clerk@example.test", secret, step=1)
    other_tab.close()

    page.get_by_role("button", name="Continue here").click()
    ended.wait_for(state="hidden")
    assert note.input_value() == "Called the treating clinic; chart is in box 14."
    page.get_by_role("button", name="Add the note").click()
    page.get_by_text("The note was added.").wait_for()
    assert page.get_by_text("Called the treating clinic; chart is in box 14.").is_visible()


def test_someone_else_signed_in_cannot_send_the_page_left_open(live_server, page):
    (mine, theirs), request_id = _clerk_with_a_request(
        live_server, "idle.clerk@example.test", "next.clerk@example.test")
    _sign_in(page, live_server, "idle.clerk@example.test", mine)
    page.goto(f"{live_server.url}/staff/requests/{request_id}")
    page.get_by_label(NOTE_LABEL).fill("Left open.")
    ended = page.get_by_role("alertdialog", name=ENDED)
    ended.wait_for(state="visible", timeout=(IDLE_SECONDS + 5) * 1000)

    other_tab = page.context.new_page()
    _sign_in(other_tab, live_server, "next.clerk@example.test", theirs)
    other_tab.close()

    page.get_by_role("button", name="Continue here").click()
    page.get_by_text("Someone else is signed in now").wait_for()
    assert ended.is_visible()
    page.get_by_role("button", name="Add the note").click()
    assert ended.is_visible() and f"/staff/requests/{request_id}" in page.url
