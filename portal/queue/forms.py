"""Forms of the clerk's workspace; the forms own validation.

Every form that acts on a request carries the request's ``version`` as a hidden field: the
operation refuses a stale one with "this request changed" (HTTP 409), so two clerks can never
both win. Field helpers (dates, checkboxes, text checks) are the requester journey's, so the
same input is judged the same way on both sides.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Optional, StopValidation, ValidationError
from wtforms.widgets import HiddenInput

from portal.core.forms import (
    ChoiceField,
    DateField,
    MultiCheckboxField,
    Text,
    UsState,
    UsZip,
    options,
    past_date,
    required_choice,
)
from portal.core.ids import IN_DATABASE_RANGE
from portal.requester.forms import DELIVERIES, KINDS, PART_CHOICE_LABELS, PROGRAMS, REQUESTER_TYPES
from portal.requests.actions import (
    COULD_NOT_VERIFY_REASONS,
    EVIDENCE_LABELS,
    INFORMATION_REASONS,
    REOPEN_REASONS,
)
from portal.rules import outcomes
from portal.rules.consent import RECIPIENT_KIND_LABELS, SETTLED_RECIPIENT_KINDS
from portal.rules.contact import is_email
from portal.rules.lifecycle import STAFF_STATUS_LABELS
from portal.rules.notices import DENIAL_GROUNDS

GROUND_LABELS = {
    "psychotherapy_notes": _l("Psychotherapy notes (no review)"),
    "legal_proceedings": _l("Compiled for legal proceedings (no review)"),
    "confidential_source": _l("Obtained under a promise of confidentiality (no review)"),
    "endanger_life": _l("Likely to endanger life or safety (licensed reviewer; reviewable)"),
    "harm_to_other": _l("Likely to harm another person named (licensed reviewer; reviewable)"),
    "harm_via_representative": _l("Access by the representative likely to cause harm "
                                  "(licensed reviewer; reviewable)"),
}
assert set(GROUND_LABELS) <= set(DENIAL_GROUNDS)


NOTE_LABEL = _l("Note for the file (optional)")


def _required(message):
    def check(form, field):
        if field.data is None or field.data == "":
            raise StopValidation(message)

    return check


class VersionedForm(FlaskForm):
    """A form that acts on a request: it carries the version the clerk saw."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired(), IN_DATABASE_RANGE])


class ClaimForm(VersionedForm):
    pass


class CloseForm(VersionedForm):
    pass


class ReopenForm(VersionedForm):
    reason = SelectField(_l("Why it is reopened"), choices=options(
        [("", _l("Choose a reason"))] + [(k, _l(v)) for k, v in REOPEN_REASONS.items()]))
    note = TextAreaField(_l("Note for the file (optional; the requester does not see it)"),
                         validators=[Text(2000, multiline=True)])

    def validate_reason(self, field):
        if not field.data:
            raise ValidationError(_l("Choose why the request is reopened."))


class RematchForm(VersionedForm):
    pass


class AssignForm(VersionedForm):
    staff_id = SelectField(_l("Assign to"), coerce=str, validate_choice=True)


class AcceptForm(VersionedForm):
    reason = SelectField(_l("How the request arrived"),
                         choices=options([("mail", _l("By mail")), ("phone", _l("By phone")),
                                          ("in_person", _l("Handed in")),
                                          ("email_unreachable",
                                           _l("Email address cannot be reached"))]))


class VerifyForm(VersionedForm):
    evidence = MultiCheckboxField(
        _l("Evidence you relied on"),
        choices=options(EVIDENCE_LABELS.items()),
        validators=[_required(_l("Choose the evidence you relied on."))],
    )
    note = TextAreaField(NOTE_LABEL, validators=[Text(2000, multiline=True)])

    def validate_evidence(self, field):
        if not field.data:
            raise ValidationError(_l("Choose the evidence you relied on."))


