"""Checking uploaded files (photo IDs, proof of authority, attachments) before they are stored.

A file is judged by its content, never by its name: only JPEG, PNG and PDF are accepted.
Each is rebuilt in a process of its own under memory, CPU, page and pixel limits
(portal.storage.rebuild): images are decoded and re-encoded, so only pixels survive (EXIF and
GPS, comments, bytes hidden after the image are dropped); a PDF from outside is rendered page
by page into a PDF of page images, so nothing of the sender's file survives but what it looks
like; a staff scan keeps its text and drawings, its annotations flattened into the page, with
annotations, actions, forms, scripts, XFA, attachments and metadata dropped and every image
re-encoded. Encrypted or damaged files are refused.

Every refusal is an :class:`UploadRejected` whose message names the file and says what to do.

`validate_record_pdf` checks a record PDF a clerk attaches for release (not rebuilt: a record
is released as scanned, so it must open, have pages and not be encrypted).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import unicodedata
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from types import ModuleType
from typing import TYPE_CHECKING, BinaryIO

from flask_babel import gettext as _

# The largest image accepted is the rebuild's limit (previews use it too, through here).
from portal.storage.rebuild import MAX_IMAGE_PIXELS

if TYPE_CHECKING:
    from PIL import Image

JPEG = "image/jpeg"
PNG = "image/png"
PDF = "application/pdf"
ACCEPTED_TYPES = (JPEG, PNG, PDF)


def pillow() -> ModuleType:
    """Pillow's Image module, with the portal's pixel limit set.

    Imported on first use, like pikepdf: the commands and most pages never touch a picture.
    Pillow's own guard is the backstop: with the warning turned into an error below, anything
    over the limit is refused even by code that forgets to check the size first.
    """
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    return Image

_EXTENSIONS = {
    ".jpg": JPEG, ".jpeg": JPEG, ".jpe": JPEG, ".jfif": JPEG,
    ".png": PNG,
    ".pdf": PDF,
}
_TYPE_NAMES = {JPEG: "JPEG picture", PNG: "PNG picture", PDF: "PDF document"}
_SUFFIX = {JPEG: ".jpg", PNG: ".png", PDF: ".pdf"}
_UNSAFE_NAME_CHARACTERS = re.compile(r"[^\w .()\-]+", re.UNICODE)


class UploadRejected(ValueError):
    """An upload was refused; ``message`` names the file and says what to do, for the page."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CleanUpload:
    """A checked file ready to store: re-encoded bytes, the type found, a safe file name."""

    data: bytes
    media_type: str
    filename: str
    page_count: int | None = None
    #: The bytes as received: stored as evidence beside the copy, never served (R-SEC-2).
    original: bytes = field(default=b"", repr=False)

    def stream(self) -> BinaryIO:
        """The bytes as a stream, for save_document."""
        return io.BytesIO(self.data)


def safe_filename(name: str | None, fallback: str = "upload") -> str:
    """The base name of an uploaded file without paths or odd characters (for display)."""
    raw = name or ""
    base = PureWindowsPath(PurePosixPath(raw).name).name
    base = "".join(
        c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C"
    )
    base = _UNSAFE_NAME_CHARACTERS.sub("_", base).strip(" .")
    if len(base) > 120:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[:110] + dot + suffix[:9]) if dot and len(suffix) <= 9 else base[:120]
    return base or fallback


def sniff_media_type(head: bytes) -> str | None:
    """The accepted type the first bytes show, or None (an executable, a text file, ...)."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    # The PDF header may follow a little junk (some scanners), but must be near the start.
    if b"%PDF-" in head[:1024]:
        return PDF
    return None


@contextmanager
def refusing_decompression_bombs() -> Iterator[None]:
    """Within this block, Pillow's decompression-bomb warning is raised as an error (R-SEC-2)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", pillow().DecompressionBombWarning)
        yield


