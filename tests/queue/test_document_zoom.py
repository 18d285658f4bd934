"""An uploaded ID looked at closely, beside the typed details (#15 part 4, R-ID-2): rendered
by the server at the size chosen, and each rendering audited with its size."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from portal.core.actor import SYSTEM
from portal.core.db import commit
from portal.storage.operations import save_document
from portal.trail.models import AuditEvent
from tests.factories import make_request


def _photo(db, req, size=(3000, 2000)):
    image = io.BytesIO()
    Image.new("RGB", size, "teal").save(image, "JPEG")
    image.seek(0)
    document = save_document(db, image, kind="photo_id", filename="licence.jpg",
                             media_type="image/jpeg", actor=SYSTEM, request_id=req.id)
    commit()
    return document


def test_the_zoom_page_shows_the_typed_details_beside_a_large_rendering(client, signed_in,
                                                                         db):
    req = make_request(db, patient_first_name="Robin", patient_last_name="Vale")
    document = _photo(db, req)
    page = client.get(f"/staff/requests/{req.id}/documents/{document.id}/zoom?size=2400")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Robin Vale" in html
    assert f"/documents/{document.id}/preview?size=2400" in html
    assert f'href="/staff/requests/{req.id}/documents/{document.id}/zoom' in \
        client.get(f"/staff/requests/{req.id}").get_data(as_text=True)


def test_a_larger_size_is_rendered_larger_and_audited_with_its_size(client, signed_in, db):
    req = make_request(db)
    document = _photo(db, req)
    widths = {}
    for size in (1600, 3200, 999):  # 999 is not offered: the default size
        response = client.get(f"/staff/requests/{req.id}/documents/{document.id}/preview"
                              f"?size={size}")
        assert response.mimetype == "image/png"
        widths[size] = Image.open(io.BytesIO(response.data)).width
    assert widths == {1600: 1600, 3200: 3000, 999: 1600}  # never above the source's pixels
    db.expire_all()
    sizes = [e.summary["size"] for e in db.scalars(select(AuditEvent).where(
        AuditEvent.action == "document.previewed").order_by(AuditEvent.id))]
    assert sizes == [1600, 3200, 1600]
