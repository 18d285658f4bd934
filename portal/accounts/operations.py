"""Staff accounts: sign-in with slow-down and lockout, TOTP, re-entry, setup links, administration.

Operations flush but never commit, and each writes its audit event (summaries hold surrogate
ids and codes only: never an email address). Failed sign-ins are counted the same way whether
or not the email belongs to an account, so the sign-in page never reveals which emails exist.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden

from portal.accounts import mfa
from portal.accounts.models import (
    AuthSession,
    RecoveryCode,
    StaffRole,
    StaffUser,
    UnknownSignIn,
)
from portal.accounts.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from portal.accounts.permissions import ADMINISTER_STAFF, ROLES
from portal.accounts.sessions import revoke_sessions
from portal.core.actor import Actor
from portal.core.dates import date_and_time
from portal.core.db import utcnow
from portal.core.links import Subject
from portal.core.tokens import new_token, token_hash
from portal.jobs.mail import send_mail
from portal.trail.chain import append_event

# Outcomes of a sign-in step.
OK = "ok"
REFUSED = "refused"  # wrong password, unknown email or wrong code: one message for all
WAIT = "wait"  # slowed down: too soon after the last failure
LOCKED = "locked"  # too many failures: locked until retry_at


class StaffProblem(Exception):
    """An administration change was refused; ``problems`` says why in plain words."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class StepResult:
    """What happened to one sign-in step (password, second factor, or password re-entry)."""

    outcome: str
    staff: StaffUser | None = None
    retry_at: datetime | None = None
    method: str | None = None  # "totp" | "recovery_code" | "enrolment"
    recovery_codes: list[str] = field(default_factory=list)  # shown once, at enrolment
    recovery_codes_left: int | None = None


@dataclass(frozen=True)
class SetupLink:
    """A single-use link to set a password, and when it stops working."""

    url: str
    expires_at: datetime


# Deliberately loose: the setup link proves the address works; this only catches slips.
_EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def looks_like_email(email: str) -> bool:
    """Whether text has the shape of an email address (name@domain.tld)."""
    return bool(_EMAIL_SHAPE.match((email or "").strip()))


def normalize_email(email: str) -> str:
    """The stored form of a staff email address (trimmed, lower case)."""
    return (email or "").strip().lower()


def find_staff(db: Session, email: str) -> StaffUser | None:
    """The member of staff with this email address, if any."""
    return db.scalar(select(StaffUser).where(StaffUser.email == normalize_email(email)))


def _settings() -> dict:
    config = current_app.config
    return {
        "lock_after": int(config["LOGIN_LOCK_AFTER_FAILURES"]),
        "lock_for": timedelta(minutes=int(config["LOGIN_LOCK_MINUTES"])),
        "window": timedelta(minutes=int(config["LOGIN_FAILURE_WINDOW_MINUTES"])),
        "slowdown": float(config["LOGIN_SLOWDOWN_SECONDS"]),
    }


# --- failure counting (shared by real accounts and unknown emails) ---

def _email_digest(email: str) -> str:
    # Keyed, so the table of unknown emails cannot be reversed by hashing guesses offline.
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, normalize_email(email).encode(), hashlib.sha256).hexdigest()


def _blocked_until(record: StaffUser | UnknownSignIn | None,
                   now: datetime) -> tuple[str, datetime] | None:
    """Whether a sign-in attempt must be refused unheard: locked, or slowed down."""
    if record is None:
        return None
    if record.locked_until is not None and record.locked_until > now:
        return LOCKED, record.locked_until
    settings = _settings()
    failures = record.failed_sign_ins or 0
    last = record.last_failed_sign_in_at
    if last is None or now - last > settings["window"] or failures < 2:
        return None
    # Doubling wait after the 2nd failure: guessing gets slower before it is stopped.
    wait_until = last + timedelta(seconds=settings["slowdown"] * 2 ** (failures - 2))
    return (WAIT, wait_until) if wait_until > now else None


def _refused_unheard(db: Session, record: StaffUser | UnknownSignIn | None,
                     staff: StaffUser | None, actor: Actor, now: datetime,
                     action: str) -> StepResult | None:
    """The refusal for an attempt that must not be checked (locked or slowed down), else None."""
    blocked = _blocked_until(record, now)
    if not blocked:
        return None
    _audit_failure(db, action, actor, staff, reason=blocked[0])
    return StepResult(blocked[0], retry_at=blocked[1])


