"""The request page, its forms, refusals in plain words and the 409 page (items 4, 7)."""

from __future__ import annotations

import io
from datetime import date

from sqlalchemy import select

from portal.core.db import commit
from portal.requests.models import RecordRequest, RosterMatch
from portal.rules import lifecycle
from portal.storage.models import StoredDocument
from portal.trail.models import AuditEvent
from tests.factories import (
    advance_request,
    make_request,
    make_roster_patient,
    make_staff,
    sample_pdf,
    third_party_consent,
)


def test_the_page_shows_the_submission_and_computes_the_roster_match_on_demand(
        client, db, signed_in):
    patient = make_roster_patient(db, mrn="MRN-777")
    req = make_request(db, patient_other_names="Avery Stone")
    commit()
    response = client.get(f"/staff/requests/{req.id}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Avery Stone" in body and "MRN-777" in body and "residential" in body
    assert "Box 12, shelf B (scanned)" in body  # the candidate's chart location
    match = db.scalar(select(RosterMatch).where(RosterMatch.request_id == req.id))
    assert match.patient_id == patient.id
    viewed = db.scalar(select(AuditEvent).where(AuditEvent.action == "request.viewed"))
    assert viewed.request_id == req.id and viewed.actor_id == signed_in.id


def test_an_unknown_request_is_a_404(client, signed_in):
    assert client.get("/staff/requests/999999").status_code == 404


def test_a_refused_action_explains_why_and_keeps_what_was_typed(client, db, signed_in):
    req = advance_request(db, make_request(db), signed_in, "identity_review")
    commit()
    response = client.post(f"/staff/requests/{req.id}/verify", data={
        "verify-version": req.version, "verify-evidence": ["email_confirmed"],
        "verify-note": "Checked the licence photo carefully"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "A confirmed email address alone does not show who the requester is." in body
    assert "Checked the licence photo carefully" in body
    refused = db.scalar(select(AuditEvent).where(AuditEvent.action == "request.action_refused"))
    assert refused.summary == {"refused": "verify"}


def test_a_stale_form_gets_the_conflict_page_with_the_typed_text(client, db, signed_in):
    req = advance_request(db, make_request(db), signed_in, "identity_review")
    commit()
    stale = req.version - 1
    response = client.post(f"/staff/requests/{req.id}/request-information", data={
        "information-version": stale, "information-reason": "id_unreadable",
        "information-message": "Please send a sharper photo of the front of your licence."})
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "This request changed while you were working on it" in body
    assert "Please send a sharper photo of the front of your licence." in body
    db.expire_all()
    assert db.get(RecordRequest, req.id).status == lifecycle.IDENTITY_REVIEW


def test_the_verify_form_moves_the_request_and_redirects_to_the_page(client, db, signed_in):
    req = advance_request(db, make_request(db), signed_in, "identity_review")
    commit()
    response = client.post(f"/staff/requests/{req.id}/verify", data={
        "verify-version": req.version, "verify-evidence": ["photo_id"]})
    assert response.status_code == 302
    db.expire_all()
    assert db.get(RecordRequest, req.id).status == lifecycle.REQUESTER_VERIFIED


def test_an_expired_csrf_token_gets_a_clear_message(app, client, db, signed_in):
    app.config["WTF_CSRF_ENABLED"] = True
    req = make_request(db)
    commit()
    response = client.post(f"/staff/requests/{req.id}/notes",
                           data={"notes-body": "x", "csrf_token": "expired"})
    assert response.status_code == 400
    assert "This form had expired" in response.get_data(as_text=True)


def test_a_record_upload_refusal_names_the_file(client, db, signed_in):
    req = advance_request(db, make_request(db), signed_in, "patient_located",
                          patient=make_roster_patient(db))
    commit()
    response = client.post(f"/staff/requests/{req.id}/records", data={
        "records-version": req.version, "records-part_id": str(req.parts[0].id),
        "records-record": (io.BytesIO(b"not a pdf at all"), "discharge.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert "discharge.pdf is not a PDF file" in response.get_data(as_text=True)


def test_a_record_upload_is_stored_for_its_part(client, db, signed_in):
    req = advance_request(db, make_request(db), signed_in, "patient_located",
                          patient=make_roster_patient(db))
    commit()
    response = client.post(f"/staff/requests/{req.id}/records", data={
        "records-version": req.version, "records-part_id": str(req.parts[0].id),
        "records-record": (io.BytesIO(sample_pdf(2)), "../../discharge.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    document = db.scalar(select(StoredDocument).where(StoredDocument.kind == "record"))
    assert (document.filename, document.page_count) == ("discharge.pdf", 2)


def test_a_clerk_enters_a_mailed_request_with_the_date_it_arrived(client, db, signed_in):
    arrived = date(2026, 11, 20)
    response = client.post("/staff/requests/paper", data={
        "received_via": "mail", "received_on": arrived.isoformat(), "kind": "copies",
        "requester_type": "patient", "first_name": "Avery", "last_name": "Quill",
        "dob": "1980-04-12", "parts": ["complete"], "email": "",
        "address_line1": "1 Elm St", "address_city": "Ventura", "address_state": "CA",
        "address_postal_code": "93001", "delivery": "mail", "recipient_type": "patient",
        "signature_name": "Avery Quill",
        "scan": (io.BytesIO(sample_pdf(1)), "signed-form.pdf"),
    }, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    req = db.scalar(select(RecordRequest))
    assert req.received_on == arrived and req.received_via == "mail"
    assert req.california_due_on == date(2026, 12, 5)
    assert req.status == lifecycle.IDENTITY_REVIEW
    kinds = {d.kind for d in db.scalars(select(StoredDocument).where(
        StoredDocument.request_id == req.id))}
    assert {"mail_in_form", "letter"} <= kinds


def test_a_paper_request_without_its_scan_is_refused_keeping_the_typed_values(client,
                                                                               signed_in):
    response = client.post("/staff/requests/paper", data={
        "received_via": "phone", "received_on": "2026-11-20", "first_name": "Avery"},
        content_type="multipart/form-data")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Attach the scan of the signed form." in body and 'value="Avery"' in body


def test_the_outcome_form_records_a_clinical_denial_for_a_licensed_clerk(client, auth, db):
    licensed = make_staff(db, "clerk", licensed=True)
    req = advance_request(db, make_request(db), licensed, "patient_located",
                          patient=make_roster_patient(db))
    commit()
    auth.staff(licensed.id)
    response = client.post(f"/staff/requests/{req.id}/outcome", data={
        "outcomes-version": req.version, "outcomes-parts": [str(req.parts[0].id)],
        "outcomes-outcome": "denied", "outcomes-ground": "harm_to_other"})
    assert response.status_code == 302
    db.expire_all()
    part = db.get(RecordRequest, req.id).parts[0]
    assert (part.outcome, part.denial_ground, part.decided_by_id) == (
        "denied", "harm_to_other", licensed.id)


def _third_party(db, kind: str):
    return make_request(db, recipient_type="third_party", recipient_name="Morgan Lee",
                        consents=[third_party_consent(recipient_kind=kind)])


def test_a_clerk_settles_an_unsure_recipient_from_the_request_page_r_rel_2(client, db, signed_in):
    req = _third_party(db, "unsure")
    commit()
    page = client.get(f"/staff/requests/{req.id}").get_data(as_text=True)
    assert "Settle who the recipient is" in page and "Nobody has settled" in page
    response = client.post(f"/staff/requests/{req.id}/recipient-kind", data={
        "recipient_kind-version": req.version, "recipient_kind-kind": "insurer"})
    assert response.status_code == 302
    db.expire_all()
    assert db.get(RecordRequest, req.id).consents[0].recipient_kind_settled == "insurer"
    page = client.get(f"/staff/requests/{req.id}").get_data(as_text=True)
    assert "Settle who the recipient is" not in page and "Nobody has settled" not in page
    assert "settled by a clerk as" in page


def test_settling_the_recipient_without_a_choice_is_refused_in_plain_words(client, db,
                                                                          signed_in):
    req = _third_party(db, "unsure")
    commit()
    response = client.post(f"/staff/requests/{req.id}/recipient-kind", data={
        "recipient_kind-version": req.version, "recipient_kind-kind": ""})
    assert response.status_code == 422
    assert "Choose the kind of recipient." in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(RecordRequest, req.id).consents[0].recipient_kind_settled is None


def test_a_settled_recipient_shows_no_settle_form(client, db, signed_in):
    req = _third_party(db, "lawyer")
    commit()
    page = client.get(f"/staff/requests/{req.id}").get_data(as_text=True)
    assert "Settle who the recipient is" not in page and "Valid today" in page
