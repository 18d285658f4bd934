"""Revocable sign-in sessions for staff and requesters, wired into Flask-Login.

The signed Flask cookie holds "<kind>:<random token>"; the database holds the token's hash with
the session's limits. A staff id can never load a requester (the kind is part of the lookup).
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app, flash, jsonify, request
from flask import session as flask_session
from flask_babel import gettext
from flask_login import LoginManager, current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.accounts.models import AuthSession, Requester, StaffUser
from portal.accounts.permissions import permissions_for
from portal.core.actor import Actor
from portal.core.db import get_session, utcnow
from portal.core.tokens import new_token, token_hash

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

    def idle_seconds_left(self) -> int:
        """Seconds until the idle sign-out, counted from the activity the server recorded.

        last_seen_at is written at most every 30 seconds, so the page's warning timer starts
        from it rather than from the page load. Rounded up, plus a second, so the page never
        says "signed out" while the server still holds the session.
        """
        idle, _absolute = _limits(self.kind)
        remaining = (idle - (utcnow() - self.auth_session.last_seen_at)).total_seconds()
        return max(0, math.ceil(remaining)) + 1

    def owner_tag(self) -> str:
        """An opaque tag naming this person (not this session) for the page's own script.

        A page left open past the idle limit may carry on once the same person has signed in
        again in another tab (see session_check_response); never as someone else."""
        key = current_app.config["SECRET_KEY"].encode("utf-8")
        message = f"session-owner:{self.kind}:{self.user.id}".encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()[:24]

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
    return resolve_session(db, cookie_id, now)[0]


def resolve_session(db: Session, cookie_id: str,
                    now: datetime | None = None) -> tuple[Principal | None, str | None]:
    """Like load_principal, and say why a once-valid session no longer works.

    The reason is "idle" (R-SEC-1 automatic logoff), "lifetime" (absolute limit reached) or
    "ended" (revoked: deactivated, roles changed, password reset); None for an unknown cookie
    or a session the person ended themselves.
    """
    kind, _, token = cookie_id.partition(":")
    if kind not in ("staff", "requester") or not token:
        return None, None
    row = db.scalar(
        select(AuthSession).where(
            AuthSession.token_hash == token_hash(token), AuthSession.kind == kind
        )
    )
    if row is None:
        return None, None
    if row.revoked_at is not None:
        return None, _ENDED_REASONS.get(row.revoked_reason or "", "ended")
    now = now or utcnow()
    idle, absolute = _limits(kind)
    if now - row.last_seen_at > idle:
        row.revoked_at, row.revoked_reason = now, "timed_out"
        return None, "idle"
    if now - row.created_at > absolute:
        row.revoked_at, row.revoked_reason = now, "lifetime_ended"
        return None, "lifetime"
    model, user_id = (StaffUser, row.staff_id) if kind == "staff" else (Requester, row.requester_id)
    user = db.get(model, user_id)
    if user is None or (kind == "staff" and not user.is_active):
        return None, "ended"
    if now - row.last_seen_at > _TOUCH_EVERY:
        row.last_seen_at = now
    return Principal(kind, user, row, cookie_id), None


# What to tell someone whose cookie names an already revoked session (None: say nothing).
_ENDED_REASONS = {"signed_out": None, "timed_out": "idle", "lifetime_ended": "lifetime"}


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


ONLY_REQUEST = "only_request"


def limit_to_request(request_id: int) -> None:
    """This sign-in (by an update email's link) opens only the request the email was about."""
    flask_session[ONLY_REQUEST] = int(request_id)


def request_limit() -> int | None:
    """The one request this requester's sign-in may open, or None when it may open all."""
    value = flask_session.get(ONLY_REQUEST)
    return int(value) if value is not None else None


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
    """Register the loader; a session that just ended says why on the next page shown."""

    @login_manager.user_loader
    def _load(cookie_id: str):
        principal, ended = resolve_session(get_session(), cookie_id)
        if principal is None:
            # Forget the dead session so the explanation is given once, not on every page.
            flask_session.pop("_user_id", None)
            if ended:
                flash(session_end_message(ended, cookie_id.partition(":")[0]), "info")
        return principal


def session_end_message(reason: str, kind: str = "staff") -> str:
    """The plain-language reason a session ended, for the sign-in page."""
    idle, absolute = _limits(kind)
    if reason == "idle":
        return gettext("You were signed out after %(minutes)d minutes without activity. "
                       "Please sign in again.", minutes=int(idle.total_seconds() // 60))
    if reason == "lifetime":
        return gettext("You were signed out because you had been signed in for %(hours)d "
                       "hours. Please sign in again.", hours=int(absolute.total_seconds() // 3600))
    return gettext("Your session was ended. Please sign in again.")


def safe_next(target: str | None) -> str | None:
    """A same-site relative path to return to after signing in, or None if it is not one.

    Refuses absolute and scheme-relative URLs (``//evil.example``), backslashes (browsers read
    ``/\\evil.example`` as another host) and control characters: an open redirect would let a
    phishing link borrow the portal's address.
    """
    if not target:
        return None
    target = target.strip()
    if target.endswith("?"):
        target = target[:-1]
    if (not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(ch) < 32 or ord(ch) == 127 for ch in target)):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def session_check_response():
    """JSON for a page left open: who is signed in now, a fresh form token, the idle clock.

    After an idle sign-out the page keeps what was typed; once the person has signed in again
    in another tab, the page asks here and, if it is the same person, swaps in the new form
    token (the old one ended with the old session) so what was typed can be sent."""
    return jsonify(owner=current_user.owner_tag(), csrf_token=generate_csrf(),
                   idle_seconds=current_user.idle_seconds_left())