def _count_failure(record: StaffUser | UnknownSignIn, now: datetime) -> bool:
    """Count one failure; return True if it locks the account (R-SEC-1)."""
    settings = _settings()
    last = record.last_failed_sign_in_at
    if last is None or now - last > settings["window"]:
        record.failed_sign_ins = 0
    record.failed_sign_ins = (record.failed_sign_ins or 0) + 1
    record.last_failed_sign_in_at = now
    if record.failed_sign_ins >= settings["lock_after"]:
        record.locked_until = now + settings["lock_for"]
        record.failed_sign_ins = 0
        return True
    return False


def _clear_failures(record: StaffUser) -> None:
    record.failed_sign_ins = 0
    record.last_failed_sign_in_at = None
    record.locked_until = None


def _unknown_record(db: Session, email: str, create: bool) -> UnknownSignIn | None:
    digest = _email_digest(email)
    record = db.scalar(
        select(UnknownSignIn).where(UnknownSignIn.email_digest == digest).with_for_update()
    )
    if record is not None or not create:
        return record
    record = UnknownSignIn(email_digest=digest, failed_sign_ins=0)
    try:
        with db.begin_nested():
            db.add(record)
    except IntegrityError:
        # Another attempt for the same email created it a moment ago.
        record = db.scalar(select(UnknownSignIn).where(UnknownSignIn.email_digest == digest))
    # Forget unknown emails once their failures no longer count.
    db.execute(delete(UnknownSignIn).where(
        UnknownSignIn.last_failed_sign_in_at < utcnow() - _settings()["window"] * 2))
    return record


_DUMMY_HASHES: dict[tuple, str] = {}


def _dummy_hash() -> str:
    """A hash made with the configured cost, checked when there is no real one to check."""
    config = current_app.config
    key = (config["PASSWORD_HASH_TIME_COST"], config["PASSWORD_HASH_MEMORY_KIB"],
           config["PASSWORD_HASH_PARALLELISM"])
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = hash_password(new_token())
    return _DUMMY_HASHES[key]


def _lock_row(db: Session, staff: StaffUser) -> None:
    # Serializes concurrent attempts on one account (PostgreSQL; SQLite already is serialized).
    db.refresh(staff, with_for_update=True)


# --- signing in ---

def check_password(db: Session, email: str, password: str, *, actor: Actor,
                   now: datetime | None = None) -> StepResult:
    """The first sign-in step. Unknown emails take the same path and time as wrong passwords."""
    now = now or utcnow()
    staff = db.scalar(
        select(StaffUser).where(StaffUser.email == normalize_email(email)).with_for_update()
    )
    record = staff if staff is not None else _unknown_record(db, email, create=False)
    refused = _refused_unheard(db, record, staff, actor, now, "staff.sign_in_failed")
    if refused is not None:
        return refused
    usable = staff is not None and staff.is_active and bool(staff.password_hash)
    # Always run one Argon2 verification, so timing does not tell accounts apart.
    matches = verify_password(staff.password_hash if usable else _dummy_hash(), password)
    if usable and matches:
        if needs_rehash(staff.password_hash):
            staff.password_hash = hash_password(password)
        return StepResult(OK, staff=staff)
    if staff is None:
        reason = "unknown_account"
    elif not staff.is_active:
        reason = "deactivated"
    elif not staff.password_hash:
        reason = "not_set_up"
    else:
        reason = "wrong_password"
    record = record or _unknown_record(db, email, create=True)
    return _refuse(db, record, staff, actor, now, "staff.sign_in_failed", reason)