class CouldNotVerifyForm(VersionedForm):
    reason = SelectField(
        _l("Reason given in the letter"),
        choices=options([("", _l("No reason given"))]
                        + [(k, v) for k, v in COULD_NOT_VERIFY_REASONS.items() if k]),
    )


class LocateForm(VersionedForm):
    patient = ChoiceField(_l("Roster patient"))
    mrn = StringField(_l("Or type an MRN"), validators=[Text(40)])
    note = TextAreaField(NOTE_LABEL, validators=[Text(2000, multiline=True)])

    def validate_patient(self, field):
        if not field.data and not self.mrn.data:
            raise ValidationError(_l("Choose the roster patient, type an MRN, or say that none "
                                     "exists."))


class InformationForm(VersionedForm):
    reason = SelectField(_l("Why the request has to wait"),
                         choices=options(INFORMATION_REASONS.items()))
    message = TextAreaField(
        _l("Message to the requester"),
        validators=[Text(4000, required=_l("Write what you need from the requester."),
                         multiline=True)])


class AnswerForm(VersionedForm):
    note = TextAreaField(
        _l("What the requester told you (by phone or post)"),
        validators=[Text(4000, required=_l("Write down the answer you received."),
                         multiline=True)])


class MessageForm(FlaskForm):
    body = TextAreaField(_l("Message to the requester"), validators=[
        Text(4000, required=_l("Write the message."), multiline=True)])


class NoteForm(FlaskForm):
    body = TextAreaField(_l("Internal note (the requester never sees it)"), validators=[
        Text(4000, required=_l("Write the note."), multiline=True)])


class ExtendForm(VersionedForm):
    new_due_on = DateField(_l("New HIPAA due date"), validators=[
        _required(_l("Enter the new HIPAA due date."))])
    reason = TextAreaField(
        _l("Reason for the delay (printed in the notice)"),
        validators=[Text(1000, required=_l("Give the reason for the extension."),
                         multiline=True)])


#: R-REL-2: the kinds of recipient in staff words (the requester's choices are first-person).
STAFF_RECIPIENT_KINDS = (
    ("doctor", _l("The patient's doctor or clinic (treatment)")),
    ("health_plan", _l("The patient's health plan, receiving for payment")),
    ("lawyer", _l("A lawyer")),
    ("insurer", _l("A life or disability insurer")),
    ("other", _l("Someone else")),
)
assert [code for code, _label in STAFF_RECIPIENT_KINDS] == list(SETTLED_RECIPIENT_KINDS)
assert set(RECIPIENT_KIND_LABELS) == {*SETTLED_RECIPIENT_KINDS, "unsure"}


class RecipientKindForm(VersionedForm):
    kind = SelectField(_l("The recipient is"), choices=options(
        [("", _l("Choose the kind of recipient"))] + list(STAFF_RECIPIENT_KINDS)),
        validators=[InputRequired(_l("Choose the kind of recipient."))])


class ReissueLinkForm(VersionedForm):
    """Send the third party a new download link (theirs locked)."""


class OutcomeForm(VersionedForm):
    parts = MultiCheckboxField(_l("Requested parts"))
    outcome = SelectField(_l("Outcome"), choices=options([("", _l("Choose an outcome"))] + [
        (k, _l(outcomes.CHOICE_LABELS[k])) for k in outcomes.DECIDABLE]))
    ground = SelectField(_l("Ground for a denial"),
                         choices=options([("", _l("Not a denial"))]
                                         + list(GROUND_LABELS.items())))
    note = TextAreaField(NOTE_LABEL, validators=[Text(2000, multiline=True)])
    other_custodian = TextAreaField(
        _l("Who else holds these records, if known (name, then address lines)"),
        validators=[Text(1000, multiline=True)])
    record = FileField(_l("Scanned record to release with it (PDF, optional)"))

    def validate_parts(self, field):
        if not field.data:
            raise ValidationError(_l("Choose at least one part."))

    def validate_record(self, field):
        if not (field.data and getattr(field.data, "filename", "")):
            return
        if self.outcome.data != outcomes.RELEASED:
            raise ValidationError(_l("Attach a record only with the outcome “Release”."))
        if len(self.parts.data or []) != 1:
            raise ValidationError(_l("Choose one part to attach its record here, or attach "
                                     "the records below, one part at a time."))

    def validate_outcome(self, field):
        if not field.data:
            raise ValidationError(_l("Choose an outcome."))

    def validate_ground(self, field):
        if self.outcome.data == "denied" and not field.data:
            raise ValidationError(_l("Choose the ground for the denial."))


