"""Record requests and everything recorded about one: parts, consents, messages, proofing
steps, roster match runs and their candidates, lost-email reports, wizard drafts."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from portal.accounts.models import Requester


class RecordRequest(Base):
    """One request for copies of records or for an accounting of disclosures.

    ``version`` is SQLAlchemy's version counter: two clerks acting on the same request at once
    cannot both win (the second UPDATE matches no row and fails).
    """

    __tablename__ = "record_request"
    __table_args__ = (
        Index("ix_record_request_open_due", "is_open", "working_due_on", "id"),
        Index("ix_record_request_assignee_due", "assignee_id", "is_open", "working_due_on", "id"),
        Index("ix_record_request_status_due", "status", "working_due_on", "id"),
        # The queue and search across every status walk this in order (keyset pages).
        Index("ix_record_request_due", "working_due_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(12))  # "copies" | "accounting"
    status: Mapped[str] = mapped_column(String(24), default="submitted")
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    # State to return to when the requester answers a request for more information.
    resume_status: Mapped[str | None] = mapped_column(String(24))
    waiting_reason: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    requester_id: Mapped[int] = mapped_column(ForeignKey("requester.id"), index=True)
    # "patient" | "executor" | "beneficiary" | "guardian" | "agent" (R-ID-3; no parent, R-ID-4)
    requester_type: Mapped[str] = mapped_column(String(12))
    requester_name: Mapped[str | None] = mapped_column(String(240))
    authority_description: Mapped[str | None] = mapped_column(Text)

    # The patient as the requester describes them.
    patient_first_name: Mapped[str] = mapped_column(String(120))
    patient_last_name: Mapped[str] = mapped_column(String(120))
    patient_other_names: Mapped[str | None] = mapped_column(Text)
    patient_dob: Mapped[date] = mapped_column(Date)
    patient_ssn_last4: Mapped[str | None] = mapped_column(String(4))
    # Lower-cased, accent-free names (legal and other) for the clerk's search.
    search_names: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str] = mapped_column(String(254), index=True)
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    address_city: Mapped[str | None] = mapped_column(String(100))
    address_state: Mapped[str | None] = mapped_column(String(40))
    address_postal_code: Mapped[str | None] = mapped_column(String(20))
    # An institution or "care of" line, printed first (a facility and an inmate number).
    address_care_of: Mapped[str | None] = mapped_column(String(200))
    # None for a US address (territories and military mail included); else the country.
    address_country: Mapped[str | None] = mapped_column(String(60))

    stay_from: Mapped[date | None] = mapped_column(Date)
    stay_to: Mapped[date | None] = mapped_column(Date)
    program: Mapped[str | None] = mapped_column(String(20))
    records_from: Mapped[date | None] = mapped_column(Date)
    records_to: Mapped[date | None] = mapped_column(Date)
    purpose: Mapped[str | None] = mapped_column(String(40))
    purpose_detail: Mapped[str | None] = mapped_column(Text)
    fee_estimate_cents: Mapped[int] = mapped_column(Integer, default=0)
    fee_waived: Mapped[bool] = mapped_column(Boolean, default=False)

    # Where the records go.
    recipient_type: Mapped[str] = mapped_column(String(12))  # "patient" | "third_party"
    delivery: Mapped[str] = mapped_column(String(10))  # "download" | "mail"
    recipient_name: Mapped[str | None] = mapped_column(String(240))
    recipient_organisation: Mapped[str | None] = mapped_column(String(240))
    recipient_address: Mapped[str | None] = mapped_column(Text)
    recipient_email: Mapped[str | None] = mapped_column(String(254))
    access_code_hash: Mapped[str | None] = mapped_column(String(255))

    # Signature (R-REL-1): typed name and attestation with time, IP and user agent.
    signature_name: Mapped[str | None] = mapped_column(String(240))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_ip: Mapped[str | None] = mapped_column(String(64))
    signed_user_agent: Mapped[str | None] = mapped_column(String(400))

    # Clocks (R-DL-1..4): receipt and the due dates computed by portal.rules.deadlines.
    received_via: Mapped[str] = mapped_column(String(10), default="web")  # web | mail | phone
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_on: Mapped[date] = mapped_column(Date)
    california_due_on: Mapped[date | None] = mapped_column(Date)
    hipaa_due_on: Mapped[date] = mapped_column(Date)
    hipaa_extended_due_on: Mapped[date | None] = mapped_column(Date)
    working_due_on: Mapped[date] = mapped_column(Date)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    located_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    located_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("roster_patient.id"), index=True)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    requester: Mapped[Requester] = relationship(back_populates="requests")
    parts: Mapped[list[RequestPart]] = relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        order_by="RequestPart.id",
        lazy="selectin",
    )
    consents: Mapped[list[Consent]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="Consent.id"
    )

    __mapper_args__ = {"version_id_col": version}

    def consent_for(self, scope: str) -> Consent | None:
        """The consent of that scope on file ('general', or 'notes' for therapy notes)."""
        return next((c for c in self.consents if c.scope == scope), None)


class RequestPart(Base):
    """One requested part of the record, with its own outcome (R-DEN-4)."""

    __tablename__ = "request_part"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("record_request.id", ondelete="CASCADE"), index=True
    )
    # complete | discharge_summary | assessments | treatment_plans | medications | labs |
    # billing | psychotherapy_notes | counseling_notes | accounting
    part: Mapped[str] = mapped_column(String(30))
    # None (open) | released | denied | under_review | no_records | destroyed_fire |
    # destroyed_retention
    outcome: Mapped[str | None] = mapped_column(String(20))
    denial_ground: Mapped[str | None] = mapped_column(String(30))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    other_custodian: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    review_result: Mapped[str | None] = mapped_column(String(12))  # upheld | reversed
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    request: Mapped[RecordRequest] = relationship(back_populates="parts")


class Consent(Base):
    """A written consent to disclose to a third party (R-REL-2); notes have their own (R-REL-4)."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("record_request.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(10), default="general")  # general | notes
    patient_name: Mapped[str] = mapped_column(String(240))
    disclosing_program: Mapped[str] = mapped_column(String(240))
    information_description: Mapped[str] = mapped_column(Text)
    recipient_name: Mapped[str] = mapped_column(String(240))
    recipient_organisation: Mapped[str | None] = mapped_column(String(240))
    recipient_address: Mapped[str | None] = mapped_column(Text)
    # R-REL-2: the kind of recipient as the signer chose it (portal.rules.consent
    # RECIPIENT_KINDS; None on consents taken before the question was asked), and as a clerk
    # settled it when the signer was not sure.
    recipient_kind: Mapped[str | None] = mapped_column(String(16))
    recipient_kind_settled: Mapped[str | None] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(Text)
    # What the signed form stated: the recipient's limits on use (Civ. Code 56.11(g)) and the
    # redisclosure statement of 42 CFR 2.31(a)(4)(iii) for a doctor, clinic or health plan.
    use_limits_stated: Mapped[bool] = mapped_column(Boolean, default=False,
                                                    server_default=false())
    redisclosure_statement_included: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false())
    expires_on: Mapped[date] = mapped_column(Date)
    signature_name: Mapped[str] = mapped_column(String(240))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    signed_ip: Mapped[str | None] = mapped_column(String(64))
    signed_user_agent: Mapped[str | None] = mapped_column(String(400))
    statements_acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revocation_note: Mapped[str | None] = mapped_column(Text)
    known_false: Mapped[bool] = mapped_column(Boolean, default=False)

    request: Mapped[RecordRequest] = relationship(back_populates="consents")

    @property
    def effective_recipient_kind(self) -> str | None:
        """The kind of recipient the release is judged by: a clerk's decision wins (R-REL-2)."""
        return self.recipient_kind_settled or self.recipient_kind


