"""Mail leaves through the outbox: at least once, one Message-ID per message, a refused address
marked for the clerk, an SMTP outage waited out (R-SEC-4: neutral sender)."""

from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from portal.core.links import Subject
from portal.jobs.models import DONE, FAILED, PENDING, Job
from tests.ports import free_port


class Inbox:
    """An SMTP server's handler: keeps what it accepts, refuses addresses at refused.test."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.endswith("@refused.test"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(envelope.content)
        return "250 Message accepted"


@pytest.fixture
def smtp(app):
    """A real SMTP server on loopback, and the app configured to send to it."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_BACKEND="smtp", MAIL_SMTP_HOST="127.0.0.1", MAIL_SMTP_PORT=port,
                      MAIL_SMTP_STARTTLS=False, MAIL_SMTP_TIMEOUT_SECONDS=5)
    inbox.controller = controller
    inbox.port = port
    yield inbox
    inbox.controller.stop()


def _mail_jobs(app) -> list[Job]:
    from portal.core.db import get_session

    with app.app_context():
        session = get_session()
        rows = list(session.scalars(select(Job).where(Job.kind == "mail.send").order_by(Job.id)))
        session.expunge_all()
        return rows


def _make_due(app, job_id: int) -> None:
    from portal.core.db import get_session

    with app.app_context():
        session = get_session()
        row = session.get(Job, job_id)
        row.next_attempt_at = row.created_at
        session.commit()


def test_mail_is_delivered_over_smtp_with_the_neutral_sender_and_the_job_s_message_id(
        app, scope, smtp):
    from portal.jobs.mail import message_id, send_mail

    with scope():
        send_mail("person@example.test", Subject.UPDATE, "Hello")
    [job] = _mail_jobs(app)
    [raw] = smtp.messages
    assert job.status == DONE
    assert b"From: Records Custodian <records@example.invalid>" in raw
    assert f"Message-ID: {message_id(job.uid)}".encode() in raw


def _send_then_die(app) -> Job:
    """A worker claims a mail job, sends it, and is killed before its commit; the lease ends."""
    from datetime import timedelta

    from portal.core.db import get_session, utcnow
    from portal.jobs.dispatch import InlineDispatcher
    from portal.jobs.mail import deliver, send_mail
    from portal.jobs.outbox import JobContext, _claim, _open

    notify = InlineDispatcher.notify
    InlineDispatcher.notify = lambda self, ids: None
    try:
        with app.test_request_context():
            send_mail("person@example.test", Subject.UPDATE, "Hello")
            from portal.core.db import commit

            commit()
    finally:
        InlineDispatcher.notify = notify
    [job] = _mail_jobs(app)
    with app.app_context():
        session = get_session()
        assert _claim(session, job.id, utcnow())
        session.commit()
        row = session.get(Job, job.id)
        deliver(session, _open(row), JobContext(row.id, row.uid, row.attempts, None))
        row.locked_until = utcnow() - timedelta(seconds=1)  # the lease runs out
        session.commit()
    return job


def test_a_message_sent_twice_keeps_one_message_id(app, smtp):
    """A worker killed between the send and its commit: the job runs again, the same message."""
    from portal.jobs.outbox import run_due

    _send_then_die(app)
    assert run_due(app) == 1
    ids = [line for raw in smtp.messages for line in raw.splitlines()
           if line.startswith(b"Message-ID:")]
    assert len(ids) == 2 and ids[0] == ids[1]
    [job] = _mail_jobs(app)
    assert job.status == DONE and job.attempts == 2


def test_a_refused_address_is_marked_undeliverable_on_the_request_page(
        app, client, auth, smtp):
    from portal.core.db import commit, get_session
    from portal.jobs.mail import send_mail
    from tests.factories import make_request, make_requester, make_staff

    with app.test_request_context():
        session = get_session()
        clerk = make_staff(session, "clerk")
        req = make_request(session, make_requester(session, email="gone@refused.test"))
        send_mail("gone@refused.test", Subject.UPDATE, "Hello", request_id=req.id)
        commit()
        clerk_id, req_id = clerk.id, req.id
    [job] = _mail_jobs(app)
    assert job.status == FAILED and job.attempts == 1
    assert job.last_error == "The mail server refused the address (code 550)"
    assert smtp.messages == []
    auth.staff(clerk_id)
    page = client.get(f"/staff/requests/{req_id}").get_data(as_text=True)
    assert "An email could not be delivered" in page
    assert "The mail server refused the address (code 550)" in page


def test_mail_waits_out_an_smtp_outage_and_is_delivered_when_the_server_returns(
        app, scope, smtp):
    from portal.jobs.mail import send_mail
    from portal.jobs.outbox import run_job

    smtp.controller.stop()  # the server is down
    with scope():
        send_mail("person@example.test", Subject.UPDATE, "Hello")
    [job] = _mail_jobs(app)
    assert job.status == PENDING and job.attempts == 1
    assert job.last_error == "ConnectionRefusedError" and job.next_attempt_at > job.created_at
    smtp.controller = Controller(smtp, hostname="127.0.0.1", port=smtp.port)
    smtp.controller.start()  # and back
    _make_due(app, job.id)
    assert run_job(app, job.id) == DONE
    assert len(smtp.messages) == 1


def test_the_development_outbox_rewrites_one_file_per_message_on_retry(app, outbox):
    from portal.jobs.outbox import run_due

    _send_then_die(app)
    assert run_due(app) == 1
    assert len(outbox()) == 1
