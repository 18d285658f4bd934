"""run_roster_match: candidates by blocking keys, ranked, stored, audited by counts only."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.requests.location import has_match_run, run_roster_match
from portal.requests.models import RosterMatch, RosterMatchRun
from portal.trail.models import AuditEvent
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


def _runs(db, req) -> list[RosterMatchRun]:
    return list(db.scalars(select(RosterMatchRun).where(RosterMatchRun.request_id == req.id)
                           .order_by(RosterMatchRun.id)))


def test_every_run_is_kept_with_its_ranking_r_id_2_c(db):
    patient = make_roster_patient(db)
    req = make_request(db)
    assert not has_match_run(db, req.id)
    run_roster_match(db, req.id)
    run_roster_match(db, req.id)
    first, second = _runs(db, req)
    assert has_match_run(db, req.id)
    assert first.ranking[0]["patient_id"] == second.ranking[0]["patient_id"] == patient.id
    assert first.candidate_count == 1 and first.actor_type == "system"


def test_a_run_on_corrected_details_has_another_inputs_digest_r_id_2_c(db):
    make_roster_patient(db)
    req = make_request(db)
    run_roster_match(db, req.id)
    run_roster_match(db, req.id)
    req.patient_dob = date(1981, 4, 12)
    db.flush()
    run_roster_match(db, req.id)
    digests = [run.inputs_digest for run in _runs(db, req)]
    assert digests[0] == digests[1] != digests[2]
    assert all(len(d) == 64 for d in digests)


def test_a_run_that_found_nobody_still_counts_as_run(db):
    req = make_request(db, patient_first_name="Zed", patient_last_name="Umbridge",
                       patient_dob=date(1961, 1, 30))
    assert run_roster_match(db, req.id) == []
    (run,) = _runs(db, req)
    assert run.ranking == [] and has_match_run(db, req.id)
