"""What a clerk does to a request: claim, verify, locate, ask, extend, decide, attach, close.

Each action that moves a request goes through portal.requests.operations.transition (the only
code that changes a status); actions that change a request's data but not its status pass the
same lifecycle checks (portal.rules.lifecycle.IN_PLACE_ACTIONS) through ``_check_in_place`` and
bump the request's version, so two clerks acting at once cannot both win (HTTP 409 for the
second). Operations flush, never commit, and write their audit events with ids and codes only.
Refusals are TransitionRefused with plain-language problems, shown to the clerk as they are.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import BinaryIO

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal.accounts.models import Requester, StaffUser
from portal.accounts.permissions import (
    ASSIGN_REQUESTS,
    DECIDE_CLINICAL,
    REVIEW_CLINICAL,
    WORK_REQUESTS,
    permissions_for,
)
from portal.core.actor import Actor
from portal.core.db import utcnow
from portal.core.errors import Conflict
from portal.requests import letters
from portal.requests.location import latest_match_run, run_roster_match
from portal.requests.models import (
    LostEmailReport,
    Message,
    ProofingStep,
    RecordRequest,
    RequestPart,
    RosterMatch,
)
from portal.requests.operations import (
    NOTES_PARTS,
    ConsentInput,
    NewRequest,
    TransitionRefused,
    check_version,
    clock_settings,
    create_request,
    gather_facts,
    transition,
)
from portal.roster.models import RosterPatient
from portal.rules import lifecycle, outcomes
from portal.rules.consent import SETTLED_RECIPIENT_KINDS
from portal.rules.deadlines import check_extension, compute_clocks, pacific_moment, today_pacific
from portal.rules.notices import DENIAL_GROUNDS
from portal.storage.filestore import FileTooLarge
from portal.storage.models import StoredDocument
from portal.storage.operations import save_document
from portal.storage.uploads import UploadRejected, pdf_page_count, rebuilt, validate_record_pdf
from portal.trail.chain import append_event

# R-ID-2(b)/(d): what a clerk may rely on to decide who the requester is.
IDENTITY_EVIDENCE = {
    "photo_id": "Government photo ID compared with the typed details",
    "notarized_form": "Notarized request form",
    "phone_call": "Recorded phone call",
    "mail_in_signature": "Signed paper form received by mail",
    "more_information": "More information the requester sent when asked",
}
# R-ID-3: a representative's authority is a separate question from their identity.
AUTHORITY_EVIDENCE = {"authority_proof": "Proof of authority (court letters, POA, affidavit)"}
CONTACT_EVIDENCE = {"email_confirmed": "Email address confirmed (a contact check only)"}
EVIDENCE_LABELS = {**IDENTITY_EVIDENCE, **AUTHORITY_EVIDENCE, **CONTACT_EVIDENCE}
# R-ID-5: the could-not-verify letter may give only a neutral reason.
COULD_NOT_VERIFY_REASONS = {
    "": None,
    "id_unreadable": "The copy of the photo ID we received could not be read.",
    "id_mismatch": "The details on the photo ID did not match the details in the request.",
    "no_answer": "We did not receive the information we asked for.",
    "authority_missing": "We did not receive proof of the authority to act for the patient.",
}
INFORMATION_REASONS = {
    "id_unreadable": "Photo ID unreadable",
    "id_mismatch": "Photo ID does not match the details",
    "authority_proof": "Proof of authority missing or unclear",
    "consent_incomplete": "Consent incomplete or unclear",
    "details_unclear": "Details of the request unclear",
    "other": "Other",
}
# The notes ground applies to psychotherapy and SUD counseling notes only (R-REL-4, R-DEN-1).
NOTES_ONLY_GROUNDS = frozenset({"psychotherapy_notes"})


def _refuse(*problems: str) -> TransitionRefused:
    return TransitionRefused(list(problems))


def _check_in_place(session: Session, req: RecordRequest, action: str, actor: Actor,
                    expected_version: int | None) -> None:
    """The lifecycle's checks for an action that keeps the status (who, when, preconditions)."""
    check_version(req, expected_version)
    facts = gather_facts(session, req, today_pacific())
    problems = lifecycle.transition_problems(action, facts, actor.kind, actor.permissions)
    if problems:
        raise TransitionRefused(problems)


