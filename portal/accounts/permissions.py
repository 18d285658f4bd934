"""Roles, the permissions that follow from them, and the one place access is checked.

Every view declares its access with exactly one of the decorators below; the access-matrix test
walks ``app.url_map`` and fails on a view that declares none.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, redirect, request, url_for
from flask_login import current_user

# The roles and permissions are rules (portal.rules.permissions); this module checks them.
from portal.rules.permissions import (  # noqa: F401 (re-exported for the decorators' users)
    ADMINISTER_STAFF,
    ASSIGN_REQUESTS,
    DECIDE_CLINICAL,
    EXPORT_IDENTIFIED,
    MANAGE_ROSTER,
    READ_AUDIT,
    READ_UPLOAD_ORIGINALS,
    RELEASE_RECORDS,
    REVIEW_CLINICAL,
    ROLE_LABELS,
    ROLE_PERMISSIONS,
    ROLES,
    VIEW_WORKLOAD,
    WORK_REQUESTS,
    permissions_for,
)


def _here() -> str | None:
    """The path and query of this request, to come back to after signing in.

    None when the URL cannot be opened with GET (a button's POST target): returning there
    after signing in would only show "not available here".
    """
    rule = request.url_rule
    if request.method != "GET" and rule is not None and "GET" not in (rule.methods or ()):
        return None
    return request.full_path.rstrip("?")


def _mark(view: Callable, policy: dict) -> Callable:
    view.access_policy = policy
    return view


def public(view: Callable) -> Callable:
    """Anyone may open this page (it must reveal nothing about any patient, R-ID-5)."""
    return _mark(view, {"kind": "public"})


def staff_required(*permissions: str, reauth: bool = False) -> Callable:
    """Signed-in staff who passed MFA and hold every named permission.

    With ``reauth`` the person must have re-entered their password recently (release,
    identified export, staff administration).
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user
            if not user.is_authenticated or getattr(user, "kind", None) != "staff":
                return redirect(url_for("accounts.sign_in", next=_here()))
            if not user.auth_session.mfa_passed:
                return redirect(url_for("accounts.mfa", next=_here()))
            if any(p not in user.permissions for p in permissions):
                abort(403)
            if reauth and not user.recently_reauthenticated():
                return redirect(url_for("accounts.reauthenticate", next=_here()))
            return view(*args, **kwargs)

        return _mark(wrapped, {"kind": "staff", "permissions": permissions, "reauth": reauth})

    return decorator


def requester_required(view: Callable) -> Callable:
    """A requester signed in by magic link; object checks happen in the view's loader."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        user = current_user
        if not user.is_authenticated or getattr(user, "kind", None) != "requester":
            return redirect(url_for("identity.sign_in"))
        return view(*args, **kwargs)

    return _mark(wrapped, {"kind": "requester"})


def token_required(view: Callable) -> Callable:
    """Reached by a token from an email or a download link; the token is the credential."""
    return _mark(view, {"kind": "token"})
