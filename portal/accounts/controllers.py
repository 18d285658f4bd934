"""Staff sign-in (password, then TOTP), re-entry before sensitive actions, setup links and the
staff administration pages (R-SEC-1). Handlers are thin: every change is one operation.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask import session as flask_session
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select

from portal.accounts import approvals, mfa, operations
from portal.accounts.forms import (
    CodeForm,
    ConfirmForm,
    EmailChangeForm,
    EnrolForm,
    NewStaffForm,
    ReauthenticateForm,
    ResetForm,
    SetPasswordForm,
    SignInForm,
    StaffRolesForm,
)
from portal.accounts.models import StaffUser
from portal.accounts.operations import LOCKED, OK, WAIT, StaffProblem, StepResult
from portal.accounts.permissions import (
    ADMINISTER_STAFF,
    READ_AUDIT,
    ROLE_LABELS,
    WORK_REQUESTS,
    public,
    staff_required,
    token_required,
)
from portal.accounts.sessions import (
    Principal,
    current_actor,
    safe_next,
    session_check_response,
    start_session,
)
from portal.core.actor import Actor
from portal.core.dates import date_and_time
from portal.core.db import get_session, rollback, utcnow
from portal.extensions import limiter
from portal.jobs import outbox
from portal.jobs.models import FAILED, PENDING, RUNNING

# Where staff land after signing in, by what they may do (first match wins).
_LANDINGS = (("queue.index", WORK_REQUESTS), ("audit.index", READ_AUDIT),
             ("accounts.staff_list", ADMINISTER_STAFF))


def _sign_in_rate_limit() -> str:
    return current_app.config["SIGN_IN_RATE_LIMIT"]


# Per client address, on top of the per-account slow-down and lockout.
_rate_limited = limiter.limit(_sign_in_rate_limit, methods=["POST"])


def _staff_principal() -> Principal | None:
    if current_user.is_authenticated and current_user.kind == "staff":
        return current_user
    return None


def landing_url() -> str:
    """The first page a signed-in member of staff sees, by their permissions."""
    principal = _staff_principal()
    permissions = principal.permissions if principal else frozenset()
    for endpoint, permission in _LANDINGS:
        if endpoint in current_app.view_functions and permission in permissions:
            return url_for(endpoint)
    return url_for("public.home")


def _next_url() -> str | None:
    return safe_next(request.args.get("next"))


def _page(template: str, form, **context):
    """Render a form page: 200 when first shown, 400 when it comes back with problems."""
    status = 400 if form.errors else 200
    return render_template(template, form=form, **context), status


def _step_message(result: StepResult) -> str:
    if result.outcome == LOCKED:
        return _("Too many attempts. For your security, signing in is paused until %(when)s. "
                 "Please try again then.", when=date_and_time(result.retry_at))
    if result.outcome == WAIT:
        seconds = max(1, int((result.retry_at - utcnow()).total_seconds() + 0.999))
        return _("Please wait %(seconds)d seconds, then try again.", seconds=seconds)
    return ""


def _locked_out(result: StepResult):
    """The session was ended by a lockout: back to the sign-in page, saying until when."""
    logout_user()
    flask_session.clear()
    flash(_step_message(result), "error")
    return redirect(url_for("accounts.sign_in"))


@public
@_rate_limited
def sign_in():
    """Step one: email and password. The same answer whether or not the email has an account."""
    next_url = _next_url()
    principal = _staff_principal()
    if request.method == "GET" and principal and principal.auth_session.mfa_passed:
        return redirect(next_url or landing_url())
    form = SignInForm()
    if not form.validate_on_submit():
        return _page("accounts/sign_in.html", form, next_url=next_url)
    db = get_session()
    result = operations.check_password(db, form.email.data, form.password.data,
                                       actor=current_actor())
    if result.outcome != OK:
        form.form_errors.append(
            _step_message(result) or _("The email address or password is not right."))
        return render_template("accounts/sign_in.html", form=form, next_url=next_url), (
            429 if result.outcome in (LOCKED, WAIT) else 400)
    if principal is not None:
        operations.sign_out(db, principal.auth_session, actor=current_actor())
    # A fresh cookie session: nothing from before signing in carries over.
    flask_session.clear()
    login_user(start_session(db, "staff", result.staff))
    return redirect(url_for("accounts.mfa", next=next_url))


@public
@_rate_limited
def mfa_step():
    """Step two: enrol an authenticator app the first time, then a code at every sign-in."""
    next_url = _next_url()
    principal = _staff_principal()
    if principal is None:
        return redirect(url_for("accounts.sign_in", next=next_url))
    if principal.auth_session.mfa_passed:
        return redirect(next_url or landing_url())
    if principal.user.mfa_enrolled_at is None:
        return _enrol(principal, next_url)
    form = CodeForm()
    if form.validate_on_submit():
        result = operations.verify_second_factor(
            get_session(), principal.user, principal.auth_session, form.code.data,
            actor=current_actor())
        if result.outcome == OK:
            if result.method == "recovery_code":
                flash(_("You used a recovery code. You have %(count)d left. If you lost your "
                        "phone, ask an administrator to set up two-step verification again.",
                        count=result.recovery_codes_left), "info")
            return redirect(next_url or landing_url())
        if result.outcome == LOCKED:
            return _locked_out(result)
        form.code.errors.append(_step_message(result) or _(
            "That code is not right. Enter the newest code your app shows; each code works "
            "only once."))
    return _page("accounts/mfa_verify.html", form, next_url=next_url)


def _enrol(principal: Principal, next_url: str | None):
    db = get_session()
    staff = principal.user
    form = EnrolForm()
    if form.validate_on_submit():
        result = operations.confirm_enrolment(db, staff, principal.auth_session, form.code.data,
                                              actor=current_actor())
        if result.outcome == OK:
            # Shown once, in this response only: they are stored hashed.
            return render_template("accounts/recovery_codes.html", codes=result.recovery_codes,
                                   continue_url=next_url or landing_url())
        if result.outcome == LOCKED:
            return _locked_out(result)
        form.code.errors.append(_step_message(result) or _(
            "That code is not right. Check that the app shows this account, then enter the "
            "newest six-digit code."))
    secret = operations.totp_enrolment_secret(db, staff)
    uri = mfa.provisioning_uri(secret, staff.email, current_app.config["CUSTODIAN_NAME"])
    return _page("accounts/mfa_enrol.html", form, next_url=next_url, qr=mfa.qr_data_uri(uri),
                 secret=mfa.grouped_secret(secret))


@staff_required()
@_rate_limited
def reauthenticate():
    """Enter the password again before a sensitive action, then go back to it."""
    next_url = _next_url()
    form = ReauthenticateForm()
    if form.validate_on_submit():
        result = operations.reauthenticate(get_session(), current_user.user,
                                           current_user.auth_session, form.password.data,
                                           actor=current_actor())
        if result.outcome == OK:
            return redirect(next_url or landing_url())
        if result.outcome == LOCKED:
            return _locked_out(result)
        form.password.errors.append(_step_message(result) or _("That password is not right."))
    return _page("accounts/reauthenticate.html", form, next_url=next_url)


@staff_required()
def session_check():
    """For a page left open past the idle limit: is the same person signed in again?"""
    return session_check_response()


@staff_required()
def keep_alive():
    """The "Stay signed in" button: restart this session's idle clock, change nothing else."""
    operations.keep_alive(current_user.auth_session)
    return "", 204


