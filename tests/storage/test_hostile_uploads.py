"""Uploads are rebuilt inert (#14 part 1, R-SEC-2): each vector of the hostile corpus
(tests/storage/hostile.py) on its own, for a file from outside (rasterized) and a staff scan
(kept as drawn, nothing active), and every route with a file field is covered.

The rebuild runs in a child process under memory, CPU, page and pixel limits; a test that
sends a bomb checks that the answer is a clear refusal (or an inert copy) and that the test
process itself never parsed the file.
"""

from __future__ import annotations

import io

import pikepdf
import pytest

from portal.storage.uploads import UploadRejected, clean_upload
from tests.storage import hostile

pytestmark = pytest.mark.once

LIMIT = 50 * 1024 * 1024


@pytest.fixture(autouse=True)
def _request_context(app):
    with app.test_request_context():
        yield


def clean(data: bytes, name: str = "upload.pdf", *, from_outside: bool = True):
    return clean_upload(io.BytesIO(data), name, max_bytes=LIMIT, from_outside=from_outside)


def refusal(data: bytes, name: str = "upload.pdf", *, from_outside: bool = True) -> str:
    with pytest.raises(UploadRejected) as caught:
        clean(data, name, from_outside=from_outside)
    return caught.value.message


def names_in(pdf_bytes: bytes) -> set[str]:
    """Every name used as a key or a value anywhere in the file (object streams included)."""
    found: set[str] = set()
    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
                for key, value in obj.items():
                    found.add(key)
                    if isinstance(value, pikepdf.Name):
                        found.add(str(value))
    return found


FORBIDDEN = {"/JavaScript", "/JS", "/Launch", "/SubmitForm", "/EmbeddedFile", "/EmbeddedFiles",
             "/FileAttachment", "/AcroForm", "/XFA", "/AA", "/OpenAction", "/AF", "/Annots",
             "/URI", "/ImportData", "/Widget", "/Link", "/Names", "/Metadata"}


