"""Two-person control of staff accounts (#14 part 5, R-SEC-1).

An administrator sees no records, but could once give any account a working role, or take an
account over by changing its email or resetting its password, and so reach PHI alone. Now
every change that widens access or moves an account to someone else is asked for by one
administrator (:func:`request_change`) and applied only when a second approves
(:func:`approve`): the one who asked, the one who approves and the person concerned are three
different people. Each step is on the audit trail, and the account's address is told when the
change is applied (the old address, for a new email). A setup link goes by email to its owner
only; no administrator's page ever shows one.

What needs a second administrator: adding any role (the administrator role included: one
administrator could otherwise make a second account for themselves and approve their own
requests) or the licence flag, including a new account's first roles; changing the email of an
account; resetting its password or MFA; reactivating it. What does not: renaming, removing
roles or the licence, deactivating (taking access away is never dangerous and often urgent).
The first administrators are made with the server CLI (`flask --app portal staff create`),
which applies at once: whoever runs it already holds the server.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.accounts import operations
from portal.accounts.models import StaffChange, StaffUser
from portal.accounts.operations import StaffProblem
from portal.core.actor import Actor
from portal.core.db import utcnow
from portal.core.errors import Conflict
from portal.core.links import Subject
from portal.jobs.mail import send_mail
from portal.trail.chain import append_event

GRANT_ACCESS, CHANGE_EMAIL, RESET_PASSWORD, REACTIVATE = (
    "grant_access", "change_email", "reset_password", "reactivate")
KINDS = (GRANT_ACCESS, CHANGE_EMAIL, RESET_PASSWORD, REACTIVATE)
PENDING, APPROVED, REFUSED, WITHDRAWN = "pending", "approved", "refused", "withdrawn"
# "You cannot ... yourself."
_SELF = {GRANT_ACCESS: "change the roles or licence of", CHANGE_EMAIL: "change the email of",
         RESET_PASSWORD: "reset the password of", REACTIVATE: "reactivate"}
LABELS = {GRANT_ACCESS: "Give access", CHANGE_EMAIL: "Change the email address",
          RESET_PASSWORD: "Reset the password", REACTIVATE: "Reactivate"}


def widens_access(staff: StaffUser, roles: list[str], licensed: bool) -> bool:
    """Whether ``roles`` and ``licensed`` give ``staff`` anything they do not have now."""
    return bool(set(roles) - staff.role_names) or (licensed and not staff.is_licensed_reviewer)


def pending_changes(db: Session, subject: StaffUser | None = None) -> list[StaffChange]:
    """Changes waiting for approval, oldest first (for one person, or everyone)."""
    query = select(StaffChange).where(StaffChange.status == PENDING)
    if subject is not None:
        query = query.where(StaffChange.subject_id == subject.id)
    return list(db.scalars(query.order_by(StaffChange.id)))


def request_change(db: Session, subject: StaffUser, kind: str, details: dict, *,
                   actor: Actor) -> StaffChange:
    """Ask for a change that a second administrator must approve."""
    operations._require_admin(actor)
    if kind not in KINDS:
        raise ValueError(kind)
    operations._refuse_self(actor, subject, _SELF[kind])
    if kind == RESET_PASSWORD and not subject.is_active:
        raise StaffProblem(["This account is deactivated. Reactivate it first."])
    if any(change.kind == kind for change in pending_changes(db, subject)):
        raise StaffProblem(["A change of this kind already waits for approval for this "
                            "person. Approve, refuse or withdraw it first."])
    change = StaffChange(kind=kind, subject_id=subject.id, requested_by_id=actor.id,
                         details=details, status=PENDING, requested_at=utcnow())
    db.add(change)
    db.flush()
    append_event(db, "staff.change_requested", actor=actor, object_type="staff",
                 object_id=subject.id, summary={"change": change.id, "kind": kind,
                                                **_summary(kind, details)})
    return change


def _summary(kind: str, details: dict) -> dict:
    """What the trail may say about a change: roles and flags, never an address."""
    if kind == GRANT_ACCESS:
        return {"roles_after": details["roles"], "licensed_after": details["licensed"]}
    if kind == RESET_PASSWORD:
        return {"mfa_reset": details.get("reset_mfa", False)}
    return {}


def _decide(db: Session, change: StaffChange, status: str, actor: Actor) -> None:
    """Move a pending change to ``status``; a second decision at the same time loses."""
    done = db.execute(update(StaffChange).where(StaffChange.id == change.id,
                                                StaffChange.status == PENDING)
                      .values(status=status, decided_by_id=actor.id, decided_at=utcnow())
                      .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise Conflict("This change was decided by someone else meanwhile.")
    db.refresh(change)


def approve(db: Session, change: StaffChange, *, actor: Actor) -> None:
    """Apply a pending change as the second administrator, and tell the account's owner."""
    operations._require_admin(actor)
    if actor.id in (change.requested_by_id, change.subject_id):
        raise StaffProblem(["A change must be approved by an administrator other than the "
                            "one who asked for it and the person it concerns."])
    if change.status != PENDING:
        raise StaffProblem(["This change is no longer waiting for approval."])
    _decide(db, change, APPROVED, actor)
    staff = change.subject
    details = change.details
    append_event(db, "staff.change_approved", actor=actor, object_type="staff",
                 object_id=staff.id, summary={"change": change.id, "kind": change.kind,
                                              "requested_by": change.requested_by_id})
    if change.kind == GRANT_ACCESS:
        first_access = not staff.roles and staff.password_hash is None
        operations.change_staff(db, staff, display_name=staff.display_name,
                                roles=details["roles"], licensed=details["licensed"],
                                actor=actor)
        if first_access:
            # A new account: its owner gets the setup link, by email only.
            operations.issue_setup_link_by_mail(db, staff, actor, created=True)
        else:
            _notify(staff.email, "Your access to the records portal was changed by an "
                                 "administrator, approved by a second administrator.")
    elif change.kind == CHANGE_EMAIL:
        old = staff.email
        operations.change_staff_email(db, staff, details["email"], actor=actor)
        _notify(old, "The email address of your staff account on the records portal was "
                     "changed by an administrator, approved by a second administrator. This "
                     "address no longer signs in.")
    elif change.kind == RESET_PASSWORD:
        operations.reset_staff_password(db, staff, actor=actor,
                                        reset_mfa=details.get("reset_mfa", False), notify=True)
    elif change.kind == REACTIVATE:
        operations.reactivate_staff(db, staff, actor=actor)
        _notify(staff.email, "Your staff account on the records portal can sign in again: an "
                             "administrator reactivated it, approved by a second "
                             "administrator.")


