"""Accounting of disclosures for one roster patient (R-AUD-1, R-DL-4; 45 CFR 164.528).

Lists every disclosure to anyone but the patient in a period (six years back by default,
164.528(a)): date, recipient and address, what was disclosed, and why (164.528(b)(2)).
Releases of the patient's own copy (to the patient or their personal representative, who
stands in the patient's shoes) are not disclosures to others and never appear.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from portal.audit.filters import pacific_midnight
from portal.core.actor import Actor
from portal.release.models import Disclosure, Release
from portal.requests.letters import request_mailing_lines
from portal.requests.models import RecordRequest
from portal.roster.models import RosterPatient
from portal.rules.deadlines import pacific_date

LOOKBACK_YEARS = 6
CSV_COLUMNS = ("disclosed_on", "recipient_name", "recipient_address", "description", "purpose",
               "request_reference", "disclosure_id")


@dataclass(frozen=True)
class AccountingEntry:
    """One disclosure as 164.528(b)(2) lists it, with where it came from."""

    disclosure_id: int
    disclosed_at: datetime
    recipient_name: str
    recipient_address: str | None
    description: str
    purpose: str
    request_id: int
    request_reference: str

    @property
    def disclosed_on(self) -> date:
        """The disclosure date in Los Angeles."""
        return pacific_date(self.disclosed_at)

    @property
    def address_lines(self) -> tuple[str, ...]:
        """The recipient's address, one line each."""
        return tuple(line.strip() for line in (self.recipient_address or "").splitlines()
                     if line.strip())


def default_period(today: date) -> tuple[date, date]:
    """Six years back to today (164.528(a)(1)); 29 February falls back to the 28th."""
    try:
        start = today.replace(year=today.year - LOOKBACK_YEARS)
    except ValueError:
        start = (today - timedelta(days=1)).replace(year=today.year - LOOKBACK_YEARS)
    return start, today


def disclosures_to_others(session: Session, patient_id: int, start: date,
                          end: date) -> list[AccountingEntry]:
    """Every disclosure of the patient's records to someone else from start to end (inclusive)."""
    rows = session.execute(
        select(Disclosure, RecordRequest.reference)
        .join(RecordRequest, RecordRequest.id == Disclosure.request_id)
        .outerjoin(Release, Release.id == Disclosure.release_id)
        .where(
            or_(Disclosure.patient_id == patient_id,
                and_(Disclosure.patient_id.is_(None), RecordRequest.patient_id == patient_id)),
            # R-AUD-1: the patient's own copies are not disclosures to others.
            RecordRequest.recipient_type != "patient",
            or_(Release.id.is_(None), Release.recipient_type != "patient"),
            Disclosure.disclosed_at >= pacific_midnight(start),
            Disclosure.disclosed_at < pacific_midnight(end + timedelta(days=1)),
        )
        .order_by(Disclosure.disclosed_at, Disclosure.id)
    ).all()
    return [
        AccountingEntry(
            disclosure_id=d.id, disclosed_at=d.disclosed_at, recipient_name=d.recipient_name,
            recipient_address=d.recipient_address, description=d.description,
            purpose=d.purpose, request_id=d.request_id, request_reference=reference,
        )
        for d, reference in rows
    ]


def accounting_requests(session: Session, patient_id: int | None = None) -> list[RecordRequest]:
    """Accounting requests (kind 'accounting'), open first; one patient's when given."""
    query = select(RecordRequest).where(RecordRequest.kind == "accounting")
    if patient_id is not None:
        query = query.where(RecordRequest.patient_id == patient_id)
    return list(session.scalars(
        query.order_by(RecordRequest.is_open.desc(), RecordRequest.working_due_on,
                       RecordRequest.id).limit(200)
    ))


def view_accounting(session: Session, actor: Actor, patient: RosterPatient, start: date,
                    end: date, *, as_format: str) -> list[AccountingEntry]:
    """The accounting for one patient, audited as viewed or downloaded (R-AUD-2)."""
    from portal.trail.chain import append_event

    entries = disclosures_to_others(session, patient.id, start, end)
    append_event(
        session, "audit.accounting_viewed" if as_format == "html" else
        "audit.accounting_downloaded", actor=actor, object_type="patient", object_id=patient.id,
        summary={"format": as_format, "from": start.isoformat(), "to": end.isoformat(),
                 "disclosures": len(entries)},
    )
    return entries


def accounting_csv(entries: list[AccountingEntry]) -> str:
    """The accounting as CSV, with the export rule for risky first characters."""
    from portal.audit.exports import csv_line

    out = io.StringIO()
    out.write(",".join(CSV_COLUMNS) + "\n")
    for e in entries:
        out.write(csv_line((e.disclosed_on, e.recipient_name, e.recipient_address, e.description,
                            e.purpose, e.request_reference, e.disclosure_id)))
    return out.getvalue()


def patient_name(patient: RosterPatient) -> str:
    """The patient's legal name as the roster holds it."""
    return f"{patient.legal_first_name} {patient.legal_last_name}"


def accounting_letter(patient: RosterPatient, entries: list[AccountingEntry], start: date,
                      end: date, *, today: date, answering: RecordRequest | None, letterhead):
    """The release-documents accounting letter: to the requester, or to the custodian's file."""
    from portal.release.documents import (
        AccountingOfDisclosures,
        DisclosureEntry,
        MailingAddress,
    )

    if answering is not None and request_mailing_lines(answering):
        to = MailingAddress(name=answering.requester_name or patient_name(patient),
                            lines=request_mailing_lines(answering))
        reference = answering.reference
    else:
        # Not answering a mailed request: a copy addressed to the custodian's audit file.
        to = MailingAddress(name=letterhead.custodian_name,
                            lines=tuple(letterhead.return_address_lines))
        reference = answering.reference if answering else f"ACCOUNTING-P{patient.id}"
    return AccountingOfDisclosures(
        reference=reference, generated_on=today, to=to, patient_name=patient_name(patient),
        period_start=start, period_end=end,
        disclosures=tuple(
            DisclosureEntry(
                disclosed_on=e.disclosed_on, recipient_name=e.recipient_name,
                recipient_address=e.address_lines or (_("Address not recorded"),),
                description=e.description, purpose=e.purpose,
            )
            for e in entries
        ),
    )

