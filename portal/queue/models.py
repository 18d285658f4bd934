"""The clerk's name search index: one row per word of a request's normalised patient names.

A search for "quil" must not scan every request's names (100,000 of them), so each word of
``RecordRequest.search_names`` is stored here and found by an index range. The rows follow
``search_names`` automatically: a flush hook rebuilds them whenever a request is created or its
names change, so no caller has to remember to.
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String, delete, event, func, inspect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.core.db import Base
from portal.requests.models import RecordRequest


class RequestSearchToken(Base):
    """One word of a request's normalised patient names (legal and other)."""

    __tablename__ = "request_search_token"
    __table_args__ = (
        # A narrow search: the requests whose word starts with what was typed.
        Index("ix_request_search_token_token_request", "token", "request_id"),
        # A broad search: whether a request, met in the queue's order, has such a word.
        Index("ix_request_search_token_request_token", "request_id", "token"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("record_request.id", ondelete="CASCADE")
    )
    token: Mapped[str] = mapped_column(String(60))

    request: Mapped[RecordRequest] = relationship()


# The clerk's search by email ignores case; this index serves lower(contact_email) = :email.
Index("ix_record_request_email_lower", func.lower(RecordRequest.contact_email))


def search_tokens(search_names: str | None) -> set[str]:
    """The distinct words to index for a request's ``search_names`` (apostrophes dropped)."""
    words = (search_names or "").replace("'", "").replace("\u2019", "").split()
    return {word[:60] for word in words if word}


@event.listens_for(Session, "before_flush")
def _index_search_names(session: Session, _context, _instances) -> None:
    for obj in list(session.new) + list(session.dirty):
        if not isinstance(obj, RecordRequest):
            continue
        state = inspect(obj)
        if state.pending:
            names_changed = True
        else:
            names_changed = state.attrs.search_names.history.has_changes()
            if names_changed:
                session.execute(
                    delete(RequestSearchToken).where(RequestSearchToken.request_id == obj.id)
                )
        if names_changed:
            for token in search_tokens(obj.search_names):
                session.add(RequestSearchToken(request=obj, token=token))
