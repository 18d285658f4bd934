"""The request wizard: which question groups apply, in what order, and what they add up to.

One step is one form (portal.requester.forms) on one page. Which steps apply depends on the
answers so far (an accounting request skips the record choices; a third party adds the
recipient and the consent; therapy notes to a third party add their own consent, R-REL-4).
Everything is validated again, from the saved answers, before the request is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from portal.requester import forms
from portal.requests.operations import NOTES_PARTS, PART_LABELS, ConsentInput, NewRequest
from portal.rules.consent import needs_redisclosure_statement
from portal.rules.fees import PURPOSES, CopyRates, FeeEstimate, FeeSchedule, estimate_fee
from portal.rules.notices import CONSENT_PURPOSE_AT_REQUEST
from portal.rules.postal import mailing_lines, state_code, zip_code


@dataclass(frozen=True)
class Step:
    """A question group: its URL name, form, page heading and template."""

    name: str
    form: type[forms.WizardForm]
    title: object
    template: str = "requests/wizard/step.html"


STEPS: tuple[Step, ...] = (
    Step("kind", forms.KindForm, _l("What you are asking for")),
    Step("who", forms.WhoForm, _l("Who is asking"), "requests/wizard/who.html"),
    Step("authority", forms.AuthorityForm, _l("Your authority to ask"),
         "requests/wizard/authority.html"),
    Step("patient", forms.PatientForm, _l("About the patient"), "requests/wizard/patient.html"),
    Step("contact", forms.ContactForm, _l("How we can reach you"),
         "requests/wizard/contact.html"),
    Step("stay", forms.StayForm, _l("When the stay was"), "requests/wizard/stay.html"),
    Step("program", forms.ProgramForm, _l("The program")),
    Step("records", forms.RecordsForm, _l("Which records"), "requests/wizard/records.html"),
    Step("record_dates", forms.RecordDatesForm, _l("The dates of the records"),
         "requests/wizard/record_dates.html"),
    Step("delivery", forms.DeliveryForm, _l("Who receives the records")),
    Step("method", forms.MethodForm, _l("How the records are sent")),
    Step("recipient", forms.RecipientForm, _l("Who receives the records"),
         "requests/wizard/recipient.html"),
    Step("purpose", forms.PurposeForm, _l("Why you need the records")),
    Step("consent", forms.ConsentForm, _l("Consent to share the records"),
         "requests/wizard/consent.html"),
    Step("notes_consent", forms.NotesConsentForm, _l("Separate consent for therapy notes"),
         "requests/wizard/consent.html"),
    Step("documents", forms.DocumentsForm, _l("Proof of identity"),
         "requests/wizard/documents.html"),
    Step("review", forms.ReviewForm, _l("Check your answers"), "requests/wizard/review.html"),
    Step("sign", forms.SignForm, _l("Sign and send"), "requests/wizard/sign.html"),
)
STEP_BY_NAME = {step.name: step for step in STEPS}

# The wizard's parts, shown as "Part 2 of 5": a count that never changes as answers add or
# skip steps (the consent part only applies when records go to someone else).
SECTIONS: tuple[tuple[object, tuple[str, ...]], ...] = (
    (_l("What you are asking for"), ("kind", "who", "authority")),
    (_l("The patient and how to reach you"), ("patient", "contact", "stay", "program")),
    (_l("The records and where they go"), ("records", "record_dates", "delivery", "method",
                                           "recipient", "purpose")),
    (_l("Consent to share"), ("consent", "notes_consent")),
    (_l("Proof of identity, then sign and send"), ("documents", "review", "sign")),
)
assert [n for _title, names in SECTIONS for n in names] == [s.name for s in STEPS]


# Answers that moved to a page of their own (one question per page): field -> (old, new step).
# A draft saved before the move keeps them: they are carried over when it is opened.
MOVED_ANSWERS = {
    "requester_name": ("who", "authority"),
    "authority_description": ("who", "authority"),
    "program": ("stay", "program"),
    "records_from": ("records", "record_dates"),
    "records_to": ("records", "record_dates"),
    "delivery": ("delivery", "method"),
}


def carry_moved_answers(answers: dict) -> None:
    """Move a draft's answers saved under their old step to their new one; a new step whose
    answers were all checked as part of a finished old step counts as finished too."""
    steps = answers.setdefault("steps", {})
    moved_to: dict[str, str] = {}
    for field, (old, new) in MOVED_ANSWERS.items():
        if field in steps.get(old, {}):
            steps.setdefault(new, {}).setdefault(field, steps[old].pop(field))
            moved_to[new] = old
    done = answers.setdefault("done", [])
    for new, old in moved_to.items():
        if old in done and new not in done:
            done.append(new)


def section_of(step_name: str) -> tuple[int, int, object]:
    """(number, how many, title) of the part a step belongs to."""
    for number, (title, names) in enumerate(SECTIONS, start=1):
        if step_name in names:
            return number, len(SECTIONS), title
    raise KeyError(step_name)

# Upload slots of the documents step: slot -> (StoredDocument.kind, subtype).
UPLOAD_SLOTS = {
    "photo_id": ("photo_id", None),
    "authority_proof": ("authority_proof", "authority"),
    "death_certificate": ("authority_proof", "death_certificate"),
}


value = forms.saved_answer  # the first saved value of a field ('' when absent)


def date_field(answers: dict, step: str, name: str):
    """A date answer's field as the draft fills it: ``.data`` is the date (or None), ``.keys``
    the boxes it asks for."""
    return forms.saved_field(answers, STEP_BY_NAME[step].form, step, name)


def date_value(answers: dict, step: str, name: str) -> date | None:
    """A date answer as its field reads it (typed in boxes, or an ISO value), or None."""
    return date_field(answers, step, name).data


def values(answers: dict, step: str, name: str) -> list[str]:
    """Every saved value of a multi-choice field."""
    return list(answers["steps"].get(step, {}).get(name, []))


def is_copies(answers: dict) -> bool:
    """Copies of records (not an accounting of disclosures)."""
    return value(answers, "kind", "kind") != "accounting"


def to_third_party(answers: dict) -> bool:
    """The records go to someone other than the person asking (R-REL-2 applies)."""
    return is_copies(answers) and value(answers, "delivery", "recipient_type") == "third_party"


def chosen_notes(answers: dict) -> list[str]:
    """The therapy-note parts asked for (never part of a "complete record", R-REL-4)."""
    if not is_copies(answers):
        return []
    return [n for n in values(answers, "records", "notes") if n in NOTES_PARTS]


requester_type = forms.requester_type  # 'patient' or the kind of representative (R-ID-3)


def applicable_steps(answers: dict) -> list[str]:
    """The step names that apply to these answers, in order."""
    names = []
    for step in STEPS:
        # An accounting goes to the person who asked: no record choices, no recipient.
        if step.name in ("records", "record_dates", "delivery", "purpose") and not is_copies(
                answers):
            continue
        if step.name == "authority" and requester_type(answers) == "patient":
            continue
        if step.name in ("recipient", "consent") and not to_third_party(answers):
            continue
        if step.name == "notes_consent" and not (to_third_party(answers) and
                                                 chosen_notes(answers)):
            continue
        names.append(step.name)
    return names


def required_uploads(answers: dict) -> list[str]:
    """The upload slots this requester must fill (R-ID-2(b), R-ID-3)."""
    slots = ["photo_id"]
    kind = requester_type(answers)
    if kind != "patient":
        slots.append("authority_proof")
    if kind in forms.DECEASED_TYPES:
        slots.append("death_certificate")
    return slots


def slot_of(document) -> str | None:
    """Which upload slot a stored draft document fills."""
    for slot, (kind, subtype) in UPLOAD_SLOTS.items():
        if document.kind == kind and document.subtype == subtype:
            return slot
    return None


def make_form(step: Step, answers: dict, formdata: MultiDict | None = None, *,
              from_draft: bool = False) -> forms.WizardForm:
    """The step's form, filled from posted data, or from the draft when nothing was posted."""
    if formdata is None:
        formdata = MultiDict(
            [(name, v) for name, items in answers["steps"].get(step.name, {}).items()
             for v in items]
        )
        from_draft = True
    meta = {"csrf": False} if from_draft else {}
    form = step.form(formdata=formdata, meta=meta)
    form.answers = answers
    return form


