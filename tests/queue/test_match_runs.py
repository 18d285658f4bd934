"""R-ID-2(c), #16 part 6: every roster-match run is kept; the clerk sees the latest and can open
earlier ones as they were; locating the patient names the run relied on."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.core.db import commit
from portal.requests.location import match_runs, run_roster_match
from portal.requests.models import ProofingStep
from portal.trail.models import AuditEvent
from tests.factories import advance_request, make_request, make_roster_patient


def test_locating_the_patient_names_the_run_relied_on_r_id_2_c(db, clerk):
    patient = make_roster_patient(db)
    req = make_request(db)
    run_roster_match(db, req.id)
    run_roster_match(db, req.id)
    latest = match_runs(db, req.id)[0]
    advance_request(db, req, clerk, "patient_located", patient=patient)
    step = db.scalar(select(ProofingStep).where(ProofingStep.request_id == req.id,
                                                ProofingStep.question == "patient"))
    assert step.match_run_id == latest.id
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "request.locate_patient"))
    assert event.summary["run_id"] == latest.id


def test_an_earlier_run_opens_as_it_was_after_the_roster_changed(client, db, signed_in):
    avery = make_roster_patient(db, first="Avery", last="Quill", dob=date(1980, 4, 12),
                                mrn="MRN-FIRST")
    req = make_request(db)
    run_roster_match(db, req.id)
    make_roster_patient(db, first="Avery", last="Quill", dob=date(1980, 4, 12),
                        mrn="MRN-LATER")
    run_roster_match(db, req.id)
    latest, earlier = match_runs(db, req.id)
    commit()
    page = client.get(f"/staff/requests/{req.id}").get_data(as_text=True)
    assert "1 earlier run, kept as it was" in page
    assert f"/staff/requests/{req.id}/roster-runs/{earlier.id}" in page
    response = client.get(f"/staff/requests/{req.id}/roster-runs/{earlier.id}")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "MRN-FIRST" in text and "MRN-LATER" not in text  # the ranking as that run made it
    assert "An earlier run, kept as it was" in text
    assert "MRN-LATER" in client.get(
        f"/staff/requests/{req.id}/roster-runs/{latest.id}").get_data(as_text=True)
    viewed = db.scalars(select(AuditEvent).where(AuditEvent.action == "roster.run_viewed")
                        .order_by(AuditEvent.id)).all()
    assert [e.object_id for e in viewed] == [earlier.id, latest.id]
    assert "MRN" not in str([e.summary for e in viewed])  # surrogate ids and counts only
    assert avery.id  # the first patient is still on the roster


def test_a_run_of_another_request_is_not_found(client, db, signed_in):
    make_roster_patient(db)
    mine, other = make_request(db), make_request(db)
    run_roster_match(db, other.id)
    (run,) = match_runs(db, other.id)
    commit()
    assert client.get(f"/staff/requests/{mine.id}/roster-runs/{run.id}").status_code == 404