def _touch(req: RecordRequest) -> None:
    # Writing the row bumps its version, so a concurrent action on stale data gets a 409.
    req.updated_at = utcnow()


def _audit(session: Session, action: str, req: RecordRequest, actor: Actor, *,
           deferred: bool = False, **summary) -> None:
    append_event(session, action, actor=actor, object_type="request", object_id=req.id,
                 request_id=req.id, summary=summary, deferred=deferred)


def _check_open(req: RecordRequest) -> None:
    if not req.is_open:
        label = lifecycle.STAFF_STATUS_LABELS.get(req.status, req.status)
        raise _refuse(f"This request is closed ('{label}').")


# --- Views (R-AUD-2: every view of PHI is audited) --------------------------------------


def view_request(session: Session, req: RecordRequest, actor: Actor, *,
                 section: str = "page") -> None:
    """Audit that a member of staff opened the request."""
    _audit(session, "request.viewed", req, actor, section=section, deferred=True)


def record_document_access(session: Session, req: RecordRequest, document: StoredDocument,
                           actor: Actor, action: str, **summary) -> None:
    """Audit a preview or a download of a stored document (R-SEC-2)."""
    append_event(session, action, actor=actor, object_type="document", object_id=document.id,
                 request_id=req.id, summary={"kind": document.kind, **summary})


def record_refusal(session: Session, req: RecordRequest, actor: Actor, section: str) -> None:
    """Keep a trace of an action the guard rails refused (for the auditor)."""
    _audit(session, "request.action_refused", req, actor, refused=section)


def display_filename(name: str | None) -> str:
    """A safe base name for an uploaded file (no paths, no odd characters)."""
    from portal.storage.uploads import safe_filename

    return safe_filename(name, fallback="record.pdf")


def rematch(session: Session, req: RecordRequest, actor: Actor, *,
            expected_version: int | None) -> list[RosterMatch]:
    """Run the roster match again for a request that is still open."""
    check_version(req, expected_version)
    _check_open(req)
    return run_roster_match(session, req.id, actor)


# --- Assignment -------------------------------------------------------------------------


def claim_request(session: Session, req: RecordRequest, actor: Actor, *,
                  expected_version: int | None) -> RecordRequest:
    """Take an open request for yourself; someone else's request only a supervisor may take."""
    check_version(req, expected_version)
    _check_open(req)
    if req.assignee_id not in (None, actor.id) and not actor.can(ASSIGN_REQUESTS):
        raise _refuse("Someone else is working on this request. A supervisor can reassign it.")
    before = req.assignee_id
    req.assignee_id = actor.id
    _touch(req)
    session.flush()
    _audit(session, "request.assigned", req, actor, **{"from": before, "to": actor.id})
    return req


def assignable_staff(session: Session) -> list[StaffUser]:
    """Active staff who work requests, by name (the supervisor's assign list)."""
    people = session.scalars(
        select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.display_name)
    )
    return [p for p in people
            if WORK_REQUESTS in permissions_for(p.role_names, p.is_licensed_reviewer)]


def assign_request(session: Session, req: RecordRequest, actor: Actor, staff_id: int | None, *,
                   expected_version: int | None) -> RecordRequest:
    """A supervisor gives a request to a clerk (or back to the pool with ``None``)."""
    check_version(req, expected_version)
    _check_open(req)
    if not actor.can(ASSIGN_REQUESTS):
        raise _refuse("Only a supervisor can assign requests to others.")
    if staff_id is not None and staff_id not in {s.id for s in assignable_staff(session)}:
        raise _refuse("That person is not an active member of staff who works requests.")
    before = req.assignee_id
    req.assignee_id = staff_id
    _touch(req)
    session.flush()
    _audit(session, "request.assigned", req, actor, **{"from": before, "to": staff_id})
    return req


