"""What an auditor can filter the audit trail and the request log by, as plain values.

Filters hold only non-PHI values (dates, codes, surrogate ids), so they can travel in URLs,
in audit-event summaries and in export manifests (R-SEC-4). Each filter turns itself into
SQLAlchemy conditions; the request log's clock filters are applied in Python because they
depend on today's date (portal.rules.deadlines.timeliness).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import exists, select

from portal.requests.models import RecordRequest, RequestPart
from portal.rules.deadlines import PROGRAM_TIME_ZONE
from portal.trail.models import AuditEvent


def pacific_midnight(day: date) -> datetime:
    """The UTC instant at which a Los Angeles calendar day begins."""
    return datetime.combine(day, time(0), tzinfo=PROGRAM_TIME_ZONE).astimezone(UTC)


def _drop_empty(values: dict) -> dict:
    return {k: v for k, v in values.items() if v not in (None, "")}


@dataclass(frozen=True)
class TrailFilter:
    """Audit-trail filter: a Pacific date range, an actor, an action, a request."""

    date_from: date | None = None
    date_to: date | None = None
    actor_type: str | None = None
    actor_id: int | None = None
    # An exact action ('request.viewed'), or a prefix ending in '*' ('request.*').
    action: str | None = None
    request_id: int | None = None

    def conditions(self) -> list:
        """SQLAlchemy conditions on AuditEvent."""
        conds = []
        if self.date_from:
            conds.append(AuditEvent.occurred_at >= pacific_midnight(self.date_from))
        if self.date_to:
            conds.append(
                AuditEvent.occurred_at < pacific_midnight(self.date_to + timedelta(days=1))
            )
        if self.actor_type:
            conds.append(AuditEvent.actor_type == self.actor_type)
        if self.actor_id is not None:
            conds.append(AuditEvent.actor_id == self.actor_id)
        if self.action:
            if self.action.endswith("*"):
                conds.append(AuditEvent.action.startswith(self.action[:-1], autoescape=True))
            else:
                conds.append(AuditEvent.action == self.action)
        if self.request_id is not None:
            conds.append(AuditEvent.request_id == self.request_id)
        return conds

    def as_dict(self) -> dict:
        """The filter as JSON-ready values (manifests, audit summaries, URLs)."""
        return _drop_empty({
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "actor_type": self.actor_type,
            "actor_id": self.actor_id,
            "action": self.action,
            "request_id": self.request_id,
        })


@dataclass(frozen=True)
class RequestLogFilter:
    """Request-log filter: receipt dates, kind, status, requester type, clocks, assignee, part."""

    received_from: date | None = None
    received_to: date | None = None
    kind: str | None = None
    status: str | None = None
    requester_type: str | None = None
    # A portal.rules.deadlines clock state, judged against California's and HIPAA's clocks.
    california: str | None = None
    hipaa: str | None = None
    # A staff id, or 0 for requests nobody is assigned to.
    assignee_id: int | None = None
    # A part outcome (portal.rules.outcomes.OUTCOMES) or 'undecided'.
    outcome: str | None = None
    open_only: bool = False

    def conditions(self) -> list:
        """SQLAlchemy conditions on RecordRequest (the clock filters are applied in Python)."""
        conds = []
        if self.received_from:
            conds.append(RecordRequest.received_on >= self.received_from)
        if self.received_to:
            conds.append(RecordRequest.received_on <= self.received_to)
        if self.kind:
            conds.append(RecordRequest.kind == self.kind)
        if self.status:
            conds.append(RecordRequest.status == self.status)
        if self.requester_type:
            conds.append(RecordRequest.requester_type == self.requester_type)
        if self.assignee_id == 0:
            conds.append(RecordRequest.assignee_id.is_(None))
        elif self.assignee_id is not None:
            conds.append(RecordRequest.assignee_id == self.assignee_id)
        if self.outcome:
            wanted = (
                RequestPart.outcome.is_(None) if self.outcome == "undecided"
                else RequestPart.outcome == self.outcome
            )
            conds.append(exists(
                select(RequestPart.id).where(RequestPart.request_id == RecordRequest.id, wanted)
            ))
        if self.open_only:
            conds.append(RecordRequest.is_open.is_(True))
        return conds

    def admits_clocks(self, california: str | None, hipaa: str | None) -> bool:
        """Whether a request standing so against each clock passes the clock filters."""
        if self.california and california != self.california:
            return False
        return not (self.hipaa and hipaa != self.hipaa)

    def as_dict(self) -> dict:
        """The filter as JSON-ready values (manifests, audit summaries, URLs)."""
        return _drop_empty({
            "received_from": self.received_from.isoformat() if self.received_from else None,
            "received_to": self.received_to.isoformat() if self.received_to else None,
            "kind": self.kind,
            "status": self.status,
            "requester_type": self.requester_type,
            "california": self.california,
            "hipaa": self.hipaa,
            "assignee_id": self.assignee_id,
            "outcome": self.outcome,
            "open_only": self.open_only or None,
        })
