"""Glue between a request and the letters it produces: plain values in, a stored PDF out.

portal/release/documents.py renders each letter from frozen dataclasses and knows nothing of
the database; this module builds those values from a request and keeps every letter as a
StoredDocument (kind 'letter', subtype naming the letter) on the request, where the clerk sees
it and the requester's pages can offer it. The requester is told by a neutral email that there
is an update (R-SEC-4).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date

from flask import current_app
from sqlalchemy.orm import Session

from portal.core.actor import Actor
from portal.core.db import get_session
from portal.jobs.outbox import enqueue
from portal.release import documents as d
from portal.release.letterhead import Letterhead, letterhead_from_config
from portal.requests.models import Consent, RecordRequest, RequestPart
from portal.requests.operations import NOTES_PARTS, PART_LABELS
from portal.rules import outcomes
from portal.rules.consent import consent_scopes_relied_on
from portal.rules.deadlines import pacific_date, today_pacific
from portal.rules.names import split_other_names
from portal.rules.postal import mailing_lines
from portal.storage.models import StoredDocument
from portal.storage.operations import save_document

# Letters are rendered in English (portal.release.documents has one language).
PORTAL_DELIVERY = "Delivered through the records portal"
# Requests typed in from paper without an email address get an address here that never
# receives mail (see portal.requests.actions.enter_paper_request).
NO_EMAIL_DOMAIN = "no-email.invalid"
LETTER_TITLES = {
    "acknowledgement": "Acknowledgement of receipt",
    "could_not_verify": "Identity could not be verified",
    "extension": "Extension notice",
    "denial": "Denial letter",
    "review_decision": "Review decision",
    **outcomes.NOT_AVAILABLE_TITLES,
}


def letterhead() -> Letterhead:
    """The custodian's letterhead from configuration (refuses blanks, R-SEC-4)."""
    return letterhead_from_config(current_app.config)


def requester_display_name(req: RecordRequest) -> str:
    """Who the letters are addressed to: the requester, or the patient asking for themself."""
    return req.requester_name or f"{req.patient_first_name} {req.patient_last_name}"


def request_mailing_lines(req: RecordRequest) -> tuple[str, ...]:
    """The postal address the requester gave, one line each (empty when none was given)."""
    return mailing_lines(care_of=req.address_care_of, line1=req.address_line1,
                         line2=req.address_line2, city=req.address_city,
                         state=req.address_state, postal_code=req.address_postal_code,
                         country=req.address_country)


def addressee(req: RecordRequest) -> d.MailingAddress:
    """The requester's mailing block; without a postal address, the portal delivery note."""
    lines = request_mailing_lines(req)
    if not lines:
        lines = (PORTAL_DELIVERY,)
    return d.MailingAddress(name=requester_display_name(req), lines=lines)


def part_label(part: RequestPart) -> str:
    """A requested part in plain words."""
    return PART_LABELS.get(part.part, part.part)


def _base(req: RecordRequest, today: date) -> dict:
    return {"reference": req.reference, "generated_on": today, "to": addressee(req)}


def store_letter(session: Session, req: RecordRequest, subtype: str, pdf: bytes,
                 actor: Actor) -> StoredDocument:
    """Keep a rendered letter on the request (encrypted, audited as document.stored)."""
    return save_document(
        session, io.BytesIO(pdf), kind="letter", filename=f"{req.reference}-{subtype}.pdf",
        media_type="application/pdf", actor=actor, request_id=req.id, subtype=subtype,
    )


def has_email(req: RecordRequest) -> bool:
    """Whether the requester gave an email address that can receive mail."""
    return bool(req.contact_email) and not req.contact_email.endswith("@" + NO_EMAIL_DOMAIN)


#: The job that emails "there is an update" with a link that opens this one request. It runs
#: in portal.identity.operations, which issues the link's single-use token.
UPDATE_EMAIL_JOB = "requests.update_email"


def notify_requester(req: RecordRequest, *, reply_by: date | None = None,
                     dedupe_key: str | None = None) -> None:
    """Email "there is an update" with a link to it: no PHI, neutral sender (R-SEC-4).

    ``reply_by``: the update is a reminder that the request closes on that date unanswered.
    """
    if not has_email(req):
        return
    payload = {"request_id": req.id}
    if reply_by is not None:
        payload["reply_by"] = reply_by.isoformat()
    enqueue(get_session(), UPDATE_EMAIL_JOB, payload, request_id=req.id,
            dedupe_key=dedupe_key)


