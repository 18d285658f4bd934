"""The file as uploaded is kept encrypted as evidence, never served, readable only by
compliance staff with an audit event (#14 part 1, R-SEC-2, R-AUD-2)."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from portal.core.db import commit
from portal.storage.models import StoredDocument
from portal.trail.models import AuditEvent
from tests.factories import advance_request, make_request, make_roster_patient, make_staff
from tests.storage import hostile


def _attach(client, auth, db):
    clerk = make_staff(db, "clerk")
    req = advance_request(db, make_request(db), clerk, "patient_located",
                          patient=make_roster_patient(db))
    commit()
    auth.staff(clerk.id)
    original = hostile.link_running_javascript()
    response = client.post(f"/staff/requests/{req.id}/records", data={
        "records-version": req.version, "records-part_id": str(req.parts[0].id),
        "records-record": (io.BytesIO(original), "discharge.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    db.expire_all()
    copy = db.scalar(select(StoredDocument).where(StoredDocument.kind == "record"))
    kept = db.scalar(select(StoredDocument).where(StoredDocument.kind == "original"))
    return req, copy, kept, original


def test_the_upload_as_received_is_kept_encrypted_beside_its_inert_copy(app, client, auth, db):
    _req, copy, kept, original = _attach(client, auth, db)
    assert kept.original_of_id == copy.id and kept.request_id is None
    assert kept.sha256 != copy.sha256 and kept.size == len(original)
    stored = b"".join(path.read_bytes() for path in Path(app.config["STORAGE_DIR"]).rglob("*")
                      if path.is_file())
    assert b"app.alert" not in stored  # encrypted at rest, the original included


def test_a_clerk_sees_only_the_copy_and_cannot_open_the_original(client, auth, db):
    req, copy, kept, _original = _attach(client, auth, db)
    page = client.get(f"/staff/requests/{req.id}").get_data(True)
    assert f"/documents/{copy.id}/" in page and f"/documents/{kept.id}/" not in page
    assert client.get(f"/staff/requests/{req.id}/documents/{kept.id}/download").status_code \
        == 404
    assert client.get(f"/audit/originals?document={copy.id}").status_code in (302, 403)


def test_compliance_downloads_the_original_as_bytes_and_it_is_audited(client, auth, db):
    _req, copy, kept, original = _attach(client, auth, db)
    officer = make_staff(db, "compliance")
    commit()
    auth.staff(officer.id)
    response = client.get(f"/audit/originals?document={copy.id}")
    assert response.status_code == 200 and response.data == original
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    db.expire_all()
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "document.original_opened"))
    assert (event.actor_id, event.object_id, event.summary) == (officer.id, kept.id,
                                                                {"copy": copy.id})


def test_an_unknown_document_number_is_explained(client, auth, db):
    officer = make_staff(db, "compliance")
    commit()
    auth.staff(officer.id)
    response = client.get("/audit/originals?document=999999")
    assert response.status_code == 404
    assert "No original is kept for document 999999" in response.get_data(True)
    assert client.get("/audit/originals?document=abc").status_code == 400
