"""Server-rendered previews of uploaded documents: pixels only, never the file itself.

A clerk looks at a photo ID or a scanned form in the browser without the browser ever opening
the uploaded bytes: images are decoded and re-encoded (orientation applied, every metadata
chunk such as EXIF or GPS dropped), PDF pages are rasterized with pdfium. The result is a PNG
that the queue serves with the sandboxing CSP through an authorized, audited route (R-SEC-2).
"""

from __future__ import annotations

import io
import shutil
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from portal.storage.models import StoredDocument
from portal.storage.operations import open_document
from portal.storage.uploads import (
    MAX_IMAGE_PIXELS,
    PDF,
    pillow,
    pixels_only,
    refusing_decompression_bombs,
    sniff_media_type,
)

if TYPE_CHECKING:
    from PIL import Image

# Pillow and pdfium are imported on first use: most pages and every command never need them.

# Decoding an image needs memory in proportion to its pixels: refuse absurd ones first.
MAX_SOURCE_PIXELS = MAX_IMAGE_PIXELS
MAX_IMAGE_BYTES = 40 * 1024 * 1024
_COPY_CHUNK = 1024 * 1024


class PreviewUnavailable(Exception):
    """No preview can be made; ``message`` says why in plain words."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Preview:
    """One page of a document as PNG bytes, and how many pages the document has."""

    png: bytes
    page: int
    page_count: int


def _kind(head: bytes) -> str | None:
    # Uploads accept JPEG, PNG and PDF only; WebP is previewed too, for files stored otherwise.
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    found = sniff_media_type(head)
    if found is None:
        return None
    return "pdf" if found == PDF else "image"


def _png(image: Image.Image, max_pixels: int) -> bytes:
    """Re-encode to PNG: bounded size, RGB on white, no metadata carried over."""
    image.thumbnail((max_pixels, max_pixels))
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = pillow().new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    clean = pixels_only(image, "RGB")
    out = io.BytesIO()
    clean.save(out, "PNG")
    return out.getvalue()


def _image_preview(data: bytes, max_pixels: int) -> Preview:
    from PIL import ImageOps, UnidentifiedImageError

    image_module = pillow()
    try:
        with refusing_decompression_bombs(), image_module.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_SOURCE_PIXELS:
                raise PreviewUnavailable("This picture is too large to preview. Download "
                                         "the original to look at it.")
            image.draft("RGB", (max_pixels, max_pixels))
            upright = ImageOps.exif_transpose(image)
            return Preview(_png(upright, max_pixels), 1, 1)
    except (UnidentifiedImageError, OSError, image_module.DecompressionBombError,
            image_module.DecompressionBombWarning, ValueError):
        raise PreviewUnavailable("This picture is damaged and cannot be previewed.") from None


def _pdf_preview(spool, page: int, max_pixels: int) -> Preview:
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(spool)
    except pdfium.PdfiumError:
        raise PreviewUnavailable("This PDF is damaged or password-protected and cannot be "
                                 "previewed.") from None
    try:
        count = len(document)
        if count == 0:
            raise PreviewUnavailable("This PDF has no pages.")
        page = min(max(page, 1), count)
        pdf_page = document[page - 1]
        try:
            width, height = pdf_page.get_size()
            scale = max_pixels / max(width, height, 1)
            bitmap = pdf_page.render(scale=scale, may_draw_forms=True)
            try:
                image = bitmap.to_pil()
                png = _png(image.convert("RGB"), max_pixels)
            finally:
                bitmap.close()
        finally:
            pdf_page.close()
    finally:
        document.close()
    return Preview(png, page, count)


def render_preview(document: StoredDocument, page: int = 1, *, max_pixels: int = 1600) -> Preview:
    """Render page ``page`` of a stored document as a clean PNG (images have one page).

    Reads through the verifying store: a tampered file raises
    portal.storage.filestore.IntegrityError and is never shown. Other problems raise
    PreviewUnavailable with a message for the clerk.
    """
    with open_document(document) as reader, tempfile.TemporaryFile(prefix="preview-") as spool:
        head = reader.read(1024)
        kind = _kind(head)
        if kind is None:
            raise PreviewUnavailable("There is no preview for this kind of file. Download the "
                                     "original to look at it.")
        spool.write(head)
        if kind == "image":
            rest = reader.read(MAX_IMAGE_BYTES + 1 - len(head))
            if len(head) + len(rest) > MAX_IMAGE_BYTES:
                raise PreviewUnavailable("This picture is too large to preview.")
            return _image_preview(head + rest, max_pixels)
        shutil.copyfileobj(reader, spool, _COPY_CHUNK)
        spool.seek(0)
        return _pdf_preview(spool, page, max_pixels)
