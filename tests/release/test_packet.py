"""The released packet (R-REL-5, R-SEC-3) and the upload-time check of record files."""

from __future__ import annotations

import hashlib
import io
import re
from contextlib import contextmanager
from dataclasses import replace

import pikepdf
import pytest
from PIL import Image, ImageDraw

from portal.release import documents as d
from portal.release.packet import PacketError, RecordSource, release_packet
from portal.rules.notices import PART2_SHORT_STATEMENT
from portal.storage.uploads import validate_record_pdf

from . import pdfcheck, samples

pytestmark = pytest.mark.pdf

RECIPIENT = "Dr. Aaron Feld"


def make_record(
    pages: int, *, size: tuple[int, int] = (612, 792), rotate: int = 0, name: str = "record"
) -> bytes:
    """A scanned-looking PDF: one full-bleed grayscale image per page, framed to the edge."""
    pdf = pikepdf.new()
    width, height = size
    for number in range(1, pages + 1):
        image = Image.new("L", (width // 3, height // 3), 230)
        draw = ImageDraw.Draw(image)
        draw.rectangle((0, 0, image.width - 1, image.height - 1), outline=0, width=3)
        draw.text((10, 10), f"{name} page {number}", fill=0)
        jpeg = io.BytesIO()
        image.save(jpeg, "JPEG", quality=70)
        xobject = pikepdf.Stream(
            pdf,
            jpeg.getvalue(),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=image.width,
            Height=image.height,
            ColorSpace=pikepdf.Name.DeviceGray,
            BitsPerComponent=8,
            Filter=pikepdf.Name.DCTDecode,
        )
        page = pdf.add_blank_page(page_size=size)
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=xobject))
        page.obj.Contents = pdf.make_stream(f"q {width} 0 0 {height} 0 0 cm /Im0 Do Q".encode())
        if rotate:
            page.obj.Rotate = rotate
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


class _OneWayStream(io.RawIOBase):
    """A decrypting store stream: readable once, front to back, never seekable."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._data.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def source(label: str, data: bytes, *, sha256: str | None = None) -> RecordSource:
    @contextmanager
    def open_stream():
        yield _OneWayStream(data)

    return RecordSource(label, sha256 or hashlib.sha256(data).hexdigest(), open_stream)


RECORDS = {
    "Discharge summary": make_record(3, name="summary"),
    "Medication record (landscape)": make_record(2, size=(792, 612), name="meds"),
    "Intake form (scanned sideways)": make_record(2, rotate=90, name="intake"),
}


@pytest.fixture(scope="module")
def cover(letterhead) -> bytes:
    return d.cover_letter_pdf(samples.cover_letter(third_party=True), letterhead)


@pytest.fixture(scope="module")
def consent(letterhead) -> bytes:
    """The copy of the consent as the release makes it (requests.letters.consent_copy_pdf)."""
    return d.consent_form_pdf(replace(samples.consent(), in_packet=True), letterhead)


def build(cover: bytes, consent: bytes | None, records: dict[str, bytes] = RECORDS):
    out = io.BytesIO()
    result = release_packet(
        out,
        cover_pdf=cover,
        consent_pdfs=[("Copy of the signed consent", consent)] if consent else [],
        records=[source(label, data) for label, data in records.items()],
        reference=samples.REFERENCE,
        recipient=RECIPIENT,
        generated_on=samples.TODAY,
    )
    return result, out.getvalue()


@pytest.fixture(scope="module")
def packet(cover, consent):
    return build(cover, consent)


# --------------------------------------------------------------------------- structure


def test_packet_is_cover_consent_manifest_then_records(packet, cover, consent):
    result, data = packet
    cover_pages, consent_pages = pdfcheck.page_count(cover), pdfcheck.page_count(consent)
    assert result.page_count == pdfcheck.page_count(data) == cover_pages + consent_pages + 1 + 7
    labels = [part.label for part in result.parts]
    assert labels == ["Cover letter", "Copy of the signed consent", *RECORDS]
    assert result.parts[0][1:3] == (1, cover_pages)
    assert result.parts[2].first_page == cover_pages + consent_pages + 2  # after the manifest


def test_third_party_packet_carries_the_consent_copy_r_rel_5(packet):
    pages = pdfcheck.page_texts(packet[1])
    first, last = packet[0].parts[1][1:3]
    assert "Consent to release records" in pages[first - 1]
    assert "Signed electronically by Maria Lopez" in " ".join(pages[first - 1 : last])


def test_patient_packet_without_consent_has_no_consent_part(cover):
    result, _ = build(cover, None, {"Discharge summary": RECORDS["Discharge summary"]})
    assert [part.label for part in result.parts] == ["Cover letter", "Discharge summary"]


def test_every_record_page_carries_the_short_statement_reference_and_recipient_r_rel_5(packet):
    result, data = packet
    pages = pdfcheck.page_texts(data)
    for part in result.parts[2:]:
        for number in range(part.first_page, part.last_page + 1):
            page = pages[number - 1]
            assert PART2_SHORT_STATEMENT in page
            assert f"Reference {samples.REFERENCE} • Released to {RECIPIENT}" in page


def test_one_page_number_runs_across_the_whole_packet(packet):
    result, data = packet
    pages = pdfcheck.page_texts(data)
    for number, page in enumerate(pages, start=1):
        assert f"Packet page {number} of {result.page_count}" in page
    assert len(pages) == result.page_count


def test_strip_on_a_sideways_page_reads_upright_at_its_visual_bottom(packet):
    result, data = packet
    part = result.parts[-1]
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[part.first_page - 1]
        assert int(page.obj.Rotate) == 90
        # Still a sideways Letter page: the drawing shrinks, the page does not grow.
        assert [float(v) for v in page.cropbox] == pytest.approx([0, 0, 612, 792])
    layout = pdfcheck.pdftotext(data, first=part.first_page, last=part.first_page, layout=True)
    assert f"Packet page {part.first_page} of {result.page_count}" in layout


# --------------------------------------------------------------------------- nothing altered


def test_every_page_stays_letter_size_with_the_drawing_shrunk_above_the_strip(packet):
    """#15 part 5: a patient prints on Letter paper without scaling or cropping; the strip
    covers nothing, because the page's drawing is scaled into the space above it."""
    _result, data = packet
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            x0, y0, x1, y1 = (float(v) for v in page.mediabox)
            assert (x0, y0) == (0, 0) and sorted((x1, y1)) == [612, 792]  # Letter, either way
            assert [float(v) for v in page.cropbox] == [x0, y0, x1, y1]
            first = page.obj.Contents[0].read_bytes() if isinstance(
                page.obj.Contents, pikepdf.Array) else page.obj.Contents.read_bytes()
            if int(page.obj.get("/Rotate", 0)) == 0:
                strip = 36 * x1 / 612  # the strip is scaled to the page's width
                numbers = [float(v) for v in first.split()[1:7]]
                assert numbers[0] == numbers[3] == pytest.approx((y1 - strip) / y1, abs=1e-4)
                assert numbers[5] == pytest.approx(strip, abs=1e-3)  # above the strip


