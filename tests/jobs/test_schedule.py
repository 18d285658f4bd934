"""Periodic work is written as jobs once a day, and the reminders it sends carry no PHI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.jobs.models import Job


def _kinds(app) -> list[str]:
    from portal.core.db import get_session

    with app.app_context():
        return [j.kind for j in get_session().scalars(select(Job).order_by(Job.id))]


def _schedule(app, moment: datetime, *, daily_only: bool = True) -> list[str]:
    from portal.core.db import commit, get_session
    from portal.jobs.dispatch import schedule_due

    with app.test_request_context():
        written = schedule_due(get_session(), moment)
        commit()
    from portal.jobs.dispatch import SCHEDULE

    sliced = {item.name for item in SCHEDULE if item.every is not None}
    return [w for w in written if w not in sliced] if daily_only else written


def test_each_daily_job_is_written_once_a_day_after_its_hour_in_los_angeles(app):
    # 06:59 in Los Angeles (14:59 UTC): the 3 am jobs are due, the 7 am digest not yet.
    early = datetime(2026, 12, 3, 14, 59, tzinfo=UTC)
    assert _schedule(app, early) == ["housekeeping", "drafts-purge", "jobs-cleanup"]
    assert _schedule(app, early + timedelta(seconds=30)) == []  # a second worker's tick
    later = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)  # 9 am
    assert _schedule(app, later) == ["clerk-digest", "requester-reminders"]
    next_day = datetime(2026, 12, 4, 11, 0, tzinfo=UTC)  # 3 am the next day
    assert _schedule(app, next_day) == ["housekeeping"]
    assert _kinds(app).count("requests.abandon_stale") == 2


def test_the_storage_sweep_is_written_once_a_quarter_of_an_hour(app):
    moment = datetime(2026, 12, 3, 20, 1, tzinfo=UTC)
    assert "storage-sweep" in _schedule(app, moment, daily_only=False)
    assert "storage-sweep" not in _schedule(app, moment + timedelta(minutes=10),
                                            daily_only=False)
    assert "storage-sweep" in _schedule(app, moment + timedelta(minutes=15), daily_only=False)


def test_the_audit_head_is_recorded_hourly_or_as_configured(app):
    moment = datetime(2026, 12, 3, 20, 1, tzinfo=UTC)
    assert "audit-head" in _schedule(app, moment, daily_only=False)
    assert "audit-head" not in _schedule(app, moment + timedelta(minutes=30), daily_only=False)
    assert "audit-head" in _schedule(app, moment + timedelta(minutes=60), daily_only=False)
    app.config["AUDIT_HEAD_EVERY_MINUTES"] = 10
    assert "audit-head" in _schedule(app, moment + timedelta(minutes=70), daily_only=False)
    assert "audit-head" in _schedule(app, moment + timedelta(minutes=80), daily_only=False)


def test_a_day_missed_while_every_worker_was_down_is_caught_up_when_one_starts(app):
    evening = datetime(2026, 12, 4, 6, 0, tzinfo=UTC)  # 10 pm on the 3rd in Los Angeles
    assert len(_schedule(app, evening)) == 5


@pytest.fixture
def desk(app):
    """A clerk with requests due at different times, a supervisor, and an unassigned request."""
    from portal.core.db import commit, get_session
    from portal.rules.deadlines import today_pacific
    from tests.factories import make_request, make_staff

    today = today_pacific()
    with app.test_request_context():
        session = get_session()
        clerk = make_staff(session, "clerk", email="clerk@example.test")
        make_staff(session, "clerk", "supervisor", email="lead@example.test")
        make_staff(session, "auditor", email="auditor@example.test")
        refs = {}
        for name, due, assignee in (("late", today - timedelta(days=2), clerk),
                                    ("soon", today + timedelta(days=1), clerk),
                                    ("later", today + timedelta(days=20), clerk),
                                    ("nobody", today, None)):
            req = make_request(session, patient_first_name="Zebulon",
                               patient_last_name="Quartermaine")
            req.working_due_on, req.assignee_id = due, assignee.id if assignee else None
            refs[name] = req.reference
        commit()
    return refs


def test_the_morning_digest_lists_each_clerk_s_references_and_no_patient(app, desk, outbox):
    from portal.jobs.outbox import run_due

    _schedule(app, datetime(2026, 12, 3, 15, 30, tzinfo=UTC))
    run_due(app)
    mail = {m["To"]: m for m in outbox()}
    assert set(mail) == {"clerk@example.test", "lead@example.test"}  # not the auditor
    mine = mail["clerk@example.test"]
    body = mine.get_content()
    assert mine["Subject"] == "A notice for staff"  # R-SEC-6: the counts are in the body
    assert "Requests due: 1 overdue, 1 due soon." in body
    assert desk["late"] in body.split("Overdue (1): ")[1].splitlines()[0]
    assert desk["soon"] in body and desk["later"] not in body and desk["nobody"] not in body
    lead = mail["lead@example.test"].get_content()
    assert desk["nobody"] in lead and desk["late"] not in lead  # the unassigned one
    for message in outbox():
        text = message.get_content()
        assert "Zebulon" not in text and "Quartermaine" not in text
        assert message["From"] == "Records Custodian <records@example.invalid>"


def test_a_requester_who_owes_an_answer_is_reminded_once_before_the_request_closes(app, outbox):
    from portal.core.db import commit, get_session, utcnow
    from portal.jobs.outbox import run_due
    from portal.rules import lifecycle
    from tests.factories import make_request, make_requester

    with app.test_request_context():
        session = get_session()
        waiting = make_request(session, make_requester(session, email="waiting@example.test"))
        fresh = make_request(session, make_requester(session, email="fresh@example.test"))
        for req, days in ((waiting, 24), (fresh, 3)):
            req.status = lifecycle.AWAITING_REQUESTER
            session.flush()
            req.updated_at = utcnow() - timedelta(days=days)
        commit()
    _schedule(app, datetime(2026, 12, 3, 18, 0, tzinfo=UTC))
    run_due(app)
    reminders = [m for m in outbox() if "waiting for your answer" in m.get_content()]
    assert [m["To"] for m in reminders] == ["waiting@example.test"]
    assert "reply by" in reminders[0].get_content()
    _schedule(app, datetime(2026, 12, 4, 18, 0, tzinfo=UTC))  # the next day: not again
    run_due(app)
    assert len([m for m in outbox() if "waiting for your answer" in m.get_content()]) == 1
