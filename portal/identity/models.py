"""Identity proofing steps, emailed single-use tokens, and stored roster-match results."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import Base, UTCDateTime, utcnow


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


class EmailToken(Base):
    """A single-use token sent by email (confirm address, magic sign-in); only its hash is kept."""

    __tablename__ = "email_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(20))  # confirm_email | sign_in
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    requester_id: Mapped[int] = mapped_column(
        ForeignKey("requester.id", ondelete="CASCADE"), index=True
    )
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("record_request.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
