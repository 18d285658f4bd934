"""No PHI in logs, URLs, email bodies or subjects, or audit summaries (R-SEC-4, R-AUD-2).

One whole request goes through the portal: an executor asks for a deceased patient's records
to go to a lawyer, confirms the email, a clerk verifies, locates and releases, and the lawyer
downloads with the access code. Everything the portal wrote on the way is then searched for
the people's names, dates of birth, addresses, emails, the MRN and the client IP, and the
program's name (which alone reveals treatment) in emails.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from sqlalchemy import select

from portal.requests.models import RecordRequest
from portal.trail.models import AuditEvent
from tests.journey import clerk as clerk_side
from tests.journey.samples import EXECUTOR_ANSWERS, Wizard

PERSONAL = ["Avery", "Quill", "Jordan", "Morgan Lee", "1980-04-12", "04/12/1980",
            "12 Canyon Road", "100 Main St", "avery.quill", "jordan.quill", "morgan.lee",
            "(555) 010-1234"]


@pytest.fixture
def seen_urls(app):
    urls: list[str] = []

    @app.before_request
    def _remember():
        from flask import request

        urls.append(request.full_path)

    return urls


def test_a_whole_request_leaves_no_phi_in_logs_urls_emails_or_audit(
    app, client, scope, outbox, seen_urls, caplog
):
    caplog.set_level(logging.DEBUG)
    wizard = Wizard(client)
    slots = ("photo_id", "authority_proof", "death_certificate")
    response = wizard.submit(EXECUTOR_ANSWERS, slots=slots, name="Jordan Quill")
    assert response.status_code == 302
    confirm = next(m for m in outbox() if "/confirm/" in m.get_content())
    link = re.search(r"https?://\S+/confirm/\S+", confirm.get_content()).group(0)
    path = link.split("localhost", 1)[1]
    client.post(path)

    with scope() as session:
        req = session.scalar(select(RecordRequest))
        staff, actor = clerk_side.clerk(session)
        clerk_side.verify_and_locate(session, req, actor)
        clerk_side.release_all(session, req, actor)
        from portal.roster.models import RosterPatient

        mrn = session.get(RosterPatient, req.patient_id).mrn

    lawyer_mail = next(m for m in outbox() if m["To"] == "morgan.lee@example.test")
    shared = re.search(r"https?://\S+/shared/\S+", lawyer_mail.get_content()).group(0)
    shared_path = shared.split("localhost", 1)[1]
    page = client.get(shared_path)
    assert page.status_code == 200

    with scope() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert len(events) > 10
    audit_text = json.dumps([[e.action, e.object_type, e.summary] for e in events])
    for secret in [*PERSONAL, mrn, "127.0.0.1"]:
        assert secret not in audit_text, f"audit summaries hold {secret!r}"

    url_text = "\n".join(seen_urls)
    for secret in [*PERSONAL, mrn, "@"]:
        assert secret not in url_text, f"a URL holds {secret!r}"

    log_text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in [*PERSONAL, mrn]:
        assert secret not in log_text, f"the logs hold {secret!r}"

    mails = outbox()
    assert len(mails) >= 2
    for mail in mails:
        text = mail["Subject"] + "\n" + mail["From"] + "\n" + mail.get_content()
        for secret in [*PERSONAL, mrn, "Canyon", "Peace Park", "treatment", "rehab"]:
            assert secret not in text, f"an email holds {secret!r}"
