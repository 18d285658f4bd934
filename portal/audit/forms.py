"""Filter and lookup forms of the auditor's pages.

Filters travel as GET parameters and hold only dates, codes and surrogate ids (R-SEC-4); a
wrong value gets a message naming what is allowed. Every date range is checked against
AUDIT_MAX_RANGE_DAYS so an export is always bounded.
"""

from __future__ import annotations

from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional, Regexp, ValidationError

from portal.audit.filters import RequestLogFilter, TrailFilter
from portal.core.forms import Text
from portal.core.ids import IN_DATABASE_RANGE
from portal.rules import lifecycle
from portal.rules.deadlines import CLOCK_STATES, REQUEST_KINDS, today_pacific
from portal.rules.outcomes import OUTCOMES

REQUESTER_TYPES = ("patient", "executor", "beneficiary", "guardian", "agent")
ACTOR_TYPES = ("staff", "requester", "system", "anonymous")


def _options(pairs) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _any(label) -> tuple[str, str]:
    return ("", label)


class FilterForm(FlaskForm):
    """A GET filter form: no CSRF token (it changes nothing) and bounded date ranges."""

    class Meta:
        csrf = False

    date_from = DateField(_l("From (date received)"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def validate_date_to(self, field) -> None:
        """End on or after start; the range within the configured limit."""
        start, end = self.date_from.data, field.data
        if start and end and end < start:
            raise ValidationError(_l("The end date is before the start date. Choose an end "
                                     "date on or after the start date."))
        limit = int(current_app.config["AUDIT_MAX_RANGE_DAYS"])
        if start and end and (end - start).days > limit:
            raise ValidationError(_l(
                "That range is longer than %(days)s days. Choose a shorter range, or export "
                "it in parts.", days=limit))

    def validate_date_from(self, field) -> None:
        """An open-ended range still stays within the limit, counted from today."""
        limit = int(current_app.config["AUDIT_MAX_RANGE_DAYS"])
        if field.data and not self.date_to.data \
                and (today_pacific() - field.data).days > limit:
            raise ValidationError(_l(
                "That range is longer than %(days)s days. Choose an end date too, or a later "
                "start date.", days=limit))


def _choice(field: SelectField, what) -> None:
    """A select that names the bad value and what is allowed, instead of WTForms' default."""
    allowed = [choice.value for choice in field.choices if choice.value]
    if field.raw_data and field.raw_data[0] not in ("", *allowed):
        raise ValidationError(_l("Unknown %(what)s “%(value)s”. Choose one of: %(allowed)s.",
                                 what=what, value=field.raw_data[0][:40],
                                 allowed=", ".join(allowed)))


class ChoiceField(SelectField):
    """A select whose own choice check is replaced by the clearer message of ``_choice``."""

    def pre_validate(self, form) -> None:
        _choice(self, self.label.text.lower())


def _codes(codes) -> list[tuple[str, str]]:
    return [(code, code.replace("_", " ")) for code in codes]


class RequestLogFilterForm(FilterForm):
    """Filters of the request log and its exports."""

    kind = ChoiceField(_l("Kind"), default="", choices=_options(
        [_any(_l("Any kind")), *_codes(REQUEST_KINDS)]))
    status = ChoiceField(_l("Status"), default="", choices=_options(
        [_any(_l("Any status")), *[(code, _l(label))
                                   for code, label in lifecycle.STAFF_STATUS_LABELS.items()]]))
    requester_type = ChoiceField(_l("Requester type"), default="", choices=_options(
        [_any(_l("Any requester")), *_codes(REQUESTER_TYPES)]))
    california = ChoiceField(_l("California clock"), default="", choices=_options(
        [_any(_l("Any")), *_codes(CLOCK_STATES)]))
    hipaa = ChoiceField(_l("HIPAA clock"), default="", choices=_options(
        [_any(_l("Any")), *_codes(CLOCK_STATES)]))
    outcome = ChoiceField(_l("Outcome of a part"), default="", choices=_options(
        [_any(_l("Any outcome")), *_codes((*OUTCOMES, "undecided"))]))
    assignee = StringField(_l("Assignee (staff number, or “none”)"), validators=[
        Optional(), Regexp(r"^(none|\d{1,9})$", message=_l(
            "Enter a staff number (digits only), or “none” for unassigned requests."))])

    def to_filter(self) -> RequestLogFilter:
        """The validated filter."""
        assignee = self.assignee.data
        return RequestLogFilter(
            received_from=self.date_from.data, received_to=self.date_to.data,
            kind=self.kind.data or None, status=self.status.data or None,
            requester_type=self.requester_type.data or None,
            california=self.california.data or None, hipaa=self.hipaa.data or None,
            assignee_id=None if not assignee else (0 if assignee == "none" else int(assignee)),
            outcome=self.outcome.data or None,
        )


class TrailFilterForm(FilterForm):
    """Filters of the audit trail and its exports."""

    date_from = DateField(_l("From (date of the event)"), validators=[Optional()])
    actor_type = ChoiceField(_l("Actor type"), default="", choices=_options(
        [_any(_l("Anyone")), *_codes(ACTOR_TYPES)]))
    actor_id = IntegerField(_l("Actor number"),
                            validators=[Optional(), NumberRange(min=1), IN_DATABASE_RANGE])
    action = StringField(_l("Action"), validators=[Optional(), Regexp(
        r"^[a-z_]+(\.[a-z_]+)*(\.\*|\*)?$", message=_l(
            "Enter an action code such as request.viewed, or a prefix such as request.*"))])
    request_id = IntegerField(_l("Request number"),
                              validators=[Optional(), NumberRange(min=1), IN_DATABASE_RANGE])

    def to_filter(self) -> TrailFilter:
        """The validated filter."""
        return TrailFilter(
            date_from=self.date_from.data, date_to=self.date_to.data,
            actor_type=self.actor_type.data or None, actor_id=self.actor_id.data,
            action=self.action.data or None, request_id=self.request_id.data,
        )


class PeriodForm(FilterForm):
    """The period of an accounting of disclosures (default: six years back)."""

    date_from = DateField(_l("From"), validators=[Optional()])
    request_id = IntegerField(_l("Answering accounting request number"),
                              validators=[Optional(), NumberRange(min=1), IN_DATABASE_RANGE])

    def period(self, default: tuple[date, date]) -> tuple[date, date]:
        """The chosen period, or the default where a bound is left blank."""
        return (self.date_from.data or default[0], self.date_to.data or default[1])


class DashboardForm(FlaskForm):
    """How many months the dashboard covers."""

    class Meta:
        csrf = False

    months = ChoiceField(_l("Months"), default="12", choices=_options(
        [(n, n) for n in ("6", "12", "24", "36")]))


class PatientLookupForm(FlaskForm):
    """Find a roster patient by record number (POST, so the number stays out of URLs)."""

    mrn = StringField(_l("Medical record number"), validators=[Regexp(
        r"^\S{1,40}$", message=_l("Enter the medical record number as the roster shows it."))])


class OriginalForm(FlaskForm):
    """Which upload's original to open: the document number in its `document.stored` event."""

    class Meta:
        csrf = False  # a GET lookup; opening the file is audited

    document = IntegerField(_l("Document number"), validators=[
        NumberRange(min=1, message=_l("Give the document number, as the audit trail shows it.")),
        IN_DATABASE_RANGE])


class PacketCheckForm(FlaskForm):
    """A released PDF to look up by its digest (nothing is stored)."""

    packet = FileField(_l("Released PDF"), validators=[FileRequired(_l("Choose a PDF file."))])


#: Why identified data may be exported (R-AUD-4): the code is kept with the export and in its
#: audit event; the sentence typed with it stays on the export's record only.
EXPORT_PURPOSES = {
    "regulator": _l("A regulator or accreditor asked for it"),
    "legal": _l("A subpoena, court order or other legal matter"),
    "complaint": _l("Looking into a complaint or a possible breach"),
    "internal_audit": _l("An internal audit of how requests are handled"),
    "other": _l("Something else (say what below)"),
}


class ExportPurposeForm(FlaskForm):
    """Why an export of identified data is made (R-AUD-4): a purpose and a sentence."""

    purpose = SelectField(_l("Why you are exporting names and addresses"), choices=[
        SelectChoice("", _l("Choose a purpose")),
        *[SelectChoice(code, label) for code, label in EXPORT_PURPOSES.items()]])
    purpose_detail = TextAreaField(
        _l("In a sentence: who asked, or what it is for"),
        validators=[Text(500, required=_l("Write a sentence about what the export is for."),
                         multiline=True)])

    def validate_purpose(self, field) -> None:
        if field.data not in EXPORT_PURPOSES:
            raise ValidationError(_l("Choose why you are exporting names and addresses."))