def refuse(db: Session, change: StaffChange, *, actor: Actor) -> None:
    """Refuse a pending change (another administrator), or withdraw it (the one who asked)."""
    operations._require_admin(actor)
    if actor.id == change.subject_id:
        raise StaffProblem(["You cannot decide a change to your own account."])
    if change.status != PENDING:
        raise StaffProblem(["This change is no longer waiting for approval."])
    status = WITHDRAWN if actor.id == change.requested_by_id else REFUSED
    _decide(db, change, status, actor)
    append_event(db, f"staff.change_{status}", actor=actor, object_type="staff",
                 object_id=change.subject_id, summary={"change": change.id,
                                                       "kind": change.kind})


def _notify(address: str, what: str) -> None:
    # R-SEC-4: a neutral subject and sender; no program, no patient.
    send_mail(address, Subject.ACCOUNT, (
        f"{what}\n\nIf you did not expect this, tell your administrator or the records "
        "custodian at once.\n\nRecords Custodian\n"))


def create_account(db: Session, *, email: str, display_name: str, roles: list[str],
                   licensed: bool, actor: Actor) -> tuple[StaffUser, StaffChange]:
    """A new account with no access yet, and its roles waiting for a second administrator."""
    staff, _link = operations.create_staff(db, email=email, display_name=display_name,
                                           roles=roles, licensed=licensed, actor=actor,
                                           awaiting_approval=True)
    change = request_change(db, staff, GRANT_ACCESS,
                            {"roles": operations._checked_roles(roles), "licensed": licensed},
                            actor=actor)
    return staff, change


def ask_for_email_change(db: Session, staff: StaffUser, email: str, *,
                         actor: Actor) -> StaffChange:
    """Check the new address now (so the approver is not left with a bad one), then ask."""
    new = operations._checked_new_email(db, email)
    return request_change(db, staff, CHANGE_EMAIL, {"email": new}, actor=actor)


def edit_staff(db: Session, staff: StaffUser, *, display_name: str, roles: list[str],
               licensed: bool, actor: Actor) -> str | None:
    """The staff page's "Save changes": a change that takes access away (or only renames)
    applies at once and returns change_staff's outcome; one that gives any access is asked
    for (the name still changes now) and returns None."""
    if not widens_access(staff, roles, licensed):
        return operations.change_staff(db, staff, display_name=display_name, roles=roles,
                                       licensed=licensed, actor=actor)
    request_change(db, staff, GRANT_ACCESS,
                   {"roles": operations._checked_roles(roles), "licensed": licensed},
                   actor=actor)
    if display_name.strip() != staff.display_name:
        operations.rename_staff(db, staff, display_name, actor=actor)
    return None
