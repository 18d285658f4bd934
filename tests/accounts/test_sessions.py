"""R-SEC-1 automatic logoff and revocable sessions: idle timeout, absolute lifetime, revocation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import AuthSession
from portal.accounts.sessions import safe_next
from portal.core.db import commit, utcnow
from tests.accounts.steps import approve_pending, signed_in
from tests.conftest import AuthActions


def _only_session(db, staff_id: int) -> AuthSession:
    db.expire_all()
    return db.scalars(select(AuthSession).where(AuthSession.staff_id == staff_id)).one()


def _signed_in_client(app, staff_id: int):
    client = app.test_client()
    AuthActions(app, client).staff(staff_id)
    assert signed_in(client)
    return client


def test_an_idle_session_ends_and_sign_in_says_why(app, db, clerk):
    client = _signed_in_client(app, clerk[0].id)
    row = _only_session(db, clerk[0].id)
    row.last_seen_at = utcnow() - timedelta(minutes=16)
    commit()
    response = client.get("/staff/reauthenticate")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/sign-in")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "You were signed out after 15 minutes without activity" in page
    assert _only_session(db, clerk[0].id).revoked_reason == "timed_out"


def test_activity_within_the_idle_limit_keeps_the_session(app, db, clerk):
    client = _signed_in_client(app, clerk[0].id)
    row = _only_session(db, clerk[0].id)
    row.last_seen_at = utcnow() - timedelta(minutes=14)
    commit()
    assert signed_in(client)


def test_a_session_ends_at_its_absolute_lifetime_even_when_active(app, db, clerk):
    client = _signed_in_client(app, clerk[0].id)
    row = _only_session(db, clerk[0].id)
    row.created_at = utcnow() - timedelta(hours=app.config["STAFF_SESSION_MAX_HOURS"], minutes=1)
    row.last_seen_at = utcnow()
    commit()
    response = client.get("/staff/reauthenticate")
    assert response.headers["Location"].startswith("/staff/sign-in")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "signed in for 12 hours" in page


def test_the_idle_message_is_given_once(app, db, clerk):
    client = _signed_in_client(app, clerk[0].id)
    _only_session(db, clerk[0].id).last_seen_at = utcnow() - timedelta(minutes=16)
    commit()
    first = client.get("/staff/reauthenticate")
    assert first.status_code == 302
    shown = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "You were signed out after 15 minutes without activity" in shown
    assert "without activity" not in client.get("/staff/sign-in").get_data(as_text=True)


def test_deactivating_a_person_ends_their_session_at_once(app, db, clerk, admin):
    clerk_client = _signed_in_client(app, clerk[0].id)
    admin_client = _signed_in_client(app, admin[0].id)
    response = admin_client.post(f"/staff/admin/staff/{clerk[0].id}/deactivate")
    assert response.status_code == 302
    assert not signed_in(clerk_client)
    assert _only_session(db, clerk[0].id).revoked_reason == "deactivated"


def test_changing_a_persons_roles_ends_their_session_once_applied(app, clerk, admin,
                                                                 second_admin):
    clerk_client = _signed_in_client(app, clerk[0].id)
    admin_client = _signed_in_client(app, admin[0].id)
    response = admin_client.post(f"/staff/admin/staff/{clerk[0].id}",
                                 data={"display_name": "Casey Clerk", "roles": ["supervisor"]})
    assert response.status_code == 302
    assert signed_in(clerk_client)  # asked for, not applied
    approve_pending(app, second_admin[0].id)
    assert not signed_in(clerk_client)


def test_taking_a_role_away_ends_their_session_at_once(app, db, admin):
    from tests.factories import make_staff_with_mfa

    lead, _secret = make_staff_with_mfa(db, "clerk", "supervisor", email="lee@example.test")
    commit()
    lead_client = _signed_in_client(app, lead.id)
    admin_client = _signed_in_client(app, admin[0].id)
    response = admin_client.post(f"/staff/admin/staff/{lead.id}",
                                 data={"display_name": "Lee", "roles": ["clerk"]})
    assert response.status_code == 302
    assert not signed_in(lead_client)


def test_renaming_a_person_keeps_their_session(app, clerk, admin):
    clerk_client = _signed_in_client(app, clerk[0].id)
    admin_client = _signed_in_client(app, admin[0].id)
    response = admin_client.post(f"/staff/admin/staff/{clerk[0].id}",
                                 data={"display_name": "Casey Q. Clerk", "roles": ["clerk"]})
    assert response.status_code == 302
    with app.app_context():
        from portal.accounts.models import StaffUser
        from portal.core.db import get_session

        assert get_session().get(StaffUser, clerk[0].id).display_name == "Casey Q. Clerk"
    assert signed_in(clerk_client)


def test_resetting_a_persons_password_ends_their_session_once_approved(app, clerk, admin,
                                                                     second_admin):
    clerk_client = _signed_in_client(app, clerk[0].id)
    admin_client = _signed_in_client(app, admin[0].id)
    response = admin_client.post(f"/staff/admin/staff/{clerk[0].id}/reset")
    assert response.status_code == 302
    assert signed_in(clerk_client)
    approve_pending(app, second_admin[0].id)
    assert not signed_in(clerk_client)


def test_a_requester_cookie_cannot_open_staff_pages(app, db, clerk):
    from tests.factories import make_requester

    requester = make_requester(db)
    commit()
    client = app.test_client()
    AuthActions(app, client).requester(requester.id)
    assert client.get("/staff/reauthenticate").headers["Location"].startswith("/staff/sign-in")


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "evil.example",
    "javascript:alert(1)", "/staff\r\nLocation: https://evil.example", "",
])
def test_only_same_site_paths_are_followed_after_signing_in(target):
    assert safe_next(target) is None


def test_a_same_site_path_with_its_query_is_followed():
    assert safe_next("/queue?status=new") == "/queue?status=new"
    assert safe_next("/staff/admin/staff?") == "/staff/admin/staff"