def typed_answers(step: Step, formdata: MultiDict) -> dict[str, list[str]]:
    """What was typed on a step, field by field, as the draft keeps it (a date in boxes keeps
    each box; anything posted that is not one of the step's fields is ignored)."""
    form = step.form(formdata=formdata, meta={"csrf": False})
    return {field.name: (field.typed_values() if hasattr(field, "typed_values")
                         else formdata.getlist(field.name))
            for field in form if field.name != "csrf_token"}


def _contact(answers: dict, name: str) -> str | None:
    """A contact-page answer, trimmed; None when empty."""
    return (value(answers, "contact", name) or "").strip() or None


def _place(answers: dict) -> dict:
    """The end of the address: a US state and ZIP code, or a region, postal code and country."""
    def v(name):
        return _contact(answers, name)

    if value(answers, "contact", "address_where") == "abroad":
        return {"address_state": v("address_region"), "address_postal_code": v("address_postcode"),
                "address_country": v("address_country")}
    # Stored as checked: "California" as CA, a ZIP+4 with its dash.
    state, zip_ = v("address_state"), v("address_postal_code")
    return {"address_state": state and (state_code(state) or state),
            "address_postal_code": zip_ and (zip_code(zip_) or zip_), "address_country": None}


def address_lines(answers: dict) -> tuple[str, ...]:
    """The mailing address as it will be printed on letters (the review page shows it)."""
    place = _place(answers)
    return mailing_lines(care_of=_contact(answers, "address_care_of"),
                         line1=_contact(answers, "address_line1"),
                         line2=_contact(answers, "address_line2"),
                         city=_contact(answers, "address_city"),
                         state=place["address_state"], postal_code=place["address_postal_code"],
                         country=place["address_country"])