@public
def sign_out():
    """End this staff session (any visitor may press the button; it only ends their own)."""
    principal = _staff_principal()
    if principal is None:
        # A requester's session is ended by their own sign-out, never by this button.
        return redirect(url_for("public.home"))
    operations.sign_out(get_session(), principal.auth_session, actor=current_actor())
    logout_user()
    flask_session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("public.home"))


@token_required
@_rate_limited
def setup(token: str):
    """The admin-issued single-use link: choose a password, then set up two-step verification.

    Opening the link changes nothing (mail scanners open links); only the form's POST does.
    """
    db = get_session()
    staff = operations.staff_for_setup_token(db, token)
    if staff is None:
        return render_template("accounts/setup_invalid.html"), 404
    form = SetPasswordForm(email=staff.email)
    if form.validate_on_submit():
        actor = Actor(kind="staff", id=staff.id, client_ip=request.remote_addr)
        try:
            operations.complete_setup(db, staff, form.password.data, actor=actor)
        except StaffProblem as problem:
            form.password.errors.extend(problem.problems)
        else:
            principal = _staff_principal()
            if principal is not None:
                operations.sign_out(db, principal.auth_session, actor=actor)
            flask_session.clear()
            login_user(start_session(db, "staff", staff))
            flash(_("Your password is set."), "success")
            return redirect(url_for("accounts.mfa"))
    return _page("accounts/setup.html", form, staff=staff)


# --- staff administration (ADMINISTER_STAFF; changes need a fresh password entry) ---

