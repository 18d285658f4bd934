"""The request lifecycle: allowed transitions, who may make them, preconditions, audit, races."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.core.actor import SYSTEM, Actor
from portal.core.errors import Conflict
from portal.requests.models import RecordRequest
from portal.requests.operations import TransitionRefused, transition
from portal.rules import lifecycle
from portal.rules.deadlines import today_pacific
from portal.storage.models import StoredDocument
from portal.trail.models import AuditEvent
from tests.factories import (
    make_patient,
    make_request,
    make_staff,
    staff_actor,
    third_party_consent,
)


def _to_located(db, req, clerk_actor):
    """Walk a request to 'patient_located' the way a clerk would."""
    transition(db, req, "confirm_email", SYSTEM)
    transition(db, req, "verify_requester", clerk_actor)
    req.verified_at = datetime.now(UTC)
    req.patient_id = make_patient(db).id
    transition(db, req, "locate_patient", clerk_actor)
    req.located_at = datetime.now(UTC)
    return req


def _attach_record(db, req, part):
    db.add(StoredDocument(storage_key=f"k{part.id}", kind="record", filename="r.pdf",
                          media_type="application/pdf", size=1, sha256="0" * 64,
                          request_id=req.id, part_id=part.id))
    db.flush()


def test_every_transition_writes_one_audit_event_with_its_actor(db):
    clerk = make_staff(db, "clerk")
    req = make_request(db)
    transition(db, req, "confirm_email", SYSTEM)
    transition(db, req, "verify_requester", staff_actor(clerk))
    events = db.scalars(select(AuditEvent).where(AuditEvent.request_id == req.id)
                        .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == [
        "request.submitted", "request.confirm_email", "request.verify_requester"]
    assert events[-1].actor_type == "staff" and events[-1].actor_id == clerk.id
    assert events[-1].summary == {"from": "identity_review", "to": "requester_verified"}


def test_a_transition_not_allowed_from_the_current_state_is_refused_with_a_reason(db):
    req = make_request(db)
    with pytest.raises(TransitionRefused) as refused:
        transition(db, req, "release", staff_actor(make_staff(db, "clerk")))
    assert "cannot be done while the request is" in refused.value.problems[0]
    assert req.status == lifecycle.SUBMITTED


def test_release_of_a_withdrawn_request_is_refused(db):
    clerk = staff_actor(make_staff(db, "clerk"))
    req = make_request(db)
    transition(db, req, "withdraw", Actor(kind="requester", id=req.requester_id))
    assert req.status == lifecycle.WITHDRAWN and not req.is_open
    with pytest.raises(TransitionRefused):
        transition(db, req, "release", clerk)


def test_a_clerk_cannot_locate_the_patient_before_verifying_the_requester(db):
    # The source-state table already prevents it; the precondition is a second line of defence.
    clerk = staff_actor(make_staff(db, "clerk"))
    req = make_request(db)
    transition(db, req, "confirm_email", SYSTEM)
    with pytest.raises(TransitionRefused):
        transition(db, req, "locate_patient", clerk)


def test_an_auditor_cannot_move_a_request(db):
    auditor = staff_actor(make_staff(db, "auditor"))
    req = make_request(db)
    transition(db, req, "confirm_email", SYSTEM)
    with pytest.raises(TransitionRefused) as refused:
        transition(db, req, "verify_requester", auditor)
    assert refused.value.problems == ["Your role does not allow this action."]


def test_waiting_for_the_requester_returns_to_the_state_it_left(db):
    clerk = staff_actor(make_staff(db, "clerk"))
    req = _to_located(db, make_request(db), clerk)
    transition(db, req, "request_information", clerk)
    assert req.status == lifecycle.AWAITING_REQUESTER
    transition(db, req, "requester_answered", Actor(kind="requester", id=req.requester_id))
    assert req.status == lifecycle.PATIENT_LOCATED


def test_waiting_does_not_move_any_due_date(db):
    # R-DL-3: the clock never pauses.
    clerk = staff_actor(make_staff(db, "clerk"))
    req = _to_located(db, make_request(db), clerk)
    before = (req.california_due_on, req.hipaa_due_on, req.working_due_on)
    transition(db, req, "request_information", clerk)
    transition(db, req, "requester_answered", Actor(kind="requester", id=req.requester_id))
    assert (req.california_due_on, req.hipaa_due_on, req.working_due_on) == before


def test_release_to_a_third_party_on_an_expired_consent_is_refused(db):
    # R-REL-3
    clerk = staff_actor(make_staff(db, "clerk"))
    expired = third_party_consent(expires_on=today_pacific() - timedelta(days=1),
                                  signed_at=datetime.now(UTC) - timedelta(days=60))
    req = make_request(db, recipient_type="third_party", recipient_name="Morgan Lee",
                       consents=[expired])
    _to_located(db, req, clerk)
    transition(db, req, "start_fulfilment", clerk)
    req.parts[0].outcome = "released"
    _attach_record(db, req, req.parts[0])
    with pytest.raises(TransitionRefused) as refused:
        transition(db, req, "mark_ready", clerk)
    assert any("consent" in p.lower() for p in refused.value.problems)


def test_release_to_a_third_party_on_a_revoked_consent_is_refused(db):
    # R-REL-6: revocation binds from receipt.
    clerk = staff_actor(make_staff(db, "clerk"))
    req = make_request(db, recipient_type="third_party", consents=[third_party_consent()])
    _to_located(db, req, clerk)
    transition(db, req, "start_fulfilment", clerk)
    req.parts[0].outcome = "released"
    _attach_record(db, req, req.parts[0])
    transition(db, req, "mark_ready", clerk)
    req.consents[0].revoked_at = datetime.now(UTC)
    with pytest.raises(TransitionRefused):
        transition(db, req, "release", clerk)


def test_counseling_notes_to_a_third_party_need_their_own_consent(db):
    # R-REL-4
    clerk = staff_actor(make_staff(db, "clerk"))
    req = make_request(db, recipient_type="third_party", parts=["counseling_notes"],
                       consents=[third_party_consent()])
    _to_located(db, req, clerk)
    transition(db, req, "start_fulfilment", clerk)
    req.parts[0].outcome = "released"
    _attach_record(db, req, req.parts[0])
    transition(db, req, "mark_ready", clerk)
    with pytest.raises(TransitionRefused) as refused:
        transition(db, req, "release", clerk)
    assert any("separate consent" in p for p in refused.value.problems)


def test_a_request_closes_only_when_every_part_has_an_outcome(db):
    clerk = staff_actor(make_staff(db, "clerk"))
    req = _to_located(db, make_request(db, parts=["discharge_summary", "labs"]), clerk)
    req.parts[0].outcome = "no_records"
    with pytest.raises(TransitionRefused) as refused:
        transition(db, req, "close", clerk)
    assert "Every requested part needs an outcome" in refused.value.problems[0]
    req.parts[1].outcome = "destroyed_fire"
    transition(db, req, "close", clerk)
    assert req.status == lifecycle.CLOSED and req.closed_at is not None


def test_acting_on_a_version_the_clerk_did_not_see_is_a_conflict(db):
    clerk = staff_actor(make_staff(db, "clerk"))
    req = make_request(db)
    seen = req.version
    transition(db, req, "confirm_email", SYSTEM)
    with pytest.raises(Conflict):
        transition(db, req, "verify_requester", clerk, expected_version=seen)
    assert req.status == lifecycle.IDENTITY_REVIEW


def test_every_status_has_plain_words_and_every_target_is_a_known_status():
    for rule in lifecycle.TRANSITIONS.values():
        assert rule.target in lifecycle.STATUS_LABELS or rule.target in (lifecycle.RESUME,
                                                                          lifecycle.REOPEN)
        assert rule.sources <= lifecycle.STATUS_LABELS.keys()


def test_housekeeping_abandons_requests_that_waited_too_long(app, db, runner):
    from portal.core.db import commit

    clerk = staff_actor(make_staff(db, "clerk"))
    waiting = _to_located(db, make_request(db), clerk)
    transition(db, waiting, "request_information", clerk)
    fresh = _to_located(db, make_request(db), clerk)
    transition(db, fresh, "request_information", clerk)
    waiting.updated_at = datetime.now(UTC) - timedelta(days=app.config["ABANDON_AFTER_DAYS"] + 1)
    commit()
    db.execute(RecordRequest.__table__.update()
               .where(RecordRequest.id == waiting.id)
               .values(updated_at=datetime.now(UTC) - timedelta(days=31)))
    commit()
    result = runner.invoke(args=["housekeeping"])
    assert result.exit_code == 0, result.output
    db.expire_all()
    assert db.get(RecordRequest, waiting.id).status == lifecycle.ABANDONED
    assert db.get(RecordRequest, fresh.id).status == lifecycle.AWAITING_REQUESTER