def assign_requests(session: Session, actor: Actor, staff_id: int | None,
                    chosen: Sequence[tuple[int, int]]) -> list[RecordRequest]:
    """A supervisor assigns several requests at once, each at the version they saw.

    All or nothing, in one transaction: when any of them changed meanwhile (Conflict) or may
    not be assigned (TransitionRefused), none is. Each assignment has its own audit event.
    """
    found = []
    for request_id, version in chosen:
        req = session.get(RecordRequest, request_id)
        if req is None:
            raise _refuse("One of the chosen requests no longer exists.")
        found.append((req, version))
    changed = [req.reference for req, version in found if req.version != version]
    if changed:
        raise Conflict(", ".join(changed))
    return [assign_request(session, req, actor, staff_id, expected_version=version)
            for req, version in found]


# --- Identity (R-ID-1, R-ID-2, R-ID-3) ---------------------------------------------------


def accept_without_email(session: Session, req: RecordRequest, actor: Actor, *,
                         expected_version: int | None, reason: str) -> RecordRequest:
    """Start identity review of a request whose email was not confirmed (paper, phone)."""
    return transition(session, req, "accept_without_email", actor,
                      expected_version=expected_version, summary={"reason": reason})


def verify_requester(session: Session, req: RecordRequest, actor: Actor, *,
                     evidence: Sequence[str], note: str | None,
                     expected_version: int | None) -> RecordRequest:
    """Record that the requester is who they say, with the evidence used and who decided."""
    check_version(req, expected_version)
    unknown = [e for e in evidence if e not in EVIDENCE_LABELS]
    if unknown:
        raise _refuse("Unknown kind of evidence.")
    # R-ID-2(a): confirming an email address shows control of it, not who someone is.
    if not any(e in IDENTITY_EVIDENCE for e in evidence):
        raise _refuse("Choose the evidence of identity you relied on. A confirmed email "
                      "address alone does not show who the requester is.")
    # R-ID-3: a representative acts only within an authority someone has checked.
    if req.requester_type != "patient" and "authority_proof" not in evidence:
        raise _refuse("This requester acts for the patient: check their proof of authority "
                      "and tick it before verifying.")
    now = utcnow()
    for kind in evidence:
        session.add(ProofingStep(request_id=req.id, question="requester", evidence=kind,
                                 result="accepted", note=note or None, decided_by_id=actor.id,
                                 decided_at=now))
    req.verified_at = now
    req.verified_by_id = actor.id
    return transition(session, req, "verify_requester", actor, expected_version=expected_version,
                      summary={"evidence": sorted(evidence)})


def could_not_verify(session: Session, req: RecordRequest, actor: Actor, *, reason: str,
                     expected_version: int | None) -> StoredDocument:
    """Close a request whose requester could not be verified; send the neutral letter."""
    if reason not in COULD_NOT_VERIFY_REASONS:
        raise _refuse("Choose one of the listed reasons.")
    session.add(ProofingStep(request_id=req.id, question="requester", evidence="clerk_override",
                             result="rejected", note=reason or None, decided_by_id=actor.id))
    transition(session, req, "could_not_verify", actor, expected_version=expected_version,
               summary={"reason": reason or None})
    letter = letters.could_not_verify_letter(session, req, actor,
                                             COULD_NOT_VERIFY_REASONS[reason])
    letters.notify_requester(req)
    return letter


