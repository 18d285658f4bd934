"""run_roster_match: candidates by blocking keys, ranked, stored, audited by counts only."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.identity.models import RosterMatch
from portal.roster.operations import run_roster_match
from tests.factories import make_request, make_roster_patient


def test_candidates_are_ranked_with_their_matched_fields(db):
    robert = make_roster_patient(db, first="Robert", last="García Lopez", dob=date(1975, 3, 8))
    make_roster_patient(db, first="Roberta", last="Garcia", dob=date(1975, 3, 8))
    req = make_request(db, patient_first_name="Bob", patient_last_name="Garcia",
                       patient_dob=date(1975, 8, 3), stay_from=None, stay_to=None)
    matches = run_roster_match(db, req.id)
    assert matches[0].patient_id == robert.id and matches[0].rank == 1
    assert matches[0].matched_fields["first_name"] == "nickname"
    assert matches[0].matched_fields["dob"] == "day-month transposed"
    assert [m.rank for m in matches] == list(range(1, len(matches) + 1))


def test_running_again_replaces_the_stored_candidates(db):
    make_roster_patient(db)
    req = make_request(db)
    run_roster_match(db, req.id)
    run_roster_match(db, req.id)
    stored = db.scalars(select(RosterMatch).where(RosterMatch.request_id == req.id)).all()
    assert len(stored) == 1


def test_the_audit_event_holds_counts_only(db):
    make_roster_patient(db, mrn="MRN-SECRET")
    req = make_request(db)
    run_roster_match(db, req.id)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "roster.matched"))
    assert event.summary == {"candidates": 1, "ranked": 1, "likely": 1, "possible": 0}
    assert "MRN-SECRET" not in str(event.summary)


def test_thresholds_come_from_configuration(app, db):
    app.config["MATCH_LIKELY_THRESHOLD"] = 99.5
    app.config["MATCH_POSSIBLE_THRESHOLD"] = 99
    make_roster_patient(db)
    req = make_request(db, stay_from=None, stay_to=None, program=None)
    (match,) = run_roster_match(db, req.id)
    assert match.score < 99 and match.decision == "unlikely"


def test_a_patient_not_on_the_roster_gets_no_candidates(db):
    make_roster_patient(db)
    req = make_request(db, patient_first_name="Zed", patient_last_name="Umbridge",
                       patient_dob=date(1961, 1, 30))
    assert run_roster_match(db, req.id) == []
