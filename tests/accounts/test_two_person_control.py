"""Two-person control of staff accounts (#14 part 5, R-SEC-1): one administrator asks, a
second approves, neither is the person concerned; each step is audited and the account's
address is told; a setup link only ever goes to its owner by email."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.accounts.models import StaffChange, StaffUser
from portal.core.db import commit
from portal.trail.models import AuditEvent
from tests.accounts.steps import approve_pending
from tests.conftest import AuthActions
from tests.factories import make_staff_with_mfa


def _client(app, staff_id: int):
    client = app.test_client()
    AuthActions(app, client).staff(staff_id)
    return client


@pytest.fixture
def asker(app, admin):
    return _client(app, admin[0].id)


@pytest.fixture
def approver(app, second_admin):
    return _client(app, second_admin[0].id)


def _pending(db) -> StaffChange:
    db.expire_all()
    return db.scalars(select(StaffChange).where(StaffChange.status == "pending")).one()


def test_the_one_who_asked_cannot_approve(app, asker, db, clerk):
    asker.post(f"/staff/admin/staff/{clerk[0].id}", data={
        "display_name": "Casey Clerk", "roles": ["clerk", "compliance"]})
    change = _pending(db)
    page = asker.get("/staff/admin/changes").get_data(True)
    assert "Withdraw" in page and "Approve and apply" not in page
    response = asker.post(f"/staff/admin/changes/{change.id}/approve", follow_redirects=True)
    assert "other than the one who asked for it" in response.get_data(True)
    db.expire_all()
    assert db.get(StaffUser, clerk[0].id).role_names == {"clerk"}


def test_the_person_concerned_cannot_decide_even_as_an_administrator(app, asker, db,
                                                                     second_admin):
    asker.post(f"/staff/admin/staff/{second_admin[0].id}", data={
        "display_name": "Bo", "roles": ["admin", "auditor"]})
    change = _pending(db)
    subject = _client(app, second_admin[0].id)
    response = subject.post(f"/staff/admin/changes/{change.id}/approve", follow_redirects=True)
    assert "other than the one who asked for it and the person it concerns" in \
        response.get_data(True)
    assert subject.post(f"/staff/admin/changes/{change.id}/refuse").status_code == 302
    assert _pending(db).id == change.id  # still waiting


def test_a_second_administrator_approves_and_it_is_audited_without_addresses(
        app, asker, approver, db, clerk, admin, second_admin, outbox):
    asker.post(f"/staff/admin/staff/{clerk[0].id}", data={
        "display_name": "Casey Clerk", "roles": ["clerk", "supervisor"]})
    change = _pending(db)
    response = approver.post(f"/staff/admin/changes/{change.id}/approve")
    assert response.status_code == 302
    db.expire_all()
    assert db.get(StaffUser, clerk[0].id).role_names == {"clerk", "supervisor"}
    events = {e.action: e for e in db.scalars(select(AuditEvent).where(
        AuditEvent.action.like("staff.change_%")))}
    assert events["staff.change_requested"].actor_id == admin[0].id
    assert events["staff.change_approved"].actor_id == second_admin[0].id
    assert events["staff.change_approved"].summary["requested_by"] == admin[0].id
    assert "@" not in str([e.summary for e in events.values()])
    [notice] = outbox()
    assert notice["To"] == clerk[0].email and "approved by a second administrator" in \
        notice.get_content()


def test_granting_the_administrator_role_also_needs_a_second(app, asker, db, clerk):
    """Else one administrator could make a second account for themselves and approve alone."""
    asker.post(f"/staff/admin/staff/{clerk[0].id}", data={
        "display_name": "Casey Clerk", "roles": ["clerk", "admin"]})
    assert _pending(db).details["roles"] == ["admin", "clerk"]
    db.expire_all()
    assert "admin" not in db.get(StaffUser, clerk[0].id).role_names


def test_taking_access_away_needs_no_second(asker, db, clerk):
    lead, _secret = make_staff_with_mfa(db, "clerk", "supervisor", email="lee@example.test")
    commit()
    asker.post(f"/staff/admin/staff/{lead.id}", data={"display_name": "Lee", "roles": ["clerk"]})
    db.expire_all()
    assert db.get(StaffUser, lead.id).role_names == {"clerk"}
    assert db.scalar(select(StaffChange)) is None


def test_an_email_change_applies_on_approval_and_tells_the_old_address(
        app, asker, approver, db, clerk, outbox):
    response = asker.post(f"/staff/admin/staff/{clerk[0].id}/email",
                          data={"email": "Casey.New@example.test"})
    assert response.status_code == 302
    db.expire_all()
    assert db.get(StaffUser, clerk[0].id).email == "casey.clerk@example.test"
    approver.post(f"/staff/admin/changes/{_pending(db).id}/approve")
    db.expire_all()
    assert db.get(StaffUser, clerk[0].id).email == "casey.new@example.test"
    [notice] = outbox()
    assert notice["To"] == "casey.clerk@example.test"
    assert "no longer signs in" in notice.get_content()


def test_an_email_already_in_use_is_refused_when_asked_keeping_what_was_typed(asker, db, clerk,
                                                                            admin):
    response = asker.post(f"/staff/admin/staff/{clerk[0].id}/email",
                          data={"email": "Ada.Admin@example.test"})
    assert response.status_code == 400
    body = response.get_data(True)
    assert "already exists" in body and "Ada.Admin@example.test" in body
    assert db.scalar(select(StaffChange)) is None


def test_a_reset_link_goes_to_its_owner_by_email_and_is_never_shown(app, asker, approver, db,
                                                                    clerk, outbox):
    response = asker.post(f"/staff/admin/staff/{clerk[0].id}/reset", follow_redirects=True)
    assert "/staff/setup/" not in response.get_data(True)
    assert outbox() == []
    response = approver.post(f"/staff/admin/changes/{_pending(db).id}/approve",
                             follow_redirects=True)
    assert "/staff/setup/" not in response.get_data(True)
    [message] = outbox()
    assert message["To"] == clerk[0].email and "/staff/setup/" in message.get_content()


def test_reactivation_needs_a_second_administrator(app, asker, approver, db, clerk, outbox):
    asker.post(f"/staff/admin/staff/{clerk[0].id}/deactivate")
    db.expire_all()
    assert not db.get(StaffUser, clerk[0].id).is_active  # taking access away: at once
    asker.post(f"/staff/admin/staff/{clerk[0].id}/reactivate")
    db.expire_all()
    assert not db.get(StaffUser, clerk[0].id).is_active
    approver.post(f"/staff/admin/changes/{_pending(db).id}/approve")
    db.expire_all()
    assert db.get(StaffUser, clerk[0].id).is_active
    assert [m["To"] for m in outbox()] == [clerk[0].email]


def test_a_change_decided_twice_is_applied_once(app, asker, approver, db, clerk, outbox):
    asker.post(f"/staff/admin/staff/{clerk[0].id}/reset")
    change = _pending(db)
    third = make_staff_with_mfa(db, "admin", email="cy.admin@example.test")[0]
    commit()
    approver.post(f"/staff/admin/changes/{change.id}/approve")
    late = _client(app, third.id).post(f"/staff/admin/changes/{change.id}/approve",
                                       follow_redirects=True)
    assert "no longer waiting for approval" in late.get_data(True)
    assert len(outbox()) == 1


def test_the_one_who_asked_may_withdraw(asker, db, clerk):
    asker.post(f"/staff/admin/staff/{clerk[0].id}/reset")
    change = _pending(db)
    asker.post(f"/staff/admin/changes/{change.id}/refuse")
    db.expire_all()
    assert db.get(StaffChange, change.id).status == "withdrawn"


def test_the_same_change_cannot_be_asked_for_twice(asker, db, clerk):
    asker.post(f"/staff/admin/staff/{clerk[0].id}/reset")
    again = asker.post(f"/staff/admin/staff/{clerk[0].id}/reset")
    assert again.status_code == 400
    assert "already waits for approval" in again.get_data(True)


def test_the_cli_still_makes_the_first_administrators_at_once(runner, db):
    result = runner.invoke(args=["staff", "create", "first.admin@example.test",
                                 "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert "/staff/setup/" in result.output
    staff = db.scalar(select(StaffUser).where(StaffUser.email == "first.admin@example.test"))
    assert staff.role_names == {"admin"}


def test_approve_pending_helper_needs_an_administrator(app, db, clerk, admin, second_admin):
    """The step the other tests use goes through the same rule as the page."""
    asker = _client(app, admin[0].id)
    asker.post(f"/staff/admin/staff/{clerk[0].id}/reset")
    with pytest.raises(Exception, match="Forbidden|403"):
        approve_pending(app, clerk[0].id)