def locate_patient(session: Session, req: RecordRequest, actor: Actor, *,
                   patient_id: int | None, note: str | None,
                   expected_version: int | None) -> RecordRequest:
    """Say which roster patient the request is about, or record that none exists (R-ID-2(c))."""
    check_version(req, expected_version)
    summary: dict = {"patient_id": patient_id}
    if patient_id is not None:
        if session.get(RosterPatient, patient_id) is None:
            raise _refuse("That roster patient does not exist.")
        match = session.scalar(select(RosterMatch).where(
            RosterMatch.request_id == req.id, RosterMatch.patient_id == patient_id))
        summary.update(rank=match.rank if match else None,
                       decision=match.decision if match else "manual")
    # R-ID-2(c): the ranking relied on (the latest run) is named by the proofing record.
    run = latest_match_run(session, req.id)
    summary["run_id"] = run.id if run else None
    now = utcnow()
    session.add(ProofingStep(
        request_id=req.id, question="patient",
        evidence="roster_match" if patient_id is not None else "no_roster_match",
        result="accepted" if patient_id is not None else "recorded", note=note or None,
        decided_by_id=actor.id, decided_at=now, match_run_id=run.id if run else None,
    ))
    req.patient_id = patient_id
    req.located_at = now
    req.located_by_id = actor.id
    return transition(session, req, "locate_patient", actor, expected_version=expected_version,
                      summary=summary)


# --- Messages and waiting (R-DL-3) ------------------------------------------------------


def request_information(session: Session, req: RecordRequest, actor: Actor, *, reason: str,
                        message: str, expected_version: int | None) -> Message:
    """Ask the requester for more; the request waits, the clocks keep running (R-DL-3)."""
    if reason not in INFORMATION_REASONS:
        raise _refuse("Choose why the request has to wait.")
    check_version(req, expected_version)
    req.waiting_reason = reason
    transition(session, req, "request_information", actor, expected_version=expected_version,
               summary={"reason": reason})
    sent = _staff_message(session, req, actor, message, internal=False)
    letters.notify_requester(req)
    return sent


def record_answer(session: Session, req: RecordRequest, actor: Actor, *, note: str,
                  expected_version: int | None) -> Message:
    """Record an answer that came by phone or post, and put the request back to work."""
    check_version(req, expected_version)
    transition(session, req, "requester_answered", actor, expected_version=expected_version,
               summary={"via": "staff"})
    return _staff_message(session, req, actor, note, internal=True)


REOPEN_REASONS = {
    "complaint": "The requester complained or asked us to look again",
    "missed_part": "A requested part was missed or needs another look",
    "error": "A mistake in how the request was handled",
    "records_found": "Records thought lost were found",
    "other": "Other",
}


def reopen_request(session: Session, req: RecordRequest, actor: Actor, *, reason: str,
                   note: str | None, expected_version: int | None) -> RecordRequest:
    """A supervisor reopens an ended request for review, with a reason (audited as a code; the
    note, which may name people, is an internal note the requester never sees)."""
    if reason not in REOPEN_REASONS:
        raise _refuse("Choose why the request is reopened.")
    transition(session, req, "reopen", actor, expected_version=expected_version,
               summary={"reason": reason})
    if note:
        _staff_message(session, req, actor, f"Reopened: {REOPEN_REASONS[reason]}. {note}",
                       internal=True)
    return req


def send_message(session: Session, req: RecordRequest, actor: Actor, *, body: str) -> Message:
    """A message to the requester (they are emailed that there is an update)."""
    sent = _posted_message(session, req, actor, body, internal=False)
    letters.notify_requester(req)
    return sent


def add_note(session: Session, req: RecordRequest, actor: Actor, *, body: str) -> Message:
    """An internal note the requester never sees."""
    return _posted_message(session, req, actor, body, internal=True)


def _staff_message(session: Session, req: RecordRequest, actor: Actor, body: str, *,
                   internal: bool) -> Message:
    message = Message(request_id=req.id, author_type="staff", staff_id=actor.id,
                      internal=internal, body=body)
    session.add(message)
    session.flush()
    return message


def _posted_message(session: Session, req: RecordRequest, actor: Actor, body: str, *,
                    internal: bool) -> Message:
    # On its own a message needs its own event; one sent with a transition is covered by that.
    message = _staff_message(session, req, actor, body, internal=internal)
    append_event(session, "message.sent", actor=actor, object_type="message",
                 object_id=message.id, request_id=req.id, summary={"internal": internal})
    return message