def test_the_page_number_is_at_least_8_points(packet):
    _result, data = packet
    with pikepdf.open(io.BytesIO(data)) as pdf:
        last = pdf.pages[0].obj.Contents[-1].read_bytes()
    size = float(re.search(rb"/PortalPageNo ([0-9.]+) Tf", last).group(1))
    assert size >= 8 and b"Packet page 1 of" in last


def test_record_images_are_copied_byte_for_byte(packet):
    result, data = packet
    original = pikepdf.open(io.BytesIO(RECORDS["Discharge summary"]))
    with original, pikepdf.open(io.BytesIO(data)) as pdf:
        first = result.parts[2].first_page
        for offset, source_page in enumerate(original.pages):
            before = next(iter(source_page.get_images().values())).read_raw_bytes()
            after = next(iter(pdf.pages[first - 1 + offset].get_images().values()))
            assert after.read_raw_bytes() == before


# --------------------------------------------------------------------------- digests (R-SEC-3)


def test_manifest_lists_each_part_with_its_pages_and_source_sha256(packet):
    result, data = packet
    manifest_page = result.parts[2].first_page - 1
    manifest = pdfcheck.page_texts(data)[manifest_page - 1]
    assert "Manifest of released records" in manifest
    for part in result.parts:
        pages = (
            f"{part.first_page}"
            if part.first_page == part.last_page
            else f"{part.first_page}–{part.last_page}"
        )
        assert re.search(rf"{re.escape(part.label)}\s+{pages}\s+{part.source_sha256}", manifest)


def test_manifest_digests_are_the_sources_sha256(packet, cover, consent):
    result, _ = packet
    expected = [hashlib.sha256(cover).hexdigest(), hashlib.sha256(consent).hexdigest()]
    expected += [hashlib.sha256(data).hexdigest() for data in RECORDS.values()]
    assert [part.source_sha256 for part in result.parts] == expected


def test_stored_digest_is_the_sha256_of_the_bytes_written(packet):
    result, data = packet
    assert result.sha256 == hashlib.sha256(data).hexdigest()


def test_same_release_builds_the_same_bytes_so_a_copy_can_be_verified(cover, consent, packet):
    again, _ = build(cover, consent)
    assert again.sha256 == packet[0].sha256


