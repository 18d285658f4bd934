"""A requester who lost access to their email asks the clerk for a new way in (recorded).

Reached without signing in, so the answer never says whether the reference exists (R-ID-5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.core.actor import Actor
from portal.requests.models import LostEmailReport, Message, RecordRequest
from portal.rules.contact import normalize_email
from portal.trail.chain import append_event


@dataclass(frozen=True)
class LostEmail:
    """What someone who lost access to their email tells the clerk."""

    reference: str
    full_name: str
    date_of_birth: date | None
    old_email: str
    new_email: str | None
    phone: str | None
    note: str | None


def report_lost_email(session: Session, report: LostEmail, actor: Actor) -> LostEmailReport:
    """Record the report for the clerk; the answer never says whether the reference exists.

    When the reference and the old address match a request, the clerk sees the report as an
    internal note on it; otherwise it waits, unmatched, for the clerk to look up.
    """
    reference = report.reference.strip().upper()
    old = normalize_email(report.old_email)
    req = session.scalar(select(RecordRequest).where(RecordRequest.reference == reference))
    matched = req is not None and normalize_email(req.contact_email) == old
    row = LostEmailReport(
        request_id=req.id if matched else None, reference_typed=reference[:40],
        full_name=report.full_name, date_of_birth=report.date_of_birth, old_email=old,
        new_email=normalize_email(report.new_email) or None, phone=report.phone, note=report.note,
    )
    session.add(row)
    session.flush()
    if matched:
        session.add(Message(
            request_id=req.id, author_type="system", internal=True,
            body=("The requester reports losing access to their email address and asks for a new "
                  f"way to sign in (report #{row.id}). Verify them before changing the address."),
        ))
        session.flush()
    append_event(session, "requester.lost_email_reported", actor=actor,
                 object_type="lost_email_report", object_id=row.id,
                 request_id=req.id if matched else None, summary={"matched": matched})
    return row
