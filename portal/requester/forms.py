"""Forms of the request wizard and of the requester's pages; the forms own validation.

Each wizard step is one form. A step's checks that need another step's answer (a date of
birth before the stay, a consent end date after today) read ``form.answers``: every saved
answer of the draft, set by the wizard before validating.
"""

from __future__ import annotations

import re
from datetime import date

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    Field,
    StringField,
    TextAreaField,
)
from wtforms.validators import StopValidation, ValidationError

from portal.core.dates import long_date

# Shared with the clerk's forms, which import them from here or from portal.core.forms.
from portal.core.forms import (  # noqa: F401
    CLOSURE_DATE,
    EARLIEST_DATE,
    ChoiceField,
    DateField,
    DatePartsField,
    MultiCheckboxField,
    Text,
    UsState,
    UsZip,
    options,
    parse_date,
    past_date,
    required_choice,
)
from portal.rules.consent import RECIPIENT_KINDS, _add_months
from portal.rules.contact import is_email, normalize_email  # noqa: F401
from portal.rules.deadlines import today_pacific
from portal.rules.fees import PURPOSES
from portal.rules.names import split_other_names
from portal.rules.signatures import DIFFERS, OTHER_PARTY, Party, check_signature

# R-ID-3: the personal representatives the portal accepts; there is no parent path (R-ID-4).
REQUESTER_TYPES = (
    ("patient", _l("I am the patient")),
    ("executor", _l("Executor or administrator of the estate of a patient who has died")),
    ("beneficiary", _l("Beneficiary of a patient who has died, where there is no executor or "
                       "administrator")),
    ("guardian", _l("Court-appointed guardian or conservator of the patient")),
    ("agent", _l("Health care agent under the patient's power of attorney")),
)
# What each representative uploads as proof of authority (R-ID-3).
DECEASED_TYPES = frozenset({"executor", "beneficiary"})

KINDS = (
    ("copies", _l("Copies of medical records")),
    ("accounting", _l("A list of who the records were shared with (an accounting of "
                      "disclosures)")),
)
DELIVERIES = (
    ("download", _l("Secure download (by email link)")),
    ("mail", _l("Paper copies by mail")),
)
RECIPIENTS = (
    ("patient", _l("Me")),
    ("third_party", _l("Someone else, such as a doctor or a lawyer")),
)
RECORD_SCOPES = (
    ("complete", _l("The complete record")),
    ("chosen", _l("Only the parts I choose below")),
)
ADDRESS_PLACES = (
    ("us", _l("In the United States, its territories, or a military address (APO, FPO, DPO)")),
    ("abroad", _l("In another country")),
)
# A country typed as the United States belongs on the US path (its state and ZIP checked).
US_NAMES = frozenset({"us", "u.s.", "usa", "u.s.a.", "united states", "united states of america",
                      "america"})
PROGRAMS = (
    ("detox", _l("Detox (medically supervised withdrawal)")),
    ("residential", _l("Residential treatment")),
    ("outpatient", _l("Outpatient")),
    ("not_sure", _l("Not sure")),
)
RECORD_PARTS = (
    ("discharge_summary", _l("Discharge summary")),
    ("assessments", _l("Assessments and history")),
    ("treatment_plans", _l("Treatment plans and progress notes")),
    ("medications", _l("Medication records")),
    ("labs", _l("Lab results")),
    ("billing", _l("Billing statement")),
)
NOTES_CHOICES = (
    ("psychotherapy_notes", _l("Psychotherapy notes")),
    ("counseling_notes", _l("Substance use counseling session notes")),
)
# Every requested part in plain words, for the pages (the letters use PART_LABELS).
PART_CHOICE_LABELS = {
    "complete": _l("The complete record (not including therapy notes)"),
    **dict(RECORD_PARTS),
    **dict(NOTES_CHOICES),
    "accounting": _l("A list of who the records were shared with (accounting of disclosures)"),
}
PURPOSE_LABELS = {
    "continuing_care": _l("Care from a new doctor or other health care provider"),
    "public_benefit_appeal": _l("An appeal about a public benefit, such as disability "
                                "(copies are free)"),
    "legal": _l("A legal matter"),
    "insurance": _l("Insurance"),
    "personal": _l("To keep for myself"),
    "other": _l("Something else"),
}
assert set(PURPOSE_LABELS) == {code for code, _label in PURPOSES}