def test_record_that_differs_from_its_stored_digest_is_not_released(cover):
    tampered = source("Discharge summary", RECORDS["Discharge summary"], sha256="0" * 64)
    with pytest.raises(PacketError, match="Discharge summary: the stored file does not match"):
        release_packet(
            io.BytesIO(),
            cover_pdf=cover,
            records=[tampered],
            reference=samples.REFERENCE,
            recipient=RECIPIENT,
            generated_on=samples.TODAY,
        )


def test_spooled_plaintext_is_removed_after_the_build(cover, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    build(cover, None, {"Discharge summary": RECORDS["Discharge summary"]})
    assert list(tmp_path.iterdir()) == []


def test_spooled_plaintext_is_removed_when_the_build_fails(cover, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    tampered = source("Discharge summary", RECORDS["Discharge summary"], sha256="0" * 64)
    with pytest.raises(PacketError):
        release_packet(
            io.BytesIO(),
            cover_pdf=cover,
            records=[tampered],
            reference=samples.REFERENCE,
            recipient=RECIPIENT,
            generated_on=samples.TODAY,
        )
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- upload checks


def test_valid_record_passes_and_the_stream_is_left_where_it_was():
    stream = io.BytesIO(b"prefix" + RECORDS["Discharge summary"])
    stream.seek(6)
    assert validate_record_pdf(stream, "summary.pdf") == []
    assert stream.tell() == 6


def test_record_is_checked_from_a_path(tmp_path):
    path = tmp_path / "summary.pdf"
    path.write_bytes(RECORDS["Discharge summary"])
    assert validate_record_pdf(path, "summary.pdf") == []


def test_jpeg_renamed_pdf_is_refused_naming_the_file():
    jpeg = io.BytesIO()
    Image.new("L", (50, 50), 200).save(jpeg, "JPEG")
    problems = validate_record_pdf(io.BytesIO(jpeg.getvalue()), "scan-page-1.pdf")
    assert problems == [
        "scan-page-1.pdf is not a PDF file (it looks like a JPEG image). "
        "Please upload the record as a PDF."
    ]


def test_encrypted_pdf_is_refused_naming_the_file():
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(RECORDS["Discharge summary"])) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(owner="owner", user="secret"))
    problems = validate_record_pdf(io.BytesIO(out.getvalue()), "locked.pdf")
    assert len(problems) == 1 and problems[0].startswith("locked.pdf is password-protected")


def test_pdf_with_only_an_owner_password_is_refused_as_encrypted():
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(RECORDS["Discharge summary"])) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(owner="owner", user=""))
    problems = validate_record_pdf(io.BytesIO(out.getvalue()), "restricted.pdf")
    assert len(problems) == 1 and "password-protected (encrypted)" in problems[0]


@pytest.mark.parametrize("keep", [0.5, 0.95])
def test_truncated_pdf_is_refused_naming_the_file(keep):
    data = RECORDS["Discharge summary"]
    problems = validate_record_pdf(io.BytesIO(data[: int(len(data) * keep)]), "cut.pdf")
    assert len(problems) == 1 and problems[0].startswith("cut.pdf is incomplete")


def test_damaged_pdf_is_refused_naming_the_file():
    data = bytearray(RECORDS["Discharge summary"])
    xref = data.rindex(b"startxref")
    data[xref - 400 : xref] = b"\x00" * 400  # the cross-reference table is gone
    problems = validate_record_pdf(io.BytesIO(bytes(data)), "broken.pdf")
    assert len(problems) == 1 and problems[0].startswith("broken.pdf is damaged")


def test_pdf_without_pages_is_refused():
    out = io.BytesIO()
    pikepdf.new().save(out)
    assert validate_record_pdf(io.BytesIO(out.getvalue()), "empty.pdf") == [
        "empty.pdf has no pages. Please upload a PDF that contains the record."
    ]


def test_upload_stream_that_cannot_seek_is_checked():
    assert validate_record_pdf(_OneWayStream(RECORDS["Discharge summary"]), "a.pdf") == []


def test_the_front_parts_carry_only_the_packets_page_counter(packet):
    """#15 part 5: the cover letter and the consent copies print no 'Page n of N' of their
    own under the strip's 'Packet page n of N'."""
    result, data = packet
    pages = pdfcheck.page_texts(data)
    front = [part for part in result.parts if part.label not in RECORDS]
    assert {"Cover letter"} <= {part.label for part in front} and len(front) >= 2
    for part in front:
        for number in range(part.first_page, part.last_page + 1):
            assert not re.search(r"(?<!Packet )[Pp]age \d+ of \d+", pages[number - 1]), (
                part.label, number)