def consent_scope(answers: dict, step: str) -> str:
    """What a consent covers, as signed (R-REL-2: a specific description of the information)."""
    if step == "notes_consent":
        return "; ".join(PART_LABELS[n] for n in chosen_notes(answers))
    parts = requested_parts(answers)
    text = "; ".join(PART_LABELS[p] for p in parts if p not in NOTES_PARTS)
    if not text:
        text = "No records other than the therapy notes named in the separate notes consent"
    start = date_value(answers, "record_dates", "records_from")
    end = date_value(answers, "record_dates", "records_to")
    if start or end:
        text += f" (records dated {_span(start, end)})"
    return text


def _span(start: date | None, end: date | None) -> str:
    if start and end:
        return f"from {start.isoformat()} to {end.isoformat()}"
    return f"from {start.isoformat()}" if start else f"up to {end.isoformat()}"


def consent_signed_over(answers: dict, step: str) -> str:
    """What the signer saw when signing a consent: scope, recipient, its kind and purpose."""
    return "|".join((consent_scope(answers, step), recipient_line(answers),
                     recipient_kind(answers), consent_purpose(answers)))


def recipient_kind(answers: dict) -> str:
    """The kind of recipient chosen in plain words (R-REL-2); '' before the question."""
    return value(answers, "recipient", "recipient_kind")


def carries_redisclosure_statement(answers: dict) -> bool:
    """Whether the consent shown and signed carries the 2.31(a)(4)(iii) statement."""
    return needs_redisclosure_statement(recipient_kind(answers) or None)


def recipient_line(answers: dict) -> str:
    """The third party as a consent names them: name and organisation."""
    return ", ".join(x for x in (value(answers, "recipient", "recipient_name"),
                                 value(answers, "recipient", "recipient_organisation")) if x)


def consent_purpose(answers: dict) -> str:
    """The purpose a consent states: the chosen purpose, or "at the request of the patient"."""
    code = value(answers, "purpose", "purpose")
    label = dict(PURPOSES).get(code)
    return label or CONSENT_PURPOSE_AT_REQUEST


def requested_parts(answers: dict) -> list[str]:
    """Part codes for the request (R-REL-4: notes are never part of a "complete record")."""
    if not is_copies(answers):
        return ["accounting"]
    scope = value(answers, "records", "scope")
    parts = ["complete"] if scope == "complete" else [
        p for p in values(answers, "records", "parts") if p in PART_LABELS
    ]
    return parts + chosen_notes(answers)


def refresh_done(answers: dict, uploaded_slots: set[str]) -> None:
    """Un-mark steps whose basis changed: a consent signed over other terms, missing files."""
    done = [s for s in answers["done"] if s in applicable_steps(answers)]
    for step in ("consent", "notes_consent"):
        if step in done and answers["signed_over"].get(step) != consent_signed_over(answers, step):
            done.remove(step)
    if "documents" in done and not set(required_uploads(answers)) <= uploaded_slots:
        done.remove("documents")
    answers["done"] = done


def next_step(answers: dict) -> str:
    """The first applicable step not yet done (the sign step once everything else is)."""
    for name in applicable_steps(answers):
        if name not in answers["done"]:
            return name
    return "sign"


def may_open(answers: dict, name: str) -> bool:
    """A step may be opened once every applicable step before it is done."""
    order = applicable_steps(answers)
    if name not in order:
        return False
    return all(step in answers["done"] for step in order[: order.index(name)])


def previous_step(answers: dict, name: str) -> str | None:
    """The step before ``name`` in the current order, or None on the first."""
    order = applicable_steps(answers)
    index = order.index(name) if name in order else 0
    return order[index - 1] if index > 0 else None


def validate_all(answers: dict, uploaded_slots: set[str]) -> str | None:
    """Validate every applicable step from the saved answers; the first failing step or None."""
    refresh_done(answers, uploaded_slots)
    for name in applicable_steps(answers):
        if name in ("review", "sign"):
            continue
        if name == "documents":
            if not set(required_uploads(answers)) <= uploaded_slots:
                return name
            continue
        if name not in answers["done"]:
            return name
        if not make_form(STEP_BY_NAME[name], answers).validate():
            return name
    return None


