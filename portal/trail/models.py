"""The append-only, hash-chained audit trail (R-AUD-2): the kernel every area writes to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import Base, UTCDateTime


class AuditEvent(Base):
    """One audited action. ``summary`` holds surrogate ids only: never names, MRNs or IPs."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_request", "request_id", "id"),
        Index("ix_audit_event_occurred", "occurred_at"),
        Index("ix_audit_event_actor", "actor_type", "actor_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_type: Mapped[str] = mapped_column(String(10))  # staff | requester | system | anonymous
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(String(30))
    object_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    request_id: Mapped[int | None] = mapped_column(Integer)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[dict] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
