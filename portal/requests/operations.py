"""Operations on record requests: create one, and move it through the lifecycle.

Operations flush but never commit (the request or CLI command owns the transaction) and each
writes its audit event. ``transition`` is the only code that changes a request's status.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from flask import current_app
from sqlalchemy.orm import Session

from portal.core.actor import Actor
from portal.core.errors import Conflict
from portal.jobs.outbox import JobContext, handler
from portal.requests.models import Consent, RecordRequest, RequestPart
from portal.rules import N_, lifecycle, outcomes
from portal.rules.consent import ConsentTerms, consent_problems, notes_release_problems
from portal.rules.deadlines import compute_clocks, today_pacific
from portal.trail.chain import append_event

NOTES_PARTS = frozenset({"psychotherapy_notes", "counseling_notes"})
PART_LABELS = {
    "complete": N_("Complete record (excluding psychotherapy and counseling notes)"),
    "discharge_summary": N_("Discharge summary"),
    "assessments": N_("Assessments and history"),
    "treatment_plans": N_("Treatment plans and progress notes"),
    "medications": N_("Medication records"),
    "labs": N_("Lab results"),
    "billing": N_("Billing statement"),
    "psychotherapy_notes": N_("Psychotherapy notes"),
    "counseling_notes": N_("SUD counseling notes"),
    "accounting": N_("Accounting of disclosures"),
}


class TransitionRefused(Exception):
    """A lifecycle action is not allowed now; ``problems`` says why in plain words."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def normalize_for_search(*names: str | None) -> str:
    """Lower-case, accent-free names joined by spaces, for the clerk's search."""
    text = " ".join(n for n in names if n)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().replace("-", " ").split())


def clock_settings() -> dict:
    """The configured day counts for the deadline calendar (R-DL-1..4)."""
    config = current_app.config
    return {
        "ca_copy_days": config["CA_COPY_DAYS"],
        "ca_inspection_working_days": config["CA_INSPECTION_WORKING_DAYS"],
        "hipaa_days": config["HIPAA_DAYS"],
        "accounting_days": config["ACCOUNTING_DAYS"],
    }


@dataclass
class ConsentInput:
    """A consent as signed in the wizard or on paper (R-REL-2)."""

    scope: str  # general | notes
    information_description: str
    recipient_name: str
    recipient_organisation: str | None
    recipient_address: str | None
    purpose: str
    expires_on: date
    signature_name: str
    signed_at: datetime
    signed_ip: str | None = None
    signed_user_agent: str | None = None
    statements_acknowledged: bool = True
    # R-REL-2: the kind of recipient chosen, and what the signed form stated for it.
    recipient_kind: str | None = None
    use_limits_stated: bool = False
    redisclosure_statement_included: bool = False


@dataclass
class NewRequest:
    """Everything a requester submits (from the wizard, or typed by a clerk from paper)."""

    kind: str
    requester_type: str
    patient_first_name: str
    patient_last_name: str
    patient_dob: date
    contact_email: str
    recipient_type: str
    delivery: str
    parts: list[str]
    received_via: str = "web"
    requester_name: str | None = None
    authority_description: str | None = None
    patient_other_names: str | None = None
    patient_ssn_last4: str | None = None
    contact_phone: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    address_city: str | None = None
    address_state: str | None = None
    address_postal_code: str | None = None
    address_care_of: str | None = None
    address_country: str | None = None
    stay_from: date | None = None
    stay_to: date | None = None
    program: str | None = None
    records_from: date | None = None
    records_to: date | None = None
    purpose: str | None = None
    purpose_detail: str | None = None
    fee_estimate_cents: int = 0
    fee_waived: bool = False
    recipient_name: str | None = None
    recipient_organisation: str | None = None
    recipient_address: str | None = None
    recipient_email: str | None = None
    access_code_hash: str | None = None
    signature_name: str | None = None
    signed_at: datetime | None = None
    signed_ip: str | None = None
    signed_user_agent: str | None = None
    consents: list[ConsentInput] = field(default_factory=list)


