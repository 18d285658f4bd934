"""Uploaded documents seen as server-rendered previews, originals only with their own audit
event, both through the authorized route with a sandboxing CSP (issue 4 item 4, R-SEC-2)."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from portal.core.db import commit
from portal.core.security import SANDBOX_CSP
from portal.storage.operations import file_store, save_document
from portal.trail.models import AuditEvent
from tests.factories import make_request, sample_pdf, staff_actor


def jpeg_with_metadata() -> bytes:
    image = Image.new("RGB", (640, 400), "navy")
    exif = Image.Exif()
    exif[0x010E] = "SECRET-META description"  # ImageDescription
    exif[0x0112] = 6  # Orientation: rotate 90 degrees to show upright
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def store(db, req, clerk, data: bytes, kind="photo_id", name="id.jpg", media="image/jpeg"):
    return save_document(db, io.BytesIO(data), kind=kind, filename=name, media_type=media,
                         actor=staff_actor(clerk), request_id=req.id)


def preview_url(req, doc, page=None):
    suffix = f"?page={page}" if page else ""
    return f"/staff/requests/{req.id}/documents/{doc.id}/preview{suffix}"


def test_an_image_preview_is_re_encoded_upright_without_metadata(client, db, clerk, signed_in):
    req = make_request(db)
    doc = store(db, req, clerk, jpeg_with_metadata())
    commit()
    response = client.get(preview_url(req, doc))
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert b"SECRET-META" not in response.data
    preview = Image.open(io.BytesIO(response.data))
    assert "exif" not in preview.info and preview.size == (400, 640)  # orientation applied


def test_previews_carry_the_sandboxing_csp_and_are_audited(client, db, clerk, signed_in):
    req = make_request(db)
    doc = store(db, req, clerk, jpeg_with_metadata())
    commit()
    response = client.get(preview_url(req, doc))
    assert response.headers["Content-Security-Policy"] == SANDBOX_CSP
    assert response.headers["Cache-Control"] == "no-store"
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "document.previewed"))
    assert (event.object_id, event.request_id, event.actor_id) == (doc.id, req.id, clerk.id)


def test_a_pdf_is_rasterized_page_by_page(client, db, clerk, signed_in):
    req = make_request(db)
    doc = store(db, req, clerk, sample_pdf(3), kind="mail_in_form", name="form.pdf",
                media="application/pdf")
    commit()
    response = client.get(preview_url(req, doc, page=2))
    assert response.mimetype == "image/png" and response.headers["X-Page-Count"] == "3"
    assert Image.open(io.BytesIO(response.data)).format == "PNG"


def test_the_original_downloads_as_an_attachment_with_its_own_audit_event(client, db, clerk,
                                                                         signed_in):
    req = make_request(db)
    data = jpeg_with_metadata()
    doc = store(db, req, clerk, data)
    commit()
    response = client.get(f"/staff/requests/{req.id}/documents/{doc.id}/download")
    assert response.data == data
    assert response.headers["Content-Disposition"] == 'attachment; filename="id.jpg"'
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Security-Policy"] == SANDBOX_CSP
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "document.downloaded"))


def test_a_document_of_another_request_is_not_found(client, db, clerk, signed_in):
    req, other = make_request(db), make_request(db)
    doc = store(db, other, clerk, jpeg_with_metadata())
    commit()
    assert client.get(preview_url(req, doc)).status_code == 404
    assert client.get(f"/staff/requests/{req.id}/documents/{doc.id}/download").status_code == 404


def test_a_tampered_file_is_never_served(app, client, db, clerk, signed_in):
    req = make_request(db)
    doc = store(db, req, clerk, jpeg_with_metadata())
    commit()
    path = file_store()._path_for(doc.storage_key)
    blob = bytearray(path.read_bytes())
    blob[200] ^= 0x01
    path.write_bytes(bytes(blob))
    assert client.get(preview_url(req, doc)).status_code == 500
    response = client.get(f"/staff/requests/{req.id}/documents/{doc.id}/download")
    assert response.status_code == 500 and b"SECRET-META" not in response.data


def test_requesters_cannot_open_staff_previews(client, auth, db, clerk):
    req = make_request(db)
    doc = store(db, req, clerk, jpeg_with_metadata())
    commit()
    auth.requester(req.requester_id)
    response = client.get(preview_url(req, doc))
    # A requester is no member of staff: the staff check sends them to the staff sign-in.
    assert response.status_code == 302 and response.mimetype != "image/png"
    assert response.headers["Location"].startswith("/staff/sign-in")
    assert db.scalars(select(AuditEvent).where(AuditEvent.action == "document.previewed")
                      ).all() == []


def test_a_letter_the_portal_made_downloads_as_a_pdf(client, db, clerk, signed_in):
    """#15 part 4: the portal's own PDFs are application/pdf; uploads stay bytes (R-SEC-5)."""
    req = make_request(db)
    letter = store(db, req, clerk, sample_pdf(1), kind="letter", name="ack.pdf",
                   media="application/pdf")
    commit()
    response = client.get(f"/staff/requests/{req.id}/documents/{letter.id}/download")
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    assert response.headers["Content-Disposition"] == 'attachment; filename="ack.pdf"'
    assert response.headers["Content-Security-Policy"] == SANDBOX_CSP