def pixels_only(image: Image.Image, mode: str) -> Image.Image:
    """A copy of ``image`` in ``mode`` that holds its pixels and nothing else (no EXIF, GPS)."""
    plain = pillow().new(mode, image.size)
    plain.paste(image.convert(mode))
    return plain


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def _read_limited(stream: BinaryIO, max_bytes: int, filename: str) -> bytes:
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UploadRejected(
            _("The file “%(name)s” is larger than %(limit)s. Please choose a smaller file, or take "
              "the photo again at a lower resolution.", name=filename, limit=_megabytes(max_bytes))
        )
    if not data:
        raise UploadRejected(_("The file “%(name)s” is empty. Please choose the file again.",
                               name=filename))
    return data


def clean_upload(
    stream: BinaryIO,
    filename: str | None,
    *,
    max_bytes: int,
    accepted: tuple[str, ...] = ACCEPTED_TYPES,
    from_outside: bool = True,
) -> CleanUpload:
    """Check one uploaded file by its content and return an inert copy, or raise UploadRejected.

    ``max_bytes`` is the size limit of the upload as sent. The type comes from the content; a
    name that claims another accepted type (a ".jpg" that is really a PDF) is refused as
    disguised, so nobody is surprised later by what they sent. The copy is rebuilt in a
    process of its own (portal.storage.rebuild): a PDF ``from_outside`` (a requester's, an
    attorney's) becomes page images; a staff scan keeps its text but nothing active; a photo
    keeps its pixels only.
    """
    name = safe_filename(filename)
    data = _read_limited(stream, max_bytes, name)
    found = sniff_media_type(data[:1024])
    if found is None or found not in accepted:
        raise UploadRejected(
            _("The file “%(name)s” is not a JPEG or PNG photo or a PDF document. Please choose a "
              "photo or a PDF.", name=name)
        )
    claimed = _EXTENSIONS.get(PurePosixPath(name.lower()).suffix)
    if claimed is not None and claimed != found:
        raise UploadRejected(
            _("The file “%(name)s” is named like a %(claimed)s but is really a %(found)s. Please "
              "check you chose the right file.", name=name,
              claimed=_(_TYPE_NAMES[claimed]), found=_(_TYPE_NAMES[found]))
        )
    cleaned = rebuilt(data, found, name, from_outside=from_outside)
    pages = pdf_page_count(cleaned) if found == PDF else None
    stem = PurePosixPath(name).stem if claimed else name
    return CleanUpload(data=cleaned, media_type=found, filename=stem + _SUFFIX[found],
                       page_count=pages, original=data)


def rebuilt(data: bytes, media_type: str, name: str, *, from_outside: bool,
            for_release: bool = False) -> bytes:
    """The inert copy of an accepted file, or UploadRejected saying why in plain words."""
    from flask import current_app

    from portal.storage.rebuild import OUTSIDE_PDF, STAFF_PDF, Limits, RebuildRefused, rebuild

    limits = Limits.from_config(current_app.config, staff=for_release)
    mode = media_type if media_type != PDF else (OUTSIDE_PDF if from_outside else STAFF_PDF)
    try:
        return rebuild(data, mode, limits)
    except RebuildRefused as refusal:
        raise UploadRejected(_refusal_message(refusal.code, refusal.detail, name, media_type,
                                              limits.max_pages)) from None


def _refusal_message(code: str, detail: str, name: str, media_type: str, max_pages: int) -> str:
    if code == "encrypted":
        return _("The PDF “%(name)s” is protected by a password or encrypted, so we cannot check "
                 "it. Please save a copy without a password and choose that file.", name=name)
    if code == "too_many_pages":
        return _("The PDF “%(name)s” has %(pages)s pages; one file may have at most %(most)s. "
                 "Please split it into smaller files and send each.", name=name,
                 pages=detail or "too many", most=max_pages)
    if code == "page_too_large":
        return _("A page of the PDF “%(name)s” is larger than any paper size. Please scan or "
                 "save it again at a normal page size.", name=name)
    if code == "too_many_pixels":
        return _("The picture “%(name)s” has too many pixels to check safely. Please take the "
                 "photo again at a lower resolution.", name=name)
    if code == "unsafe":
        return _("We could not check the file “%(name)s” safely: it is too complex, or damaged. "
                 "Please save or scan it again (or print it to a new PDF) and choose that file.",
                 name=name)
    if media_type == PDF:
        return _("The PDF “%(name)s” is damaged and could not be opened. Please save or scan it "
                 "again and choose the new file.", name=name)
    return _("The picture “%(name)s” could not be read: it may be damaged or not a real "
             "photo. Please take the photo again or choose another file.", name=name)


