"""Outgoing mail: composed per area, written to the outbox, delivered by a job (at least once).

R-SEC-4: a neutral sender ("Records Custodian") and subject, and no PHI in the body: emails say
there is an update and how to sign in to see it. Each message's Message-ID comes from its job,
so a message sent twice (a worker killed between the send and its commit) is one message to
the recipient's mail system and can be counted as a duplicate.
"""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from flask import current_app
from sqlalchemy.orm import Session

from portal.core.db import get_session
from portal.core.links import Subject
from portal.jobs.models import Job
from portal.jobs.outbox import FAILURE_HOOKS, JobContext, PermanentFailure, enqueue, handler

MAIL_JOB = "mail.send"
MESSAGE_ID_DOMAIN = "records.invalid"


def send_mail(to: str, subject: Subject, body: str, *, request_id: int | None = None,
              dedupe_key: str | None = None) -> None:
    """Queue a plain-text message in the current transaction; it leaves once that commits.

    ``subject`` is one of the fixed list (R-SEC-6), written in the current language.
    ``request_id`` names the request the message is about, so that a refused address shows on
    that request's page; with ``dedupe_key`` a message already queued under it is not repeated.
    """
    if not isinstance(subject, Subject):
        raise TypeError("an email's subject is one of portal.core.links.Subject (R-SEC-6)")
    queued = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    enqueue(get_session(), MAIL_JOB, {"to": to, "subject": subject.line(), "body": body,
                                      "queued": queued},
            request_id=request_id, dedupe_key=dedupe_key)


def message_id(uid: str) -> str:
    return f"<{uid}@{MESSAGE_ID_DOMAIN}>"


def compose(payload: dict, uid: str) -> EmailMessage:
    """The message of a mail job, the same bytes on every attempt but for the Date."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_SENDER"]
    message["To"] = payload["to"]
    message["Subject"] = payload["subject"]
    message["Message-ID"] = message_id(uid)
    message["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    message.set_content(payload["body"])
    return message


@handler(MAIL_JOB, max_attempts=12)
def deliver(_session: Session, payload: dict, context: JobContext) -> None:
    """Hand the message to the SMTP server, or write it to the development outbox."""
    config = current_app.config
    message = compose(payload, context.uid)
    if config["MAIL_BACKEND"] == "smtp":
        _send_smtp(message, config)
        return
    outbox = Path(config["OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Named by the job, so a retried job rewrites its own file instead of adding a second.
    path = outbox / f"{payload['queued']}-{context.uid}.eml"
    path.write_bytes(bytes(message))
    # Development only: print the links so a newcomer can follow them without a mail server.
    links = [w for w in payload["body"].split() if w.startswith(("http://", "https://"))]
    print(f"[outbox] mail written to {path}")  # noqa: T201
    for link in links:
        print(f"[outbox]   link: {link}")  # noqa: T201


def _send_smtp(message: EmailMessage, config) -> None:
    timeout = float(config.get("MAIL_SMTP_TIMEOUT_SECONDS", 10))
    try:
        with smtplib.SMTP(config["MAIL_SMTP_HOST"], int(config["MAIL_SMTP_PORT"]),
                          timeout=timeout) as conn:
            if config["MAIL_SMTP_STARTTLS"]:
                conn.starttls(context=ssl.create_default_context())
            if config["MAIL_SMTP_USERNAME"]:
                conn.login(config["MAIL_SMTP_USERNAME"], config["MAIL_SMTP_PASSWORD"])
            conn.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({code for code, _text in exc.recipients.values()})
        if any(code >= 500 for code in codes):
            raise PermanentFailure(
                f"The mail server refused the address (code {codes[0]})") from None
        raise  # 4xx: the server asks to try again later


def _mail_operators(_session: Session, job: Job) -> None:
    """A job failed for good: tell the operators' address (JOBS_ALERT_EMAIL), if one is set.

    Not for a failed email itself, which would only queue another that may fail the same way."""
    address = current_app.config.get("JOBS_ALERT_EMAIL")
    if address and job.kind != MAIL_JOB:
        send_mail(address, Subject.STAFF_NOTICE, (
            f"A background job failed.\n\nJob {job.id} ({job.kind}) failed for good after "
            f"{job.attempts} attempt(s): {job.last_error}.\n\nThe background jobs page lists it "
            "and can run it again.\n\nRecords Portal"
        ))


FAILURE_HOOKS.append(_mail_operators)


def read_outbox(outbox: Path) -> list[EmailMessage]:
    """Every message in the development outbox, oldest first (tests and newcomers)."""
    from email import policy
    from email.parser import BytesParser

    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(p.read_bytes()) for p in sorted(Path(outbox).glob("*.eml"))]