def fee_schedule() -> FeeSchedule:
    """The configured fee schedule (R-FEE-1..5; the default charges nothing)."""
    config = current_app.config
    return FeeSchedule(
        patient=CopyRates(
            electronic_flat_cents=int(config["FEE_PATIENT_ELECTRONIC_FLAT_CENTS"]),
            paper_per_page_cents=int(config["FEE_PATIENT_PAPER_PER_PAGE_CENTS"]),
            postage_cents=int(config["FEE_POSTAGE_CENTS"]),
        ),
        third_party=CopyRates(
            electronic_flat_cents=int(config["FEE_THIRD_PARTY_ELECTRONIC_FLAT_CENTS"]),
            paper_per_page_cents=int(config["FEE_THIRD_PARTY_PAPER_PER_PAGE_CENTS"]),
            postage_cents=int(config["FEE_POSTAGE_CENTS"]),
        ),
    )


def fee_for(answers: dict) -> FeeEstimate:
    """The estimate shown before signing (R-FEE-3); a benefit appeal is free (R-FEE-5)."""
    recipient = "third_party" if to_third_party(answers) else "patient"
    delivery = value(answers, "method", "delivery") or "download"
    purpose = value(answers, "purpose", "purpose") if is_copies(answers) else None
    return estimate_fee(fee_schedule(), recipient=recipient, delivery=delivery,
                        purpose=purpose or None)


def build_new_request(
    answers: dict, *, signature_name: str, signed_at: datetime, signed_ip: str | None,
    signed_user_agent: str | None, access_code_hash: str | None,
) -> NewRequest:
    """Turn validated answers into the submission create_request records."""
    def v(step: str, name: str) -> str | None:
        return value(answers, step, name).strip() or None

    def d(step: str, name: str) -> date | None:
        return date_value(answers, step, name)

    kind = "accounting" if not is_copies(answers) else "copies"
    who = requester_type(answers)
    third = to_third_party(answers)
    fee = fee_for(answers)
    consents = []
    if third:
        for step, scope in (("consent", "general"), ("notes_consent", "notes")):
            if step not in applicable_steps(answers):
                continue
            consents.append(ConsentInput(
                scope=scope,
                information_description=consent_scope(answers, step),
                recipient_name=value(answers, "recipient", "recipient_name").strip(),
                recipient_organisation=v("recipient", "recipient_organisation"),
                recipient_address=v("recipient", "recipient_address"),
                purpose=consent_purpose(answers),
                expires_on=d(step, "expires_on"),
                signature_name=value(answers, step, "consent_name").strip(),
                signed_at=signed_at,
                signed_ip=signed_ip,
                signed_user_agent=signed_user_agent,
                statements_acknowledged=True,
                recipient_kind=recipient_kind(answers) or None,
                use_limits_stated=True,
                redisclosure_statement_included=carries_redisclosure_statement(answers),
            ))
    return NewRequest(
        kind=kind,
        requester_type=who,
        requester_name=v("authority", "requester_name") if who != "patient" else None,
        authority_description=(v("authority", "authority_description") if who != "patient"
                               else None),
        patient_first_name=value(answers, "patient", "first_name").strip(),
        patient_last_name=value(answers, "patient", "last_name").strip(),
        patient_other_names=v("patient", "other_names"),
        patient_dob=d("patient", "dob"),
        patient_ssn_last4=v("patient", "ssn_last4"),
        contact_email=forms.normalize_email(value(answers, "contact", "email")),
        contact_phone=v("contact", "phone"),
        address_care_of=v("contact", "address_care_of"),
        address_line1=v("contact", "address_line1"),
        address_line2=v("contact", "address_line2"),
        address_city=v("contact", "address_city"),
        **_place(answers),
        stay_from=d("stay", "stay_from"),
        stay_to=d("stay", "stay_to"),
        program=v("program", "program"),
        parts=requested_parts(answers),
        records_from=d("record_dates", "records_from") if kind == "copies" else None,
        records_to=d("record_dates", "records_to") if kind == "copies" else None,
        purpose=v("purpose", "purpose") if kind == "copies" else None,
        purpose_detail=v("purpose", "purpose_detail") if kind == "copies" else None,
        fee_estimate_cents=fee.amount_cents,
        fee_waived=fee.waived,
        recipient_type="third_party" if third else "patient",
        delivery=value(answers, "method", "delivery") or "download",
        recipient_name=v("recipient", "recipient_name") if third else None,
        recipient_organisation=v("recipient", "recipient_organisation") if third else None,
        recipient_address=v("recipient", "recipient_address") if third else None,
        recipient_email=(forms.normalize_email(value(answers, "recipient", "recipient_email"))
                         or None) if third else None,
        access_code_hash=access_code_hash,
        signature_name=signature_name,
        signed_at=signed_at,
        signed_ip=signed_ip,
        signed_user_agent=signed_user_agent,
        consents=consents,
    )