def delivery_words(req: RecordRequest) -> str:
    """How the records go, in plain words (English: the acknowledgement letter's wording)."""
    if req.recipient_type == "third_party":
        how = "by a download link that needs an access code" if req.delivery == "download" \
            else "as paper copies by mail"
        return f"To {req.recipient_name}, {how}"
    return "By secure download" if req.delivery == "download" else "As paper copies by mail"


def acknowledgement_pdf(req: RecordRequest) -> bytes:
    """Receipt of a request with its due dates (R-DL-1), for web and paper requests alike.

    An accounting request has only the federal clock (R-DL-4), so it names no California date.
    """
    letter = d.Acknowledgement(
        **_base(req, today_pacific()), received_on=req.received_on,
        requested=tuple(part_label(p) for p in req.parts), delivery=delivery_words(req),
        california_due_on=req.california_due_on,
        hipaa_due_on=req.hipaa_extended_due_on or req.hipaa_due_on,
        about_name=(f"{req.patient_first_name} {req.patient_last_name}"
                    if req.requester_type != "patient" else None),
    )
    return d.acknowledgement_pdf(letter, letterhead())


def acknowledgement_letter(session: Session, req: RecordRequest,
                           actor: Actor) -> StoredDocument:
    """Keep the receipt of a paper request on it; says nothing about any patient (R-ID-5)."""
    return store_letter(session, req, "acknowledgement", acknowledgement_pdf(req), actor)


def could_not_verify_letter(session: Session, req: RecordRequest, actor: Actor,
                            reason: str | None) -> StoredDocument:
    """The neutral letter: identity not verified, nothing said about records (R-ID-2, R-ID-5)."""
    today = today_pacific()
    pdf = d.could_not_verify_pdf(d.CouldNotVerify(**_base(req, today), reason=reason),
                                 letterhead())
    return store_letter(session, req, "could_not_verify", pdf, actor)


def extension_letter(session: Session, req: RecordRequest, actor: Actor,
                     reason: str) -> StoredDocument:
    """The written notice of the one HIPAA extension, with the reason and new date (R-DL-2)."""
    today = today_pacific()
    letter = d.ExtensionNotice(
        **_base(req, today), received_on=req.received_on, kind=req.kind,
        california_due_on=req.california_due_on,
        hipaa_due_on=req.hipaa_due_on, new_due_on=req.hipaa_extended_due_on,
        reasons=(reason,),
    )
    return store_letter(session, req, "extension", d.extension_notice_pdf(letter, letterhead()),
                        actor)


def denial_letter(session: Session, req: RecordRequest, denied: Sequence[RequestPart],
                  actor: Actor) -> StoredDocument:
    """A full or partial denial naming each ground and the review rights (R-DEN-2)."""
    today = today_pacific()
    released = tuple(part_label(p) for p in req.parts if p.outcome == "released")
    letter = d.DenialLetter(
        **_base(req, today),
        denied=tuple(d.DeniedPart(description=part_label(p), ground=p.denial_ground)
                     for p in denied),
        released=released,
    )
    return store_letter(session, req, "denial", d.denial_letter_pdf(letter, letterhead()), actor)


def review_decision_letter(session: Session, req: RecordRequest, part: RequestPart,
                           actor: Actor, release_by: date | None) -> StoredDocument:
    """The reviewer's decision on a clinical denial (R-DEN-3)."""
    today = today_pacific()
    upheld = part.review_result == "upheld"
    letter = d.ReviewDecision(
        **_base(req, today), reviewed_on=today,
        upheld=(d.DeniedPart(description=part_label(part), ground=part.denial_ground),)
        if upheld else (),
        reversed=() if upheld else (part_label(part),),
        release_by=None if upheld else release_by,
    )
    return store_letter(session, req, "review_decision",
                        d.review_decision_pdf(letter, letterhead()), actor)


def _other_custodian(text: str | None) -> d.OtherCustodian | None:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return None
    return d.OtherCustodian(name=lines[0], address_lines=tuple(lines[1:]))


def outcome_letter(session: Session, req: RecordRequest, kind: str,
                   parts: Sequence[RequestPart], actor: Actor) -> StoredDocument:
    """No records found, or destroyed in the fire or under retention (R-DEN-4)."""
    today = today_pacific()
    letter = d.OutcomeLetter(
        **_base(req, today), kind=kind, parts=tuple(part_label(p) for p in parts),
        destroyed_on=d.FACILITY_FIRE_DATE if kind == "destroyed_fire" else None,
        other_custodian=_other_custodian(parts[0].other_custodian),
    )
    return store_letter(session, req, kind, d.outcome_letter_pdf(letter, letterhead()), actor)