def _load_staff(staff_id: int) -> StaffUser:
    staff = get_session().get(StaffUser, staff_id)
    if staff is None:
        abort(404)
    return staff


@staff_required(ADMINISTER_STAFF)
def staff_list():
    """Everyone with a staff account, their roles and whether they can sign in."""
    people = get_session().scalars(
        select(StaffUser).order_by(StaffUser.is_active.desc(), StaffUser.display_name)
    ).all()
    return render_template("accounts/staff_list.html", people=people, role_labels=ROLE_LABELS,
                           now=utcnow())


_NEEDS_SECOND = ("It waits for a second administrator to approve it under “Changes waiting "
                 "for approval”.")


@staff_required(ADMINISTER_STAFF, reauth=True)
def staff_new():
    """Create a member of staff; their roles wait for a second administrator, who sends the
    setup link to them by email (it is never shown here)."""
    form = NewStaffForm()
    if form.validate_on_submit():
        try:
            staff, _change = approvals.create_account(
                get_session(), email=form.email.data, display_name=form.display_name.data,
                roles=form.roles.data, licensed=form.licensed_reviewer.data,
                actor=current_actor())
        except StaffProblem as problem:
            form.form_errors.extend(problem.problems)
        else:
            flash(_("The account for %(name)s is made, with no access yet. Its roles wait for a "
                    "second administrator; once approved, %(name)s gets a link by email to set "
                    "a password.", name=staff.display_name), "success")
            return redirect(url_for("accounts.staff_edit", staff_id=staff.id))
    return _page("accounts/staff_new.html", form)


@staff_required(ADMINISTER_STAFF, reauth=True)
def staff_edit(staff_id: int):
    """Change a person's name, roles and licence flag. Taking access away applies at once;
    giving any waits for a second administrator."""
    staff = _load_staff(staff_id)
    form = _roles_form(staff)
    if form.validate_on_submit():
        try:
            outcome = approvals.edit_staff(
                get_session(), staff, display_name=form.display_name.data,
                roles=form.roles.data, licensed=form.licensed_reviewer.data,
                actor=current_actor())
        except StaffProblem as problem:
            rollback()
            staff = _load_staff(staff_id)
            form.form_errors.extend(problem.problems)
        else:
            flash(_("The new access is asked for. ") + _NEEDS_SECOND if outcome is None
                  else _SAVED_MESSAGES[outcome](), "success")
            return redirect(url_for("accounts.staff_edit", staff_id=staff.id))
    return _edit_page(staff, form)


_SAVED_MESSAGES = {
    operations.UNCHANGED: lambda: _("Nothing changed."),
    operations.NAME_CHANGED: lambda: _("Saved."),
    operations.ACCESS_CHANGED: lambda: _("Saved. Their open sessions have ended, so the new "
                                         "access applies from their next sign-in."),
}


def _roles_form(staff: StaffUser, **kwargs) -> StaffRolesForm:
    return StaffRolesForm(data={"display_name": staff.display_name,
                                "roles": sorted(staff.role_names),
                                "licensed_reviewer": staff.is_licensed_reviewer}, **kwargs)


def _edit_page(staff: StaffUser, form: StaffRolesForm | None = None,
               problems: list[str] | None = None, email_form: EmailChangeForm | None = None):
    # formdata=None: a refused button press must not fill the roles form with its own fields.
    form = form or _roles_form(staff, formdata=None)
    email_form = email_form or EmailChangeForm(formdata=None)
    status = 400 if (form.errors or problems or email_form.errors) else 200
    return render_template(
        "accounts/staff_edit.html", form=form, staff=staff, problems=problems or [],
        reset_form=ResetForm(formdata=None), email_form=email_form,
        changes=approvals.pending_changes(get_session(), staff), labels=approvals.LABELS,
        decide_form=ConfirmForm(formdata=None),
        now=utcnow(), is_self=staff.id == current_user.user.id, role_labels=ROLE_LABELS,
    ), status


@staff_required(ADMINISTER_STAFF, reauth=True)
def staff_deactivate(staff_id: int):
    """Deactivate a member of staff: they cannot sign in, and their sessions end at once."""
    staff = _load_staff(staff_id)
    if ConfirmForm().validate_on_submit():
        try:
            operations.deactivate_staff(get_session(), staff, actor=current_actor())
        except StaffProblem as problem:
            return _edit_page(staff, problems=problem.problems)
        flash(_("%(name)s is deactivated. Their sessions have ended.",
                name=staff.display_name), "success")
    return redirect(url_for("accounts.staff_edit", staff_id=staff.id))


