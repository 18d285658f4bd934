"""Staff sign-in in a real browser: password then TOTP, and first-time enrolment; axe-checked."""

from __future__ import annotations

import re

import pyotp
import pytest

from portal.core.db import commit, get_session
from tests.factories import make_staff, make_staff_with_mfa, totp_now

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"


def _enter_password(page, base_url: str, email: str) -> None:
    page.goto(base_url + "/staff/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(re.compile(r"/staff/mfa"))


def test_a_clerk_signs_in_with_password_and_an_authenticator_code(live_server, page, axe_check):
    with live_server.app.app_context():
        staff, secret = make_staff_with_mfa(get_session(), "clerk",
                                            email="browser.clerk@example.test")
        commit()
    page.goto(live_server.url + "/staff/sign-in")
    axe_check(page, context="sign-in page")
    _enter_password(page, live_server.url, "browser.clerk@example.test")
    axe_check(page, context="code page")
    page.get_by_label("Code", exact=True).fill(totp_now(secret))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/staff/mfa" not in url)
    assert page.get_by_role("button", name="Sign out").first.is_visible()


def test_a_wrong_password_shows_an_accessible_error_summary(live_server, page, axe_check):
    page.goto(live_server.url + "/staff/sign-in")
    page.get_by_label("Email address").fill("nobody@example.test")
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Continue").click()
    assert page.get_by_role("alert").get_by_text(
        "The email address or password is not right.").is_visible()
    assert page.get_by_label("Email address").input_value() == "nobody@example.test"
    axe_check(page, context="sign-in page with an error")


def test_first_sign_in_enrols_an_authenticator_from_the_typed_key(live_server, page, axe_check):
    with live_server.app.app_context():
        make_staff(get_session(), "clerk", email="browser.new@example.test", password=PASSWORD)
        commit()
    _enter_password(page, live_server.url, "browser.new@example.test")
    axe_check(page, context="enrolment page")
    assert page.get_by_role("img", name=re.compile("QR code")).is_visible()
    key = page.locator(".setup-key").inner_text().replace(" ", "")
    page.get_by_label("Six-digit code from your app").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Confirm and continue").click()
    page.get_by_role("heading", name="Save your recovery codes").wait_for()
    assert page.locator(".recovery-codes li").count() == 10
    axe_check(page, context="recovery codes page")
    page.get_by_role("link", name="I have saved them: continue").click()
    assert page.get_by_role("button", name="Sign out").first.is_visible()
