"""Forms of the identity area: asking for a sign-in link, and reporting a lost email address."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import ValidationError

from portal.core.forms import DatePartsField, Text, past_date
from portal.rules.contact import is_email, normalize_email


class SignInForm(FlaskForm):
    email = StringField(_l("Email address"),
                        validators=[Text(254, required=_l("Enter your email address."))])

    def validate_email(self, field):
        field.data = normalize_email(field.data)
        if not is_email(field.data):
            raise ValidationError(_l("Enter an email address like name@example.com."))


class LostEmailForm(FlaskForm):
    reference = StringField(_l("Request reference (for example CPP-2026-00042)"),
                            validators=[Text(40, required=_l("Enter the reference of your "
                                                             "request."))])
    full_name = StringField(_l("Your full name"),
                            validators=[Text(240, required=_l("Enter your full name."),
                                             letters=True)])
    date_of_birth = DatePartsField(_l("Your date of birth (optional)"),
                                   validators=[past_date(_l("the date of birth"),
                                                         required=False)],
                                   what=_l("your date of birth"))
    old_email = StringField(_l("The email address you used"),
                            validators=[Text(254, required=_l("Enter the email address you "
                                                              "used."))])
    new_email = StringField(_l("A new email address (optional)"), validators=[Text(254)])
    phone = StringField(_l("A phone number where we can call you (optional)"),
                        validators=[Text(40)])
    note = TextAreaField(_l("Anything else we should know (optional)"),
                         validators=[Text(2000, multiline=True)])

    def validate_old_email(self, field):
        field.data = normalize_email(field.data)
        if not is_email(field.data):
            raise ValidationError(_l("Enter an email address like name@example.com."))

    def validate_new_email(self, field):
        field.data = normalize_email(field.data)
        if field.data and not is_email(field.data):
            raise ValidationError(_l("Enter an email address like name@example.com."))

    def validate_phone(self, field):
        if not field.data and not self.new_email.data:
            raise ValidationError(_l("Give a new email address or a phone number so we can "
                                     "reach you."))


class TokenActionForm(FlaskForm):
    """A button that completes what an emailed link started (only the CSRF token is posted)."""