# --- Deadlines (R-DL-2) -----------------------------------------------------------------


def extend_deadline(session: Session, req: RecordRequest, actor: Actor, *, new_due_on: date,
                    reason: str, expected_version: int | None) -> StoredDocument:
    """Grant HIPAA's one extension: new date, reason, and the written notice (R-DL-2)."""
    _check_in_place(session, req, "extend", actor, expected_version)
    settings = clock_settings()
    clocks = compute_clocks(req.kind, req.received_on, req.hipaa_extended_due_on, **settings)
    problems = check_extension(clocks, new_due_on, today_pacific(),
                               already_extended=req.hipaa_extended_due_on is not None)
    if problems:
        raise TransitionRefused(problems)
    extended = compute_clocks(req.kind, req.received_on, new_due_on, **settings)
    req.hipaa_extended_due_on = new_due_on
    req.working_due_on = extended.working_due  # moves only for accountings (R-DL-4)
    req.extension_reason = reason
    req.extended_at = utcnow()
    _touch(req)
    session.flush()
    _audit(session, "request.extended", req, actor, new_due_on=new_due_on.isoformat())
    letter = letters.extension_letter(session, req, actor, reason)
    letters.notify_requester(req)
    return letter


# --- The kind of recipient (R-REL-2) ----------------------------------------------------


def settle_recipient_kind(session: Session, req: RecordRequest, actor: Actor, *, kind: str,
                          expected_version: int | None) -> None:
    """Record what kind of recipient a requester who was "not sure" is sending records to.

    The clerk's decision applies to every consent on the request (they name one recipient);
    whether the consent as signed then suffices is the consent rule's to say: a doctor, clinic
    or health plan needs the 2.31(a)(4)(iii) statement the requester was not shown.
    """
    _check_in_place(session, req, "settle_recipient_kind", actor, expected_version)
    if kind not in SETTLED_RECIPIENT_KINDS:
        raise _refuse("Choose what kind of recipient this is.")
    if req.recipient_type != "third_party" or not req.consents:
        raise _refuse("This request has no consent to a third party.")
    for consent in req.consents:
        consent.recipient_kind_settled = kind
    _touch(req)
    session.flush()
    _audit(session, "consent.recipient_kind_settled", req, actor, kind=kind,
           consents=[c.id for c in req.consents])


def reissue_shared_link(session: Session, req: RecordRequest, actor: Actor, *,
                        expected_version: int | None) -> None:
    """Send the third party a new link after theirs locked on wrong access codes."""
    from portal.requests import grants

    _check_in_place(session, req, "reissue_shared_link", actor, expected_version)
    try:
        grants.reissue_shared_link(session, req, actor)
    except grants.GrantUnavailable as exc:
        raise _refuse(exc.message) from None
    _touch(req)
    session.flush()


# --- Outcomes per part (R-DEN-1..4) -----------------------------------------------------


def _parts(req: RecordRequest, part_ids: Sequence[int]) -> list[RequestPart]:
    wanted = set(part_ids)
    parts = [p for p in req.parts if p.id in wanted]
    if not parts or len(parts) != len(wanted):
        raise _refuse("Choose at least one requested part of this request.")
    return parts


def _start_fulfilment_if_needed(session: Session, req: RecordRequest, actor: Actor) -> None:
    if req.status == lifecycle.PATIENT_LOCATED:
        transition(session, req, "start_fulfilment", actor)