class Message(Base):
    """A message between clerk and requester, or an internal note the requester never sees."""

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_request_created", "request_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("record_request.id", ondelete="CASCADE"))
    author_type: Mapped[str] = mapped_column(String(10))  # staff | requester
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WizardDraft(Base):
    """Server-side, encrypted wizard progress tied to one browser (deleted after N days)."""

    __tablename__ = "wizard_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    browser_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    data_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    meta: Mapped[dict | None] = mapped_column(JSON)


class LostEmailReport(Base):
    """A requester who lost access to their email asks the clerk for a new way in (recorded).

    Reached without signing in, so it never says whether the reference exists (R-ID-5);
    ``request_id`` is set only when the reference and the old address both match a request.
    """

    __tablename__ = "lost_email_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("record_request.id", ondelete="SET NULL"), index=True
    )
    reference_typed: Mapped[str] = mapped_column(String(40))
    full_name: Mapped[str] = mapped_column(String(240))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    old_email: Mapped[str] = mapped_column(String(254))
    new_email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    # What the clerk did (e.g. verified by phone, updated the address); staff-only.
    handled_note: Mapped[str | None] = mapped_column(Text)


class ProofingStep(Base):
    """One step of identity proofing: what evidence, what result, who decided (R-ID-2).

    Who the requester is and which roster patient the request is about are separate
    questions; ``question`` says which one this step answers.
    """

    __tablename__ = "proofing_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("record_request.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(String(12))  # "requester" | "patient"
    # email_confirmed | photo_id | authority_proof | more_information | notarized_form |
    # phone_call | mail_in_signature | roster_match | no_roster_match | clerk_override
    evidence: Mapped[str] = mapped_column(String(30))
    result: Mapped[str] = mapped_column(String(12))  # accepted | weak | rejected | recorded
    note: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # R-ID-2(c): the roster-match run whose ranking the clerk relied on to locate the patient.
    match_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("roster_match_run.id", ondelete="SET NULL"))


class RosterMatch(Base):
    """A ranked roster candidate for a request: score and matched fields (R-ID-2(c))."""

    __tablename__ = "roster_match"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("record_request.id", ondelete="CASCADE"), index=True
    )
    patient_id: Mapped[int] = mapped_column(ForeignKey("roster_patient.id", ondelete="CASCADE"))
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(String(10))
    matched_fields: Mapped[dict] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RosterMatchRun(Base):
    """One run of the roster match for a request: when, on what inputs, and its ranking.

    R-ID-2(c): every run is kept, so a new run never erases the earlier ranking; RosterMatch
    holds the latest run's candidates for the clerk's choice. ``inputs_digest`` is the SHA-256
    of what was matched (the request's details about the patient, the thresholds and the
    candidate limit), so two runs on the same inputs can be told from a run after a
    correction. Runs from before this table existed have no digest and, but for the last, no
    ranking: the trail kept only their counts.
    """

    __tablename__ = "roster_match_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("record_request.id", ondelete="CASCADE"), index=True
    )
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(10))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    inputs_digest: Mapped[str | None] = mapped_column(String(64))
    candidate_count: Mapped[int] = mapped_column(Integer)
    # [{"patient_id", "rank", "score", "decision", "matched_fields"}, ...]; None when not kept.
    ranking: Mapped[list | None] = mapped_column(JSON(none_as_null=True))
