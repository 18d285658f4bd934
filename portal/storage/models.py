"""Stored documents: metadata of files kept encrypted in the file store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.db import Base, UTCDateTime, utcnow

#: Kinds of document the portal makes itself; every other kind came from someone's upload.
GENERATED_KINDS = frozenset({"letter", "packet"})


class StoredDocument(Base):
    """A file in the encrypted store (R-SEC-2), attached to a request, a draft or a message."""

    __tablename__ = "stored_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(80), unique=True)
    # photo_id | authority_proof | mail_in_form | record | letter | packet | attachment |
    # roster_import | original
    kind: Mapped[str] = mapped_column(String(20))
    # For letters: acknowledgement | consent | extension | denial | ...; for records: the part.
    subtype: Mapped[str | None] = mapped_column(String(30))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    page_count: Mapped[int | None] = mapped_column()
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("record_request.id", ondelete="CASCADE"), index=True
    )
    part_id: Mapped[int | None] = mapped_column(ForeignKey("request_part.id", ondelete="SET NULL"))
    draft_id: Mapped[int | None] = mapped_column(
        ForeignKey("wizard_draft.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("message.id", ondelete="CASCADE"), index=True
    )
    # kind 'original': the bytes as uploaded, kept as evidence beside their rebuilt copy (this
    # row's id). No other link: nothing lists or serves an original but compliance's route.
    original_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("stored_document.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    uploaded_by_requester_id: Mapped[int | None] = mapped_column(ForeignKey("requester.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
