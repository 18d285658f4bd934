"""What the clerk's queue shows: open requests by working due date, search, counts, workload.

Every query here is shaped for an index on record_request (or on request_search_token), so the
queue stays fast with 100,000 requests: keyset pagination on (working_due_on, id) instead of
OFFSET, column selects instead of whole entities, and counts as index range scans. The view
functions write the audit event of the page they serve (R-AUD-2); the summaries hold counts and
filter names only, never the search term.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Select, and_, case, exists, false, func, intersect, select, true, tuple_
from sqlalchemy.orm import Session, aliased

from portal.accounts.models import StaffUser
from portal.accounts.permissions import WORK_REQUESTS, permissions_for
from portal.core.actor import Actor
from portal.queue.models import RequestSearchToken
from portal.requests.models import RecordRequest
from portal.requests.operations import normalize_for_search
from portal.rules import lifecycle
from portal.rules.deadlines import clock_state, days_left
from portal.trail.chain import append_event

REFERENCE_PATTERN = re.compile(r"(?i)^\s*(CPP-\d{4}-\d{1,9})\s*$")
SCOPES = ("open", "closed", "all")
# Name searches fetch their matching ids first; beyond this many the database joins them.
MAX_NAME_HITS = 5000


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters; ``status`` is a lifecycle state, or a scope: open, closed, all."""

    status: str = "open"
    mine: bool = False
    unassigned: bool = False
    overdue: bool = False
    due_soon: bool = False
    awaiting: bool = False

    def flags(self) -> dict[str, object]:
        """The filters as audit-safe codes."""
        return {"status": self.status, "mine": self.mine, "unassigned": self.unassigned,
                "overdue": self.overdue, "due_soon": self.due_soon, "awaiting": self.awaiting}


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after this (working due date, id)."""

    due: date
    id: int

    def encode(self) -> str:
        """The cursor as it travels in a link or a hidden field: '2026-12-01.123'."""
        return f"{self.due.isoformat()}.{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """Parse an encoded cursor; None for anything malformed (the first page)."""
        if not text:
            return None
        due, _, number = text.partition(".")
        try:
            return cls(date.fromisoformat(due), int(number))
        except ValueError:
            return None


@dataclass(frozen=True)
class QueueRow:
    """One line of the queue."""

    id: int
    reference: str
    kind: str
    requester_type: str
    received_on: date
    received_via: str
    status: str
    california_due_on: date | None
    hipaa_due_on: date
    hipaa_extended_due_on: date | None
    working_due_on: date
    assignee_id: int | None
    assignee_name: str | None
    patient_name: str | None
    verified: bool
    version: int
    days_left: int
    working_state: str
    hipaa_state: str

    @property
    def status_label(self) -> str:
        """The status in plain words for staff."""
        return lifecycle.STAFF_STATUS_LABELS.get(self.status, self.status)

    @property
    def hipaa_final_due_on(self) -> date:
        """The HIPAA date that counts (the extended one where granted, R-DL-2)."""
        return self.hipaa_extended_due_on or self.hipaa_due_on


@dataclass
class QueuePage:
    """One page of the queue or of a search, with the cursor of the next page."""

    rows: list[QueueRow]
    next_cursor: Cursor | None
    counts: dict[str, int] = field(default_factory=dict)
    search_kind: str | None = None
    previous_cursor: Cursor | None = None  # the page before starts before this row


def _columns(with_name: bool) -> Select:
    assignee = aliased(StaffUser)
    columns = [
        RecordRequest.id, RecordRequest.reference, RecordRequest.kind,
        RecordRequest.requester_type, RecordRequest.received_on, RecordRequest.received_via,
        RecordRequest.status, RecordRequest.california_due_on, RecordRequest.hipaa_due_on,
        RecordRequest.hipaa_extended_due_on, RecordRequest.working_due_on,
        RecordRequest.assignee_id, assignee.display_name.label("assignee_name"),
        RecordRequest.verified_at, RecordRequest.version,
    ]
    if with_name:
        columns += [RecordRequest.patient_first_name, RecordRequest.patient_last_name]
    return select(*columns).outerjoin(assignee, assignee.id == RecordRequest.assignee_id)


def _open():
    return RecordRequest.is_open == true()


def _apply_filters(query: Select, filters: QueueFilters, staff_id: int | None, today: date,
                   soon_days: int) -> Select:
    if filters.status == "open":
        query = query.where(_open())
    elif filters.status == "closed":
        query = query.where(RecordRequest.is_open == False)  # noqa: E712 - renders "= false"
    elif filters.status in lifecycle.STAFF_STATUS_LABELS:
        query = query.where(RecordRequest.status == filters.status)
    if filters.awaiting:
        query = query.where(RecordRequest.status == lifecycle.AWAITING_REQUESTER)
    if filters.mine:
        query = query.where(RecordRequest.assignee_id == staff_id)
    if filters.unassigned:
        query = query.where(RecordRequest.assignee_id.is_(None))
    if filters.overdue:
        query = query.where(_open(), RecordRequest.working_due_on < today)
    if filters.due_soon:
        query = query.where(_open(), RecordRequest.working_due_on.between(
            today, today + timedelta(days=soon_days)))
    return query


def _page(session: Session, query: Select, after: Cursor | None, limit: int, today: date,
          soon_days: int, with_name: bool, before: Cursor | None = None
          ) -> tuple[list[QueueRow], Cursor | None, Cursor | None]:
    """One keyset page: after a cursor (forwards), or the page ending before one (backwards).
    Returns the rows, the next page's cursor and the previous page's."""
    key = tuple_(RecordRequest.working_due_on, RecordRequest.id)
    if before is not None:
        backwards = query.where(key < tuple_(before.due, before.id)).order_by(
            RecordRequest.working_due_on.desc(), RecordRequest.id.desc()).limit(limit + 1)
        rows = session.execute(backwards).all()
        earlier, more = len(rows) > limit, True
        rows = list(reversed(rows[:limit]))
    else:
        if after is not None:
            query = query.where(key > tuple_(after.due, after.id))
        query = query.order_by(RecordRequest.working_due_on, RecordRequest.id).limit(limit + 1)
        rows = session.execute(query).all()
        earlier, more = after is not None, len(rows) > limit
        rows = rows[:limit]
    result = []
    for row in rows:
        open_request = row.status not in lifecycle.TERMINAL
        hipaa_due = row.hipaa_extended_due_on or row.hipaa_due_on
        result.append(QueueRow(
            id=row.id, reference=row.reference, kind=row.kind,
            requester_type=row.requester_type, received_on=row.received_on,
            received_via=row.received_via, status=row.status,
            california_due_on=row.california_due_on, hipaa_due_on=row.hipaa_due_on,
            hipaa_extended_due_on=row.hipaa_extended_due_on,
            working_due_on=row.working_due_on, assignee_id=row.assignee_id,
            assignee_name=row.assignee_name,
            patient_name=(f"{row.patient_first_name} {row.patient_last_name}"
                          if with_name else None),
            verified=row.verified_at is not None, version=row.version,
            days_left=days_left(row.working_due_on, today),
            working_state=(clock_state(row.working_due_on, today, None, soon_days)
                           if open_request else "closed"),
            hipaa_state=(clock_state(hipaa_due, today, None, soon_days)
                         if open_request else "closed"),
        ))
    last = result[-1] if result and more else None
    first = result[0] if result and earlier else None
    return (result, Cursor(last.working_due_on, last.id) if last else None,
            Cursor(first.working_due_on, first.id) if first else None)


def queue_counts(session: Session, today: date, soon_days: int) -> dict[str, int]:
    """Open requests overdue and due within ``soon_days`` (by the working due date)."""
    overdue = session.scalar(
        select(func.count()).select_from(RecordRequest)
        .where(_open(), RecordRequest.working_due_on < today)
    )
    due_soon = session.scalar(
        select(func.count()).select_from(RecordRequest)
        .where(_open(), RecordRequest.working_due_on.between(
            today, today + timedelta(days=soon_days)))
    )
    return {"overdue": overdue or 0, "due_soon": due_soon or 0}


def view_queue(
    session: Session, actor: Actor, filters: QueueFilters, *, today: date, soon_days: int,
    after: Cursor | None = None, limit: int = 50, with_names: bool = False,
    before: Cursor | None = None,
) -> QueuePage:
    """One page of the queue, with the overdue and due-soon counts (audit it with
    ``record_view`` once the page is rendered); ``with_names`` adds the patient's name."""
    query = _apply_filters(_columns(with_names), filters, actor.id, today, soon_days)
    rows, next_cursor, previous = _page(session, query, after, limit, today, soon_days,
                                        with_name=with_names, before=before)
    return QueuePage(rows, next_cursor, queue_counts(session, today, soon_days),
                     previous_cursor=previous)


