"""R-SEC-1 staff sign-in: password then TOTP, one answer for every failure, slow-down, lockout."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from portal.accounts import operations
from portal.accounts.models import StaffUser, UnknownSignIn
from portal.core.dates import date_and_time
from portal.core.db import commit, utcnow
from tests.accounts.steps import PASSWORD, enter_code, sign_in, signed_in
from tests.factories import make_recovery_codes, make_staff, totp_now

WRONG = "not the right password"


def _page_without(response, *emails: str) -> str:
    """The page as text with the typed email taken out, to compare two answers."""
    body = response.get_data(as_text=True)
    for email in emails:
        body = body.replace(email, "EMAIL")
    return body


def test_sign_in_with_password_then_totp_code_opens_staff_pages(client, clerk):
    staff, secret = clerk
    response = sign_in(client, staff.email)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/mfa")
    assert not signed_in(client), "the password alone must not open staff pages"
    response = enter_code(client, totp_now(secret))
    assert response.status_code == 302
    assert signed_in(client)


def test_sign_in_returns_to_the_page_asked_for(client, clerk):
    staff, secret = clerk
    sign_in(client, staff.email, next_url="/staff/reauthenticate")
    response = enter_code(client, totp_now(secret), next_url="/staff/reauthenticate")
    assert response.headers["Location"] == "/staff/reauthenticate"


def test_sign_in_never_redirects_to_another_site(client, clerk):
    staff, secret = clerk
    sign_in(client, staff.email, next_url="//evil.example/phish")
    response = enter_code(client, totp_now(secret), next_url="//evil.example/phish")
    assert "evil.example" not in response.headers["Location"]


def test_wrong_password_is_refused_with_a_plain_message(client, clerk):
    staff, _ = clerk
    response = sign_in(client, staff.email, WRONG)
    assert response.status_code == 400
    assert "The email address or password is not right." in response.get_data(as_text=True)
    assert not signed_in(client)


def test_unknown_email_gets_the_same_answer_as_a_wrong_password(client, clerk):
    staff, _ = clerk
    known = sign_in(client, staff.email, WRONG)
    unknown = sign_in(client, "nobody@example.test", WRONG)
    assert known.status_code == unknown.status_code == 400
    assert _page_without(known, staff.email) == _page_without(unknown, "nobody@example.test")


def test_unknown_email_runs_the_same_password_hash_check(client, clerk, monkeypatch):
    # Similar timing: an unknown email costs one Argon2 verification, like a real account.
    calls = []
    real = operations.verify_password
    monkeypatch.setattr(operations, "verify_password",
                        lambda stored, password: calls.append(stored) or real(stored, password))
    sign_in(client, "nobody@example.test", WRONG)
    sign_in(client, clerk[0].email, WRONG)
    assert len(calls) == 2
    assert all(stored.startswith("$argon2id$") for stored in calls)


def test_deactivated_account_gets_the_same_answer_even_with_the_right_password(client, db):
    staff = make_staff(db, "clerk", password=PASSWORD, active=False)
    commit()
    response = sign_in(client, staff.email)
    assert response.status_code == 400
    assert "The email address or password is not right." in response.get_data(as_text=True)


def test_account_locks_after_repeated_failures_and_says_when_to_try_again(app, client, db,
                                                                          clerk):
    app.config["LOGIN_SLOWDOWN_SECONDS"] = 0
    staff, _ = clerk
    for _ in range(app.config["LOGIN_LOCK_AFTER_FAILURES"] - 1):
        assert sign_in(client, staff.email, WRONG).status_code == 400
    response = sign_in(client, staff.email, WRONG)
    assert response.status_code == 429
    db.expire_all()
    locked_until = db.get(StaffUser, staff.id).locked_until
    minutes = (locked_until - utcnow()).total_seconds() / 60
    assert app.config["LOGIN_LOCK_MINUTES"] - 1 < minutes <= app.config["LOGIN_LOCK_MINUTES"]
    body = response.get_data(as_text=True)
    assert f"signing in is paused until {date_and_time(locked_until)}" in body
    assert re.search(r"[A-Z][a-z]+ \d{1,2}, 20\d\d, \d{1,2}:\d{2} [ap]\.m\. P[SD]T", body)


def test_a_locked_account_refuses_even_the_right_password_until_the_lock_ends(app, client, db,
                                                                              clerk):
    app.config["LOGIN_SLOWDOWN_SECONDS"] = 0
    staff, secret = clerk
    for _ in range(app.config["LOGIN_LOCK_AFTER_FAILURES"]):
        sign_in(client, staff.email, WRONG)
    assert sign_in(client, staff.email).status_code == 429
    locked = db.get(StaffUser, staff.id)
    locked.locked_until = utcnow() - timedelta(seconds=1)
    commit()
    assert sign_in(client, staff.email).status_code == 302


def test_unknown_email_locks_exactly_like_a_real_account(app, client, clerk):
    app.config["LOGIN_SLOWDOWN_SECONDS"] = 0
    staff, _ = clerk
    answers = {}
    for email in (staff.email, "nobody@example.test"):
        for _ in range(app.config["LOGIN_LOCK_AFTER_FAILURES"]):
            response = sign_in(client, email, WRONG)
        answers[email] = response
    assert answers[staff.email].status_code == answers["nobody@example.test"].status_code == 429
    assert "signing in is paused until" in answers["nobody@example.test"].get_data(as_text=True)


def test_unknown_emails_are_counted_without_storing_the_address(app, client, db):
    sign_in(client, "nobody@example.test", WRONG)
    rows = db.scalars(select(UnknownSignIn)).all()
    assert len(rows) == 1
    assert "nobody" not in rows[0].email_digest and rows[0].failed_sign_ins == 1


def test_repeated_failures_slow_sign_in_down_before_the_lock(app, client, clerk):
    app.config["LOGIN_SLOWDOWN_SECONDS"] = 60
    staff, _ = clerk
    sign_in(client, staff.email, WRONG)
    sign_in(client, staff.email, WRONG)
    # Straight after the second failure even the right password must wait.
    response = sign_in(client, staff.email)
    assert response.status_code == 429
    assert re.search(r"Please wait \d+ seconds, then try again.", response.get_data(as_text=True))


def test_a_totp_code_is_accepted_only_once(client, clerk):
    staff, secret = clerk
    code = totp_now(secret)
    sign_in(client, staff.email)
    assert enter_code(client, code).status_code == 302
    client.post("/staff/sign-out")
    sign_in(client, staff.email)
    response = enter_code(client, code)
    assert response.status_code == 400
    assert "each code works only once" in response.get_data(as_text=True)
    assert not signed_in(client)


def test_a_wrong_totp_code_is_refused(client, clerk):
    staff, secret = clerk
    sign_in(client, staff.email)
    wrong = f"{(int(totp_now(secret)) + 1) % 1_000_000:06d}"
    assert enter_code(client, wrong).status_code == 400
    assert not signed_in(client)


def test_totp_failures_count_towards_the_lockout_and_end_the_half_signed_session(app, client,
                                                                                 clerk):
    app.config["LOGIN_SLOWDOWN_SECONDS"] = 0
    staff, secret = clerk
    sign_in(client, staff.email)
    for _ in range(app.config["LOGIN_LOCK_AFTER_FAILURES"] - 1):
        assert enter_code(client, "000000").status_code == 400
    response = enter_code(client, "000000")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/sign-in"
    page = client.get("/staff/sign-in").get_data(as_text=True)
    assert "signing in is paused until" in page
    assert enter_code(client, totp_now(secret)).headers["Location"].startswith("/staff/sign-in")


def test_a_recovery_code_signs_in_once_and_only_once(client, db, clerk):
    staff, _ = clerk
    codes = make_recovery_codes(db, db.get(StaffUser, staff.id))
    commit()
    sign_in(client, staff.email)
    response = enter_code(client, codes[0].upper().replace("-", " "))
    assert response.status_code == 302
    assert "You have 9 left" in client.get(response.headers["Location"]).get_data(as_text=True)
    client.post("/staff/sign-out")
    sign_in(client, staff.email)
    assert enter_code(client, codes[0]).status_code == 400
    assert not signed_in(client)


def test_sign_out_ends_the_session(client, clerk):
    staff, secret = clerk
    sign_in(client, staff.email)
    enter_code(client, totp_now(secret))
    cookie = client.get_cookie("portal_session").value
    response = client.post("/staff/sign-out")
    assert response.status_code == 302
    assert not signed_in(client)
    # Replaying the old cookie does not bring the session back.
    client.set_cookie("portal_session", cookie)
    assert not signed_in(client)