def _refuse(db: Session, record: StaffUser | UnknownSignIn, staff: StaffUser | None,
            actor: Actor, now: datetime, action: str, reason: str,
            auth_session: AuthSession | None = None) -> StepResult:
    locked = _count_failure(record, now)
    _audit_failure(db, action, actor, staff, reason=reason)
    if not locked:
        return StepResult(REFUSED)
    append_event(db, "staff.locked_out", actor=actor, object_type="staff",
                 object_id=staff.id if staff else None,
                 summary={"minutes": int(_settings()["lock_for"].total_seconds() // 60)})
    if auth_session is not None:
        _end_session(db, auth_session, actor, reason="locked_out")
    return StepResult(LOCKED, retry_at=record.locked_until)


def _audit_failure(db: Session, action: str, actor: Actor, staff: StaffUser | None,
                   *, reason: str) -> None:
    summary: dict = {"reason": reason}
    if staff is not None:
        summary["failures"] = staff.failed_sign_ins or 0
    append_event(db, action, actor=actor, object_type="staff",
                 object_id=staff.id if staff else None, summary=summary)


def totp_enrolment_secret(db: Session, staff: StaffUser) -> str:
    """The secret being enrolled: the same one until confirmed, so a reload shows the same QR."""
    if staff.mfa_enrolled_at is not None:
        raise ValueError("two-step verification is already set up")
    if staff.totp_secret_encrypted:
        return mfa.decrypt_secret(staff.id, staff.totp_secret_encrypted)
    secret = mfa.new_totp_secret()
    staff.totp_secret_encrypted = mfa.encrypt_secret(staff.id, secret)
    db.flush()
    return secret


def confirm_enrolment(db: Session, staff: StaffUser, auth_session: AuthSession, code: str, *,
                      actor: Actor, now: datetime | None = None) -> StepResult:
    """Finish enrolment with the app's first code; returns the recovery codes to show once."""
    now = now or utcnow()
    _lock_row(db, staff)
    refused = _refused_unheard(db, staff, staff, actor, now, "staff.mfa_failed")
    if refused is not None:
        return refused
    secret = totp_enrolment_secret(db, staff)
    counter = mfa.matching_counter(secret, code, None, now)
    if counter is None:
        return _refuse(db, staff, staff, actor, now, "staff.mfa_failed", "wrong_enrolment_code",
                       auth_session)
    staff.mfa_enrolled_at = now
    staff.totp_last_counter = counter
    codes = _replace_recovery_codes(db, staff)
    append_event(db, "staff.mfa_enrolled", actor=actor, object_type="staff", object_id=staff.id,
                 summary={"recovery_codes": len(codes)})
    _pass_second_factor(db, staff, auth_session, actor, now, "enrolment")
    return StepResult(OK, staff=staff, method="enrolment", recovery_codes=codes)


def _replace_recovery_codes(db: Session, staff: StaffUser) -> list[str]:
    db.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff.id))
    codes = mfa.new_recovery_codes()
    db.add_all(RecoveryCode(staff_id=staff.id, code_hash=mfa.recovery_code_hash(c))
               for c in codes)
    db.flush()
    return codes


def verify_second_factor(db: Session, staff: StaffUser, auth_session: AuthSession, code: str, *,
                         actor: Actor, now: datetime | None = None) -> StepResult:
    """The second sign-in step: a TOTP code (each usable once) or a one-time recovery code."""
    if staff.mfa_enrolled_at is None:
        raise ValueError("two-step verification is not set up yet")
    now = now or utcnow()
    _lock_row(db, staff)
    refused = _refused_unheard(db, staff, staff, actor, now, "staff.mfa_failed")
    if refused is not None:
        return refused
    if mfa.looks_like_totp(code):
        secret = mfa.decrypt_secret(staff.id, staff.totp_secret_encrypted)
        counter = mfa.matching_counter(secret, code, staff.totp_last_counter, now)
        if counter is None:
            # Also a replay: a code whose time step was already used is refused (R-SEC-1).
            return _refuse(db, staff, staff, actor, now, "staff.mfa_failed", "wrong_totp",
                           auth_session)
        staff.totp_last_counter = counter
        _pass_second_factor(db, staff, auth_session, actor, now, "totp")
        return StepResult(OK, staff=staff, method="totp")
    row = db.scalar(select(RecoveryCode).where(
        RecoveryCode.staff_id == staff.id,
        RecoveryCode.code_hash == mfa.recovery_code_hash(code),
        RecoveryCode.used_at.is_(None),
    ))
    if row is None:
        return _refuse(db, staff, staff, actor, now, "staff.mfa_failed", "wrong_recovery_code",
                       auth_session)
    row.used_at = now
    db.flush()
    left = recovery_codes_left(db, staff)
    append_event(db, "staff.recovery_code_used", actor=actor, object_type="staff",
                 object_id=staff.id, summary={"recovery_code_id": row.id, "remaining": left})
    _pass_second_factor(db, staff, auth_session, actor, now, "recovery_code")
    return StepResult(OK, staff=staff, method="recovery_code", recovery_codes_left=left)


def recovery_codes_left(db: Session, staff: StaffUser) -> int:
    """How many unused recovery codes a member of staff still has."""
    return len(db.scalars(select(RecoveryCode.id).where(
        RecoveryCode.staff_id == staff.id, RecoveryCode.used_at.is_(None))).all())


def _pass_second_factor(db: Session, staff: StaffUser, auth_session: AuthSession, actor: Actor,
                        now: datetime, method: str) -> None:
    _clear_failures(staff)
    auth_session.mfa_passed = True
    # The password was typed moments ago: sensitive actions need no second re-entry yet.
    auth_session.reauthenticated_at = now
    db.flush()
    append_event(db, "staff.signed_in", actor=actor, object_type="staff", object_id=staff.id,
                 summary={"method": method, "session_id": auth_session.id})


def reauthenticate(db: Session, staff: StaffUser, auth_session: AuthSession, password: str, *,
                   actor: Actor, now: datetime | None = None) -> StepResult:
    """Re-enter the password before a sensitive action; failures count towards the lockout."""
    now = now or utcnow()
    _lock_row(db, staff)
    refused = _refused_unheard(db, staff, staff, actor, now, "staff.reauth_failed")
    if refused is not None:
        return refused
    matches = verify_password(staff.password_hash or _dummy_hash(), password)
    if not (matches and staff.password_hash):
        return _refuse(db, staff, staff, actor, now, "staff.reauth_failed", "wrong_password",
                       auth_session)
    _clear_failures(staff)
    auth_session.reauthenticated_at = now
    append_event(db, "staff.reauthenticated", actor=actor, object_type="staff",
                 object_id=staff.id, summary={"session_id": auth_session.id})
    return StepResult(OK, staff=staff)


def sign_out(db: Session, auth_session: AuthSession, *, actor: Actor) -> None:
    """End one session, staff or requester, at the person's request."""
    _end_session(db, auth_session, actor, reason="signed_out")


def keep_alive(auth_session: AuthSession) -> None:
    """"Stay signed in": restart this session's idle clock and change nothing else (R-SEC-1).

    WCAG 2.2.1 lets the person extend the idle logoff before it bites; not audited, as any
    page view would do the same.
    """
    auth_session.last_seen_at = utcnow()


def _end_session(db: Session, auth_session: AuthSession, actor: Actor, *, reason: str) -> None:
    if auth_session.revoked_at is not None:
        return
    auth_session.revoked_at = utcnow()
    auth_session.revoked_reason = reason
    db.flush()
    if auth_session.kind == "requester":
        append_event(db, "requester.signed_out", actor=actor, object_type="requester",
                     object_id=auth_session.requester_id, summary={})
        return
    action = "staff.signed_out" if reason == "signed_out" else "staff.sessions_revoked"
    append_event(db, action, actor=actor, object_type="staff", object_id=auth_session.staff_id,
                 summary={"session_id": auth_session.id, "reason": reason})


def _revoke_all(db: Session, staff: StaffUser, actor: Actor, reason: str) -> int:
    count = revoke_sessions(db, staff_id=staff.id, reason=reason)
    append_event(db, "staff.sessions_revoked", actor=actor, object_type="staff",
                 object_id=staff.id, summary={"reason": reason, "count": count})
    return count


# --- setup links ---

def setup_link_url(token: str) -> str:
    """The public URL of a setup link, always from BASE_URL (never the request's Host)."""
    path = current_app.url_map.bind("localhost").build("accounts.setup", {"token": token})
    return current_app.config["BASE_URL"].rstrip("/") + path


def _issue_setup_link(db: Session, staff: StaffUser, actor: Actor, now: datetime,
                      purpose: str) -> SetupLink:
    token = new_token()
    expires = now + timedelta(hours=int(current_app.config["STAFF_SETUP_LINK_HOURS"]))
    staff.setup_token_hash = token_hash(token)
    staff.setup_token_expires_at = expires
    db.flush()
    append_event(db, "staff.setup_link_issued", actor=actor, object_type="staff",
                 object_id=staff.id, summary={"purpose": purpose})
    return SetupLink(url=setup_link_url(token), expires_at=expires)


def staff_for_setup_token(db: Session, token: str, now: datetime | None = None) -> StaffUser | None:
    """The active member of staff a setup link belongs to, if it is unused and unexpired."""
    now = now or utcnow()
    staff = db.scalar(select(StaffUser).where(StaffUser.setup_token_hash == token_hash(token)))
    if staff is None or not staff.is_active or staff.setup_token_expires_at is None:
        return None
    return staff if staff.setup_token_expires_at > now else None


def complete_setup(db: Session, staff: StaffUser, password: str, *, actor: Actor) -> None:
    """Set the password chosen through a setup link and use the link up."""
    problems = password_problems(password, staff.email)
    if problems:
        raise StaffProblem(problems)
    staff.password_hash = hash_password(password)
    staff.setup_token_hash = None
    staff.setup_token_expires_at = None
    _clear_failures(staff)
    db.flush()
    append_event(db, "staff.password_set", actor=actor, object_type="staff",
                 object_id=staff.id, summary={"mfa_enrolled": staff.mfa_enrolled_at is not None})


# --- administration ---

def _require_admin(actor: Actor) -> None:
    if not actor.can(ADMINISTER_STAFF):
        raise Forbidden()


def _checked_roles(roles: list[str] | tuple[str, ...]) -> list[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise StaffProblem([f"Unknown role: {', '.join(unknown)}. "
                            f"Choose from: {', '.join(ROLES)}."])
    if not roles:
        raise StaffProblem(["Choose at least one role."])
    return sorted(set(roles))


def _checked_new_email(db: Session, email: str) -> str:
    email = normalize_email(email)
    if not looks_like_email(email):
        raise StaffProblem(["Enter an email address like name@example.org."])
    if find_staff(db, email) is not None:
        raise StaffProblem(["A staff account with this email address already exists."])
    return email


def create_staff(db: Session, *, email: str, display_name: str, roles: list[str],
                 licensed: bool, actor: Actor, notify: bool = False,
                 awaiting_approval: bool = False,
                 now: datetime | None = None) -> tuple[StaffUser, SetupLink | None]:
    """A new member of staff with a single-use link to set their password and enrol MFA.

    With ``notify`` the link is also emailed to them (the CLI prints it instead). With
    ``awaiting_approval`` (the web page: portal.accounts.approvals) the account is made with
    no role and no link; its roles wait for a second administrator, who sends the link.
    """
    _require_admin(actor)
    now = now or utcnow()
    roles = _checked_roles(roles)
    email = _checked_new_email(db, email)
    staff = StaffUser(
        email=email,
        display_name=display_name.strip() or email.split("@")[0],
        is_active=True,
        is_licensed_reviewer=False if awaiting_approval else licensed,
        failed_sign_ins=0,
        roles=[] if awaiting_approval else [StaffRole(role=role) for role in roles],
    )
    db.add(staff)
    db.flush()
    append_event(db, "staff.created", actor=actor, object_type="staff", object_id=staff.id,
                 summary={"roles": [] if awaiting_approval else roles,
                          "licensed_reviewer": licensed and not awaiting_approval})
    if awaiting_approval:
        return staff, None
    link = _issue_setup_link(db, staff, actor, now, "create")
    if notify:
        _mail_setup_link(staff, link, created=True)
    return staff, link


def issue_setup_link_by_mail(db: Session, staff: StaffUser, actor: Actor, *,
                             created: bool) -> None:
    """A new single-use setup link, sent to its owner's address only."""
    link = _issue_setup_link(db, staff, actor, utcnow(), "create" if created else "reset")
    _mail_setup_link(staff, link, created=created)


def change_staff_email(db: Session, staff: StaffUser, email: str, *, actor: Actor) -> None:
    """Move an account to a new address: its sessions and any setup link end."""
    _require_admin(actor)
    email = _checked_new_email(db, email)
    staff.email = email
    staff.setup_token_hash = None
    staff.setup_token_expires_at = None
    db.flush()
    append_event(db, "staff.email_changed", actor=actor, object_type="staff",
                 object_id=staff.id, summary={})
    _revoke_all(db, staff, actor, "email_changed")


def _refuse_self(actor: Actor, staff: StaffUser, what: str) -> None:
    if actor.kind == "staff" and actor.id == staff.id:
        raise StaffProblem([f"You cannot {what} yourself. Ask another administrator."])


UNCHANGED, NAME_CHANGED, ACCESS_CHANGED = "unchanged", "name_changed", "access_changed"


def change_staff(db: Session, staff: StaffUser, *, display_name: str, roles: list[str],
                 licensed: bool, actor: Actor) -> str:
    """Change name, roles and licence flag; a change of access ends the person's sessions.

    Returns UNCHANGED, NAME_CHANGED, or ACCESS_CHANGED (their sessions were ended).
    """
    _require_admin(actor)
    roles = _checked_roles(roles)
    before_roles = sorted(staff.role_names)
    access_changes = before_roles != roles or staff.is_licensed_reviewer != licensed
    if access_changes:
        # No one may widen, or even narrow, their own access (no self-grant).
        _refuse_self(actor, staff, "change the roles or licence of")
    name_changes = display_name.strip() != staff.display_name
    if not (access_changes or name_changes):
        return UNCHANGED
    summary = {"roles_before": before_roles, "roles_after": roles,
               "licensed_before": staff.is_licensed_reviewer, "licensed_after": licensed,
               "name_changed": name_changes}
    staff.display_name = display_name.strip()
    staff.is_licensed_reviewer = licensed
    kept = [r for r in staff.roles if r.role in roles]
    staff.roles = kept + [StaffRole(role=r) for r in roles if r not in before_roles]
    db.flush()
    append_event(db, "staff.changed", actor=actor, object_type="staff", object_id=staff.id,
                 summary=summary)
    if not access_changes:
        return NAME_CHANGED
    _revoke_all(db, staff, actor, "roles_changed")
    return ACCESS_CHANGED


def rename_staff(db: Session, staff: StaffUser, display_name: str, *, actor: Actor) -> None:
    """Change only the name shown for a member of staff."""
    _require_admin(actor)
    staff.display_name = display_name.strip() or staff.display_name
    db.flush()
    append_event(db, "staff.changed", actor=actor, object_type="staff", object_id=staff.id,
                 summary={"name_changed": True})


def deactivate_staff(db: Session, staff: StaffUser, *, actor: Actor) -> None:
    """Take away all access at once: no sign-in, and every open session ends."""
    _require_admin(actor)
    _refuse_self(actor, staff, "deactivate")
    if not staff.is_active:
        return
    staff.is_active = False
    staff.setup_token_hash = None
    staff.setup_token_expires_at = None
    db.flush()
    append_event(db, "staff.deactivated", actor=actor, object_type="staff", object_id=staff.id,
                 summary={})
    _revoke_all(db, staff, actor, "deactivated")


def reactivate_staff(db: Session, staff: StaffUser, *, actor: Actor) -> None:
    """Let a deactivated member of staff sign in again with their existing password and MFA."""
    _require_admin(actor)
    if staff.is_active:
        return
    staff.is_active = True
    _clear_failures(staff)
    db.flush()
    append_event(db, "staff.reactivated", actor=actor, object_type="staff", object_id=staff.id,
                 summary={})


def reset_staff_password(db: Session, staff: StaffUser, *, actor: Actor, reset_mfa: bool = False,
                         notify: bool = False, now: datetime | None = None) -> SetupLink:
    """Replace the password with a new setup link; the old password and sessions stop working.

    With ``reset_mfa`` the authenticator and recovery codes are forgotten too, and the person
    enrols again at their next sign-in.
    """
    _require_admin(actor)
    if not staff.is_active:
        raise StaffProblem(["This account is deactivated. Reactivate it first."])
    now = now or utcnow()
    staff.password_hash = None
    _clear_failures(staff)
    if reset_mfa:
        staff.totp_secret_encrypted = None
        staff.totp_last_counter = None
        staff.mfa_enrolled_at = None
        db.execute(delete(RecoveryCode).where(RecoveryCode.staff_id == staff.id))
    db.flush()
    append_event(db, "staff.password_reset", actor=actor, object_type="staff",
                 object_id=staff.id, summary={"mfa_reset": reset_mfa})
    _revoke_all(db, staff, actor, "password_reset")
    link = _issue_setup_link(db, staff, actor, now, "reset")
    if notify:
        _mail_setup_link(staff, link, created=False)
    return link


def _mail_setup_link(staff: StaffUser, link: SetupLink, *, created: bool) -> None:
    # R-SEC-4: neutral subject and sender; the body names no program and no patient.
    what = ("An administrator created a staff account for you on the records portal."
            if created else "An administrator reset your password on the records portal.")
    send_mail(staff.email, Subject.SIGN_IN, (
        f"{what}\n\n"
        f"Choose your password with this single-use link:\n{link.url}\n\n"
        f"The link stops working at {date_and_time(link.expires_at)}.\n\n"
        "If you did not expect this message, do not use the link and tell your administrator.\n"
    ))
