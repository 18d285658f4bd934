"""The auditor's records: each export of the request log or the audit trail (R-AUD-4)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import Base, UTCDateTime


class ExportRecord(Base):
    """One export of the request log or the audit trail, and its signed manifest (R-SEC-3).

    Written before the first byte leaves (with the audit event), completed with the digest and
    the signed manifest after the last; ``export_id`` is the random id used in URLs.
    """

    __tablename__ = "audit_export"

    id: Mapped[int] = mapped_column(primary_key=True)
    export_id: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(24))  # requests | requests_identified | audit
    file_format: Mapped[str] = mapped_column(String(8))  # csv | jsonl
    filter: Mapped[dict] = mapped_column(JSON)
    actor_type: Mapped[str] = mapped_column(String(10))  # staff | system
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The chain head an audit-trail export is bounded by (events after it are left out).
    bound_head_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    row_count: Mapped[int | None] = mapped_column(Integer)
    byte_count: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    sha256: Mapped[str | None] = mapped_column(String(64))
    manifest: Mapped[str | None] = mapped_column(Text)
    # R-AUD-4: why identified data was exported: a code of EXPORT_PURPOSES and a sentence.
    purpose: Mapped[str | None] = mapped_column(String(24))
    purpose_detail: Mapped[str | None] = mapped_column(Text)
