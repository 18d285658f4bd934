"""The signed-in requester: their requests, a plain-words timeline, messages, withdraw, revoke."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from portal.core.security import SANDBOX_CSP
from portal.release.models import DownloadGrant
from portal.requests.models import Consent, Message, RecordRequest
from portal.rules.lifecycle import STATUS_LABELS
from portal.storage.models import StoredDocument
from portal.trail.models import AuditEvent
from tests.factories import (
    make_grant,
    make_request,
    make_requester,
    third_party_consent,
)
from tests.journey.clerk import ask_for_information, clerk, verify_and_locate
from tests.journey.samples import EXECUTABLE, jpeg_bytes, pdf_bytes


@pytest.fixture
def mine(scope, auth):
    """A signed-in requester with one request; returns (requester, request)."""
    with scope() as session:
        requester = make_requester(session)
        req = make_request(session, requester)
    auth.requester(requester.id)
    return requester, req


def _page(client, req) -> str:
    return client.get(f"/my-requests/{req.id}").get_data(True)


def test_my_requests_lists_only_the_signed_in_requesters_own(client, mine, scope):
    _requester, req = mine
    with scope() as session:
        other = make_request(session, make_requester(session))
    page = client.get("/my-requests").get_data(True)
    assert req.reference in page and other.reference not in page


def test_another_requesters_request_is_not_found(client, mine, scope):
    with scope() as session:
        other = make_request(session, make_requester(session))
    for method, path in (("get", ""), ("post", "/reply"), ("get", "/withdraw"),
                         ("post", "/withdraw"), ("get", "/receipt.pdf")):
        response = getattr(client, method)(f"/my-requests/{other.id}{path}",
                                           data={"body": "hello", "confirm": "y"})
        assert response.status_code == 404, path


def test_the_timeline_tells_each_status_change_in_plain_words(client, mine, scope):
    _requester, req = mine
    with scope() as session:
        _staff, actor = clerk(session)
        verify_and_locate(session, session.get(RecordRequest, req.id), actor)
    page = _page(client, req)
    timeline = page.split('class="timeline"', 1)[1].split("</ol>", 1)[0]
    labels = ["submitted", "identity_review", "requester_verified", "patient_located"]
    positions = [timeline.index(STATUS_LABELS[s]) for s in labels]
    assert positions == sorted(positions)
    assert "roster" not in page.lower()  # the match is never shown to the requester (R-ID-5)


def test_due_dates_are_given_in_plain_words(client, mine):
    _requester, req = mine
    page = _page(client, req)
    assert "(15 days left)" in page and "(30 days left)" in page


def test_an_extension_is_shown_with_its_new_date_and_reason_r_dl_2(client, mine, scope):
    """R-DL-2: the requester is told of the extension, its reasons and the new date."""
    _requester, req = mine
    with scope() as session:
        stored = session.get(RecordRequest, req.id)
        stored.hipaa_extended_due_on = stored.hipaa_due_on + timedelta(days=20)
        stored.extension_reason = "Paper charts are being retrieved from off-site storage."
        new_date = stored.hipaa_extended_due_on
    page = _page(client, req)
    assert "We need more time" in page and "off-site storage" in page
    assert f"{new_date:%B} {new_date.day}, {new_date.year}" in page


def test_internal_notes_are_never_shown_to_the_requester(client, mine, scope):
    _requester, req = mine
    with scope() as session:
        session.add(Message(request_id=req.id, author_type="staff", internal=True,
                            body="Internal: roster shows two candidates"))
        session.add(Message(request_id=req.id, author_type="staff", internal=False,
                            body="Please send a clearer photo of your ID."))
    page = _page(client, req)
    assert "clearer photo" in page and "two candidates" not in page


def test_opening_a_request_is_audited_and_marks_clerk_messages_read_r_aud_2(client, mine, scope):
    """R-AUD-2: a view of PHI is an audit event."""
    _requester, req = mine
    with scope() as session:
        session.add(Message(request_id=req.id, author_type="staff", body="Hello"))
    _page(client, req)
    with scope() as session:
        assert session.scalar(select(Message.read_at)) is not None
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "request.viewed"))
        assert event.actor_type == "requester" and event.request_id == req.id


@pytest.fixture
def waiting(mine, scope):
    """The clerk asked for more information; the request waits for the requester."""
    requester, req = mine
    with scope() as session:
        _staff, actor = clerk(session)
        stored = session.get(RecordRequest, req.id)
        from portal.requests import actions as queue

        queue.accept_without_email(session, stored, actor, expected_version=None, reason="t")
        ask_for_information(session, stored, actor, "Please send a clearer photo of your ID.")
    return requester, req


def test_answering_the_clerk_with_files_resumes_the_request(client, waiting, scope):
    _requester, req = waiting
    assert "We need something from you" in _page(client, req)
    response = client.post(f"/my-requests/{req.id}/reply", data={
        "body": "Here is a clearer photo.",
        "attachments": [(io.BytesIO(jpeg_bytes(gps=True)), "id.jpg"),
                        (io.BytesIO(pdf_bytes()), "letters.pdf")],
    }, content_type="multipart/form-data")
    assert response.status_code == 302
    with scope() as session:
        stored = session.get(RecordRequest, req.id)
        assert stored.status == "identity_review"
        reply = session.scalar(select(Message).where(Message.author_type == "requester"))
        files = session.scalars(select(StoredDocument).where(
            StoredDocument.message_id == reply.id)).all()
        assert sorted(f.filename for f in files) == ["id.jpg", "letters.pdf"]
        assert all(f.request_id == req.id and f.kind == "attachment" for f in files)
    page = _page(client, req)
    assert "Here is a clearer photo." in page and "id.jpg" in page


def test_a_reply_with_a_bad_file_sends_nothing_but_keeps_the_text_and_the_good_file(
        client, waiting, scope):
    _requester, req = waiting
    response = client.post(f"/my-requests/{req.id}/reply", data={
        "body": "My reply that must not be lost",
        "attachments": [(io.BytesIO(jpeg_bytes()), "ok.jpg"),
                        (io.BytesIO(EXECUTABLE), "photo.jpg")],
    }, content_type="multipart/form-data")
    page = response.get_data(True)
    assert response.status_code == 422
    assert "“photo.jpg” is not a JPEG or PNG photo" in page
    assert "My reply that must not be lost" in page
    assert "kept for your message" in page and "ok.jpg" in page
    with scope() as session:
        assert session.scalar(select(Message).where(Message.author_type == "requester")) is None
        assert session.get(RecordRequest, req.id).status == "awaiting_requester"
        kept = session.scalars(select(StoredDocument.filename).where(
            StoredDocument.request_id == req.id, StoredDocument.kind == "held_reply")).all()
    assert kept == ["ok.jpg"]  # the refused file was never stored


def test_a_file_sent_with_an_empty_reply_is_kept_and_goes_with_the_next_reply(client, waiting,
                                                                               scope):
    _requester, req = waiting
    refused = client.post(f"/my-requests/{req.id}/reply", data={
        "body": " ", "attachments": [(io.BytesIO(pdf_bytes()), "letters.pdf")],
    }, content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "Write your reply." in refused.get_data(True)
    assert "letters.pdf" in refused.get_data(True)
    # Reloading the page later still shows it: it is kept with the request, not the form.
    assert "letters.pdf" in client.get(f"/my-requests/{req.id}").get_data(True)
    sent = client.post(f"/my-requests/{req.id}/reply", data={"body": "Here it is."},
                       content_type="multipart/form-data")
    assert sent.status_code == 302
    with scope() as session:
        message = session.scalar(select(Message).where(Message.author_type == "requester"))
        (document,) = session.scalars(select(StoredDocument).where(
            StoredDocument.request_id == req.id, StoredDocument.kind.in_(
                ("attachment", "held_reply")))).all()
        assert (document.kind, document.message_id) == ("attachment", message.id)
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "message.sent"))
        assert event.summary["attachments"] == 1


def test_a_kept_file_can_be_removed_without_losing_the_typed_text(client, waiting, scope,
                                                                  stored_files):
    _requester, req = waiting
    before = len(stored_files())
    client.post(f"/my-requests/{req.id}/reply", data={
        "body": "", "attachments": [(io.BytesIO(pdf_bytes()), "wrong.pdf")],
    }, content_type="multipart/form-data")
    with scope() as session:
        document_id = session.scalar(select(StoredDocument.id).where(
            StoredDocument.kind == "held_reply"))
    page = client.post(f"/my-requests/{req.id}/reply", data={
        "body": "Still typing", "action": f"remove:{document_id}"},
        content_type="multipart/form-data")
    text = page.get_data(True)
    assert page.status_code == 200 and "Still typing" in text and "wrong.pdf" not in text
    assert "Write your reply." not in text  # removing a file checks nothing
    with scope() as session:
        assert session.scalar(select(StoredDocument).where(
            StoredDocument.kind == "held_reply")) is None
        assert session.scalar(select(AuditEvent).where(
            AuditEvent.action == "document.removed")).object_id == document_id
    assert len(stored_files()) == before  # its encrypted file went with it


def test_an_empty_reply_is_explained(client, waiting):
    _requester, req = waiting
    response = client.post(f"/my-requests/{req.id}/reply", data={"body": "  "})
    assert response.status_code == 422 and "Write your reply." in response.get_data(True)


def test_the_requester_can_open_a_file_they_attached(client, waiting, scope):
    _requester, req = waiting
    client.post(f"/my-requests/{req.id}/reply", data={
        "body": "Attached.", "attachments": [(io.BytesIO(pdf_bytes()), "letters.pdf")],
    }, content_type="multipart/form-data")
    with scope() as session:
        document = session.scalar(select(StoredDocument).where(StoredDocument.kind == "attachment"))
    response = client.get(f"/my-requests/{req.id}/files/{document.id}")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    # R-SEC-5: an uploaded file never renders in the portal's origin, and nothing in it runs.
    assert response.headers["Content-Disposition"] == 'attachment; filename="letters.pdf"'
    assert response.headers["Content-Security-Policy"] == SANDBOX_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_withdrawing_asks_first_then_withdraws(client, mine, scope):
    _requester, req = mine
    assert "Withdraw the request" in client.get(f"/my-requests/{req.id}/withdraw").get_data(True)
    unconfirmed = client.post(f"/my-requests/{req.id}/withdraw", data={"version": req.version})
    assert unconfirmed.status_code == 422
    client.post(f"/my-requests/{req.id}/withdraw", data={"confirm": "y", "version": req.version})
    with scope() as session:
        stored = session.get(RecordRequest, req.id)
        assert stored.status == "withdrawn" and not stored.is_open


def test_withdrawing_a_request_that_changed_meanwhile_is_a_conflict(client, mine, scope):
    _requester, req = mine
    stale = req.version
    with scope() as session:
        session.get(RecordRequest, req.id).waiting_reason = "touched by a clerk"
    response = client.post(f"/my-requests/{req.id}/withdraw",
                           data={"confirm": "y", "version": stale})
    assert response.status_code == 409


@pytest.fixture
def to_lawyer(scope, auth):
    with scope() as session:
        requester = make_requester(session)
        req = make_request(session, requester, recipient_type="third_party",
                           recipient_name="Morgan Lee",
                           recipient_address="100 Main St\nSpringfield, CA 90000",
                           recipient_email="morgan.lee@example.test",
                           consents=[third_party_consent()])
    auth.requester(requester.id)
    return req


def test_revoking_the_consent_stops_the_request_r_rel_6(client, to_lawyer, scope):
    """R-REL-6: revocation binds from receipt: no release not yet made."""
    req = to_lawyer
    client.post(f"/my-requests/{req.id}/revoke-consent",
                data={"confirm": "y", "version": req.version})
    with scope() as session:
        assert session.get(RecordRequest, req.id).status == "consent_revoked"
        assert session.scalar(select(Consent.revoked_at)) is not None


def test_revoking_after_a_release_cancels_unused_links_but_not_what_was_sent_r_rel_6(
        client, to_lawyer,
                                                                           scope):
    """R-REL-6: a release already made stands; nothing more goes out."""
    req = to_lawyer
    with scope() as session:
        stored = session.get(RecordRequest, req.id)
        stored.status = "released"
        grant, _token = make_grant(session, stored, access_code="ABCD-2345")
    client.post(f"/my-requests/{req.id}/revoke-consent",
                data={"confirm": "y", "version": req.version + 1})
    with scope() as session:
        assert session.get(RecordRequest, req.id).status == "released"
        assert session.get(DownloadGrant, grant.id).revoked_at is not None


def test_a_patient_copy_has_no_consent_to_revoke(client, mine):
    _requester, req = mine
    assert client.get(f"/my-requests/{req.id}/revoke-consent").status_code == 404


def test_a_signed_in_requester_can_confirm_their_email_for_a_request(client, mine, scope):
    _requester, req = mine
    assert "Confirm my email address" in _page(client, req)
    client.post(f"/my-requests/{req.id}/confirm-email")
    with scope() as session:
        assert session.get(RecordRequest, req.id).status == "identity_review"


def test_the_receipt_pdf_is_available_later(client, mine):
    _requester, req = mine
    response = client.get(f"/my-requests/{req.id}/receipt.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")


def test_a_released_packet_appears_for_download(client, mine, scope):
    _requester, req = mine
    with scope() as session:
        grant, _token = make_grant(session, session.get(RecordRequest, req.id))
    page = _page(client, req)
    assert f"/my-requests/{req.id}/downloads/{grant.id}" in page
    expires = grant.expires_at.astimezone(UTC)
    assert expires > datetime.now(UTC) + timedelta(days=29)


def test_a_request_that_ended_shows_when_and_how_not_days_left(client, mine, scope):
    """#15 part 3: no countdown once a request has ended."""
    _requester, req = mine
    with scope() as session:
        stored = session.get(RecordRequest, req.id)
        stored.status, stored.is_open = "withdrawn", False
        stored.closed_at = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    page = _page(client, req)
    assert "days left" not in page and "Latest date under federal law" not in page
    assert "Ended" in page and "Withdrawn" in page and "2026" in page