def saved_answer(answers: dict, step: str, name: str) -> str:
    """The first value a draft keeps for a field of a step, or ''."""
    values = (answers or {}).get("steps", {}).get(step, {}).get(name, [])
    return values[0] if values else ""


def answer(form, step: str, name: str) -> str:
    """One saved answer of another step (first value), or ''."""
    return saved_answer(getattr(form, "answers", {}), step, name)


def saved_field(answers: dict, form_class: type[FlaskForm], step: str, name: str) -> Field:
    """A field of a step as the draft fills it, to read a date the way the page reads it
    (boxes typed, or an ISO value)."""
    saved = (answers or {}).get("steps", {}).get(step, {})
    formdata = MultiDict([(key, v) for key, items in saved.items() for v in items])
    return form_class(formdata=formdata, meta={"csrf": False})[name]


def _saved_dob(form) -> date | None:
    """The date of birth the patient step keeps, for the stay's checks."""
    return saved_field(getattr(form, "answers", {}), PatientForm, "patient", "dob").data


class WizardForm(FlaskForm):
    """A wizard step; ``answers`` holds the draft's other answers for cross-step checks."""

    answers: dict = {}


def requester_type(answers: dict) -> str:
    """'patient' or the kind of personal representative (R-ID-3)."""
    return saved_answer(answers, "who", "requester_type") or "patient"


def _patient_name(answers: dict) -> str:
    return " ".join((saved_answer(answers, "patient", "first_name"),
                     saved_answer(answers, "patient", "last_name")))


def signer_parties(answers: dict) -> list[Party]:
    """Who signs: the patient (under any name they gave), or the representative."""
    if requester_type(answers) == "patient":
        other = split_other_names(saved_answer(answers, "patient", "other_names"))
        return [Party(_patient_name(answers)), *(Party(name) for name in other)]
    return [Party(saved_answer(answers, "authority", "requester_name"))]


def other_parties(answers: dict) -> list[Party]:
    """Other people the request names, whose name is no signature of the signer's."""
    others = [Party(saved_answer(answers, "recipient", "recipient_name"))]
    if requester_type(answers) != "patient":
        others.append(Party(_patient_name(answers)))
    return [party for party in others if party.name.strip()]


def signature_outcome(answers: dict, typed: str) -> str:
    """MATCHES, DIFFERS or OTHER_PARTY for a signature typed on these answers."""
    return check_signature(typed, signer_parties(answers), other_parties(answers))


def signature_problem(form, typed: str, confirmed: bool):
    """Why a typed signature needs another look, or None (R-REL-2): another party's name is
    refused; a name other than the signer's is asked about once and may be confirmed."""
    outcome = signature_outcome(form.answers, typed)
    form.signature_differs = outcome == DIFFERS
    if outcome == OTHER_PARTY:
        return _l("This is the name of someone else in this request. Please type your own "
                  "name, as you usually sign it.")
    if outcome == DIFFERS and not confirmed:
        return _l("This is not the name you gave for yourself (%(name)s). Please type your "
                  "name as you usually sign it. If this is how you sign, tick “This is how I "
                  "sign my name”.", name=signer_parties(form.answers)[0].name.strip())
    return None


# ------------------------------------------------------------------------------- the steps


class KindForm(WizardForm):
    kind = ChoiceField(
        _l("What would you like to ask for?"),
        choices=options(KINDS),
        validators=[required_choice(_l("Choose what you would like to ask for."))],
    )


class WhoForm(WizardForm):
    requester_type = ChoiceField(
        _l("Who is asking?"), choices=options(REQUESTER_TYPES),
        validators=[required_choice(_l("Choose who is asking."))],
    )


class AuthorityForm(WizardForm):
    """Asked only of a representative (R-ID-3): who they are and what gives them authority."""

    requester_name = StringField(_l("Your full legal name"), validators=[
        Text(240, letters=True, required=_l("Enter your full legal name."))])
    authority_description = TextAreaField(_l("Describe your authority"), validators=[
        Text(2000, multiline=True, required=_l("Describe your authority, for example the court "
                                               "and the date of your appointment."))])