def record_outcome(session: Session, req: RecordRequest, actor: Actor, *,
                   part_ids: Sequence[int], outcome: str, ground: str | None = None,
                   note: str | None = None, other_custodian: str | None = None,
                   expected_version: int | None) -> StoredDocument | None:
    """Decide requested parts: release, deny on a ground, or no/destroyed records.

    A denial or a no-records outcome produces its letter at once; released parts go out with
    the packet. Returns the letter, if one was produced.
    """
    _check_in_place(session, req, "record_outcome", actor, expected_version)
    parts = _parts(req, part_ids)
    if outcome not in outcomes.DECIDABLE:
        raise _refuse("Choose an outcome.")
    decided = [p for p in parts if p.outcome not in (None, "released")]
    if decided:
        raise _refuse("These parts already have an outcome: "
                      + ", ".join(letters.part_label(p) for p in decided) + ".")
    if outcome == "released" and req.patient_id is None:
        raise _refuse("No roster patient was located for this request, so there are no "
                      "records to release.")
    if outcome == "denied":
        basis = DENIAL_GROUNDS.get(ground or "")
        if basis is None:
            raise _refuse("Choose the ground for the denial.")
        # R-DEN-3: (a)(3) grounds rest on a licensed professional's determination.
        if basis.reviewable and not (actor.can(DECIDE_CLINICAL) and actor.is_licensed_reviewer):
            raise _refuse("Only a licensed reviewer can deny on this ground.")
        if ground in NOTES_ONLY_GROUNDS and any(p.part not in NOTES_PARTS for p in parts):
            raise _refuse("This ground applies only to psychotherapy or counseling notes.")
    if outcome == "released":
        _start_fulfilment_if_needed(session, req, actor)
    now = utcnow()
    for part in parts:
        part.outcome = outcome
        part.denial_ground = ground if outcome == "denied" else None
        part.outcome_note = note or None
        part.other_custodian = ((other_custodian or None) if outcome in outcomes.NOT_AVAILABLE
                                else None)
        part.decided_by_id = actor.id
        part.decided_at = now
    _touch(req)
    session.flush()
    _audit(session, "request.outcome_recorded", req, actor, outcome=outcome, ground=ground,
           parts=sorted(p.id for p in parts))
    letter = None
    if outcome == "denied":
        letter = letters.denial_letter(session, req, parts, actor)
    elif outcome != "released":
        letter = letters.outcome_letter(session, req, outcome, parts, actor)
    if letter is not None:
        letters.notify_requester(req)
    return letter


def licensed_reviewers(session: Session, *, excluding: int | None,
                       among: list[StaffUser] | None = None) -> list[StaffUser]:
    """Active licensed reviewers other than ``excluding`` (the person who decided);
    ``among`` is ``assignable_staff`` when the caller has already read it."""
    return [s for s in (among if among is not None else assignable_staff(session))
            if s.is_licensed_reviewer and s.id != excluding]


def route_review(session: Session, req: RecordRequest, actor: Actor, *, part_id: int,
                 reviewer_id: int, expected_version: int | None) -> RequestPart:
    """Send a clinical denial to a different licensed reviewer (R-DEN-3)."""
    _check_in_place(session, req, "route_review", actor, expected_version)
    (part,) = _parts(req, [part_id])
    basis = DENIAL_GROUNDS.get(part.denial_ground or "")
    if part.outcome != "denied" or basis is None or not basis.reviewable:
        raise _refuse("Only a denial on a clinical ground can be reviewed.")
    if reviewer_id == part.decided_by_id:
        raise _refuse("The review must be done by a licensed reviewer who did not make the "
                      "decision.")
    if reviewer_id not in {s.id for s in licensed_reviewers(session, excluding=None)}:
        raise _refuse("Choose an active licensed reviewer.")
    part.outcome = "under_review"
    part.reviewer_id = reviewer_id
    part.review_requested_at = utcnow()
    part.review_result = None
    _touch(req)
    session.flush()
    _audit(session, "request.review_routed", req, actor, part=part.id, reviewer=reviewer_id)
    return part


