"""Every route that takes a file stores only an inert copy, or stores nothing (#14 part 1).

The routes are found from the URL map: a view reads ``request.files``, builds a form with a
file field, or acts on a queue section whose form has one. A route found here that COVERED does
not name fails the test, so an upload added later cannot skip the rebuild.
"""

from __future__ import annotations

import inspect
import io
import re

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import FileField

from portal.core.db import commit
from portal.storage.models import StoredDocument
from portal.storage.operations import open_document
from tests.factories import (
    advance_request,
    make_request,
    make_requester,
    make_roster_patient,
    make_staff,
)
from tests.journey.clerk import ask_for_information, clerk
from tests.journey.samples import PATIENT_ANSWERS, Wizard
from tests.storage import hostile
from tests.storage.test_hostile_uploads import FORBIDDEN, names_in

pytestmark = pytest.mark.once

#: endpoint -> the test below that sends the hostile corpus's JavaScript link through it.
COVERED = {
    "requests.step": "test_the_wizards_documents_step_keeps_an_inert_copy",
    "requests.reply": "test_a_reply_attachment_is_kept_inert",
    "queue.paper_request": "test_a_paper_requests_scan_is_kept_inert",
    "queue.attach_record": "test_an_attached_record_is_kept_inert",
    "queue.record_outcome": "test_a_record_sent_with_its_outcome_is_kept_inert",
    "audit.packet_check": "test_checking_a_packet_stores_nothing",
    "roster.import_csv": "test_the_roster_import_refuses_a_pdf_and_stores_nothing",
}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _has_file_field(form_class) -> bool:
    return any(issubclass(getattr(getattr(form_class, name), "field_class", object), FileField)
               for name in dir(form_class) if not name.startswith("_"))


def upload_endpoints(app) -> set[str]:
    from portal.queue.page import SECTION_FORMS

    file_forms = {c.__name__ for c in _subclasses(FlaskForm) if _has_file_field(c)}
    file_sections = {name for name, form in SECTION_FORMS.items() if _has_file_field(form)}
    found = set()
    for endpoint, view in app.view_functions.items():
        source = inspect.getsource(inspect.unwrap(view))
        sections = set(re.findall(r"_act\(\s*\w+,\s*\"(\w+)\"", source))
        if ("request.files" in source or any(f"{name}(" in source for name in file_forms)
                or sections & file_sections):
            found.add(endpoint)
    return found


def test_every_route_with_a_file_field_is_covered(app):
    found = upload_endpoints(app)
    assert found == set(COVERED), (
        f"routes that take files but have no test here: {sorted(found - set(COVERED))}; "
        f"no longer taking files: {sorted(set(COVERED) - found)}")
    for test_name in COVERED.values():
        assert callable(globals().get(test_name)), test_name


def _stored(db, **where) -> list[StoredDocument]:
    db.expire_all()
    return list(db.scalars(select(StoredDocument).filter_by(**where)))


def _inert(document: StoredDocument) -> None:
    with open_document(document) as reader:
        data = reader.read()
    assert data.startswith(b"%PDF-") and not names_in(data) & FORBIDDEN


HOSTILE = hostile.link_running_javascript


def _signed_in(db, auth, role: str):
    staff = make_staff(db, role)
    commit()
    auth.staff(staff.id)
    return staff


def _post_keeps_inert(client, db, url: str, data: dict, kind: str) -> None:
    """POST a form with the hostile file; the stored copy of ``kind`` is inert."""
    response = client.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(True)[:500]
    (document,) = _stored(db, kind=kind)
    _inert(document)


def test_the_wizards_documents_step_keeps_an_inert_copy(client, db):
    wizard = Wizard(client)
    wizard.fill(PATIENT_ANSWERS, until="documents")
    response = wizard.post("documents", files={"photo_id": ("licence.pdf", HOSTILE())})
    assert response.status_code == 302
    (document,) = _stored(db, kind="photo_id")
    _inert(document)


def test_a_reply_attachment_is_kept_inert(client, auth, scope, db):
    with scope() as session:
        requester = make_requester(session)
        req = make_request(session, requester)
        _staff, actor = clerk(session)
        from portal.requests import actions

        actions.accept_without_email(session, req, actor, expected_version=None, reason="t")
        ask_for_information(session, req, actor, "Please send a clearer photo of your ID.")
        request_id = req.id
    auth.requester(requester.id)
    _post_keeps_inert(client, db, f"/my-requests/{request_id}/reply", {
        "body": "Here it is.", "attachments": [(io.BytesIO(HOSTILE()), "letter.pdf")]},
        "attachment")


def test_a_paper_requests_scan_is_kept_inert(client, auth, db):
    _signed_in(db, auth, "clerk")
    _post_keeps_inert(client, db, "/staff/requests/paper", {
        "received_via": "mail", "received_on": "2026-11-20", "kind": "copies",
        "requester_type": "patient", "first_name": "Avery", "last_name": "Quill",
        "dob": "1980-04-12", "parts": ["complete"], "email": "",
        "address_line1": "1 Elm St", "address_city": "Ventura", "address_state": "CA",
        "address_postal_code": "93001", "delivery": "mail", "recipient_type": "patient",
        "signature_name": "Avery Quill", "scan": (io.BytesIO(HOSTILE()), "signed-form.pdf"),
    }, "mail_in_form")


@pytest.fixture
def located(auth, db):
    """A request whose patient is located, and its clerk signed in."""
    staff = make_staff(db, "clerk")
    req = advance_request(db, make_request(db), staff, "patient_located",
                          patient=make_roster_patient(db))
    commit()
    auth.staff(staff.id)
    return req


def test_an_attached_record_is_kept_inert(client, located, db):
    req = located
    _post_keeps_inert(client, db, f"/staff/requests/{req.id}/records", {
        "records-version": req.version, "records-part_id": str(req.parts[0].id),
        "records-record": (io.BytesIO(HOSTILE()), "discharge.pdf")}, "record")


def test_a_record_sent_with_its_outcome_is_kept_inert(client, located, db):
    req = located
    _post_keeps_inert(client, db, f"/staff/requests/{req.id}/outcome", {
        "outcomes-version": req.version, "outcomes-parts": [str(req.parts[0].id)],
        "outcomes-outcome": "released", "outcomes-ground": "",
        "outcomes-record": (io.BytesIO(HOSTILE()), "discharge.pdf")}, "record")


def test_checking_a_packet_stores_nothing(client, auth, db):
    _signed_in(db, auth, "auditor")
    response = client.post("/audit/packets", data={
        "packet": (io.BytesIO(HOSTILE()), "packet.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 200
    assert "No released packet has this digest." in response.get_data(True)
    assert db.scalar(select(func.count()).select_from(StoredDocument)) == 0


def test_the_roster_import_refuses_a_pdf_and_stores_nothing(client, auth, db):
    _signed_in(db, auth, "supervisor")
    response = client.post("/staff/roster/import", data={
        "roster": (io.BytesIO(HOSTILE()), "roster.csv")}, content_type="multipart/form-data")
    assert response.status_code in (200, 422)
    assert db.scalar(select(func.count()).select_from(StoredDocument)) == 0
