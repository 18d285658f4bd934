"""Revocable sign-in sessions for staff and requesters, wired into Flask-Login.

The signed Flask cookie holds "<kind>:<random token>"; the database holds the token's hash with
the session's limits. A staff id can never load a requester (the kind is part of the lookup).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, request
from flask_login import LoginManager, current_user
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.accounts.models import AuthSession, StaffUser
from portal.accounts.permissions import permissions_for
from portal.core.actor import Actor
from portal.core.db import get_session, utcnow
from portal.core.tokens import new_token, token_hash
from portal.requests.models import Requester

# Writing last_seen on every hit is wasteful; idle limits are minutes, so this is precise enough.
_TOUCH_EVERY = timedelta(seconds=30)


class Principal:
    """The signed-in person, as Flask-Login's current_user."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, kind: str, user: StaffUser | Requester, auth_session: AuthSession,
                 cookie_id: str):
        self.kind = kind
        self.user = user
        self.auth_session = auth_session
        self._cookie_id = cookie_id

    def get_id(self) -> str:
        return self._cookie_id

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def permissions(self) -> frozenset[str]:
        if self.kind != "staff":
            return frozenset()
        return permissions_for(self.user.role_names, self.user.is_licensed_reviewer)

    def recently_reauthenticated(self) -> bool:
        """Whether the password was re-entered within STAFF_REAUTH_MINUTES."""
        moment = self.auth_session.reauthenticated_at or self.auth_session.created_at
        window = timedelta(minutes=current_app.config["STAFF_REAUTH_MINUTES"])
        return utcnow() - moment <= window


def _limits(kind: str) -> tuple[timedelta, timedelta]:
    config = current_app.config
    if kind == "staff":
        return (timedelta(minutes=config["STAFF_IDLE_TIMEOUT_MINUTES"]),
                timedelta(hours=config["STAFF_SESSION_MAX_HOURS"]))
    return (timedelta(minutes=config["REQUESTER_IDLE_TIMEOUT_MINUTES"]),
            timedelta(hours=config["REQUESTER_SESSION_MAX_HOURS"]))


def start_session(db: Session, kind: str, user: StaffUser | Requester) -> Principal:
    """Create a session row and return the principal to pass to flask_login.login_user."""
    token = new_token()
    row = AuthSession(
        token_hash=token_hash(token),
        kind=kind,
        staff_id=user.id if kind == "staff" else None,
        requester_id=user.id if kind == "requester" else None,
        mfa_passed=False,
    )
    db.add(row)
    db.flush()
    return Principal(kind, user, row, f"{kind}:{token}")


def load_principal(db: Session, cookie_id: str, now: datetime | None = None) -> Principal | None:
    """Resolve a cookie id to a live session, expiring it when idle or too old."""
    kind, _, token = cookie_id.partition(":")
    if kind not in ("staff", "requester") or not token:
        return None
    row = db.scalar(
        select(AuthSession).where(
            AuthSession.token_hash == token_hash(token), AuthSession.kind == kind
        )
    )
    if row is None or row.revoked_at is not None:
        return None
    now = now or utcnow()
    idle, absolute = _limits(kind)
    if now - row.last_seen_at > idle or now - row.created_at > absolute:
        row.revoked_at = now
        row.revoked_reason = "timed_out"
        return None
    model, user_id = (StaffUser, row.staff_id) if kind == "staff" else (Requester, row.requester_id)
    user = db.get(model, user_id)
    if user is None or (kind == "staff" and not user.is_active):
        return None
    if now - row.last_seen_at > _TOUCH_EVERY:
        row.last_seen_at = now
    return Principal(kind, user, row, cookie_id)


def revoke_sessions(db: Session, *, staff_id: int | None = None, requester_id: int | None = None,
                    reason: str) -> int:
    """End every live session of a person at once (deactivation, role change, reset)."""
    condition = (
        AuthSession.staff_id == staff_id if staff_id is not None
        else AuthSession.requester_id == requester_id
    )
    result = db.execute(
        update(AuthSession)
        .where(condition, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    return result.rowcount or 0


def current_actor() -> Actor:
    """The Actor behind the current request, for operations and audit events."""
    ip = request.remote_addr if request else None
    user = current_user
    if user and user.is_authenticated:
        return Actor(
            kind=user.kind,
            id=user.id,
            permissions=user.permissions,
            is_licensed_reviewer=bool(getattr(user.user, "is_licensed_reviewer", False)),
            client_ip=ip,
        )
    return Actor(kind="anonymous", client_ip=ip)


def init_login(login_manager: LoginManager) -> None:
    """Register the loader; anonymous visitors are sent to the right sign-in page per view."""

    @login_manager.user_loader
    def _load(cookie_id: str):
        return load_principal(get_session(), cookie_id)