def decide_review(session: Session, req: RecordRequest, actor: Actor, *, part_id: int,
                  result: str, release_by: date | None,
                  expected_version: int | None) -> StoredDocument:
    """The designated reviewer upholds or reverses a clinical denial (R-DEN-3)."""
    _check_in_place(session, req, "decide_review", actor, expected_version)
    (part,) = _parts(req, [part_id])
    if part.outcome != "under_review":
        raise _refuse("This part is not waiting for a review.")
    if not (actor.can(REVIEW_CLINICAL) and actor.is_licensed_reviewer):
        raise _refuse("Only a licensed reviewer can review a denial.")
    if actor.id == part.decided_by_id:
        raise _refuse("You made this decision, so you cannot review it. A different licensed "
                      "reviewer must do the review.")
    if actor.id != part.reviewer_id:
        raise _refuse("This review was sent to another reviewer.")
    if result not in ("upheld", "reversed"):
        raise _refuse("Choose whether the denial is upheld or reversed.")
    if result == "reversed" and req.status == lifecycle.RELEASED:
        transition(session, req, "resume_fulfilment", actor)
    part.review_result = result
    part.reviewed_at = utcnow()
    part.outcome = "denied" if result == "upheld" else "released"
    _touch(req)
    session.flush()
    _audit(session, "request.review_decided", req, actor, part=part.id, result=result)
    release_by = release_by or max(today_pacific(), req.hipaa_extended_due_on or req.hipaa_due_on)
    letter = letters.review_decision_letter(session, req, part, actor, release_by)
    letters.notify_requester(req)
    return letter


# --- Records ----------------------------------------------------------------------------


class RecordRefused(TransitionRefused):
    """An uploaded record file cannot be used; the problems name the file."""


def attach_record(session: Session, req: RecordRequest, actor: Actor, *, part_id: int,
                  stream: BinaryIO, filename: str,
                  expected_version: int | None) -> StoredDocument:
    """Store a scanned record PDF for a part, refused at upload if it would break a release."""
    _check_in_place(session, req, "attach_records", actor, expected_version)
    (part,) = _parts(req, [part_id])
    if part.outcome not in (None, "released"):
        raise _refuse(f"{letters.part_label(part)} is not being released, so it needs no "
                      "records.")
    problems = validate_record_pdf(stream, filename)
    if problems:
        raise RecordRefused(problems)
    limit = int(current_app.config["RECORD_UPLOAD_MAX_BYTES"])
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise RecordRefused([f"{filename} is larger than {limit // (1024 * 1024)} MB. Split "
                             "it into smaller files and upload each."])
    # Kept as scanned, but inert: annotations drawn in, nothing active, images re-encoded.
    try:
        stream = io.BytesIO(rebuilt(data, "application/pdf", filename, from_outside=False,
                                    for_release=True))
    except UploadRejected as exc:
        raise RecordRefused([exc.message]) from None
    page_count = pdf_page_count(stream.getvalue())
    try:
        document = save_document(
            session, stream, kind="record", filename=filename, media_type="application/pdf",
            actor=actor, max_bytes=limit, request_id=req.id, part_id=part.id, subtype=part.part,
            original=data,
        )
    except FileTooLarge:
        raise RecordRefused([f"{filename} is larger than {limit // (1024 * 1024)} MB. Split "
                             "it into smaller files and upload each."]) from None
    document.page_count = page_count
    _start_fulfilment_if_needed(session, req, actor)
    _touch(req)
    session.flush()
    _audit(session, "request.records_attached", req, actor, part=part.id, document=document.id,
           pages=page_count)
    return document


def remove_record(session: Session, req: RecordRequest, actor: Actor, *, document_id: int,
                  expected_version: int | None) -> None:
    """Take a wrongly attached record off a part before release (the file itself is kept)."""
    _check_in_place(session, req, "attach_records", actor, expected_version)
    document = session.get(StoredDocument, document_id)
    if document is None or document.request_id != req.id or document.kind != "record":
        raise _refuse("That record is not attached to this request.")
    document.kind = "record_removed"
    _touch(req)
    session.flush()
    _audit(session, "request.record_removed", req, actor, document=document.id)


def close_request(session: Session, req: RecordRequest, actor: Actor, *,
                  expected_version: int | None) -> RecordRequest:
    """Close a request once every requested part has its outcome."""
    return transition(session, req, "close", actor, expected_version=expected_version)


# --- Paper and phone requests (R-ID-1: always a mail-in path) ----------------------------


