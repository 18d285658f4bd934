"""Accounting of disclosures (R-AUD-1, 45 CFR 164.528): exactly the disclosures to others."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.audit.accounting import default_period, disclosures_to_others
from portal.core.db import commit
from portal.release.models import Disclosure
from portal.release.pdf import long_date
from portal.rules.deadlines import pacific_date
from portal.trail.models import AuditEvent
from tests.audit.helpers import sign_in_auditor
from tests.factories import make_patient, make_release, make_request, third_party_consent
from tests.release.pdfcheck import text as pdf_text

LAWYER = "Morgan Lee, Lee & Park LLP"
LAWYER_ADDRESS = "100 Main St\nSpringfield, CA 90000"


def _disclose(db, req, *, days_ago: int, recipient: str = LAWYER,
              address: str | None = LAWYER_ADDRESS, description: str = "Discharge summary",
              purpose: str = "Disability claim") -> Disclosure:
    disclosure = Disclosure(
        request_id=req.id, patient_id=req.patient_id, recipient_name=recipient,
        recipient_address=address, description=description, purpose=purpose,
        disclosed_at=datetime.now(UTC) - timedelta(days=days_ago),
    )
    db.add(disclosure)
    db.flush()
    return disclosure


@pytest.fixture
def records(db):
    """A patient with a disclosure to a lawyer, their own copy, an old one, and a stranger's."""
    patient = make_patient(db)
    to_lawyer = make_request(db, recipient_type="third_party", recipient_name="Morgan Lee",
                             recipient_organisation="Lee & Park LLP",
                             recipient_address=LAWYER_ADDRESS, consents=[third_party_consent()])
    to_lawyer.patient_id = patient.id
    own_copy = make_request(db)
    own_copy.patient_id = patient.id
    db.flush()
    recent = _disclose(db, to_lawyer, days_ago=30)
    old = _disclose(db, to_lawyer, days_ago=365 * 6 + 100, recipient="Dr. Old Clinic",
                    description="Assessments", purpose="Continuing care")
    # Even if a row were recorded for the patient's own copy, it is not a disclosure to others.
    release = make_release(db, own_copy, recipient_type="patient")
    own = _disclose(db, own_copy, days_ago=10, recipient="Avery Quill", address=None)
    own.release_id = release.id
    other_patient = make_patient(db, first="Robin", last="Vale")
    stranger_request = make_request(db, recipient_type="third_party")
    stranger_request.patient_id = other_patient.id
    db.flush()
    stranger = _disclose(db, stranger_request, days_ago=5, recipient="Someone Else")
    commit()
    return {"patient": patient, "recent": recent, "old": old, "own": own,
            "stranger": stranger, "to_lawyer": to_lawyer}


def _default(db, patient):
    start, end = default_period(pacific_date(datetime.now(UTC)))
    return disclosures_to_others(db, patient.id, start, end)


def test_the_accounting_lists_exactly_the_disclosures_to_others_in_six_years(db, records):
    assert [e.disclosure_id for e in _default(db, records["patient"])] == [records["recent"].id]


def test_the_patients_own_copies_never_appear(db, records):
    entries = disclosures_to_others(db, records["patient"].id,
                                    datetime(2000, 1, 1).date(), datetime(2100, 1, 1).date())
    assert records["own"].id not in [e.disclosure_id for e in entries]
    assert {e.disclosure_id for e in entries} == {records["recent"].id, records["old"].id}


def test_a_chosen_period_reaches_further_back(client, db, auth, records):
    sign_in_auditor(db, auth)
    since = (pacific_date(datetime.now(UTC)) - timedelta(days=365 * 6 + 200)).isoformat()
    page = client.get(f"/audit/accounting/{records['patient'].id}",
                      query_string={"date_from": since}).get_data(as_text=True)
    assert "Dr. Old Clinic" in page and "Lee &amp; Park" in page
    assert "Avery Quill" not in page.split("Disclosures to others")[1]


