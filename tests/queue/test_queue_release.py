"""Release and its guard rails (issue 4 items 6-7; R-REL-3, R-REL-4, R-AUD-1, R-SEC-3)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.release.models import Disclosure, DownloadGrant, Release
from portal.requests.operations import TransitionRefused, transition
from portal.requests.releases import release_request
from portal.rules import lifecycle
from portal.rules.deadlines import today_pacific
from portal.storage.models import StoredDocument
from portal.storage.operations import open_document
from portal.trail.models import AuditEvent
from tests.factories import (
    advance_request,
    make_patient,
    make_request,
    staff_actor,
    third_party_consent,
)


@pytest.fixture(autouse=True)
def in_request(app, db):
    """Release runs inside a request in the app (its emails are translated per visitor)."""
    with app.test_request_context("/"):
        yield


def third_party_request(db, clerk, *, parts=("complete",), consents=None, **overrides):
    req = make_request(
        db, recipient_type="third_party", delivery="mail", recipient_name="Morgan Lee",
        recipient_organisation="Lee & Park LLP", recipient_address="100 Main St\nSpringfield",
        parts=list(parts), consents=consents if consents is not None else [third_party_consent()],
        **overrides,
    )
    return advance_request(db, req, clerk, "in_fulfilment", patient=make_patient(db))


def mail(db, req, clerk):
    return release_request(db, req, staff_actor(clerk), method="mail",
                           mailed_on=today_pacific(), tracking_number="9400 1",
                           expected_version=req.version)


def test_a_patient_download_release_stores_the_packet_and_its_digest(db, clerk):
    req = advance_request(db, make_request(db), clerk, "in_fulfilment", patient=make_patient(db))
    outcome = release_request(db, req, staff_actor(clerk), method="download",
                              expected_version=req.version)
    release = outcome.release
    packet = db.get(StoredDocument, release.packet_document_id)
    with open_document(packet) as reader:
        digest = hashlib.sha256(reader.read()).hexdigest()
    assert release.packet_sha256 == packet.sha256 == digest
    assert release.page_count >= 4  # cover letter, manifest, two record pages
    assert db.scalar(select(DownloadGrant).where(DownloadGrant.release_id == release.id))
    assert db.scalars(select(Disclosure)).all() == []  # the patient's own copy (R-AUD-1)
    assert outcome.closed and req.status == lifecycle.CLOSED


def test_a_mailed_third_party_release_is_a_disclosure_with_its_elements(db, clerk):
    req = third_party_request(db, clerk)
    outcome = mail(db, req, clerk)
    disclosure = outcome.disclosure
    assert disclosure.recipient_name == "Morgan Lee, Lee & Park LLP"
    assert disclosure.recipient_address == "100 Main St\nSpringfield"
    assert "Complete record" in disclosure.description
    assert disclosure.purpose == "At the request of the patient"
    assert disclosure.packet_sha256 == outcome.release.packet_sha256
    assert outcome.release.tracking_number == "9400 1" and outcome.release.mailed_on
    summaries = [e.summary for e in db.scalars(select(AuditEvent).where(
        AuditEvent.action.in_(["release.created", "disclosure.recorded"])))]
    assert "Morgan" not in str(summaries)


def test_no_release_before_the_patient_is_located(db, clerk):
    req = advance_request(db, make_request(db), clerk, "requester_verified")
    with pytest.raises(TransitionRefused, match="cannot be done while the request is"):
        release_request(db, req, staff_actor(clerk), method="download",
                        expected_version=req.version)


def test_no_release_when_identity_was_never_verified(db, clerk):
    req = advance_request(db, make_request(db), clerk, "in_fulfilment", patient=make_patient(db))
    req.verified_at = None  # e.g. a verification undone by a supervisor
    with pytest.raises(TransitionRefused) as refused:
        release_request(db, req, staff_actor(clerk), method="download",
                        expected_version=req.version)
    assert "The requester's identity has not been verified yet." in refused.value.problems


def test_no_release_on_an_expired_consent(db, clerk):
    req = third_party_request(db, clerk)
    req.consents[0].expires_on = today_pacific() - timedelta(days=1)
    with pytest.raises(TransitionRefused, match="consent cannot be relied on"):
        mail(db, req, clerk)


def test_no_release_on_a_revoked_consent(db, clerk):
    req = third_party_request(db, clerk)
    req.consents[0].revoked_at = datetime.now(UTC)
    with pytest.raises(TransitionRefused, match="consent cannot be relied on"):
        mail(db, req, clerk)


def test_notes_go_to_a_third_party_only_with_their_own_consent(db, clerk):
    req = third_party_request(db, clerk, parts=("complete", "psychotherapy_notes"))
    with pytest.raises(TransitionRefused, match="need their own separate consent"):
        mail(db, req, clerk)


def test_notes_go_to_a_third_party_with_a_separate_notes_consent(db, clerk):
    consents = [third_party_consent(), third_party_consent(
        scope="notes", information_description="Psychotherapy notes of 2016")]
    req = third_party_request(db, clerk, parts=("complete", "psychotherapy_notes"),
                              consents=consents)
    assert mail(db, req, clerk).release.id


def _packet_text(db, release) -> str:
    from tests.release import pdfcheck

    with open_document(db.get(StoredDocument, release.packet_document_id)) as reader:
        return " ".join(pdfcheck.text(reader.read()).split())


def test_a_notes_release_packet_carries_the_notes_consent_and_lists_each_r_rel_5(db, clerk):
    consents = [third_party_consent(), third_party_consent(
        scope="notes", information_description="Psychotherapy notes of 2016")]
    req = third_party_request(db, clerk, parts=("complete", "psychotherapy_notes"),
                              consents=consents)
    text = _packet_text(db, mail(db, req, clerk).release)
    # The manifest names both copies; the cover letter summarises both consents.
    assert "Copy of the signed consent for psychotherapy and counseling notes" in text
    assert text.count("Copy of the signed consent") >= 2
    assert "Separate consent for psychotherapy and counseling notes" in text
    # The copy of the notes consent is there: its own description of the information.
    assert text.count("Consent to release records") >= 2
    assert "Describe the records (dates, kinds of record) Psychotherapy notes of 2016" in text


def test_a_release_of_notes_alone_carries_only_the_notes_consent_r_rel_5(db, clerk):
    consents = [third_party_consent(), third_party_consent(
        scope="notes", information_description="Psychotherapy notes of 2016")]
    req = third_party_request(db, clerk, parts=("psychotherapy_notes",), consents=consents)
    text = _packet_text(db, mail(db, req, clerk).release)
    assert "Psychotherapy notes of 2016" in text
    assert "Complete record excluding psychotherapy and counseling notes" not in text


def test_a_consent_without_the_recipients_limits_on_use_stops_the_release_r_rel_2(db, clerk):
    req = third_party_request(db, clerk, consents=[third_party_consent(use_limits_stated=False)])
    with pytest.raises(TransitionRefused, match=r"56\.11\(g\)"):
        mail(db, req, clerk)
    assert db.scalars(select(Release)).all() == []


def test_an_unsure_recipient_is_settled_by_a_clerk_before_release_r_rel_2(db, clerk):
    from portal.requests.actions import settle_recipient_kind

    req = third_party_request(db, clerk, consents=[third_party_consent(recipient_kind="unsure")])
    with pytest.raises(TransitionRefused, match="Nobody has settled what kind of recipient"):
        mail(db, req, clerk)
    settle_recipient_kind(db, req, staff_actor(clerk), kind="lawyer",
                          expected_version=req.version)
    event = db.scalars(select(AuditEvent).where(
        AuditEvent.action == "consent.recipient_kind_settled")).one()
    assert event.actor_id == clerk.id and event.summary["kind"] == "lawyer"
    assert req.consents[0].recipient_kind == "unsure"  # what the signer chose stays on file
    assert mail(db, req, clerk).release.id


def test_an_unsure_recipient_settled_as_a_doctor_needs_a_consent_with_the_statement_r_rel_2(
        db, clerk):
    from portal.requests.actions import settle_recipient_kind

    req = third_party_request(db, clerk, consents=[third_party_consent(recipient_kind="unsure")])
    settle_recipient_kind(db, req, staff_actor(clerk), kind="doctor",
                          expected_version=req.version)
    with pytest.raises(TransitionRefused, match=r"2\.31\(a\)\(4\)\(iii\)"):
        mail(db, req, clerk)


def test_settling_the_recipient_kind_refuses_unsure_and_stale_versions(db, clerk):
    from portal.core.errors import Conflict
    from portal.requests.actions import settle_recipient_kind

    req = third_party_request(db, clerk, consents=[third_party_consent(recipient_kind="unsure")])
    with pytest.raises(TransitionRefused, match="Choose what kind"):
        settle_recipient_kind(db, req, staff_actor(clerk), kind="unsure",
                              expected_version=req.version)
    with pytest.raises(Conflict):
        settle_recipient_kind(db, req, staff_actor(clerk), kind="lawyer",
                              expected_version=req.version - 1)
    assert req.consents[0].recipient_kind_settled is None


def test_a_withdrawn_request_cannot_be_released(db, clerk):
    req = advance_request(db, make_request(db), clerk, "in_fulfilment", patient=make_patient(db))
    transition(db, req, "withdraw", staff_actor(clerk))
    with pytest.raises(TransitionRefused, match="Withdrawn"):
        release_request(db, req, staff_actor(clerk), method="download",
                        expected_version=req.version)


def test_a_mailed_release_needs_the_date_and_tracking_number(db, clerk):
    req = third_party_request(db, clerk)
    with pytest.raises(TransitionRefused) as refused:
        release_request(db, req, staff_actor(clerk), method="mail", mailed_on=None,
                        tracking_number="", expected_version=req.version)
    assert refused.value.problems == ["Enter the date the packet was mailed.",
                                      "Enter the tracking number of the mailing."]


def test_a_third_party_download_needs_their_email_and_access_code(db, clerk):
    req = third_party_request(db, clerk)
    with pytest.raises(TransitionRefused, match="Send it by mail"):
        release_request(db, req, staff_actor(clerk), method="download",
                        expected_version=req.version)


def test_a_refused_release_leaves_no_release_behind(app, client, auth, db, clerk):
    from portal.core.db import commit

    req = third_party_request(db, clerk)
    req.consents[0].expires_on = today_pacific() - timedelta(days=1)
    commit()
    auth.staff(clerk.id)
    response = client.post(f"/staff/requests/{req.id}/release", data={
        "version": req.version, "method": "mail", "mailed_on": today_pacific().isoformat(),
        "tracking_number": "9400 2"})
    assert response.status_code == 422
    assert "consent cannot be relied on" in response.get_data(as_text=True)
    db.expire_all()
    assert db.scalars(select(Release)).all() == []
    assert db.get(type(req), req.id).status == lifecycle.IN_FULFILMENT
