"""Daily reminders: each clerk's due-soon and overdue requests, and requesters who owe an answer.

Both are periodic jobs (portal/jobs/dispatch.py SCHEDULE). R-SEC-4: the emails carry counts,
request references and dates, never a patient's name or anything about the records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import StaffUser
from portal.core.db import utcnow
from portal.core.links import Subject, external_url, translation_context
from portal.jobs.mail import send_mail
from portal.jobs.outbox import JobContext, handler
from portal.requests import letters
from portal.requests.models import RecordRequest
from portal.rules import lifecycle
from portal.rules.deadlines import clock_state, pacific_date, today_pacific
from portal.rules.permissions import ASSIGN_REQUESTS, WORK_REQUESTS, permissions_for

#: Days before the abandonment date on which a requester who owes an answer is reminded.
REMIND_DAYS_BEFORE_ABANDON = 7


@dataclass(frozen=True)
class Digest:
    """One person's requests by deadline: references only."""

    overdue: list[str]
    due_soon: list[str]


def _digest(rows, today: date, soon_days: int) -> Digest:
    """The open requests' references by their standing (rules.deadlines.clock_state)."""
    states = [(ref, clock_state(due, today, None, soon_days)) for ref, due in rows]
    return Digest([ref for ref, state in states if state == "overdue"],
                  [ref for ref, state in states if state == "due_soon"])


def clerk_digests(session: Session, today: date, soon_days: int) -> dict[int, Digest]:
    """Per member of staff who works requests: their own overdue and due-soon requests; for
    those who assign work, the unassigned ones too. People with nothing due are left out."""
    rows = session.execute(
        select(RecordRequest.assignee_id, RecordRequest.reference, RecordRequest.working_due_on)
        .where(RecordRequest.is_open == True,  # noqa: E712 - renders "= true"
               RecordRequest.working_due_on <= today + timedelta(days=soon_days))
        .order_by(RecordRequest.working_due_on, RecordRequest.id)
    ).all()
    by_assignee: dict[int | None, list[tuple[str, date]]] = {}
    for assignee, reference, due in rows:
        by_assignee.setdefault(assignee, []).append((reference, due))
    digests = {}
    for person in session.scalars(select(StaffUser).where(StaffUser.is_active == True)):  # noqa: E712
        allowed = permissions_for(person.role_names, person.is_licensed_reviewer)
        if WORK_REQUESTS not in allowed:
            continue
        mine = list(by_assignee.get(person.id, []))
        if ASSIGN_REQUESTS in allowed:
            mine += by_assignee.get(None, [])
        digest = _digest(sorted(mine, key=lambda r: r[1]), today, soon_days)
        if digest.overdue or digest.due_soon:
            digests[person.id] = digest
    return digests


def _lines(references: list[str], limit: int = 40) -> str:
    shown = ", ".join(references[:limit])
    more = len(references) - limit
    return shown + (_(" and %(n)s more", n=more) if more > 0 else "")


@handler("reminders.clerk_digest")
def send_clerk_digests(session: Session, _payload: dict, _context: JobContext) -> None:
    """The morning email to each clerk with requests due soon or overdue."""
    soon_days = int(current_app.config["DUE_SOON_DAYS"])
    today = today_pacific()
    with translation_context():
        for staff_id, digest in clerk_digests(session, today, soon_days).items():
            person = session.get(StaffUser, staff_id)
            parts = [_("Good morning,"), "",
                     _("Requests due: %(n)s overdue, %(m)s due soon.", n=len(digest.overdue),
                       m=len(digest.due_soon)), ""]
            if digest.overdue:
                parts.append(_("Overdue (%(n)s): %(refs)s", n=len(digest.overdue),
                               refs=_lines(digest.overdue)))
            if digest.due_soon:
                parts.append(_("Due in the next %(days)s days (%(n)s): %(refs)s",
                               days=soon_days, n=len(digest.due_soon),
                               refs=_lines(digest.due_soon)))
            parts += ["", _("Open the queue: %(link)s", link=external_url("queue.index")), "",
                      _("Records Portal")]
            send_mail(person.email, Subject.STAFF_NOTICE, "\n".join(parts))


def requester_reminders_due(session: Session, abandon_after_days: int) -> list[RecordRequest]:
    """Requests waiting for their requester long enough to be reminded, before they close."""
    cutoff = utcnow() - timedelta(days=abandon_after_days - REMIND_DAYS_BEFORE_ABANDON)
    return list(session.scalars(
        select(RecordRequest).where(RecordRequest.status == lifecycle.AWAITING_REQUESTER,
                                    RecordRequest.updated_at < cutoff)
        .order_by(RecordRequest.id)
    ))


@handler("reminders.requesters")
def send_requester_reminders(session: Session, _payload: dict, _context: JobContext) -> None:
    """One reminder per waiting period: the key names the request's last change, so a
    request that waits again after the requester answered is reminded again."""
    days = int(current_app.config["ABANDON_AFTER_DAYS"])
    for req in requester_reminders_due(session, days):
        closes_on = pacific_date(req.updated_at) + timedelta(days=days)
        letters.notify_requester(req, reply_by=closes_on,
                                 dedupe_key=f"reminder:{req.id}:{req.updated_at:%Y%m%dT%H%M%S}")
