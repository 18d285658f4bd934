"""The clerk's actions, each a lifecycle step with its audit event (issue 4, items 6 and 8)."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from portal.core.db import commit
from portal.requests import actions as operations
from portal.requests.models import Message, ProofingStep
from portal.requests.operations import TransitionRefused
from portal.rules import lifecycle
from portal.rules.deadlines import today_pacific
from portal.storage.models import StoredDocument
from portal.trail.models import AuditEvent
from tests.factories import (
    advance_request,
    make_patient,
    make_request,
    make_roster_patient,
    make_staff,
    sample_pdf,
    staff_actor,
)


def events(db, action):
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def letters_of(db, req, subtype):
    return list(db.scalars(select(StoredDocument).where(
        StoredDocument.request_id == req.id, StoredDocument.kind == "letter",
        StoredDocument.subtype == subtype)))


# --- identity (R-ID-2) -------------------------------------------------------------------


def test_verification_records_each_piece_of_evidence_and_who_decided(db, clerk):
    req = advance_request(db, make_request(db), clerk, "identity_review")
    operations.verify_requester(db, req, staff_actor(clerk),
                                evidence=["photo_id", "email_confirmed"], note="ID matches",
                                expected_version=req.version)
    steps = db.scalars(select(ProofingStep).where(ProofingStep.request_id == req.id,
                                                  ProofingStep.result == "accepted")).all()
    assert {s.evidence for s in steps} == {"photo_id", "email_confirmed"}
    assert {s.decided_by_id for s in steps} == {clerk.id}
    assert req.status == lifecycle.REQUESTER_VERIFIED and req.verified_by_id == clerk.id
    assert events(db, "request.verify_requester")[0].summary["evidence"] == [
        "email_confirmed", "photo_id"]


def test_a_confirmed_email_alone_does_not_verify_identity(db, clerk):
    req = advance_request(db, make_request(db), clerk, "identity_review")
    with pytest.raises(TransitionRefused, match="email address alone"):
        operations.verify_requester(db, req, staff_actor(clerk), evidence=["email_confirmed"],
                                    note=None, expected_version=req.version)


def test_a_representative_needs_proof_of_authority_checked(db, clerk):
    req = make_request(db, requester_type="executor", requester_name="Jordan Quill")
    advance_request(db, req, clerk, "identity_review")
    with pytest.raises(TransitionRefused, match="proof of authority"):
        operations.verify_requester(db, req, staff_actor(clerk), evidence=["photo_id"],
                                    note=None, expected_version=req.version)


def test_could_not_verify_closes_with_the_neutral_letter_and_a_phi_free_email(db, clerk, outbox):
    req = advance_request(db, make_request(db), clerk, "identity_review")
    operations.could_not_verify(db, req, staff_actor(clerk), reason="id_unreadable",
                                expected_version=req.version)
    commit()
    assert req.status == lifecycle.COULD_NOT_VERIFY and not req.is_open
    assert len(letters_of(db, req, "could_not_verify")) == 1
    (mail,) = outbox()
    body = mail.get_content()
    assert "Quill" not in body and "Canyon" not in body and "treatment" not in body.lower()
    assert "Canyon" not in mail["Subject"] and "Canyon" not in mail["From"]


# --- roster (R-ID-2(c)) ------------------------------------------------------------------


def test_locating_the_patient_records_the_match_and_the_proofing_step(db, clerk):
    patient = make_roster_patient(db)
    req = advance_request(db, make_request(db), clerk, "requester_verified")
    from portal.requests.location import run_roster_match

    (top, *_rest) = run_roster_match(db, req.id)
    assert top.patient_id == patient.id
    operations.locate_patient(db, req, staff_actor(clerk), patient_id=patient.id, note=None,
                              expected_version=req.version)
    assert req.patient_id == patient.id and req.status == lifecycle.PATIENT_LOCATED
    assert events(db, "request.locate_patient")[0].summary["rank"] == 1
    step = db.scalar(select(ProofingStep).where(ProofingStep.question == "patient"))
    assert (step.evidence, step.decided_by_id) == ("roster_match", clerk.id)


def test_recording_that_no_patient_exists_allows_a_no_records_outcome(db, clerk):
    req = advance_request(db, make_request(db), clerk, "patient_located", patient=None)
    assert req.patient_id is None and req.located_at is not None
    operations.record_outcome(db, req, staff_actor(clerk), part_ids=[p.id for p in req.parts],
                              outcome="no_records", expected_version=req.version)
    operations.close_request(db, req, staff_actor(clerk), expected_version=req.version)
    assert req.status == lifecycle.CLOSED
    assert len(letters_of(db, req, "no_records")) == 1


def test_nothing_can_be_released_when_no_patient_was_located(db, clerk):
    req = advance_request(db, make_request(db), clerk, "patient_located", patient=None)
    with pytest.raises(TransitionRefused, match="no records to release"):
        operations.record_outcome(db, req, staff_actor(clerk), part_ids=[req.parts[0].id],
                                  outcome="released", expected_version=req.version)


# --- waiting for the requester (R-DL-3) ---------------------------------------------------


def test_asking_for_information_waits_with_a_reason_while_the_clocks_keep_running(
        db, clerk, outbox):
    req = advance_request(db, make_request(db), clerk, "identity_review")
    due = (req.working_due_on, req.hipaa_due_on)
    operations.request_information(db, req, staff_actor(clerk), reason="id_unreadable",
                                   message="Please send a clearer photo of your ID.",
                                   expected_version=req.version)
    commit()
    assert req.status == lifecycle.AWAITING_REQUESTER and req.waiting_reason == "id_unreadable"
    assert (req.working_due_on, req.hipaa_due_on) == due
    message = db.scalar(select(Message).where(Message.request_id == req.id))
    assert not message.internal and "clearer photo" in message.body
    (mail,) = outbox()
    assert "clearer photo" not in mail.get_content() and "/update/" in mail.get_content()


def test_an_answer_taken_by_phone_resumes_where_the_request_waited(db, clerk):
    req = advance_request(db, make_request(db), clerk, "requester_verified")
    operations.request_information(db, req, staff_actor(clerk), reason="details_unclear",
                                   message="Which stay?", expected_version=req.version)
    operations.record_answer(db, req, staff_actor(clerk), note="Called: the 2016 stay.",
                             expected_version=req.version)
    assert req.status == lifecycle.REQUESTER_VERIFIED


# --- extension (R-DL-2) ------------------------------------------------------------------


def test_extension_moves_only_the_hipaa_date_and_produces_the_notice(db, clerk):
    req = advance_request(db, make_request(db), clerk, "identity_review")
    california = req.california_due_on
    new_date = req.hipaa_due_on + timedelta(days=20)
    operations.extend_deadline(db, req, staff_actor(clerk), new_due_on=new_date,
                               reason="Charts are in off-site storage.",
                               expected_version=req.version)
    assert req.hipaa_extended_due_on == new_date and req.california_due_on == california
    assert req.working_due_on == california
    assert len(letters_of(db, req, "extension")) == 1


def test_extension_cannot_be_granted_twice(db, clerk):
    req = advance_request(db, make_request(db), clerk, "identity_review")
    actor = staff_actor(clerk)
    operations.extend_deadline(db, req, actor, new_due_on=req.hipaa_due_on + timedelta(days=10),
                               reason="Storage.", expected_version=req.version)
    with pytest.raises(TransitionRefused, match="already been extended once"):
        operations.extend_deadline(db, req, actor,
                                   new_due_on=req.hipaa_due_on + timedelta(days=20),
                                   reason="Again.", expected_version=req.version)


def test_extension_beyond_thirty_days_is_refused(db, clerk):
    req = advance_request(db, make_request(db), clerk, "identity_review")
    with pytest.raises(TransitionRefused, match="at most 30 days"):
        operations.extend_deadline(db, req, staff_actor(clerk),
                                   new_due_on=req.hipaa_due_on + timedelta(days=31),
                                   reason="Storage.", expected_version=req.version)


def test_accounting_extension_moves_the_working_due_date(db, clerk):
    req = make_request(db, kind="accounting", parts=["accounting"])
    advance_request(db, req, clerk, "identity_review")
    new_date = req.hipaa_due_on + timedelta(days=30)
    operations.extend_deadline(db, req, staff_actor(clerk), new_due_on=new_date,
                               reason="Storage.", expected_version=req.version)
    assert req.working_due_on == new_date


# --- outcomes and clinical denials (R-DEN-1..4) -----------------------------------------


def test_a_clerk_denies_notes_without_review_and_the_letter_names_the_ground(db, clerk):
    req = make_request(db, parts=["complete", "psychotherapy_notes"])
    advance_request(db, req, clerk, "patient_located", patient=make_patient(db))
    notes = req.parts[1]
    operations.record_outcome(db, req, staff_actor(clerk), part_ids=[notes.id],
                              outcome="denied", ground="psychotherapy_notes",
                              expected_version=req.version)
    assert (notes.outcome, notes.denial_ground, notes.decided_by_id) == (
        "denied", "psychotherapy_notes", clerk.id)
    assert len(letters_of(db, req, "denial")) == 1


def test_the_psychotherapy_ground_applies_only_to_notes(db, clerk):
    req = advance_request(db, make_request(db), clerk, "patient_located",
                          patient=make_patient(db))
    with pytest.raises(TransitionRefused, match="only to psychotherapy"):
        operations.record_outcome(db, req, staff_actor(clerk), part_ids=[req.parts[0].id],
                                  outcome="denied", ground="psychotherapy_notes",
                                  expected_version=req.version)


def test_only_a_licensed_reviewer_may_deny_on_a_clinical_ground(db, clerk):
    req = advance_request(db, make_request(db), clerk, "patient_located",
                          patient=make_patient(db))
    with pytest.raises(TransitionRefused, match="Only a licensed reviewer"):
        operations.record_outcome(db, req, staff_actor(clerk), part_ids=[req.parts[0].id],
                                  outcome="denied", ground="endanger_life",
                                  expected_version=req.version)


def _clinical_denial(db, clerk):
    decider = make_staff(db, "clerk", licensed=True)
    req = advance_request(db, make_request(db), clerk, "patient_located",
                          patient=make_patient(db))
    operations.record_outcome(db, req, staff_actor(decider), part_ids=[req.parts[0].id],
                              outcome="denied", ground="endanger_life",
                              expected_version=req.version)
    return req, decider


def test_a_clinical_denial_cannot_be_routed_to_its_decider(db, clerk):
    req, decider = _clinical_denial(db, clerk)
    with pytest.raises(TransitionRefused, match="did not make the decision"):
        operations.route_review(db, req, staff_actor(clerk), part_id=req.parts[0].id,
                                reviewer_id=decider.id, expected_version=req.version)


def test_the_decider_cannot_review_their_own_clinical_denial(db, clerk):
    req, decider = _clinical_denial(db, clerk)
    part = req.parts[0]
    part.outcome, part.reviewer_id = "under_review", decider.id  # as if routed by mistake
    with pytest.raises(TransitionRefused, match="You made this decision"):
        operations.decide_review(db, req, staff_actor(decider), part_id=part.id,
                                 result="upheld", release_by=None, expected_version=req.version)


def test_a_different_licensed_reviewer_reviews_and_the_decision_letter_follows(db, clerk):
    req, decider = _clinical_denial(db, clerk)
    reviewer = make_staff(db, "clerk", licensed=True)
    operations.route_review(db, req, staff_actor(clerk), part_id=req.parts[0].id,
                            reviewer_id=reviewer.id, expected_version=req.version)
    assert req.parts[0].outcome == "under_review"
    with pytest.raises(TransitionRefused):  # the request cannot close while a review is open
        operations.close_request(db, req, staff_actor(clerk), expected_version=req.version)
    operations.decide_review(db, req, staff_actor(reviewer), part_id=req.parts[0].id,
                             result="upheld", release_by=None, expected_version=req.version)
    part = req.parts[0]
    assert (part.outcome, part.review_result, part.reviewer_id) == ("denied", "upheld",
                                                                    reviewer.id)
    assert len(letters_of(db, req, "review_decision")) == 1


def test_fire_and_retention_outcomes_produce_their_own_letters(db, clerk):
    req = make_request(db, parts=["discharge_summary", "labs"])
    advance_request(db, req, clerk, "patient_located", patient=make_patient(db))
    actor = staff_actor(clerk)
    operations.record_outcome(db, req, actor, part_ids=[req.parts[0].id],
                              outcome="destroyed_fire", expected_version=req.version)
    operations.record_outcome(db, req, actor, part_ids=[req.parts[1].id],
                              outcome="destroyed_retention",
                              other_custodian="County Archive\nPO Box 1",
                              expected_version=req.version)
    assert len(letters_of(db, req, "destroyed_fire")) == 1
    assert len(letters_of(db, req, "destroyed_retention")) == 1
    assert req.parts[1].other_custodian == "County Archive\nPO Box 1"


def test_a_decided_part_keeps_its_outcome(db, clerk):
    req = advance_request(db, make_request(db), clerk, "patient_located",
                          patient=make_patient(db))
    actor = staff_actor(clerk)
    operations.record_outcome(db, req, actor, part_ids=[req.parts[0].id],
                              outcome="destroyed_fire", expected_version=req.version)
    with pytest.raises(TransitionRefused, match="already have an outcome"):
        operations.record_outcome(db, req, actor, part_ids=[req.parts[0].id],
                                  outcome="released", expected_version=req.version)


# --- records ----------------------------------------------------------------------------


def test_a_record_that_is_not_a_pdf_is_refused_at_upload_naming_the_file(db, clerk):
    req = advance_request(db, make_request(db), clerk, "patient_located",
                          patient=make_patient(db))
    with pytest.raises(TransitionRefused, match="chart-scan.pdf is not a PDF"):
        operations.attach_record(db, req, staff_actor(clerk), part_id=req.parts[0].id,
                                 stream=io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 100),
                                 filename="chart-scan.pdf", expected_version=req.version)


def test_a_record_larger_than_the_limit_is_refused(app, db, clerk):
    app.config["RECORD_UPLOAD_MAX_BYTES"] = 100
    req = advance_request(db, make_request(db), clerk, "patient_located",
                          patient=make_patient(db))
    with pytest.raises(TransitionRefused, match="big.pdf is larger than"):
        operations.attach_record(db, req, staff_actor(clerk), part_id=req.parts[0].id,
                                 stream=io.BytesIO(sample_pdf(3)), filename="big.pdf",
                                 expected_version=req.version)


def test_attaching_a_record_starts_fulfilment_and_keeps_the_page_count(db, clerk):
    req = advance_request(db, make_request(db), clerk, "patient_located",
                          patient=make_patient(db))
    document = operations.attach_record(db, req, staff_actor(clerk), part_id=req.parts[0].id,
                                        stream=io.BytesIO(sample_pdf(3)), filename="chart.pdf",
                                        expected_version=req.version)
    assert req.status == lifecycle.IN_FULFILMENT
    assert (document.kind, document.part_id, document.page_count) == ("record",
                                                                      req.parts[0].id, 3)


# --- assignment -------------------------------------------------------------------------


def test_a_clerk_claims_an_unassigned_request_but_not_someone_elses(db, clerk):
    other = make_staff(db, "clerk")
    req = make_request(db)
    operations.claim_request(db, req, staff_actor(other), expected_version=req.version)
    with pytest.raises(TransitionRefused, match="A supervisor can reassign"):
        operations.claim_request(db, req, staff_actor(clerk), expected_version=req.version)
    supervisor = make_staff(db, "supervisor")
    operations.assign_request(db, req, staff_actor(supervisor), clerk.id,
                              expected_version=req.version)
    assert req.assignee_id == clerk.id


def test_a_request_cannot_be_assigned_to_an_auditor(db):
    supervisor = make_staff(db, "supervisor")
    auditor = make_staff(db, "auditor")
    req = make_request(db)
    with pytest.raises(TransitionRefused, match="works requests"):
        operations.assign_request(db, req, staff_actor(supervisor), auditor.id,
                                  expected_version=req.version)


# --- closing ----------------------------------------------------------------------------


def test_a_request_closes_only_when_every_part_has_an_outcome(db, clerk):
    req = make_request(db, parts=["discharge_summary", "labs"])
    advance_request(db, req, clerk, "patient_located", patient=make_patient(db))
    actor = staff_actor(clerk)
    operations.record_outcome(db, req, actor, part_ids=[req.parts[0].id],
                              outcome="destroyed_fire", expected_version=req.version)
    with pytest.raises(TransitionRefused, match="Every requested part needs an outcome"):
        operations.close_request(db, req, actor, expected_version=req.version)


def test_withdrawn_requests_take_no_more_actions(db, clerk):
    from portal.requests.operations import transition

    req = advance_request(db, make_request(db), clerk, "identity_review")
    transition(db, req, "withdraw", staff_actor(clerk))
    with pytest.raises(TransitionRefused, match="Withdrawn"):
        operations.verify_requester(db, req, staff_actor(clerk), evidence=["photo_id"],
                                    note=None, expected_version=req.version)


def test_today_is_counted_in_los_angeles():
    assert isinstance(today_pacific(), date)


def test_a_reversed_clinical_denial_becomes_a_part_to_release(db, clerk):
    req, _decider = _clinical_denial(db, clerk)
    reviewer = make_staff(db, "clerk", licensed=True)
    operations.route_review(db, req, staff_actor(clerk), part_id=req.parts[0].id,
                            reviewer_id=reviewer.id, expected_version=req.version)
    operations.decide_review(db, req, staff_actor(reviewer), part_id=req.parts[0].id,
                             result="reversed", release_by=None, expected_version=req.version)
    assert (req.parts[0].outcome, req.parts[0].review_result) == ("released", "reversed")
    assert len(letters_of(db, req, "review_decision")) == 1