class RouteReviewForm(VersionedForm):
    part_id = IntegerField(widget=HiddenInput(),
                           validators=[InputRequired(), IN_DATABASE_RANGE])
    reviewer_id = SelectField(_l("Licensed reviewer"), coerce=str, validate_choice=True)


class ReviewForm(VersionedForm):
    part_id = IntegerField(widget=HiddenInput(),
                           validators=[InputRequired(), IN_DATABASE_RANGE])
    result = ChoiceField(_l("Your decision"), choices=options([
        ("upheld", _l("Uphold the denial")),
        ("reversed", _l("Reverse it: release the records"))]),
        validators=[required_choice(_l("Choose whether to uphold or reverse the denial."))])
    release_by = DateField(_l("Records will be sent by (if reversed)"), validators=[Optional()])


class AttachForm(VersionedForm):
    part_id = SelectField(_l("Part"), coerce=str, validate_choice=True)
    record = FileField(_l("Scanned record (PDF)"))

    def validate_record(self, field):
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Choose the PDF file to attach."))


class RemoveRecordForm(VersionedForm):
    document_id = IntegerField(widget=HiddenInput(),
                               validators=[InputRequired(), IN_DATABASE_RANGE])


class ReleaseForm(VersionedForm):
    method = ChoiceField(_l("How the records go out"), choices=options([
        ("download", _l("Secure download")), ("mail", _l("Mail"))]),
        validators=[required_choice(_l("Choose how the records go out."))])
    mailed_on = DateField(_l("Date mailed"), validators=[Optional()])
    tracking_number = StringField(_l("Tracking number"), validators=[Text(80)])

    def validate_mailed_on(self, field):
        if self.method.data == "mail" and field.data is None and not field.errors:
            raise ValidationError(_l("Enter the date the packet was mailed."))

    def validate_tracking_number(self, field):
        if self.method.data == "mail" and not field.data:
            raise ValidationError(_l("Enter the tracking number of the mailing."))


STATUS_FILTERS = [("open", _l("Open requests")), ("all", _l("All requests")),
                  ("closed", _l("Closed requests"))] + [
                      (code, _l(label)) for code, label in STAFF_STATUS_LABELS.items()]


