"""Upload checks: by content not name, size-limited, re-encoded without metadata (R-SEC-2)."""

from __future__ import annotations

import io
import os

import pikepdf
import pytest
from PIL import Image

from portal.storage.uploads import PDF, PNG, UploadRejected, clean_upload, safe_filename
from tests.journey.samples import (
    EXECUTABLE,
    jpeg_bytes,
    pdf_bytes,
    png_bomb_bytes,
    png_bytes,
)

LIMIT = 10 * 1024 * 1024


@pytest.fixture(autouse=True)
def _request_context(app):
    with app.test_request_context():
        yield


def clean(data: bytes, name: str, limit: int = LIMIT):
    return clean_upload(io.BytesIO(data), name, max_bytes=limit)


def refusal(data: bytes, name: str, limit: int = LIMIT) -> str:
    with pytest.raises(UploadRejected) as caught:
        clean(data, name, limit)
    return caught.value.message


def test_a_photo_is_re_encoded_without_its_gps_position_or_camera_details():
    original = jpeg_bytes(gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # the sample has GPS
    result = clean(original, "licence.jpg")
    cleaned = Image.open(io.BytesIO(result.data))
    assert not cleaned.getexif() and b"Test Camera Model" not in result.data
    assert result.media_type == "image/jpeg" and cleaned.size == (64, 48)


def test_bytes_hidden_after_a_picture_are_dropped():
    result = clean(png_bytes() + b"SECRET-PAYLOAD", "scan.png")
    assert result.media_type == PNG and b"SECRET-PAYLOAD" not in result.data


def test_a_pdf_is_kept_without_its_metadata_or_scripts():
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.docinfo["/Author"] = "Someone Private"
    pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS="app.alert(1)")
    out = io.BytesIO()
    pdf.save(out)
    result = clean(out.getvalue(), "letters.pdf")
    assert result.media_type == PDF and result.page_count == 1
    assert b"Someone Private" not in result.data and b"app.alert" not in result.data


def test_a_file_is_judged_by_its_content_not_its_name():
    result = clean(png_bytes(), "photo")
    assert result.media_type == PNG and result.filename == "photo.png"


def test_a_jpg_that_is_really_a_pdf_is_refused_as_disguised():
    message = refusal(pdf_bytes(), "id.jpg")
    assert "“id.jpg”" in message and "really a PDF document" in message


def test_an_executable_named_jpg_is_refused():
    message = refusal(EXECUTABLE, "id.jpg")
    assert "“id.jpg” is not a JPEG or PNG photo or a PDF document" in message


def test_a_file_over_the_size_limit_is_refused_by_name():
    message = refusal(b"\xff\xd8\xff" + b"0" * 2048, "huge.jpg", limit=1024)
    assert "“huge.jpg” is larger than" in message


def test_an_empty_file_is_refused():
    assert "is empty" in refusal(b"", "id.png")


def test_a_decompression_bomb_is_refused_before_decoding():
    bomb = png_bomb_bytes()
    assert len(bomb) < 100_000  # small on disk, 100 megapixels when decoded
    assert "too many pixels" in refusal(bomb, "bomb.png")


def test_a_truncated_picture_is_refused():
    out = io.BytesIO()
    Image.frombytes("RGB", (400, 300), os.urandom(400 * 300 * 3)).save(out, format="JPEG")
    data = out.getvalue()
    assert "could not be read" in refusal(data[: len(data) // 2], "cut.jpg")


def test_an_encrypted_pdf_is_refused():
    assert "protected by a password" in refusal(pdf_bytes(password="secret"), "locked.pdf")


def test_a_damaged_pdf_is_refused():
    assert "is damaged" in refusal(b"%PDF-1.7\n" + b"\x00garbage" * 50, "broken.pdf")


def test_file_names_lose_paths_and_control_characters():
    assert safe_filename("../../etc/pa\x00ss\nwd.pdf") == "passwd.pdf"
    assert safe_filename("C:\\Users\\me\\id card.jpg") == "id card.jpg"
    assert safe_filename("") == "upload"
