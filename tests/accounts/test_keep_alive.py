"""WCAG 2.2.1 with R-SEC-1: "Stay signed in" restarts the idle clock and changes nothing else."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import AuthSession
from portal.core.db import commit, utcnow
from tests.accounts.steps import signed_in
from tests.factories import make_requester


def _session_row(db, **owner) -> AuthSession:
    db.expire_all()
    return db.scalars(select(AuthSession).filter_by(**owner)).one()


def _go_idle(db, row: AuthSession, minutes: float) -> None:
    row.last_seen_at = utcnow() - timedelta(minutes=minutes)
    commit()


# Ordinary page loads record activity at most every 30 seconds; the button must not wait for that.
RECENTLY = 20 / 60


def test_staff_keep_alive_restarts_the_idle_clock_and_answers_204(client, auth, db, clerk):
    auth.staff(clerk[0].id)
    _go_idle(db, _session_row(db, staff_id=clerk[0].id), RECENTLY)
    response = client.post("/staff/keep-alive")
    assert response.status_code == 204
    assert utcnow() - _session_row(db, staff_id=clerk[0].id).last_seen_at < timedelta(seconds=5)


def test_requester_keep_alive_restarts_the_idle_clock_and_answers_204(client, auth, db):
    requester = make_requester(db)
    commit()
    auth.requester(requester.id)
    _go_idle(db, _session_row(db, requester_id=requester.id), RECENTLY)
    response = client.post("/keep-alive")
    assert response.status_code == 204
    row = _session_row(db, requester_id=requester.id)
    assert utcnow() - row.last_seen_at < timedelta(seconds=5)


def test_a_kept_alive_session_outlives_its_original_idle_deadline(client, auth, db, clerk):
    auth.staff(clerk[0].id)
    row = _session_row(db, staff_id=clerk[0].id)
    _go_idle(db, row, 14)
    assert client.post("/staff/keep-alive").status_code == 204
    # Ten minutes later the first deadline (one minute away when the button was pressed) is
    # long past; without the keep-alive this session would have been 24 minutes idle.
    row = _session_row(db, staff_id=clerk[0].id)
    row.last_seen_at -= timedelta(minutes=10)
    commit()
    assert signed_in(client)
    assert _session_row(db, staff_id=clerk[0].id).revoked_at is None


def test_keep_alive_does_not_revive_a_session_that_already_timed_out(client, auth, db, clerk):
    auth.staff(clerk[0].id)
    _go_idle(db, _session_row(db, staff_id=clerk[0].id), 16)
    response = client.post("/staff/keep-alive")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/sign-in")
    assert _session_row(db, staff_id=clerk[0].id).revoked_reason == "timed_out"


def test_keep_alive_refuses_an_anonymous_visitor(client):
    for url, sign_in_path in (("/staff/keep-alive", "/staff/sign-in"), ("/keep-alive", "/sign-in")):
        response = client.post(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith(sign_in_path)


def test_staff_keep_alive_waits_for_the_second_factor(client, auth, clerk):
    auth.staff(clerk[0].id, mfa_passed=False)
    response = client.post("/staff/keep-alive")
    assert response.headers["Location"].startswith("/staff/mfa")


class TestCsrf:
    """With CSRF on, as in production: the page's token travels in the X-CSRFToken header."""

    @pytest.fixture
    def app_config(self, app_config):
        app_config.update(WTF_CSRF_ENABLED=True)
        return app_config

    def test_keep_alive_without_the_csrf_token_is_refused(self, client, auth, db, clerk):
        auth.staff(clerk[0].id)
        _go_idle(db, _session_row(db, staff_id=clerk[0].id), RECENTLY)
        assert client.post("/staff/keep-alive").status_code == 400
        last_seen = _session_row(db, staff_id=clerk[0].id).last_seen_at
        assert utcnow() - last_seen > timedelta(seconds=15)

    def test_keep_alive_with_the_pages_csrf_token_is_accepted(self, client, auth, clerk):
        auth.staff(clerk[0].id)
        page = client.get("/staff/reauthenticate").get_data(as_text=True)
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
        response = client.post("/staff/keep-alive", headers={"X-CSRFToken": token})
        assert response.status_code == 204


class TestPageLeftOpen:
    """After an idle sign-out the page keeps what was typed; once the same person has signed
    in again (in another tab) it asks who is signed in and takes the new session's form token."""

    @pytest.fixture
    def app_config(self, app_config):
        app_config.update(WTF_CSRF_ENABLED=True)
        return app_config

    def _owner_on_page(self, client) -> str:
        page = client.get("/staff/reauthenticate").get_data(as_text=True)
        return re.search(r'data-session-owner="([0-9a-f]+)"', page).group(1)

    def test_the_same_person_signed_in_again_gets_a_token_that_sends_the_old_page(
            self, client, auth, db, clerk):
        auth.staff(clerk[0].id)
        owner = self._owner_on_page(client)
        old_token = re.search(r'name="csrf-token" content="([^"]+)"',
                              client.get("/staff/reauthenticate").get_data(as_text=True)).group(1)
        _go_idle(db, _session_row(db, staff_id=clerk[0].id), 16)
        assert client.get("/staff/session-check").status_code == 302  # timed out
        auth.sign_out()  # signing in again starts a new cookie session, as the sign-in page does
        auth.staff(clerk[0].id)  # ... in another tab

        answer = client.get("/staff/session-check")
        assert answer.status_code == 200
        data = answer.get_json()
        assert data["owner"] == owner
        assert 0 < data["idle_seconds"] <= 15 * 60 + 1
        assert client.post("/staff/keep-alive", headers={"X-CSRFToken": old_token}
                           ).status_code == 400  # the old session's token ended with it
        assert client.post("/staff/keep-alive", headers={"X-CSRFToken": data["csrf_token"]}
                           ).status_code == 204

    def test_someone_else_is_told_apart(self, client, auth, db, clerk, admin):
        auth.staff(clerk[0].id)
        owner = self._owner_on_page(client)
        auth.staff(admin[0].id)
        assert client.get("/staff/session-check").get_json()["owner"] != owner

    def test_nobody_signed_in_gets_no_token(self, client):
        for url, sign_in_path in (("/staff/session-check", "/staff/sign-in"),
                                  ("/session-check", "/sign-in")):
            response = client.get(url)
            assert response.status_code == 302
            assert response.headers["Location"].startswith(sign_in_path)
            assert b"csrf" not in response.data