def _ask(staff: StaffUser, kind: str, details: dict, done: str):
    try:
        approvals.request_change(get_session(), staff, kind, details, actor=current_actor())
    except StaffProblem as problem:
        return _edit_page(staff, problems=problem.problems)
    flash(done + " " + _NEEDS_SECOND, "success")
    return redirect(url_for("accounts.staff_edit", staff_id=staff.id))


@staff_required(ADMINISTER_STAFF, reauth=True)
def staff_reactivate(staff_id: int):
    """Ask for a deactivated member of staff to sign in again (a second administrator agrees)."""
    staff = _load_staff(staff_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("accounts.staff_edit", staff_id=staff.id))
    return _ask(staff, approvals.REACTIVATE, {}, _("Reactivation is asked for."))


@staff_required(ADMINISTER_STAFF, reauth=True)
def staff_reset(staff_id: int):
    """Ask for a new setup link for someone (a second administrator agrees; the link then
    goes to them by email, and their old password and sessions stop working)."""
    staff = _load_staff(staff_id)
    form = ResetForm()
    if not form.validate_on_submit():
        return redirect(url_for("accounts.staff_edit", staff_id=staff.id))
    return _ask(staff, approvals.RESET_PASSWORD, {"reset_mfa": bool(form.reset_mfa.data)},
                _("A password reset is asked for."))


@staff_required(ADMINISTER_STAFF, reauth=True)
def staff_email(staff_id: int):
    """Ask for a member of staff's work address to change (a second administrator agrees;
    the old address is told)."""
    staff = _load_staff(staff_id)
    form = EmailChangeForm()
    if not form.validate_on_submit():
        return _edit_page(staff, email_form=form)
    try:
        approvals.ask_for_email_change(get_session(), staff, form.email.data,
                                       actor=current_actor())
    except StaffProblem as problem:
        form.email.errors = list(problem.problems)
        return _edit_page(staff, email_form=form)
    flash(_("The new email address is asked for.") + " " + _NEEDS_SECOND, "success")
    return redirect(url_for("accounts.staff_edit", staff_id=staff.id))


# --- changes waiting for a second administrator ---

@staff_required(ADMINISTER_STAFF, reauth=True)
def changes_page():
    """Every change to a staff account that waits for a second administrator."""
    return render_template("accounts/changes.html",
                           changes=approvals.pending_changes(get_session()),
                           labels=approvals.LABELS, role_labels=ROLE_LABELS,
                           decide_form=ConfirmForm(formdata=None),
                           me=current_user.user.id)


def _change(change_id: int):
    from portal.accounts.models import StaffChange

    change = get_session().get(StaffChange, change_id)
    if change is None:
        abort(404)
    return change


def _decided(change, decide, done: str):
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("accounts.changes_page"))
    try:
        decide(get_session(), change, actor=current_actor())
    except StaffProblem as problem:
        rollback()
        for message in problem.problems:
            flash(message, "error")
        return redirect(url_for("accounts.changes_page"))
    flash(done, "success")
    return redirect(url_for("accounts.changes_page"))


@staff_required(ADMINISTER_STAFF, reauth=True)
def change_approve(change_id: int):
    """Approve and apply a change another administrator asked for."""
    return _decided(_change(change_id), approvals.approve,
                    _("Approved and applied. The person was told by email."))


@staff_required(ADMINISTER_STAFF, reauth=True)
def change_refuse(change_id: int):
    """Refuse a change (or withdraw one you asked for)."""
    return _decided(_change(change_id), approvals.refuse, _("The change will not be made."))


# --- background jobs (ADMINISTER_STAFF: operators see what is owed, failed and why) ---

@staff_required(ADMINISTER_STAFF)
def jobs_page():
    """Pending, running and failed background jobs, and the counts of each state."""
    session = get_session()
    return render_template(
        "accounts/jobs.html", counts=outbox.status_counts(session),
        failed=outbox.list_jobs(session, (FAILED,)),
        waiting=outbox.list_jobs(session, (PENDING, RUNNING)),
        form=ConfirmForm(), now=utcnow())


@staff_required(ADMINISTER_STAFF)
def job_retry(job_id: int):
    """Run a job that failed for good again, from its first attempt."""
    if ConfirmForm().validate_on_submit():
        if outbox.retry_failed(get_session(), job_id, by=f"staff:{current_actor().id}"):
            flash(_("Job %(id)s will run again.", id=job_id), "success")
        else:
            flash(_("Job %(id)s has not failed, so there is nothing to retry.", id=job_id),
                  "error")
    return redirect(url_for("accounts.jobs_page"))
