"""Outgoing mail: composed per area, sent by this one function, only after the commit.

R-SEC-4: a neutral sender ("Records Custodian") and subject, and no PHI in the body: emails say
there is an update and how to sign in to see it.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from flask import current_app

from portal.core.db import after_commit

log = logging.getLogger("portal.mail")


def send_mail(to: str, subject: str, body: str) -> None:
    """Queue a plain-text message; it leaves only once the current transaction has committed."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="records.invalid")
    message["Date"] = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    message.set_content(body)
    backend = config["MAIL_BACKEND"]
    outbox = Path(config["OUTBOX_DIR"])
    smtp = {k: config[k] for k in config if k.startswith("MAIL_SMTP_")}
    after_commit(lambda: _deliver(message, backend, outbox, smtp))


def _deliver(message: EmailMessage, backend: str, outbox: Path, smtp: dict) -> None:
    if backend == "smtp":
        with smtplib.SMTP(smtp["MAIL_SMTP_HOST"], int(smtp["MAIL_SMTP_PORT"]), timeout=30) as conn:
            if smtp["MAIL_SMTP_STARTTLS"]:
                conn.starttls(context=ssl.create_default_context())
            if smtp["MAIL_SMTP_USERNAME"]:
                conn.login(smtp["MAIL_SMTP_USERNAME"], smtp["MAIL_SMTP_PASSWORD"])
            conn.send_message(message)
        return
    outbox.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    path = outbox / f"{stamp}.eml"
    path.write_bytes(bytes(message))
    # Development only: print the links so a newcomer can follow them without a mail server.
    links = [w for w in message.get_content().split() if w.startswith(("http://", "https://"))]
    print(f"[outbox] mail written to {path}")  # noqa: T201
    for link in links:
        print(f"[outbox]   link: {link}")  # noqa: T201


def read_outbox(outbox: Path) -> list[EmailMessage]:
    """Every message in the development outbox, oldest first (tests and newcomers)."""
    from email import policy
    from email.parser import BytesParser

    parser = BytesParser(policy=policy.default)
    return [parser.parsebytes(p.read_bytes()) for p in sorted(Path(outbox).glob("*.eml"))]