class BulkAssignForm(FlaskForm):
    """A supervisor gives several requests of the queue to one person (or back to the pool)."""

    chosen = MultiCheckboxField(_l("Requests chosen"), choices=[])
    staff_id = SelectField(_l("Assign the chosen requests to"), coerce=str,
                           validate_choice=True)

    def __init__(self, *args, staff=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.staff_id.choices = options([("", _l("Nobody: back to the pool"))] + [
            (str(person.id), person.display_name) for person in staff])
        # Each box is "<request id>.<version seen>"; the values posted are the choices.
        self.chosen.choices = options((value, value) for value in (self.chosen.data or []))

    def validate_chosen(self, field):
        if not field.data:
            raise ValidationError(_l("Tick at least one request to assign."))
        for value in field.data:
            number, _, version = value.partition(".")
            if not (number.isdigit() and version.isdigit()) or len(value) > 40:
                raise ValidationError(_l("Choose from the requests shown."))

    def pairs(self) -> list[tuple[int, int]]:
        return [tuple(int(part) for part in value.split(".")) for value in self.chosen.data]


class SearchForm(FlaskForm):
    """The queue search: sent as POST so names and emails never appear in a URL (R-SEC-4)."""

    q = StringField(_l("Reference, patient name or email"), validators=[
        Text(200, required=_l("Type a reference, a name or an email address."))])
    status = SelectField(_l("Status"), choices=options(STATUS_FILTERS), default="all")
    after = HiddenField()
    before = HiddenField()


class PaperRequestForm(FlaskForm):
    """A request received on paper or by phone, typed in by a clerk (R-ID-1)."""

    received_via = ChoiceField(_l("How it arrived"), choices=options([
        ("mail", _l("By mail")), ("phone", _l("By phone"))]),
        validators=[required_choice(_l("Choose how the request arrived."))])
    received_on = DateField(_l("Date it arrived"), validators=[
        past_date(_l("the date it arrived"), required=True)])
    kind = ChoiceField(_l("What is asked for"), choices=options(KINDS),
                       validators=[required_choice(_l("Choose what is asked for."))])
    requester_type = ChoiceField(_l("Who is asking"), choices=options(REQUESTER_TYPES),
                                 validators=[required_choice(_l("Choose who is asking."))])
    requester_name = StringField(_l("Requester's name (if not the patient)"),
                                 validators=[Text(240)])
    authority_description = TextAreaField(_l("Their authority (if not the patient)"),
                                          validators=[Text(1000, multiline=True)])
    first_name = StringField(_l("Patient's legal first name"), validators=[
        Text(120, required=_l("Enter the patient's legal first name."), letters=True)])
    last_name = StringField(_l("Patient's legal last name"), validators=[
        Text(120, required=_l("Enter the patient's legal last name."), letters=True)])
    other_names = TextAreaField(_l("Other names used during treatment (one per line)"),
                                validators=[Text(1000, multiline=True)])
    dob = DateField(_l("Patient's date of birth"), validators=[
        past_date(_l("the date of birth"), required=True)])
    ssn_last4 = StringField(_l("Last 4 digits of SSN (optional)"), validators=[Text(4)])
    stay_from = DateField(_l("Stay from (approximate, optional)"), validators=[Optional()])
    stay_to = DateField(_l("Stay to (approximate, optional)"), validators=[Optional()])
    program = SelectField(_l("Program"), default="",
                          choices=options([("", _l("Not given"))] + list(PROGRAMS)))
    parts = MultiCheckboxField(_l("Parts requested"), choices=options([
        (k, v) for k, v in PART_CHOICE_LABELS.items() if k != "accounting"]))
    email = StringField(_l("Email address (leave empty if they have none)"),
                        validators=[Text(254)])
    phone = StringField(_l("Phone (optional)"), validators=[Text(40)])
    address_line1 = StringField(_l("Address line 1"), validators=[
        Text(200, required=_l("Enter the mailing address."))])
    address_line2 = StringField(_l("Address line 2 (optional)"), validators=[Text(200)])
    address_city = StringField(_l("City"), validators=[Text(100, required=_l("Enter the city."))])
    address_state = StringField(_l("State"), validators=[
        Text(40, required=_l("Enter the state.")), UsState()])
    address_postal_code = StringField(_l("ZIP code"), validators=[
        Text(20, required=_l("Enter the ZIP code.")), UsZip()])
    delivery = ChoiceField(_l("How they want the records"), choices=options(DELIVERIES),
                           validators=[required_choice(_l("Choose how the records are sent."))])
    recipient_type = ChoiceField(_l("Who receives the records"), choices=options([
        ("patient", _l("The requester")), ("third_party", _l("Someone else"))]),
        validators=[required_choice(_l("Choose who receives the records."))])
    recipient_name = StringField(_l("Recipient's name"), validators=[Text(240)])
    recipient_organisation = StringField(_l("Recipient's organisation"), validators=[Text(240)])
    recipient_address = TextAreaField(_l("Recipient's address"), validators=[
        Text(1000, multiline=True)])
    consent_information = TextAreaField(_l("Information the consent covers"),
                                        validators=[Text(1000, multiline=True)])
    consent_purpose = StringField(_l("Purpose stated in the consent"), validators=[Text(400)])
    consent_expires_on = DateField(_l("Consent end date"), validators=[Optional()])
    consent_signed_on = DateField(_l("Date the consent was signed"), validators=[Optional()])
    consent_covers_notes = BooleanField(_l("A separate signed consent covers psychotherapy or "
                                           "counseling notes"))
    consent_statements = BooleanField(_l("The consent is on the program's form with every "
                                         "required statement printed"))
    consent_recipient_kind = SelectField(_l("The consent says the recipient is"), choices=options(
        [("", _l("Choose the kind of recipient")), *STAFF_RECIPIENT_KINDS,
         ("unsure", _l("Not sure, or not marked on the form"))]), validate_choice=False)
    consent_use_limits = BooleanField(_l(
        "The consent states what the recipient may use the records for, and that they may not "
        "use or disclose them for anything else (Civ. Code 56.11(g))"))
    consent_redisclosure_statement = BooleanField(_l(
        "The consent says the records may be redisclosed as the HIPAA regulations permit, "
        "except in proceedings against the patient (42 CFR 2.31(a)(4)(iii), for a doctor, "
        "clinic or health plan)"))
    signature_name = StringField(_l("Name as signed on the request"), validators=[
        Text(240, required=_l("Enter the name the request was signed with."))])
    scan = FileField(_l("Scan of the signed form (PDF, JPEG or PNG)"))

    def validate_ssn_last4(self, field):
        if field.data and not (len(field.data) == 4 and field.data.isdigit()):
            raise ValidationError(_l("Enter exactly 4 digits, or leave this empty."))

    def validate_email(self, field):
        if field.data and not is_email(field.data):
            raise ValidationError(_l("Enter an email address like name@example.com."))
        if not field.data and self.delivery.data == "download":
            raise ValidationError(_l("A secure download needs an email address; choose mail "
                                     "instead."))

    def validate_parts(self, field):
        if self.kind.data == "copies" and not field.data:
            raise ValidationError(_l("Choose at least one part of the record."))

    def validate_requester_name(self, field):
        if self.requester_type.data not in (None, "", "patient") and not field.data:
            raise ValidationError(_l("Enter the name of the person asking."))

    def validate_recipient_name(self, field):
        if self.recipient_type.data == "third_party" and not field.data:
            raise ValidationError(_l("Enter who receives the records."))

    def validate_consent_expires_on(self, field):
        if self.recipient_type.data == "third_party" and field.data is None and not field.errors:
            raise ValidationError(_l("Enter the end date written on the consent."))

    def validate_consent_signed_on(self, field):
        if self.recipient_type.data == "third_party" and field.data is None and not field.errors:
            raise ValidationError(_l("Enter the date the consent was signed."))

    def validate_consent_purpose(self, field):
        if self.recipient_type.data == "third_party" and not field.data:
            raise ValidationError(_l("Enter the purpose written on the consent."))

    def validate_consent_recipient_kind(self, field):
        if field.data and field.data not in {str(choice.value) for choice in field.choices}:
            raise ValidationError(_l("Choose from the options shown."))
        if self.recipient_type.data == "third_party" and not field.data:
            raise ValidationError(_l("Choose what the consent says the recipient is."))

    def validate_consent_information(self, field):
        if self.recipient_type.data == "third_party" and not field.data:
            raise ValidationError(_l("Enter what information the consent covers."))

    def validate_stay_to(self, field):
        if field.data and self.stay_from.data and field.data < self.stay_from.data:
            raise ValidationError(_l("The end of the stay is before its start."))

    def validate_scan(self, field):
        if not field.data or not getattr(field.data, "filename", ""):
            raise ValidationError(_l("Attach the scan of the signed form."))


class LostEmailHandledForm(FlaskForm):
    """Closing a lost-email report: what the clerk did, for the record."""

    note = TextAreaField(_l("What you did"), validators=[Text(
        2000, required=_l("Say what you did, for example: verified by phone and updated the "
                          "email address."), multiline=True)])