def test_crisis_help_is_on_the_status_page_before_any_download(client, mine):
    """#15 part 3: 988 and 911, as links a phone can call."""
    _requester, req = mine
    page = _page(client, req)
    assert 'href="tel:988"' in page and 'href="tel:911"' in page


def test_the_custodians_phone_is_a_tel_link(client, app):
    page = client.get("/contact").get_data(True)
    assert 'href="tel:+15550100000"' in page  # "(555) 010-0000" in the test settings


def test_the_signer_downloads_a_copy_of_the_consent_they_signed(client, to_lawyer, scope):
    """Civ. Code 56.11(i), 164.508(c)(4): a copy of what was signed, on the request's page."""
    req = to_lawyer
    page = _page(client, req)
    link = re.search(r'href="(/my-requests/\d+/consents/\d+\.pdf)"', page).group(1)
    assert "Your consent to share records with Morgan Lee (PDF)" in page
    response = client.get(link)
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    assert "Morgan Lee" in text and "Page 1 of" in text
    with scope() as session:
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "consent.copy_downloaded")).one()
        assert event.request_id == req.id


def test_another_requesters_consent_is_not_found(client, to_lawyer, scope, auth):
    req = to_lawyer
    with scope() as session:
        other = make_requester(session)
    auth.requester(other.id)
    consent_id = req.consents[0].id
    assert client.get(f"/my-requests/{req.id}/consents/{consent_id}.pdf").status_code == 404