def pdf_page_count(pdf_bytes: bytes) -> int:
    """Pages of a PDF the rebuild wrote (our own output, safe to open here)."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf_bytes)) as pdf:
        return len(pdf.pages)


# ------------------------------------------------------- record PDFs a clerk attaches for release

_SIGNATURES = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG", "a PNG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"PK\x03\x04", "a ZIP archive or an Office document"),
    (b"\xd0\xcf\x11\xe0", "an older Office document"),
)


def validate_record_pdf(
    stream_or_path: str | os.PathLike[str] | BinaryIO, filename: str
) -> list[str]:
    """Problems that would stop ``filename`` from being released, in plain words (empty: fine).

    Checks the content, not the extension: not a PDF, encrypted, damaged or unreadable, or
    without pages. A stream is read from its current position and put back there after.
    """
    if isinstance(stream_or_path, str | os.PathLike):
        with open(stream_or_path, "rb") as stream:
            return _validate_stream(stream, filename)
    stream = stream_or_path
    if not stream.seekable():
        with tempfile.TemporaryFile() as spool:
            shutil.copyfileobj(stream, spool, 1024 * 1024)
            spool.seek(0)
            return _validate_stream(spool, filename)
    start = stream.tell()
    try:
        return _validate_stream(_Window(stream, start), filename)
    finally:
        stream.seek(start)


def _validate_stream(stream: BinaryIO, filename: str) -> list[str]:
    import pikepdf

    head = stream.read(1024)
    if b"%PDF-" not in head:
        kind = next((what for magic, what in _SIGNATURES if head.startswith(magic)), None)
        if not head:
            return [f"{filename} is empty. Please upload the complete PDF file."]
        found = f" (it looks like {kind})" if kind else ""
        return [f"{filename} is not a PDF file{found}. Please upload the record as a PDF."]
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(max(0, size - 2048))
    if b"%%EOF" not in stream.read():
        return [
            f"{filename} is incomplete: the end of the file is missing, so it may have been "
            "cut off while it was copied. Please upload the complete file."
        ]
    stream.seek(0)
    try:
        pdf = pikepdf.open(stream)
    except pikepdf.PasswordError:
        return [_encrypted(filename)]
    except pikepdf.PdfError:
        return [_damaged(filename)]
    with pdf:
        if pdf.is_encrypted:
            return [_encrypted(filename)]
        warnings = list(pdf.get_warnings())
        try:
            page_count = len(pdf.pages)
            for page in pdf.pages:
                # Touch what a release reads: the content and every image's stored bytes.
                pikepdf.parse_content_stream(page)
                for image in page.get_images().values():
                    image.read_raw_bytes()
        except (pikepdf.PdfError, ValueError):
            return [_damaged(filename)]
        warnings += pdf.get_warnings()
    if warnings:
        return [_damaged(filename)]
    if page_count == 0:
        return [f"{filename} has no pages. Please upload a PDF that contains the record."]
    return []


def _encrypted(filename: str) -> str:
    return (
        f"{filename} is password-protected (encrypted). Please remove the password and "
        "upload it again."
    )


def _damaged(filename: str) -> str:
    return (
        f"{filename} is damaged and cannot be read reliably. Please scan or export it again "
        "and upload the new file."
    )


class _Window(io.RawIOBase):
    """A view of a seekable stream that starts at ``start``, so offsets count from there."""

    def __init__(self, stream: BinaryIO, start: int) -> None:
        super().__init__()
        self._stream = stream
        self._start = start

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        return self._stream.read(size)

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            return self._stream.seek(self._start + offset) - self._start
        return self._stream.seek(offset, whence) - self._start

    def tell(self) -> int:
        return self._stream.tell() - self._start
