"""The outbox table: one row per piece of work that must happen after a commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import Base, UTCDateTime, utcnow

PENDING = "pending"  # waiting for its time (new, or retrying after a failure)
RUNNING = "running"  # claimed by a worker until locked_until
DONE = "done"
FAILED = "failed"  # failed for good (attempts used up, or a refusal no retry can fix)
STATUSES = (PENDING, RUNNING, DONE, FAILED)


class Job(Base):
    """A unit of work owed after a commit; its payload is encrypted (it may hold an address)."""

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random, stable across retries: names the job to the queue library and gives each email
    # its Message-ID, so a message delivered twice can be recognised as one.
    uid: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(60))
    # AES-GCM under the field key, bound to uid; emptied once the job is done.
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    # Periodic work and other once-only jobs: a second row with the same key is not created.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    # The request the work is about, if any (a clerk sees undeliverable mail on its page).
    request_id: Mapped[int | None] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the last attempt failed, in words without personal data (an exception's class, or
    # the reason a handler gave); the traceback goes to the log.
    last_error: Mapped[str | None] = mapped_column(String(300))
    # Set when an admin retried a failed job by hand (who, as "staff:<id>").
    retried_by: Mapped[str | None] = mapped_column(String(40))