class PatientForm(WizardForm):
    first_name = StringField(
        _l("Legal first name"),
        validators=[Text(120, required=_l("Enter the patient's legal first name."), letters=True)])
    last_name = StringField(
        _l("Legal last name"),
        validators=[Text(120, required=_l("Enter the patient's legal last name."), letters=True)])
    other_names = TextAreaField(_l("Other names used during treatment (optional)"),
                                validators=[Text(1000, multiline=True)])
    dob = DatePartsField(_l("Date of birth"),
                         validators=[past_date(_l("the date of birth"), required=True)],
                         what=_l("the date of birth"))
    ssn_last4 = StringField(_l("Last 4 digits of Social Security number (optional)"),
                            validators=[Text(4)])

    def validate_ssn_last4(self, field):
        if field.data and not re.fullmatch(r"[0-9]{4}", field.data):
            raise ValidationError(_l("Enter exactly 4 digits, or leave this empty."))


class ContactForm(WizardForm):
    email = StringField(_l("Email address"),
                        validators=[Text(254, required=_l("Enter your email address."))])
    email_confirm = StringField(_l("Email address again"),
                                validators=[Text(254, required=_l("Enter your email address "
                                                                  "again."))])
    phone = StringField(_l("Phone number (optional)"), validators=[Text(40)])
    address_where = ChoiceField(
        _l("Where is your mailing address?"), choices=options(ADDRESS_PLACES),
        default="us", validators=[required_choice(_l("Choose where your mailing address is."))])
    address_care_of = StringField(_l("Institution or “care of” (optional)"),
                                  validators=[Text(200)])
    address_line1 = StringField(_l("Address line 1"),
                                validators=[Text(200, required=_l("Enter your street address "
                                                                  "or PO box."))])
    address_line2 = StringField(_l("Address line 2 (optional)"), validators=[Text(200)])
    address_city = StringField(_l("City or town"),
                               validators=[Text(100, required=_l("Enter the city or town."))])
    # A US address (its territories and military mail included).
    address_state = StringField(_l("State"), validators=[Text(40)])
    address_postal_code = StringField(_l("ZIP code"), validators=[Text(20)])
    # An address in another country: its own region and postal code, as free text.
    address_region = StringField(_l("State, province or region (optional)"),
                                 validators=[Text(40)])
    address_postcode = StringField(_l("Postal code (optional)"), validators=[Text(20)])
    address_country = StringField(_l("Country"), validators=[Text(60)])

    def _abroad(self) -> bool:
        return self.address_where.data == "abroad"

    def validate_address_state(self, field):
        if not self._abroad():
            if not field.data:
                raise StopValidation(_l("Enter the state."))
            UsState()(self, field)

    def validate_address_postal_code(self, field):
        if not self._abroad():
            if not field.data:
                raise StopValidation(_l("Enter the ZIP code."))
            UsZip()(self, field)

    def validate_address_country(self, field):
        if self._abroad():
            if not field.data:
                raise StopValidation(_l("Enter the country."))
            if field.data.strip().lower() in US_NAMES:
                raise ValidationError(_l("For an address in the United States, choose “In the "
                                         "United States” above and fill in the state and ZIP "
                                         "code."))

    def validate_email(self, field):
        field.data = normalize_email(field.data)
        if not is_email(field.data):
            raise ValidationError(_l("Enter an email address like name@example.com."))

    def validate_email_confirm(self, field):
        field.data = normalize_email(field.data)
        if field.data != normalize_email(self.email.data):
            raise ValidationError(_l("The two email addresses are different. Type the same "
                                     "address in both boxes."))

    def validate_phone(self, field):
        if field.data and not re.fullmatch(r"[0-9+()\-. ]{7,40}", field.data):
            raise ValidationError(_l("Enter a phone number using digits, for example "
                                     "(555) 010-1234."))


def _month(label, what, *, end: bool = False) -> DatePartsField:
    """An optional month and year, not in the future; ``end``: the month's last day."""
    return DatePartsField(label, validators=[past_date(what, required=False)], day=False,
                          end_of_month=end, what=what)


