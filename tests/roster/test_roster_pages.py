"""Roster pages: the browser import with the CLI's checks, search, the patient's requests."""

from __future__ import annotations

import io

from sqlalchemy import select

from portal.core.db import commit
from portal.roster.models import RosterPatient
from portal.roster.parsing import COLUMNS
from portal.trail.models import AuditEvent
from tests.factories import make_patient, make_request, make_staff

ROW = "M-0001,Avery,Quill,Avery Stone,1980-04-12,,2016-03-01,2016-04-02,residential,Box 1,yes"


def upload(client, text: str, skip: bool = False):
    data = {"roster": (io.BytesIO(text.encode("utf-8")), "roster.csv")}
    if skip:
        data["skip_invalid"] = "y"
    return client.post("/staff/roster/import", data=data, content_type="multipart/form-data")


def test_a_supervisor_imports_the_roster_in_the_browser(client, auth, db):
    supervisor = make_staff(db, "supervisor")
    commit()
    auth.staff(supervisor.id)
    response = upload(client, ",".join(COLUMNS) + "\n" + ROW + "\n")
    assert response.status_code == 200
    assert "Imported 1 new and updated 0 existing patients" in response.get_data(as_text=True)
    assert db.scalar(select(RosterPatient.mrn)) == "M-0001"


def test_browser_import_lists_problems_by_line_and_imports_nothing(client, auth, db):
    supervisor = make_staff(db, "supervisor")
    commit()
    auth.staff(supervisor.id)
    bad = ROW.replace("1980-04-12", "1980-13-12")
    response = upload(client, ",".join(COLUMNS) + "\n" + ROW.replace("M-0001", "M-2") + "\n"
                      + bad + "\n")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Line 3:" in body and "1980-13-12" in body and "Nothing was imported" in body
    assert db.scalars(select(RosterPatient)).all() == []


def test_a_clerk_cannot_import_the_roster(client, auth, db):
    clerk = make_staff(db, "clerk")
    commit()
    auth.staff(clerk.id)
    assert upload(client, ",".join(COLUMNS) + "\n" + ROW + "\n").status_code == 403


def test_the_patient_page_lists_every_request_located_to_them(client, auth, db):
    clerk = make_staff(db, "clerk")
    patient = make_patient(db, mrn="M-77")
    located = [make_request(db), make_request(db)]
    for req in located:
        req.patient_id = patient.id
    other = make_request(db)
    commit()
    auth.staff(clerk.id)
    body = client.get(f"/staff/roster/patients/{patient.id}").get_data(as_text=True)
    assert all(r.reference in body for r in located) and other.reference not in body
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "roster.patient_viewed"))
    assert event.summary == {"requests": 2}


def test_roster_search_is_posted_and_finds_other_names(client, auth, db):
    clerk = make_staff(db, "clerk")
    patient = make_patient(db, mrn="M-88", other_names=("Avery Stone",))
    commit()
    auth.staff(clerk.id)
    response = client.post("/staff/roster", data={"q": "stone"})
    assert f"/staff/roster/patients/{patient.id}" in response.get_data(as_text=True)
    assert client.post("/staff/roster", data={"q": "M-88"}).status_code == 200