def create_request(
    session: Session, data: NewRequest, *, requester_id: int, actor: Actor,
    received_at: datetime | None = None,
) -> RecordRequest:
    """Record a submitted request; both clocks start at receipt (R-DL-1, R-DL-3)."""
    received_at = received_at or datetime.now(UTC)
    clocks = compute_clocks(data.kind, received_at, **clock_settings())
    fields = {k: v for k, v in vars(data).items() if k not in ("parts", "consents")}
    req = RecordRequest(
        reference=f"P-{secrets.token_hex(8)}",  # replaced once the id is known
        status=lifecycle.SUBMITTED,
        requester_id=requester_id,
        received_at=received_at,
        received_on=clocks.received,
        california_due_on=clocks.california_due,
        hipaa_due_on=clocks.hipaa_due,
        working_due_on=clocks.working_due,
        search_names=normalize_for_search(
            data.patient_first_name, data.patient_last_name, data.patient_other_names
        ),
        **fields,
    )
    parts = ["accounting"] if data.kind == "accounting" else data.parts
    req.parts = [RequestPart(part=p) for p in parts]
    program_name = current_app.config["PROGRAM_NAME"]
    req.consents = [
        Consent(
            patient_name=f"{data.patient_first_name} {data.patient_last_name}",
            disclosing_program=program_name,
            **vars(c),
        )
        for c in data.consents
    ]
    session.add(req)
    session.flush()
    # The id makes the reference unique without a race; the year helps people read it.
    req.reference = f"CPP-{clocks.received.year}-{req.id:05d}"
    session.flush()
    append_event(
        session, "request.submitted", actor=actor, object_type="request", object_id=req.id,
        request_id=req.id,
        summary={"kind": data.kind, "via": data.received_via, "parts": len(parts),
                 "requester_type": data.requester_type, "recipient_type": data.recipient_type},
    )
    return req


def consent_terms(consent: Consent) -> ConsentTerms:
    """The plain-value view of a stored consent for the validity rules."""
    return ConsentTerms(
        patient_name=consent.patient_name,
        disclosing_program=consent.disclosing_program,
        information_description=consent.information_description,
        recipient_name=consent.recipient_name,
        recipient_organisation=consent.recipient_organisation or "",
        recipient_address=consent.recipient_address or "",
        purpose=consent.purpose,
        expires_on=consent.expires_on,
        signature_name=consent.signature_name,
        signed_at=consent.signed_at,
        includes_notes=consent.scope == "notes",
        revoked_at=consent.revoked_at,
        known_false=consent.known_false,
        statements_acknowledged=consent.statements_acknowledged,
        recipient_kind=consent.effective_recipient_kind,
        use_limits_stated=consent.use_limits_stated,
        redisclosure_statement_included=consent.redisclosure_statement_included,
    )


def gather_facts(session: Session, req: RecordRequest, today: date) -> lifecycle.RequestFacts:
    """Collect what the lifecycle preconditions need from the stored request."""
    from sqlalchemy import func, select

    from portal.storage.models import StoredDocument

    max_months = current_app.config["CONSENT_MAX_MONTHS"]
    general = req.consent_for("general")
    notes = req.consent_for("notes")
    third_party = req.recipient_type == "third_party"
    consent_issues: list[str] = []
    if third_party:
        consent_issues = (
            consent_problems(consent_terms(general), today, max_months=max_months)
            if general else ["No signed consent is on file."]
        )
    notes_requested = any(p.part in NOTES_PARTS and p.outcome == "released" for p in req.parts)
    notes_issues: list[str] = []
    if third_party and notes_requested:
        notes_issues = notes_release_problems(
            consent_terms(general) if general else None,
            consent_terms(notes) if notes else None,
            today,
            max_months=max_months,
        )
    to_release = [p for p in req.parts if p.outcome == "released"]
    with_records = 0
    if to_release:
        attached = set(
            session.scalars(
                select(StoredDocument.part_id)
                .where(StoredDocument.request_id == req.id, StoredDocument.kind == "record")
                .group_by(StoredDocument.part_id)
                .having(func.count() > 0)
            )
        )
        with_records = sum(1 for p in to_release if p.id in attached)
    return lifecycle.RequestFacts(
        status=req.status,
        requester_verified=req.verified_at is not None,
        patient_located=req.located_at is not None,
        recipient_is_third_party=third_party,
        consent_problems=tuple(consent_issues),
        notes_requested=notes_requested,
        notes_consent_problems=tuple(notes_issues),
        parts_to_release=len(to_release),
        parts_with_records=with_records,
        undecided_parts=outcomes.undecided_count(p.outcome for p in req.parts),
    )