def next_request_id(session: Session, current: RecordRequest) -> int | None:
    """The open request after ``current`` in the queue's order (working due date, then id),
    or the first one when ``current`` was the last; None when no other request is open."""
    others = (select(RecordRequest.id).where(_open(), RecordRequest.id != current.id)
              .order_by(RecordRequest.working_due_on, RecordRequest.id).limit(1))
    following = others.where(tuple_(RecordRequest.working_due_on, RecordRequest.id)
                             > tuple_(current.working_due_on, current.id))
    return session.scalar(following) or session.scalar(others)


def record_view(session: Session, actor: Actor, filters: QueueFilters, page: QueuePage,
                *, after: Cursor | None) -> None:
    """Audit a queue page or search (R-AUD-2): the requests it showed (surrogate ids), whether
    with names, counts and filter codes, never a search term.

    Called after rendering, so the audit chain's lock is held only for the insert.
    """
    action = "queue.searched" if page.search_kind else "queue.viewed"
    summary: dict = {"rows": len(page.rows), "page_after": bool(after or page.previous_cursor),
                     **filters.flags(),
                     "requests": [row.id for row in page.rows],
                     "names_shown": any(row.patient_name for row in page.rows)}
    if page.search_kind:
        summary["kind"] = page.search_kind
    append_event(session, action, actor=actor, object_type="queue", summary=summary,
                 deferred=True)


