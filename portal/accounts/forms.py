"""Forms of the accounts area: sign-in, second factor, re-entry, password setup, staff admin."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.accounts.operations import looks_like_email
from portal.accounts.passwords import password_problems
from portal.accounts.permissions import ROLE_LABELS, ROLES


class MultiCheckboxField(SelectMultipleField):
    """A set of checkboxes (rendered as a fieldset by the ``choices`` macro)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _valid_email(_form, field) -> None:
    if field.data and not looks_like_email(field.data):
        raise ValidationError(_l("Enter an email address like name@example.org."))


class SignInForm(FlaskForm):
    """Email and password: the first of the two steps."""

    email = EmailField(_l("Email address"), validators=[
        DataRequired(_l("Enter your email address.")), Length(max=254), _valid_email])
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")), Length(max=1024)])


class CodeForm(FlaskForm):
    """A code from the authenticator app, or a one-time recovery code."""

    code = StringField(_l("Code"), validators=[
        DataRequired(_l("Enter the code.")), Length(max=40)])


class EnrolForm(FlaskForm):
    """The first code from a newly set-up authenticator app."""

    code = StringField(_l("Six-digit code from your app"), validators=[
        DataRequired(_l("Enter the six-digit code your app shows.")), Length(max=20)])


class ReauthenticateForm(FlaskForm):
    """The password again, before a sensitive action."""

    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Enter your password.")), Length(max=1024)])


class SetPasswordForm(FlaskForm):
    """Choose a password through an admin-issued single-use link."""

    password = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Choose a password.")), Length(max=1024)])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(_l("Type the password a second time.")),
        EqualTo("password", _l("The two passwords are not the same."))])

    def __init__(self, *args, email: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._email = email

    def validate_password(self, field) -> None:
        problems = password_problems(field.data or "", self._email)
        if problems:
            raise ValidationError(" ".join(problems))


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(role, ROLE_LABELS[role]) for role in ROLES]


def _name_field() -> StringField:
    return StringField(_l("Name"), validators=[
        DataRequired(_l("Enter the person's name.")), Length(max=120)])


def _roles_field() -> MultiCheckboxField:
    return MultiCheckboxField(_l("Roles"), choices=_role_choices(), validators=[
        DataRequired(_l("Choose at least one role."))])


def _licence_field() -> BooleanField:
    return BooleanField(
        _l("Licensed health care professional (may decide and review clinical denials)"))


class StaffRolesForm(FlaskForm):
    """Name, roles and the licence flag of a member of staff (R-DEN-3)."""

    display_name = _name_field()
    roles = _roles_field()
    licensed_reviewer = _licence_field()


class NewStaffForm(FlaskForm):
    """A new member of staff: who they are and what they may do."""

    display_name = _name_field()
    email = EmailField(_l("Work email address"), validators=[
        DataRequired(_l("Enter the person's work email address.")), Length(max=254),
        _valid_email])
    roles = _roles_field()
    licensed_reviewer = _licence_field()


class EmailChangeForm(FlaskForm):
    """A new work address for a member of staff (applied once a second administrator agrees)."""

    email = EmailField(_l("New work email address"), validators=[
        DataRequired(_l("Enter the new work email address.")), Length(max=254), _valid_email])


class ResetForm(FlaskForm):
    """Issue a new single-use link to set a password (ends the person's sessions)."""

    reset_mfa = BooleanField(_l("They also lost their authenticator app: set it up again"))


class ConfirmForm(FlaskForm):
    """A button that changes something; the form carries only the CSRF token."""