def check_version(req: RecordRequest, expected_version: int | None) -> None:
    """Refuse to act on a request that changed since the actor loaded it (HTTP 409)."""
    if expected_version is not None and int(expected_version) != req.version:
        raise Conflict()


def transition(
    session: Session,
    req: RecordRequest,
    action: str,
    actor: Actor,
    *,
    expected_version: int | None = None,
    summary: dict | None = None,
    today: date | None = None,
) -> RecordRequest:
    """Perform one lifecycle action: check who, when and preconditions, then audit it."""
    check_version(req, expected_version)
    today = today or today_pacific()
    facts = gather_facts(session, req, today)
    problems = lifecycle.transition_problems(action, facts, actor.kind, actor.permissions)
    if problems:
        raise TransitionRefused(problems)
    rule = lifecycle.TRANSITIONS[action]
    before = req.status
    target = rule.target
    if target == lifecycle.RESUME:
        target = req.resume_status or lifecycle.IDENTITY_REVIEW
        req.resume_status = None
    elif target == lifecycle.REOPEN:
        target = (lifecycle.PATIENT_LOCATED if req.located_at else
                  lifecycle.REQUESTER_VERIFIED if req.verified_at else lifecycle.IDENTITY_REVIEW)
    elif target == lifecycle.AWAITING_REQUESTER:
        req.resume_status = before
    now = datetime.now(UTC)
    req.status = target
    req.is_open = target not in lifecycle.TERMINAL
    if target == lifecycle.RELEASED:
        req.released_at = now
    if target in lifecycle.TERMINAL:
        req.closed_at = now
    elif before in lifecycle.TERMINAL:
        req.closed_at = None  # reopened
    session.flush()
    append_event(
        session, f"request.{action}", actor=actor, object_type="request", object_id=req.id,
        request_id=req.id, summary={"from": before, "to": target, **(summary or {})},
    )
    return req


def abandon_stale_requests(session: Session, *, older_than_days: int,
                           now: datetime | None = None) -> int:
    """Close requests that waited for the requester longer than the configured time.

    'Abandoned' is a side exit of the lifecycle; the clocks were never paused (R-DL-3), so the
    request is reported as it stood.
    """
    from datetime import timedelta

    from sqlalchemy import select

    from portal.core.actor import SYSTEM

    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=older_than_days)
    stale = session.scalars(
        select(RecordRequest).where(
            RecordRequest.status == lifecycle.AWAITING_REQUESTER,
            RecordRequest.updated_at < cutoff,
        )
    ).all()
    for req in stale:
        transition(session, req, "abandon", SYSTEM, summary={"waited_days": older_than_days})
    return len(stale)


@handler("requests.abandon_stale")
def abandon_stale_job(session: Session, _payload: dict, _context: JobContext) -> None:
    """The daily housekeeping job (portal/jobs/dispatch.py SCHEDULE)."""
    abandon_stale_requests(session, older_than_days=int(current_app.config["ABANDON_AFTER_DAYS"]))