class StayForm(WizardForm):
    stay_from = _month(_l("About when did the stay begin? (optional)"), _l("the admission date"))
    stay_to = _month(_l("About when did it end? (optional)"), _l("the discharge date"),
                     end=True)

    def validate_stay_from(self, field):
        if field.data is None:
            return
        if field.data > CLOSURE_DATE:
            raise ValidationError(_l("The program closed on November 10, 2018, so a stay cannot "
                                     "begin after that. Check the date."))
        dob = _saved_dob(self)
        if dob and field.data < dob:
            raise ValidationError(_l("The stay cannot begin before the date of birth you gave. "
                                     "Check both dates."))

    def validate_stay_to(self, field):
        if field.data is None:
            return
        if self.stay_from.data and field.data < self.stay_from.data:
            raise ValidationError(_l("The discharge date must be on or after the admission "
                                     "date."))
        dob = _saved_dob(self)
        if dob and field.data < dob:
            raise ValidationError(_l("The stay cannot end before the date of birth you gave. "
                                     "Check both dates."))


class ProgramForm(WizardForm):
    program = ChoiceField(_l("Which program was the stay in?"), choices=options(PROGRAMS),
                          validators=[required_choice(_l("Choose a program, or Not sure."))])


class RecordsForm(WizardForm):
    scope = ChoiceField(
        _l("Which records?"),
        choices=options(RECORD_SCOPES),
        validators=[required_choice(_l("Choose the complete record or the parts you want."))],
    )
    parts = MultiCheckboxField(_l("Parts of the record"), choices=options(RECORD_PARTS))
    notes = MultiCheckboxField(_l("Therapy notes (asked for separately)"),
                               choices=options(NOTES_CHOICES))

    def validate_parts(self, field):
        if self.scope.data == "chosen" and not (field.data or self.notes.data):
            raise ValidationError(_l("Choose at least one part of the record."))


class RecordDatesForm(WizardForm):
    records_from = _month(_l("Records from (optional)"), _l("the start date"))
    records_to = _month(_l("Records up to (optional)"), _l("the end date"), end=True)

    def validate_records_to(self, field):
        if field.data and self.records_from.data and field.data < self.records_from.data:
            raise ValidationError(_l("The end date must be on or after the start date."))


class DeliveryForm(WizardForm):
    recipient_type = ChoiceField(
        _l("Who should receive the records?"),
        choices=options(RECIPIENTS),
    )

    def validate_recipient_type(self, field):
        # An accounting of disclosures goes to the person who asked for it.
        if answer(self, "kind", "kind") == "accounting":
            field.data = "patient"
        elif not field.data:
            raise ValidationError(_l("Choose who should receive the records."))


class MethodForm(WizardForm):
    delivery = ChoiceField(
        _l("How should the records be sent?"),
        choices=options(DELIVERIES),
        validators=[required_choice(_l("Choose how the records should be sent."))],
    )


class RecipientForm(WizardForm):
    # R-REL-2: asked in plain words; the answer decides the statements the consent carries.
    recipient_kind = ChoiceField(
        _l("Who is receiving the records?"),
        choices=options((code, _l(label)) for code, label in RECIPIENT_KINDS),
        validators=[required_choice(_l("Choose who is receiving the records."))],
    )
    recipient_name = StringField(
        _l("Recipient's full name"),
        validators=[Text(240, required=_l("Enter the recipient's name."), letters=True)])
    recipient_organisation = StringField(_l("Organization (optional)"), validators=[Text(240)])
    recipient_address = TextAreaField(
        _l("Recipient's postal address"),
        validators=[Text(600, required=_l("Enter the recipient's postal address."),
                         multiline=True)])
    recipient_email = StringField(_l("Recipient's email address"), validators=[Text(254)])
    recipient_email_confirm = StringField(_l("Recipient's email address again"),
                                          validators=[Text(254)])

    def _by_link(self) -> bool:
        return answer(self, "method", "delivery") == "download"

    def validate_recipient_email(self, field):
        field.data = normalize_email(field.data)
        if not field.data:
            if self._by_link():
                raise ValidationError(_l("Enter the recipient's email address for the download "
                                         "link."))
            return
        if not is_email(field.data):
            raise ValidationError(_l("Enter an email address like name@example.com."))

    def validate_recipient_email_confirm(self, field):
        field.data = normalize_email(field.data)
        if (self.recipient_email.data or field.data) and field.data != self.recipient_email.data:
            raise ValidationError(_l("The two email addresses are different. Type the same "
                                     "address in both boxes."))