def test_the_page_shows_each_164_528_b_element(client, db, auth, records):
    sign_in_auditor(db, auth)
    page = client.get(f"/audit/accounting/{records['patient'].id}").get_data(as_text=True)
    for element in ("Morgan Lee, Lee &amp; Park LLP", "100 Main St", "Springfield, CA 90000",
                    "Discharge summary", "Disability claim",
                    _long(pacific_date(records["recent"].disclosed_at))):
        assert element in page
    assert "Someone Else" not in page
    assert "1 disclosure in this period." in page


@pytest.mark.pdf
def test_the_pdf_carries_every_164_528_b_element(client, db, auth, records):
    sign_in_auditor(db, auth)
    response = client.get(f"/audit/accounting/{records['patient'].id}.pdf")
    assert response.status_code == 200
    assert response.content_type == "application/pdf"
    content = pdf_text(response.get_data())
    disclosed_on = pacific_date(records["recent"].disclosed_at)
    for element in (long_date(disclosed_on), "Morgan Lee, Lee & Park LLP", "100 Main St",
                    "Springfield, CA 90000", "Discharge summary", "Disability claim"):
        assert element in content, element
    assert "Avery Quill" in content  # the patient the accounting is about
    assert "Someone Else" not in content and "Dr. Old Clinic" not in content


@pytest.mark.pdf
def test_answering_an_accounting_request_addresses_its_requester(client, db, auth, records):
    sign_in_auditor(db, auth)
    asked = make_request(db, kind="accounting", parts=["accounting"], requester_name="Avery Quill",
                         address_line1="9 Cedar Lane", address_city="Ojai", address_state="CA",
                         address_postal_code="93023", delivery="mail")
    asked.patient_id = records["patient"].id
    commit()
    response = client.get(f"/audit/accounting/{records['patient'].id}.pdf",
                          query_string={"request_id": asked.id})
    content = pdf_text(response.get_data())
    assert "9 Cedar Lane" in content and "Ojai, CA 93023" in content  # as every letter writes it
    assert asked.reference in content


def test_an_accounting_request_about_another_patient_is_refused(client, db, auth, records):
    sign_in_auditor(db, auth)
    response = client.get(f"/audit/accounting/{records['patient'].id}",
                          query_string={"request_id": records["to_lawyer"].id})
    assert response.status_code == 400
    assert "is not an accounting request about this patient" in response.get_data(as_text=True)


def test_the_csv_lists_the_same_disclosures(client, db, auth, records):
    sign_in_auditor(db, auth)
    response = client.get(f"/audit/accounting/{records['patient'].id}.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:5] == ["disclosed_on", "recipient_name", "recipient_address", "description",
                           "purpose"]
    assert [r[1] for r in rows[1:]] == [LAWYER]
    assert rows[1][2] == LAWYER_ADDRESS


def test_viewing_an_accounting_is_audited_with_the_patients_surrogate_id(client, db, auth,
                                                                          records):
    sign_in_auditor(db, auth)
    client.get(f"/audit/accounting/{records['patient'].id}")
    db.expunge_all()
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "audit.accounting_viewed"))
    assert event.object_id == records["patient"].id
    assert event.summary["disclosures"] == 1
    assert "Quill" not in str(event.summary)


def test_a_patient_is_found_by_record_number_without_it_entering_the_url(client, db, auth,
                                                                         records):
    sign_in_auditor(db, auth)
    response = client.post("/audit/accounting", data={"mrn": records["patient"].mrn})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/audit/accounting/{records['patient'].id}")
    assert records["patient"].mrn not in response.headers["Location"]


def test_an_unknown_record_number_gets_a_message(client, db, auth, records):
    sign_in_auditor(db, auth)
    response = client.post("/audit/accounting", data={"mrn": "NO-SUCH-MRN"})
    assert response.status_code == 422
    assert "No patient on the roster has that record number." in response.get_data(as_text=True)


def test_an_unknown_patient_is_not_found(client, db, auth):
    sign_in_auditor(db, auth)
    assert client.get("/audit/accounting/999999").status_code == 404


def _long(day) -> str:
    """A date as people read it on the portal's pages ("November 4, 2026")."""
    return f"{day:%B} {day.day}, {day.year}"