def dark_fraction(pdf_bytes: bytes, box: tuple[float, float, float, float]) -> float:
    """How much of ``box`` (PDF points, origin bottom left) on page 1 renders dark."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf_bytes)
    document.init_forms()  # so form fields are drawn, as a viewer draws them
    page = document[0]
    _width, height = page.get_size()
    image = page.render(scale=1).to_pil().convert("L")
    page.close()
    document.close()
    left, bottom, right, top = box
    region = image.crop((int(left), int(height - top), int(right), int(height - bottom)))
    histogram = region.histogram()
    return sum(histogram[:100]) / (region.width * region.height)


BLACK_BOX = (72, 100, 272, 200)  # drawn by every corpus page's content stream
ANNOTATION = (300, 300, 500, 360)  # where the annotation vectors draw their appearance


@pytest.mark.parametrize("vector", sorted(hostile.ACTIVE_PDF_VECTORS))
def test_a_pdf_from_outside_keeps_only_what_it_shows(vector):
    result = clean(hostile.ACTIVE_PDF_VECTORS[vector]())
    assert not names_in(result.data) & FORBIDDEN
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        for page in pdf.pages:
            # Rasterized: one image per page, no font, no content of the sender's.
            xobjects = page.obj.Resources.XObject
            assert [str(x.Subtype) for x in xobjects.values()] == ["/Image"]
            assert "/Font" not in page.obj.Resources
    assert dark_fraction(result.data, BLACK_BOX) > 0.9


@pytest.mark.parametrize("vector", sorted(hostile.ACTIVE_PDF_VECTORS))
def test_a_staff_scan_keeps_its_drawing_and_loses_everything_active(vector):
    result = clean(hostile.ACTIVE_PDF_VECTORS[vector](), from_outside=False)
    assert not names_in(result.data) & FORBIDDEN
    with pikepdf.open(io.BytesIO(result.data)) as pdf:
        assert "/Font" in pdf.pages[0].obj.Resources  # its text is still text
    assert dark_fraction(result.data, BLACK_BOX) > 0.9


@pytest.mark.parametrize("from_outside", [True, False], ids=["outside", "staff"])
@pytest.mark.parametrize("vector", ["form field with keystroke JavaScript",
                                    "link running JavaScript"])
def test_an_annotations_appearance_is_drawn_into_the_page_first(vector, from_outside):
    """A filled form or a visible signature survives the flattening."""
    original = hostile.ACTIVE_PDF_VECTORS[vector]()
    assert dark_fraction(original, ANNOTATION) > 0.9
    result = clean(original, from_outside=from_outside)
    assert dark_fraction(result.data, ANNOTATION) > 0.9


@pytest.mark.parametrize("from_outside", [True, False], ids=["outside", "staff"])
def test_a_flate_bomb_is_refused_or_rebuilt_within_the_limits(from_outside):
    data = hostile.flate_bomb()
    assert len(data) < 2 * 1024 * 1024
    try:
        result = clean(data, from_outside=from_outside)
    except UploadRejected as exc:
        assert "upload.pdf" in exc.message
    else:
        assert len(result.data) < 10 * 1024 * 1024 and not names_in(result.data) & FORBIDDEN


@pytest.mark.parametrize("from_outside", [True, False], ids=["outside", "staff"])
def test_an_image_bomb_inside_a_pdf_is_refused_or_rebuilt_within_the_limits(from_outside):
    try:
        result = clean(hostile.image_bomb_in_pdf(), from_outside=from_outside)
    except UploadRejected as exc:
        assert "upload.pdf" in exc.message
    else:
        with pikepdf.open(io.BytesIO(result.data)) as pdf:
            for image in pdf.pages[0].get_images().values():
                assert int(image.Width) * int(image.Height) <= 50_000_000


def test_a_png_of_100000_by_100000_pixels_is_refused_before_it_is_decoded():
    message = refusal(hostile.huge_png(), "id.png")
    assert "too many pixels" in message and "id.png" in message


@pytest.mark.parametrize("from_outside", [True, False], ids=["outside", "staff"])
def test_a_10000_page_file_is_refused_with_the_limit(app, from_outside):
    message = refusal(hostile.ten_thousand_pages(), "bundle.pdf", from_outside=from_outside)
    assert "has 10000 pages" in message and "split it" in message


@pytest.mark.parametrize("from_outside", [True, False], ids=["outside", "staff"])
def test_a_page_larger_than_any_paper_is_refused(from_outside):
    message = refusal(hostile.huge_mediabox(), "poster.pdf", from_outside=from_outside)
    assert "larger than any paper size" in message


@pytest.mark.parametrize("builder", [hostile.reference_loop, hostile.deep_nesting,
                                     hostile.broken_xref], ids=["loop", "nesting", "xref"])
@pytest.mark.parametrize("from_outside", [True, False], ids=["outside", "staff"])
def test_a_malformed_structure_is_refused_or_rebuilt_never_a_crash(builder, from_outside):
    try:
        result = clean(builder(), from_outside=from_outside)
    except UploadRejected as exc:
        assert "upload.pdf" in exc.message
    else:
        assert not names_in(result.data) & FORBIDDEN


@pytest.mark.parametrize("builder", [hostile.pdf_zip_polyglot, hostile.pdf_html_polyglot],
                         ids=["zip", "html"])
@pytest.mark.parametrize("from_outside", [True, False], ids=["outside", "staff"])
def test_a_polyglot_loses_its_other_self(builder, from_outside):
    result = clean(builder(), from_outside=from_outside)
    assert b"<script" not in result.data and b"PK\x03\x04" not in result.data
    assert result.data.startswith(b"%PDF-")


@pytest.mark.parametrize(("builder", "name"), [
    (hostile.svg_posing_as_jpeg, "photo.jpg"),
    (hostile.tiff_image, "scan.tiff"),
    (hostile.heic_image, "IMG_0001.heic"),
])
def test_svg_tiff_and_heic_are_refused_in_plain_words(builder, name):
    message = refusal(builder(), name)
    assert f"“{name}” is not a JPEG or PNG photo or a PDF document" in message


def test_the_test_process_never_parses_the_file(monkeypatch):
    """The parsers run in the child: were pikepdf or pdfium to open the upload here, the
    patched openers would fail the test."""
    import pypdfium2

    def forbidden(*_args, **_kwargs):
        raise AssertionError("the upload was parsed in the web process")

    monkeypatch.setattr(pypdfium2, "PdfDocument", forbidden)
    opened: list[int] = []
    real_open = pikepdf.open

    def counting_open(source, *args, **kwargs):
        opened.append(1)
        return real_open(source, *args, **kwargs)

    monkeypatch.setattr(pikepdf, "open", counting_open)
    result = clean(hostile.link_running_javascript())
    # The one open here is of the child's output, to count its pages.
    assert len(opened) == 1 and result.page_count == 1
