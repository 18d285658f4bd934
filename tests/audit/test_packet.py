"""Released-packet digests (R-SEC-3): upload a PDF, learn whether, when and to whom it went."""

from __future__ import annotations

import io

from sqlalchemy import select

from portal.core.db import commit
from portal.release.models import Disclosure
from portal.storage.models import StoredDocument
from portal.storage.operations import open_document
from portal.trail.models import AuditEvent
from tests.audit.helpers import sign_in_auditor
from tests.factories import make_release, make_request, third_party_consent


def _released(db):
    req = make_request(db, recipient_type="third_party", recipient_name="Morgan Lee",
                       consents=[third_party_consent()])
    release = make_release(db, req, recipient_type="third_party")
    db.add(Disclosure(request_id=req.id, release_id=release.id, recipient_name="Morgan Lee",
                      description="Complete record", purpose="Legal",
                      packet_sha256=release.packet_sha256))
    commit()
    with open_document(db.get(StoredDocument, release.packet_document_id)) as reader:
        return req, reader.read()


def _check(client, data: bytes):
    return client.post("/audit/packets", content_type="multipart/form-data",
                       data={"packet": (io.BytesIO(data), "packet.pdf")})


def test_an_exact_released_file_is_found_with_when_and_to_whom(client, db, auth):
    req, packet = _released(db)
    sign_in_auditor(db, auth)
    page = _check(client, packet).get_data(as_text=True)
    assert "This exact file was released 1 time." in page
    assert req.reference in page and "Morgan Lee" in page


def test_a_file_changed_by_one_byte_is_not_found(client, db, auth):
    _req, packet = _released(db)
    sign_in_auditor(db, auth)
    page = _check(client, packet[:-2] + b"X" + packet[-1:]).get_data(as_text=True)
    assert "No released packet has this digest." in page


def test_checking_a_file_is_audited_and_stores_nothing(client, db, auth):
    _req, packet = _released(db)
    sign_in_auditor(db, auth)
    documents = db.query(StoredDocument).count()
    _check(client, packet)
    db.expunge_all()
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "audit.packet_checked"))
    assert event.summary == {"found": True, "releases": 1}
    assert db.query(StoredDocument).count() == documents


def test_checking_without_a_file_asks_for_one(client, db, auth):
    sign_in_auditor(db, auth)
    response = client.post("/audit/packets", data={})
    assert response.status_code == 422
    assert "Choose a PDF file." in response.get_data(as_text=True)