#: What each consent is called on the cover letter and in the packet's manifest (R-REL-5).
CONSENT_TITLES = {
    "general": "Consent to release records",
    "notes": "Separate consent for psychotherapy and counseling notes",
}
CONSENT_COPY_LABELS = {
    "general": "Copy of the signed consent",
    "notes": "Copy of the signed consent for psychotherapy and counseling notes",
}


def consents_relied_on(req: RecordRequest, released: Sequence[RequestPart]) -> list[Consent]:
    """Every consent the released parts rest on, in order: general, then notes (R-REL-5)."""
    if req.recipient_type != "third_party":
        return []
    scopes = consent_scopes_relied_on(
        other_parts=any(p.part not in NOTES_PARTS for p in released),
        notes_parts=any(p.part in NOTES_PARTS for p in released),
    )
    return [consent for consent in map(req.consent_for, scopes) if consent is not None]


def _postal_lines(organisation: str | None, address: str | None) -> tuple[str, ...]:
    """A recipient's organisation and the lines of their address, blanks left out."""
    return tuple(x for x in (organisation, *(address or "").splitlines()) if x and x.strip())


def _consent_recipient(consent: Consent) -> d.MailingAddress:
    return d.MailingAddress(
        name=consent.recipient_name,
        lines=_postal_lines(consent.recipient_organisation, consent.recipient_address) or ("-",),
    )


def cover_letter_pdf(req: RecordRequest, released: Sequence[RequestPart]) -> bytes:
    """The packet's cover letter: what is enclosed, the long 2.32 notice, each consent's scope."""
    today = today_pacific()
    consents = consents_relied_on(req, released)
    summaries = tuple(
        d.ConsentSummary(
            title=CONSENT_TITLES[consent.scope],
            signed_by=consent.signature_name, signed_on=pacific_date(consent.signed_at),
            recipient=", ".join(x for x in (consent.recipient_name,
                                            consent.recipient_organisation) if x),
            information=consent.information_description, purpose=consent.purpose,
            expires_on=consent.expires_on,
        )
        for consent in consents
    )
    to = addressee(req)
    if req.recipient_type == "third_party":
        lines = _postal_lines(req.recipient_organisation, req.recipient_address)
        name = req.recipient_name or (consents[0].recipient_name if consents else None)
        if name:
            to = d.MailingAddress(name=name, lines=lines or (PORTAL_DELIVERY,))
    letter = d.CoverLetter(
        reference=req.reference, generated_on=today, to=to,
        patient_name=f"{req.patient_first_name} {req.patient_last_name}",
        released=tuple(part_label(p) for p in released),
        third_party_consents=summaries, consent_copy_enclosed=bool(summaries),
        other_parts_answered_separately=any(p.outcome != "released" for p in req.parts),
    )
    return d.cover_letter_pdf(letter, letterhead())


def consent_copy_pdf(req: RecordRequest, consent: Consent, *, in_packet: bool = True) -> bytes:
    """A copy of one signed consent, exactly as signed (42 CFR 2.32(b), 164.508(c)(4)); on
    its own (``in_packet`` False, for the signer) it numbers its own pages."""
    form = d.ConsentForm(
        generated_on=today_pacific(), reference=req.reference,
        patient_name=consent.patient_name, patient_date_of_birth=req.patient_dob,
        patient_other_names=split_other_names(req.patient_other_names),
        information=consent.information_description,
        recipients=(_consent_recipient(consent),),
        purpose=consent.purpose, expires_on=consent.expires_on,
        signed_by=consent.signature_name, signed_on=pacific_date(consent.signed_at),
        signer_authority=req.authority_description if req.requester_type != "patient" else None,
        recipient_kind=consent.recipient_kind,
        use_limits_stated=consent.use_limits_stated,
        redisclosure_statement_included=consent.redisclosure_statement_included,
        in_packet=in_packet,
    )
    return d.consent_form_pdf(form, letterhead())


def consent_copies(req: RecordRequest,
                   released: Sequence[RequestPart]) -> list[tuple[str, bytes]]:
    """A copy of every consent the released parts rest on, labelled for the manifest."""
    return [(CONSENT_COPY_LABELS[consent.scope], consent_copy_pdf(req, consent))
            for consent in consents_relied_on(req, released)]
