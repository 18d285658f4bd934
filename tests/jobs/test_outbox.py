"""The outbox (portal/jobs): work written with the change that causes it, run at least once,
retried with backoff, failed for good with a reason and an alert, never lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.jobs.models import DONE, FAILED, PENDING, RUNNING, Job
from portal.jobs.outbox import HANDLERS, Handler, PermanentFailure

KIND = "tests.recorder"


@pytest.fixture
def recorder(monkeypatch):
    """A job kind whose handler records its payloads, and fails while ``failures`` is not empty."""
    calls: list[dict] = []
    failures: list[Exception] = []

    def run(_session, payload, _context):
        calls.append(payload)
        if failures:
            raise failures.pop(0)

    monkeypatch.setitem(HANDLERS, KIND, Handler(KIND, run, 3, 300))
    return calls, failures


def _jobs(app) -> list[Job]:
    from portal.core.db import get_session

    with app.app_context():
        session = get_session()
        rows = list(session.scalars(select(Job).order_by(Job.id)))
        session.expunge_all()  # readable after the context closes the session
        return rows


def test_a_job_runs_once_its_transaction_commits_and_never_if_it_rolls_back(app, scope, recorder):
    from portal.core.db import get_session, rollback
    from portal.jobs.outbox import enqueue

    calls, _ = recorder
    with app.test_request_context():
        enqueue(get_session(), KIND, {"n": 1})
        rollback()
    assert calls == [] and _jobs(app) == []
    with scope() as session:
        enqueue(session, KIND, {"n": 2})
    assert calls == [{"n": 2}]
    [job] = _jobs(app)
    assert job.status == DONE and job.attempts == 1 and job.payload == b""


def test_the_payload_is_encrypted_at_rest(app, scope, monkeypatch):
    """An address and a sign-in token wait in the outbox: never in the clear (R-SEC-2)."""
    from portal.jobs.dispatch import InlineDispatcher

    monkeypatch.setattr(InlineDispatcher, "notify", lambda self, ids: None)  # keep it pending
    with scope():
        from portal.identity.operations import request_sign_in_link

        request_sign_in_link("someone.private@example.test")
    [job] = _jobs(app)
    assert job.status == PENDING
    assert b"someone.private" not in job.payload and b"@example" not in job.payload


def test_a_failing_handler_is_retried_later_then_fails_for_good_with_an_alert(
        app, scope, recorder, outbox):
    from portal.core.db import get_session
    from portal.jobs.outbox import enqueue, run_job
    from portal.trail.models import AuditEvent

    app.config["JOBS_ALERT_EMAIL"] = "ops@example.test"
    calls, failures = recorder
    failures.extend([TimeoutError("smtp slow"), TimeoutError("smtp slow"),
                     ConnectionError("down")])
    with scope() as session:
        job_id = enqueue(session, KIND, {"n": 1}).id
    [job] = _jobs(app)
    assert job.status == PENDING and job.attempts == 1 and job.last_error == "TimeoutError"
    assert timedelta(seconds=20) < job.next_attempt_at - job.created_at < timedelta(seconds=60)
    for _ in range(2):  # the time comes: make the retry due now, as the clock would
        with app.app_context():
            session = get_session()
            row = session.get(Job, job_id)
            row.next_attempt_at = row.created_at
            session.commit()
        run_job(app, job_id)
        [job] = [j for j in _jobs(app) if j.kind == KIND]
    assert len(calls) == 3 and job.status == FAILED and job.attempts == 3
    assert job.last_error == "ConnectionError" and job.finished_at is not None
    with app.app_context():
        event = get_session().scalar(select(AuditEvent).where(AuditEvent.action == "job.failed"))
        assert event.object_id == job_id and event.summary == {"kind": KIND, "attempts": 3}
    [alert] = [m for m in outbox() if m["To"] == "ops@example.test"]
    assert f"Job {job_id} ({KIND}) failed for good after 3 attempt(s)" in alert.get_content()


@pytest.mark.once
def test_each_retry_waits_about_twice_as_long_as_the_one_before_up_to_an_hour():
    from portal.jobs.outbox import retry_delay

    for attempt, seconds in ((1, 30), (2, 60), (3, 120), (6, 960)):
        assert seconds * 0.8 <= retry_delay(attempt).total_seconds() <= seconds * 1.2
    assert retry_delay(30).total_seconds() <= 3600 * 1.2


def test_a_permanent_failure_is_not_retried_and_keeps_its_reason(app, scope, recorder):
    calls, failures = recorder
    failures.append(PermanentFailure("The mail server refused the address (code 550)"))
    from portal.jobs.outbox import enqueue

    with scope() as session:
        enqueue(session, KIND, {})
    [job] = _jobs(app)
    assert len(calls) == 1 and job.status == FAILED and job.attempts == 1
    assert job.last_error == "The mail server refused the address (code 550)"


def test_a_job_whose_worker_died_runs_again_when_its_lease_expires(app, scope, recorder):
    """kill -9 after the claim: the row says 'running' until the lease ends, then runs."""
    from portal.core.db import get_session, utcnow
    from portal.jobs.outbox import enqueue, run_due

    calls, _ = recorder
    with scope() as session:
        job = enqueue(session, KIND, {"n": 7})
        job.status, job.attempts = RUNNING, 1  # claimed by a worker that then died
        job.locked_until = utcnow() + timedelta(minutes=5)
    assert run_due(app) == 0 and calls == []
    with app.app_context():
        session = get_session()
        session.get(Job, job.id).locked_until = utcnow() - timedelta(seconds=1)
        session.commit()
    assert run_due(app) == 1 and calls == [{"n": 7}]
    [row] = _jobs(app)
    assert row.status == DONE and row.attempts == 2


def test_two_workers_claiming_the_same_job_run_it_once(app, scope, recorder, monkeypatch):
    from portal.jobs.dispatch import InlineDispatcher
    from portal.jobs.outbox import enqueue, run_job

    calls, _ = recorder
    monkeypatch.setattr(InlineDispatcher, "notify", lambda self, ids: None)
    with scope() as session:
        job_id = enqueue(session, KIND, {}).id
    assert run_job(app, job_id) == DONE
    assert run_job(app, job_id) is None  # the second hand-over finds it taken
    assert len(calls) == 1


def test_a_dedupe_key_writes_the_job_once(app, scope, recorder):
    from portal.jobs.outbox import enqueue

    with scope() as session:
        assert enqueue(session, KIND, {}, dedupe_key="periodic:x:2026-12-03") is not None
    with scope() as session:
        assert enqueue(session, KIND, {}, dedupe_key="periodic:x:2026-12-03") is None
    assert len(_jobs(app)) == 1


def test_an_admin_can_run_a_failed_job_again(app, scope, recorder):
    from portal.core.db import get_session
    from portal.jobs.outbox import enqueue, retry_failed

    calls, failures = recorder
    failures.append(PermanentFailure("refused"))
    with scope() as session:
        job_id = enqueue(session, KIND, {"n": 1}).id
    with scope() as session:
        assert retry_failed(session, job_id, by="staff:1")
    [job] = _jobs(app)
    assert job.status == DONE and job.retried_by == "staff:1" and len(calls) == 2
    with app.app_context():
        assert not retry_failed(get_session(), job_id, by="staff:1")  # done: nothing to retry


def test_every_sign_in_request_writes_exactly_one_job_known_address_or_not_r_id_5(
        app, client, outbox, monkeypatch):
    """R-ID-5: the same work in the request whether or not the address is known."""
    from portal.core.db import commit, get_session
    from portal.jobs.dispatch import InlineDispatcher
    from tests.factories import make_requester

    with app.app_context():
        make_requester(get_session(), email="known@example.test")
        commit()
    monkeypatch.setattr(InlineDispatcher, "notify", lambda self, ids: None)
    for email in ("known@example.test", "nobody@example.test"):
        assert client.post("/sign-in", data={"email": email}).status_code == 302
    jobs = _jobs(app)
    assert [j.kind for j in jobs] == ["identity.sign_in_link"] * 2
    monkeypatch.undo()
    from portal.jobs.outbox import run_due

    run_due(app)
    assert [m["To"] for m in outbox()] == ["known@example.test"]
    with app.app_context():
        counts = dict(get_session().execute(
            select(Job.kind, func.count()).group_by(Job.kind)).all())
    assert counts == {"identity.sign_in_link": 2, "mail.send": 1}


def test_the_thread_dispatcher_runs_what_is_due(app, scope, recorder, monkeypatch):
    """The embedded default: one thread of the serving process polls the outbox."""
    from portal.jobs.dispatch import InlineDispatcher, ThreadDispatcher
    from portal.jobs.outbox import enqueue

    calls, _ = recorder
    monkeypatch.setattr(InlineDispatcher, "notify", lambda self, ids: None)
    with scope() as session:
        enqueue(session, KIND, {"n": 3})
    assert calls == []
    ThreadDispatcher(app).loop(once=True)
    assert calls == [{"n": 3}]


def test_polling_an_idle_outbox_never_takes_sqlite_s_write_lock(app):
    """make run's dispatcher polls every two seconds: with nothing to do it must not make a
    page that writes wait for SQLite's one write lock."""
    import sqlite3
    import threading

    from sqlalchemy.engine import make_url

    from portal.jobs.dispatch import ThreadDispatcher, tick

    if not app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("SQLite's single write lock")
    tick(app)  # today's periodic jobs are written (and run): the outbox is idle
    writer = sqlite3.connect(make_url(app.config["DATABASE_URL"]).database,
                             isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a page in the middle of its writes
    try:
        poll = threading.Thread(target=ThreadDispatcher(app).loop, kwargs={"once": True})
        poll.start()
        poll.join(5)
        assert not poll.is_alive(), "the poll waited for the write lock"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        poll.join(40)
