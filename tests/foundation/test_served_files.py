"""R-SEC-5: how files leave the portal. Uploaded files are attachments only; the portal's own
PDFs and previews may show inline; every file carries the sandboxing CSP and nosniff."""

from __future__ import annotations

import pytest

from portal.core.security import SANDBOX_CSP, content_disposition, file_response

pytestmark = pytest.mark.once


def test_an_uploaded_file_is_never_served_inline(app):
    with app.test_request_context(), pytest.raises(ValueError):
        file_response(b"<html>", filename="x.html", media_type="text/html", generated=False,
                      inline=True)


def test_an_upload_of_an_unexpected_type_goes_out_as_plain_bytes(app):
    with app.test_request_context():
        response = file_response(b"<svg onload=alert(1)>", filename="a.svg",
                                 media_type="image/svg+xml", generated=False)
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"] == 'attachment; filename="a.svg"'
    assert response.headers["Content-Security-Policy"] == SANDBOX_CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_portals_own_pdf_may_show_inline(app):
    with app.test_request_context():
        response = file_response(b"%PDF-1.7", filename="letter.pdf",
                                 media_type="application/pdf", generated=True, inline=True)
    assert response.headers["Content-Disposition"] == 'inline; filename="letter.pdf"'
    assert response.headers["Content-Security-Policy"] == SANDBOX_CSP


@pytest.mark.parametrize(("name", "header"), [
    ('a"b.pdf', "attachment; filename=\"a_b.pdf\"; filename*=UTF-8''a%22b.pdf"),
    ("x\r\nSet-Cookie: s=1.pdf",
     "attachment; filename=\"x__Set-Cookie: s=1.pdf\"; "
     "filename*=UTF-8''x%0D%0ASet-Cookie%3A%20s%3D1.pdf"),
    ("Informe de alta – García.pdf",
     "attachment; filename=\"Informe de alta _ Garc_a.pdf\"; "
     "filename*=UTF-8''Informe%20de%20alta%20%E2%80%93%20Garc%C3%ADa.pdf"),
])
def test_a_file_name_cannot_break_out_of_its_header(name, header):
    assert content_disposition(name) == header