class PurposeForm(WizardForm):
    purpose = ChoiceField(_l("Why do you need the records?"),
                         choices=options(PURPOSE_LABELS.items()))
    purpose_detail = TextAreaField(_l("Anything you would like to add (optional)"),
                                   validators=[Text(1000, multiline=True)])

    def validate_purpose(self, field):
        # Optional for the patient's own copy; a consent must state a purpose (R-REL-2).
        if not field.data and answer(self, "delivery", "recipient_type") == "third_party":
            raise ValidationError(_l("Choose why the records are being shared."))


def _expiry_check(form, field):
    """R-REL-2: a specific end date, not in the past, at most CONSENT_MAX_MONTHS away."""
    today = today_pacific()
    months = int(current_app.config["CONSENT_MAX_MONTHS"])
    latest = _add_months(today, months)
    if field.data is None:
        if not field.errors:
            raise StopValidation(_l("Enter the date this permission ends."))
        return
    if field.data < today:
        raise StopValidation(_l("The end date cannot be in the past."))
    if field.data > latest:
        raise StopValidation(_l("The end date can be at most %(months)s months from today: "
                                "%(latest)s or earlier.", months=months,
                                latest=long_date(latest)))


class ConsentForm(WizardForm):
    expires_on = DatePartsField(_l("This permission ends on"), validators=[_expiry_check],
                                what=_l("the end date"))
    consent_name = StringField(
        _l("Type your full legal name to sign this consent"),
        validators=[Text(240, required=_l("Type your full name to sign the consent."),
                         letters=True)])
    consent_name_confirmed = BooleanField(_l("This is how I sign my name"))
    agree = BooleanField(_l("I have read the statements above and I give this consent."))
    signature_differs = False

    def validate_consent_name(self, field):
        problem = signature_problem(self, field.data, self.consent_name_confirmed.data)
        if problem:
            raise ValidationError(problem)

    def validate_agree(self, field):
        if not field.data:
            raise ValidationError(_l("Confirm that you have read the statements and give this "
                                     "consent."))


class NotesConsentForm(ConsentForm):
    agree = BooleanField(_l("I have read the statements above and I give this separate consent "
                            "for the therapy notes."))


class DocumentsForm(WizardForm):
    """Files come from request.files; the step checks presence against the draft's uploads."""


class ReviewForm(WizardForm):
    """Nothing to enter: the review page only moves on to signing."""


class SignForm(WizardForm):
    signature_name = StringField(
        _l("Type your full legal name"),
        validators=[Text(240, required=_l("Type your full legal name to sign."), letters=True)])
    signature_confirmed = BooleanField(_l("This is how I sign my name"))
    attest = BooleanField(_l("I confirm that the information I gave is true, and that I am the "
                             "patient or have the legal authority I described."))
    signature_differs = False

    def validate_signature_name(self, field):
        problem = signature_problem(self, field.data, self.signature_confirmed.data)
        if problem:
            raise ValidationError(problem)

    def validate_attest(self, field):
        if not field.data:
            raise ValidationError(_l("Confirm that the information is true to send the "
                                     "request."))


# --------------------------------------------------------------------- requester's pages


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your reply"),
                         validators=[Text(10000, required=_l("Write your reply."),
                                          multiline=True)])


class ConfirmActionForm(FlaskForm):
    confirm = BooleanField(_l("Yes, I am sure"))

    def validate_confirm(self, field):
        if not field.data:
            raise ValidationError(_l("Tick the box to confirm."))


class AccessCodeForm(FlaskForm):
    access_code = StringField(_l("Access code"),
                              validators=[Text(40, required=_l("Enter the access code."))])

