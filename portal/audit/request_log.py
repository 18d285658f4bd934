"""The request log: one row per request with its clocks, outcomes and timeliness.

One reader serves the screen, both export formats and the dashboard. It takes any SQLAlchemy
``Session`` or ``Connection`` (the export passes a snapshot connection) and reads in keyset
pages, so memory stays flat however many requests there are.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from portal.audit.filters import RequestLogFilter
from portal.requests.models import RecordRequest, RequestPart
from portal.rules.deadlines import Clocks, pacific_date, timeliness
from portal.rules.postal import mailing_lines

PAGE = 500

# Minimum necessary (R-SEC-4): no names, dates of birth or addresses in the default columns.
COLUMNS = (
    "request_id", "reference", "kind", "requester_type", "recipient_type", "status",
    "received_via", "received_on", "california_due_on", "hipaa_due_on", "hipaa_extended_due_on",
    "extended", "verified_on", "located_on", "released_on", "closed_on", "days_taken",
    "california", "hipaa", "outcomes", "denial_grounds", "assignee_id", "patient_id",
)
IDENTIFIED_COLUMNS = COLUMNS + (
    "patient_first_name", "patient_last_name", "patient_other_names", "patient_dob",
    "requester_name", "contact_email", "contact_phone", "mailing_address",
    "recipient_name", "recipient_organisation", "recipient_address",
)

_BASE = (
    RecordRequest.id, RecordRequest.reference, RecordRequest.kind, RecordRequest.requester_type,
    RecordRequest.recipient_type, RecordRequest.status, RecordRequest.received_via,
    RecordRequest.received_on, RecordRequest.california_due_on, RecordRequest.hipaa_due_on,
    RecordRequest.hipaa_extended_due_on, RecordRequest.working_due_on,
    RecordRequest.verified_at, RecordRequest.located_at, RecordRequest.released_at,
    RecordRequest.closed_at, RecordRequest.assignee_id, RecordRequest.patient_id,
)
_IDENTIFYING = (
    RecordRequest.patient_first_name, RecordRequest.patient_last_name,
    RecordRequest.patient_other_names, RecordRequest.patient_dob, RecordRequest.requester_name,
    RecordRequest.contact_email, RecordRequest.contact_phone, RecordRequest.address_line1,
    RecordRequest.address_line2, RecordRequest.address_city, RecordRequest.address_state,
    RecordRequest.address_postal_code, RecordRequest.address_care_of,
    RecordRequest.address_country, RecordRequest.recipient_name,
    RecordRequest.recipient_organisation, RecordRequest.recipient_address,
)


@dataclass(frozen=True)
class PartOutcome:
    """One requested part and how it ended (R-DEN-4); outcome None while undecided."""

    part: str
    outcome: str | None
    ground: str | None


@dataclass(frozen=True)
class RequestLogRow:
    """A request as the auditor sees it; ``identified`` only in the identified export."""

    request_id: int
    reference: str
    kind: str
    requester_type: str
    recipient_type: str
    status: str
    received_via: str
    received_on: date
    california_due_on: date | None
    hipaa_due_on: date
    hipaa_extended_due_on: date | None
    verified_on: date | None
    located_on: date | None
    released_on: date | None
    closed_on: date | None
    # The day the request was answered: released, or closed without a release.
    completed_on: date | None
    california: str | None
    hipaa: str
    parts: tuple[PartOutcome, ...]
    assignee_id: int | None
    patient_id: int | None
    identified: dict = field(default_factory=dict)

    @property
    def extended(self) -> bool:
        """Whether the one HIPAA extension was taken (R-DL-2)."""
        return self.hipaa_extended_due_on is not None

    @property
    def days_taken(self) -> int | None:
        """Days from receipt to the answer (None while open)."""
        return (self.completed_on - self.received_on).days if self.completed_on else None

    @property
    def outcomes_text(self) -> str:
        """'part=outcome; ...' with 'undecided' for an open part."""
        return "; ".join(f"{p.part}={p.outcome or 'undecided'}" for p in self.parts)

    @property
    def grounds_text(self) -> str:
        """'part=ground; ...' for denied parts."""
        return "; ".join(f"{p.part}={p.ground}" for p in self.parts if p.ground)

    def values(self) -> dict:
        """Every column as a plain value, keyed by column name (dates stay dates)."""
        row = {
            "request_id": self.request_id,
            "reference": self.reference,
            "kind": self.kind,
            "requester_type": self.requester_type,
            "recipient_type": self.recipient_type,
            "status": self.status,
            "received_via": self.received_via,
            "received_on": self.received_on,
            "california_due_on": self.california_due_on,
            "hipaa_due_on": self.hipaa_due_on,
            "hipaa_extended_due_on": self.hipaa_extended_due_on,
            "extended": self.extended,
            "verified_on": self.verified_on,
            "located_on": self.located_on,
            "released_on": self.released_on,
            "closed_on": self.closed_on,
            "days_taken": self.days_taken,
            "california": self.california,
            "hipaa": self.hipaa,
            "outcomes": [
                {"part": p.part, "outcome": p.outcome, "ground": p.ground} for p in self.parts
            ],
            "denial_grounds": [p.ground for p in self.parts if p.ground],
            "assignee_id": self.assignee_id,
            "patient_id": self.patient_id,
        }
        row.update(self.identified)
        return row


def _day(moment: datetime | None) -> date | None:
    return pacific_date(moment) if moment else None


def _identifying_values(row) -> dict:
    address = mailing_lines(care_of=row.address_care_of, line1=row.address_line1,
                            line2=row.address_line2, city=row.address_city,
                            state=row.address_state, postal_code=row.address_postal_code,
                            country=row.address_country)
    return {
        "patient_first_name": row.patient_first_name,
        "patient_last_name": row.patient_last_name,
        "patient_other_names": row.patient_other_names,
        "patient_dob": row.patient_dob,
        "requester_name": row.requester_name,
        "contact_email": row.contact_email,
        "contact_phone": row.contact_phone,
        "mailing_address": ", ".join(address) or None,
        "recipient_name": row.recipient_name,
        "recipient_organisation": row.recipient_organisation,
        "recipient_address": row.recipient_address,
    }


def iter_request_log(
    db, filters: RequestLogFilter, *, today: date, soon_days: int = 3, identified: bool = False,
) -> Iterator[RequestLogRow]:
    """Every request passing the filter, in id order, one keyset page of rows at a time."""
    columns = _BASE + (_IDENTIFYING if identified else ())
    conditions = filters.conditions()
    after = 0
    while True:
        rows = db.execute(
            select(*columns).where(RecordRequest.id > after, *conditions)
            .order_by(RecordRequest.id).limit(PAGE)
        ).all()
        if not rows:
            return
        after = rows[-1].id
        parts: dict[int, list[PartOutcome]] = {}
        for p in db.execute(
            select(RequestPart.request_id, RequestPart.part, RequestPart.outcome,
                   RequestPart.denial_ground)
            .where(RequestPart.request_id.in_([r.id for r in rows])).order_by(RequestPart.id)
        ):
            parts.setdefault(p.request_id, []).append(PartOutcome(p.part, p.outcome,
                                                                  p.denial_ground))
        for r in rows:
            completed = _day(r.released_at) or _day(r.closed_at)
            clocks = Clocks(
                kind=r.kind, received=r.received_on, california_due=r.california_due_on,
                california_inspection_due=None, hipaa_due=r.hipaa_due_on,
                hipaa_extended_due=r.hipaa_extended_due_on, working_due=r.working_due_on,
            )
            # R-DL-2: reported on time or late against each clock separately.
            standing = timeliness(clocks, completed, today, soon_days)
            if not filters.admits_clocks(standing["california"], standing["hipaa"]):
                continue
            yield RequestLogRow(
                request_id=r.id, reference=r.reference, kind=r.kind,
                requester_type=r.requester_type, recipient_type=r.recipient_type,
                status=r.status, received_via=r.received_via, received_on=r.received_on,
                california_due_on=r.california_due_on, hipaa_due_on=r.hipaa_due_on,
                hipaa_extended_due_on=r.hipaa_extended_due_on, verified_on=_day(r.verified_at),
                located_on=_day(r.located_at), released_on=_day(r.released_at),
                closed_on=_day(r.closed_at), completed_on=completed,
                california=standing["california"], hipaa=standing["hipaa"],
                parts=tuple(parts.get(r.id, ())), assignee_id=r.assignee_id,
                patient_id=r.patient_id,
                identified=_identifying_values(r) if identified else {},
            )


@dataclass
class RequestLogTotals:
    """Counts over every row of a filtered request log."""

    requests: int = 0
    open: int = 0
    answered: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    california: dict[str, int] = field(default_factory=dict)
    hipaa: dict[str, int] = field(default_factory=dict)
    extended: int = 0

    def add(self, row: RequestLogRow) -> None:
        """Count one row."""
        self.requests += 1
        if row.completed_on:
            self.answered += 1
        else:
            self.open += 1
        self.by_kind[row.kind] = self.by_kind.get(row.kind, 0) + 1
        if row.california:
            self.california[row.california] = self.california.get(row.california, 0) + 1
        self.hipaa[row.hipaa] = self.hipaa.get(row.hipaa, 0) + 1
        self.extended += row.extended
