"""Handlers of sign-in by emailed link, email confirmation, sign-out and the lost-email report.

R-ID-5: asking for a sign-in link gets the same answer, at the same speed, whether or not the
address is known; the lookup runs after the response. Emailed links open a page whose button
completes the action (POST), so a mail scanner fetching the link uses nothing up.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.accounts import operations as account_operations
from portal.accounts.permissions import public, requester_required, token_required
from portal.accounts.sessions import (
    current_actor,
    limit_to_request,
    session_check_response,
    start_session,
)
from portal.core.db import get_session
from portal.extensions import limiter
from portal.identity import operations
from portal.identity.forms import LostEmailForm, SignInForm, TokenActionForm
from portal.requests.lost_email import LostEmail, report_lost_email
from portal.rules.contact import normalize_email


def _address_key() -> str:
    """The per-address rate-limit key: a keyed hash, so the store never holds an address."""
    email = normalize_email(request.form.get("email") or request.form.get("old_email"))
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return "address:" + hmac.new(secret, email.encode(), hashlib.sha256).hexdigest()


def _config_limit(name: str):
    return lambda: current_app.config[name]


_per_client = limiter.limit(_config_limit("SIGN_IN_LIMIT_PER_CLIENT"), methods=["POST"])
_per_address = limiter.limit(_config_limit("SIGN_IN_LIMIT_PER_ADDRESS"), key_func=_address_key,
                             methods=["POST"])
_token_limited = limiter.limit(_config_limit("TOKEN_LIMIT_PER_CLIENT"), methods=["POST"])
_report_limited = limiter.limit(_config_limit("SUBMIT_LIMIT_PER_CLIENT"), methods=["POST"])


@public
@_per_client
@_per_address
def sign_in():
    """Ask for a sign-in link; the answer never says whether the address is known (R-ID-5)."""
    form = SignInForm()
    if request.method == "GET" or not form.validate():
        status = 422 if request.method == "POST" else 200
        return render_template("identity/sign_in.html", form=form), status
    operations.request_sign_in_link(form.email.data)
    return redirect(url_for("identity.sign_in_sent"))


@public
def sign_in_sent():
    """The one answer to every sign-in request."""
    return render_template("identity/sign_in_sent.html",
                           minutes=current_app.config["MAGIC_LINK_MINUTES"])


def _emailed_link_page(token: str, purpose: str, template: str, redeem):
    """An emailed link: opening it shows a button; only the button's POST calls ``redeem``."""
    session = get_session()
    row = operations.find_token(session, token, purpose)
    if row is None:
        return render_template("identity/link_invalid.html"), 404
    form = TokenActionForm()
    if request.method == "GET" or not form.validate():
        return render_template(template, form=form, token=token)
    return redeem(session, row)


def _start_requester_session(session, row) -> None:
    """Use an emailed sign-in token and sign its requester in, in a fresh cookie session:
    nothing from before signing in carries over."""
    requester = operations.redeem_sign_in(session, row, request.remote_addr)
    flask_session.clear()
    login_user(start_session(session, "requester", requester))


@token_required
@_token_limited
def magic_link(token: str):
    """The page an emailed sign-in link opens; its button signs the requester in."""
    def sign_in_requester(session, row):
        _start_requester_session(session, row)
        return redirect(url_for("requests.my_requests"))

    return _emailed_link_page(token, operations.SIGN_IN, "identity/magic_link.html",
                              sign_in_requester)


@token_required
@_token_limited
def update_link(token: str):
    """The page an update email's link opens; its button opens that one request (R-SEC-4).

    The sign-in it starts reaches only that request; the update is at the top of its page.
    """
    def open_update(session, row):
        _start_requester_session(session, row)
        limit_to_request(row.request_id)
        return redirect(url_for("requests.detail", request_id=row.request_id, _anchor="update"))

    return _emailed_link_page(token, operations.UPDATE_LINK, "identity/update_link.html",
                              open_update)


@requester_required
def session_check():
    """For a page left open past the idle limit: is the same person signed in again?"""
    return session_check_response()


@requester_required
def keep_alive():
    """The "Stay signed in" button: restart this session's idle clock, change nothing else."""
    account_operations.keep_alive(current_user.auth_session)
    return "", 204


@public
def sign_out():
    """End the requester's session (POST only, with the CSRF token)."""
    if current_user.is_authenticated and current_user.kind == "requester":
        account_operations.sign_out(get_session(), current_user.auth_session,
                                    actor=current_actor())
        logout_user()
        flask_session.clear()
        flash(_("You are signed out."), "success")
    return redirect(url_for("public.home"))


@token_required
@_token_limited
def confirm_email(token: str):
    """The page an emailed confirmation link opens; its button confirms the address."""
    def confirm(session, row):
        operations.confirm_email(session, row, request.remote_addr)
        return redirect(url_for("identity.email_confirmed"))

    return _emailed_link_page(token, operations.CONFIRM_EMAIL, "identity/confirm_email.html",
                              confirm)


@public
def email_confirmed():
    """After confirming: what happens next, and a way to sign in to follow the request."""
    return render_template("identity/email_confirmed.html", form=SignInForm(formdata=None))


@public
@_report_limited
def lost_email():
    """"I lost access to my email": recorded for the clerk, who verifies and helps (R-ID-1)."""
    form = LostEmailForm()
    if request.method == "GET" or not form.validate():
        status = 422 if request.method == "POST" else 200
        return render_template("identity/lost_email.html", form=form), status
    report_lost_email(get_session(), LostEmail(
        reference=form.reference.data, full_name=form.full_name.data,
        date_of_birth=form.date_of_birth.data, old_email=form.old_email.data,
        new_email=form.new_email.data or None, phone=form.phone.data or None,
        note=form.note.data or None,
    ), current_actor())
    return render_template("identity/lost_email_sent.html")