def _name_condition(session: Session, words: list[str]):
    """Requests whose names have a word starting with each typed word.

    The matching ids are fetched first from the token index (a prefix range per word,
    intersected), then the requests by primary key: both databases then read only the hits,
    where a subquery could lead a planner to scan every request. A broad search (more than
    MAX_NAME_HITS hits: a common surname) is asked instead as "has a word starting with ..."
    of each request met in the queue's order, so the database stops at the page's last row
    instead of sorting every hit (the index on (request_id, token) answers each probe).
    """
    ranges = [(word, word[:-1] + chr(ord(word[-1]) + 1)) for word in words]
    hits = [select(RequestSearchToken.request_id).where(
        RequestSearchToken.token >= low, RequestSearchToken.token < high) for low, high in ranges]
    # One word: its rows as the index holds them (a request listed twice only makes the
    # search count as broad sooner, which changes the plan, never the result).
    matching = intersect(*hits) if len(hits) > 1 else hits[0]
    ids = list(session.scalars(matching.limit(MAX_NAME_HITS + 1)))
    if len(ids) <= MAX_NAME_HITS:
        return RecordRequest.id.in_(sorted(set(ids)))
    return and_(*(exists().where(RequestSearchToken.request_id == RecordRequest.id,
                                 RequestSearchToken.token >= low, RequestSearchToken.token < high)
                  for low, high in ranges))


def search_kind(term: str) -> str:
    """How a search term is read: 'reference', 'email' or 'name'."""
    if REFERENCE_PATTERN.match(term):
        return "reference"
    if "@" in term:
        return "email"
    return "name"


def search_requests(
    session: Session, actor: Actor, term: str, filters: QueueFilters, *, today: date,
    soon_days: int, after: Cursor | None = None, limit: int = 50,
    before: Cursor | None = None,
) -> QueuePage:
    """Requests matching a reference, an email address or patient names (legal and other).

    Audit it with ``record_view``: the kind of search and the number of results, never the
    term itself (R-SEC-4).
    """
    kind = search_kind(term)
    query = _apply_filters(_columns(True), filters, actor.id, today, soon_days)
    if kind == "reference":
        query = query.where(RecordRequest.reference == REFERENCE_PATTERN.match(term)[1].upper())
    elif kind == "email":
        query = query.where(func.lower(RecordRequest.contact_email) == term.strip().lower())
    else:
        words = normalize_for_search(term).replace("'", "").replace("\u2019", "").split()
        query = query.where(_name_condition(session, words) if words else false())
    rows, next_cursor, previous = _page(session, query, after, limit, today, soon_days,
                                        with_name=True, before=before)
    return QueuePage(rows, next_cursor, queue_counts(session, today, soon_days), kind,
                     previous_cursor=previous)


@dataclass(frozen=True)
class WorkloadRow:
    """One person's open requests, and how many are due soon or overdue."""

    staff_id: int | None
    name: str
    active: bool
    open: int
    due_soon: int
    overdue: int


def view_workload(session: Session, actor: Actor, *, today: date,
                  soon_days: int) -> list[WorkloadRow]:
    """Open, due-soon and overdue requests per clerk, then the unassigned ones; audited.

    Everyone who works requests is listed (with zeros when idle), and so is anyone no longer
    active who still holds open requests, so they can be reassigned.
    """
    soon_end = today + timedelta(days=soon_days)
    due = RecordRequest.working_due_on
    counts = {
        row[0]: tuple(int(v or 0) for v in row[1:])
        for row in session.execute(
            select(
                RecordRequest.assignee_id,
                func.count(),
                func.sum(case((and_(due >= today, due <= soon_end), 1), else_=0)),
                func.sum(case((due < today, 1), else_=0)),
            ).where(_open()).group_by(RecordRequest.assignee_id)
        )
    }
    result = []
    for person in session.scalars(select(StaffUser).order_by(StaffUser.display_name)):
        works = person.is_active and WORK_REQUESTS in permissions_for(
            person.role_names, person.is_licensed_reviewer)
        if person.id not in counts and not works:
            continue
        result.append(WorkloadRow(person.id, person.display_name, works,
                                  *counts.get(person.id, (0, 0, 0))))
    result.append(WorkloadRow(None, "", True, *counts.get(None, (0, 0, 0))))
    append_event(session, "queue.workload_viewed", actor=actor, object_type="queue", deferred=True,
                 summary={"people": len(result) - 1})
    return result
