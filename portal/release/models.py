"""Disclosures (the accounting, R-AUD-1) and expiring download grants (R-SEC-2)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import Base, UTCDateTime, utcnow


class Release(Base):
    """One release of a request: the packet built, how it went out, and its digest (R-SEC-3)."""

    __tablename__ = "release"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("record_request.id", ondelete="CASCADE"), index=True
    )
    packet_document_id: Mapped[int] = mapped_column(ForeignKey("stored_document.id"))
    packet_sha256: Mapped[str] = mapped_column(String(64), index=True)
    page_count: Mapped[int] = mapped_column(Integer)
    recipient_type: Mapped[str] = mapped_column(String(12))  # patient | third_party
    method: Mapped[str] = mapped_column(String(10))  # download | mail
    mailed_on: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tracking_number: Mapped[str | None] = mapped_column(String(80))
    released_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    released_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Disclosure(Base):
    """A disclosure to anyone but the patient (R-AUD-1: 164.528(b) elements)."""

    __tablename__ = "disclosure"
    __table_args__ = (Index("ix_disclosure_patient_date", "patient_id", "disclosed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("record_request.id"), index=True)
    release_id: Mapped[int | None] = mapped_column(ForeignKey("release.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("roster_patient.id"))
    disclosed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipient_name: Mapped[str] = mapped_column(String(240))
    recipient_address: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    packet_sha256: Mapped[str | None] = mapped_column(String(64))


class DownloadGrant(Base):
    """A single-purpose, expiring, count-limited download of a released packet (R-SEC-2)."""

    __tablename__ = "download_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("release.id", ondelete="CASCADE"))
    request_id: Mapped[int] = mapped_column(
        ForeignKey("record_request.id", ondelete="CASCADE"), index=True
    )
    recipient_type: Mapped[str] = mapped_column(String(12))  # patient | third_party
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    access_code_hash: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    max_downloads: Mapped[int] = mapped_column(Integer)
    download_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_code_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