@dataclass
class PaperScan:
    """The scanned signed form (the request's evidence)."""

    stream: BinaryIO
    filename: str
    media_type: str
    original: bytes | None = None  # as received, kept as evidence


def received_moment(received_on: date) -> datetime:
    """Noon in Los Angeles on the day the paper arrived: its receipt date (R-DL-1)."""
    return pacific_moment(received_on, time(12))


def enter_paper_request(session: Session, data: NewRequest, actor: Actor, *,
                        received_on: date, scan: PaperScan,
                        consents: Sequence[ConsentInput] = ()) -> RecordRequest:
    """Type in a request that came by mail or phone, with the date it actually arrived.

    The clocks start on that date (R-DL-1); the scanned form is stored as the request's
    evidence; the email check is waived for a request that did not come through the web.
    """
    email = data.contact_email.strip().lower()
    requester = session.scalar(select(Requester).where(Requester.email == email))
    if requester is None:
        requester = Requester(email=email)
        session.add(requester)
        session.flush()
    data.contact_email = email
    data.consents = list(consents)
    req = create_request(session, data, requester_id=requester.id, actor=actor,
                         received_at=received_moment(received_on))
    limit = int(current_app.config["PAPER_FORM_MAX_BYTES"])
    try:
        save_document(session, scan.stream, kind="mail_in_form", filename=scan.filename,
                      media_type=scan.media_type, actor=actor, max_bytes=limit,
                      request_id=req.id, original=scan.original)
    except FileTooLarge:
        raise RecordRefused([f"{scan.filename} is larger than {limit // (1024 * 1024)} MB."]) \
            from None
    session.add(ProofingStep(request_id=req.id, question="requester",
                             evidence="mail_in_signature", result="recorded",
                             decided_by_id=actor.id))
    accept_without_email(session, req, actor, expected_version=None,
                         reason=data.received_via)
    letters.acknowledgement_letter(session, req, actor)
    return req


# --- Lost-email reports (issue 5: a new way in, through the clerk, recorded) --------------


def open_lost_email_reports(session: Session, actor: Actor, *,
                            limit: int = 200) -> list[LostEmailReport]:
    """Reports not yet handled, newest first; the view is audited by report id (R-AUD-2)."""
    reports = list(session.scalars(
        select(LostEmailReport).where(LostEmailReport.handled_at.is_(None))
        .order_by(LostEmailReport.created_at.desc(), LostEmailReport.id.desc()).limit(limit)))
    append_event(session, "lost_email_report.listed", actor=actor,
                 object_type="lost_email_report",
                 summary={"rows": len(reports), "report_ids": [r.id for r in reports]})
    return reports


def count_open_lost_email_reports(session: Session) -> int:
    """How many reports wait for a clerk (shown on the queue page)."""
    return session.scalar(select(func.count(LostEmailReport.id))
                          .where(LostEmailReport.handled_at.is_(None))) or 0


def mark_lost_email_handled(session: Session, report: LostEmailReport, actor: Actor, *,
                            note: str) -> None:
    """Close a report with what the clerk did; a matched request gets the note on its file.

    The update is conditional on the report still being open, so of two clerks acting at once
    only one records it; the other is told it was already handled.
    """
    done = session.execute(
        update(LostEmailReport)
        .where(LostEmailReport.id == report.id, LostEmailReport.handled_at.is_(None))
        .values(handled_at=utcnow(), handled_by_id=actor.id, handled_note=note)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise TransitionRefused(["Someone else already marked this report handled."])
    session.refresh(report)
    if report.request_id is not None:
        session.add(Message(request_id=report.request_id, author_type="staff",
                            staff_id=actor.id, internal=True,
                            body=f"Lost-email report #{report.id} handled: {note}"))
        session.flush()
    append_event(session, "lost_email_report.handled", actor=actor,
                 object_type="lost_email_report", object_id=report.id,
                 request_id=report.request_id,
                 summary={"matched": report.request_id is not None})
