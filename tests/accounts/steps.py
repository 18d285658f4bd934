"""Sign-in steps driven through the real pages, shared by the accounts tests."""

from __future__ import annotations

from sqlalchemy import select

from portal.trail.models import AuditEvent

PASSWORD = "correct horse battery staple"


def sign_in(client, email: str, password: str = PASSWORD, next_url: str | None = None):
    """Post the email and password form."""
    url = "/staff/sign-in" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": email, "password": password})


def enter_code(client, code: str, next_url: str | None = None):
    """Post the second-step form with a TOTP or recovery code."""
    url = "/staff/mfa" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"code": code})


def signed_in(client) -> bool:
    """Whether the client's cookie opens a page that needs a fully signed-in member of staff."""
    response = client.get("/staff/reauthenticate")
    return response.status_code == 200


def audit_actions(db) -> list[str]:
    """Every audit action written so far, oldest first."""
    db.expire_all()
    return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def audit_events(db, action: str) -> list[AuditEvent]:
    """The audit events of one action, oldest first."""
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)
                           .order_by(AuditEvent.id)))


def approve_pending(app, approver_id: int) -> int:
    """Approve, as ``approver_id``, every change waiting; returns how many."""
    from portal.accounts import approvals
    from portal.accounts.models import StaffUser
    from portal.accounts.permissions import permissions_for
    from portal.core.actor import Actor
    from portal.core.db import commit as commit_now
    from portal.core.db import get_session

    with app.test_request_context():
        session = get_session()
        approver = session.get(StaffUser, approver_id)
        actor = Actor(kind="staff", id=approver.id,
                      permissions=permissions_for(approver.role_names, False))
        changes = approvals.pending_changes(session)
        for change in changes:
            approvals.approve(session, change, actor=actor)
        commit_now()
    return len(changes)
