"""The released packet: cover letter, consent copy, manifest and records as one verifiable PDF.

``release_packet`` merges the parts with qpdf's page job (through pikepdf), adds a strip below
every page that carries the short 42 CFR 2.32 statement, the reference, the recipient and
"Packet page n of N" (R-REL-5), and streams the result to a binary file while hashing it
(R-SEC-3).

The strip is cheap on purpose: its text is rendered once per packet by WeasyPrint and placed
on every page as one shared Form XObject, scaled to the page's width; only the page number
differs, and it is drawn as four text operators with a small embedded font. Record pages are
enlarged rather than covered, so a full-bleed scan loses nothing and its image bytes are
copied untouched. Sources are spooled one at a time from their (possibly non-seekable,
decrypting) streams into files in a private (0700) temporary directory, removed when the
build ends; qpdf reads their page data lazily while it writes, so memory stays flat whatever
the number of scanned pages.

The upload-time check that refuses a record PDF that would break a release is
``portal.storage.uploads.validate_record_pdf``, with the other upload checks.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from portal.release.pdf import DOCUMENT_AUTHOR, FONT_DIR, render_pdf
from portal.rules.notices import PART2_SHORT_STATEMENT
from portal.storage.rebuild_worker import make_inert

# pikepdf is imported where it is used: most pages and every command never open a PDF.
if TYPE_CHECKING:
    import pikepdf
    from pikepdf import Name

__all__ = [
    "PacketError",
    "PacketPart",
    "PacketResult",
    "RecordSource",
    "release_packet",
]

#: The strip is designed for a US Letter width and scaled to each page's visible width.
STRIP_DESIGN_WIDTH = 612.0
STRIP_DESIGN_HEIGHT = 36.0
_NUMBER_FONT_SIZE = 8.0  # the strip's text is at least 8 pt
_NUMBER_RIGHT_MARGIN = 36.0
_NUMBER_BASELINE = 11.0  # points above the strip's outer edge: the baseline of its second line
_NUMBER_CHARS = "Packet page of 0123456789"
_FIRST_CHAR, _LAST_CHAR = 32, 122
_COPY_CHUNK = 1024 * 1024


class PacketError(RuntimeError):
    """The packet cannot be built; the message names the part and says why in plain words."""


@dataclass(frozen=True)
class RecordSource:
    """A stored record file: its label, the SHA-256 recorded at upload, and how to read it.

    ``open`` returns a context manager yielding a binary stream of the plaintext PDF (for
    example a decrypting reader from the encrypted store); it need not be seekable.
    """

    label: str
    sha256: str
    open: Callable[[], AbstractContextManager[BinaryIO]]


class PacketPart(NamedTuple):
    """Where one part sits in the packet, and the digest of the file it came from."""

    label: str
    first_page: int
    last_page: int
    source_sha256: str


@dataclass(frozen=True)
class PacketResult:
    """What the disclosure record keeps: the packet's digest, its size and its parts."""

    sha256: str
    page_count: int
    parts: list[PacketPart] = field(default_factory=list)


# ------------------------------------------------------------------------------ the packet


def release_packet(
    out: BinaryIO,
    *,
    cover_pdf: bytes,
    consent_pdfs: Sequence[tuple[str, bytes]] = (),
    records: Sequence[RecordSource],
    reference: str,
    recipient: str,
    generated_on: date,
) -> PacketResult:
    """Build the released packet into ``out`` and return its digest, page count and parts.

    Order: cover letter, a copy of each consent the release rests on (third-party releases:
    ``consent_pdfs`` as (label, PDF) pairs, the notes consent included), manifest, then each
    record in the order given. Every page gets the strip (R-REL-5) and one running
    "Packet page n of N". A record whose bytes do not match its stored SHA-256 stops the
    build (R-SEC-3), as does a record that is not a readable, unencrypted PDF.
    """
    import pikepdf
    from pikepdf import Dictionary

    if not records:
        raise PacketError("A packet needs at least one record.")
    with tempfile.TemporaryDirectory(prefix="packet-") as workdir:
        parts = [_front_part("Cover letter", cover_pdf, Path(workdir, "cover.pdf"))]
        # R-REL-5, 2.32(b): a copy of every consent a released part rests on, each its own part.
        for index, (label, consent_pdf) in enumerate(consent_pdfs):
            consent_path = Path(workdir, f"consent-{index}.pdf")
            parts.append(_front_part(label, consent_pdf, consent_path))
        front_count = len(parts)
        parts += [_record_part(source, workdir) for source in records]

        manifest = _Manifest(parts, front_count, reference, recipient, generated_on)
        manifest_path = Path(workdir, "manifest.pdf")
        manifest_path.write_bytes(manifest.pdf)
        files = [part.path for part in parts]
        files.insert(front_count, manifest_path)

        # qpdf's own page merge reads every source lazily at save time, so memory stays flat;
        # the job must outlive the save because its pages still read from those files.
        job = pikepdf.Job(
            {
                "empty": "",
                "pages": [{"file": str(path)} for path in files],
                "outputFile": str(Path(workdir, "unused.pdf")),  # required; we save ourselves
            }
        )
        with job.create_pdf() as packet:
            # The same inertness as every stored upload (a record stored before uploads were
            # rebuilt included): annotations drawn in, nothing active or attached kept.
            make_inert(packet)
            _stamp_strips(packet, reference, recipient, generated_on)
            packet.docinfo = packet.make_indirect(
                Dictionary(
                    Title=f"Released records, reference {reference}",
                    Author=DOCUMENT_AUTHOR,
                    Subject=PART2_SHORT_STATEMENT,
                )
            )
            writer = _HashingWriter(out)
            packet.save(
                writer,
                deterministic_id=True,  # the same release always gives the same digest
                # Copy record streams as they are: no decoding, no recompression.
                stream_decode_level=pikepdf.StreamDecodeLevel.none,
            )
    return PacketResult(sha256=writer.hexdigest(), page_count=manifest.total, parts=manifest.parts)


@dataclass(frozen=True)
class _Part:
    """One part on disk in the private work directory, with its page count and digest."""

    label: str
    sha256: str
    path: Path
    pages: int


def _front_part(label: str, data: bytes, path: Path) -> _Part:
    path.write_bytes(data)
    return _Part(label, hashlib.sha256(data).hexdigest(), path, _page_count(data))


def _record_part(source: RecordSource, workdir: str) -> _Part:
    import pikepdf

    path = _spool_verified(source, workdir)
    try:
        pdf = pikepdf.open(path, access_mode=pikepdf.AccessMode.stream)
    except pikepdf.PasswordError as error:
        raise PacketError(f"{source.label}: the PDF is password-protected.") from error
    except pikepdf.PdfError as error:
        raise PacketError(f"{source.label}: the PDF cannot be read.") from error
    with pdf:
        if pdf.is_encrypted:
            raise PacketError(f"{source.label}: the PDF is encrypted.")
        if not pdf.pages:
            raise PacketError(f"{source.label}: the PDF has no pages.")
        return _Part(source.label, source.sha256.lower(), path, len(pdf.pages))


class _Manifest:
    """The manifest page(s), rendered until their own page count is stable."""

    def __init__(
        self,
        parts: list[_Part],
        front_count: int,
        reference: str,
        recipient: str,
        generated_on: date,
    ) -> None:
        pages = 1
        for _ in range(5):
            self.parts, self.total, first = _layout(parts, front_count, pages)
            self.pdf = render_pdf(
                "packet_manifest.html",
                {
                    "reference": reference,
                    "recipient": recipient,
                    "generated_on": generated_on,
                    "parts": self.parts,
                    "total_pages": self.total,
                    "manifest_first": first,
                    "manifest_last": first + pages - 1,
                },
                title=f"Manifest, reference {reference}",
                subject="Parts of a released packet with their SHA-256 digests",
                letterhead=None,
                variant=None,
            )
            rendered = _page_count(self.pdf)
            if rendered == pages:
                return
            pages = rendered
        raise PacketError("The manifest page count did not settle.")


def _layout(
    parts: list[_Part], front_count: int, manifest_pages: int
) -> tuple[list[PacketPart], int, int]:
    """Page ranges of every part once the manifest takes ``manifest_pages`` pages."""
    placed: list[PacketPart] = []
    next_page = 1
    manifest_first = 0
    for index, part in enumerate(parts):
        if index == front_count:
            manifest_first = next_page
            next_page += manifest_pages
        placed.append(PacketPart(part.label, next_page, next_page + part.pages - 1, part.sha256))
        next_page += part.pages
    return placed, next_page - 1, manifest_first


def _page_count(data: bytes) -> int:
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        return len(pdf.pages)


def _spool_verified(source: RecordSource, workdir: str) -> Path:
    """Copy a source stream to a private file, refusing it if its SHA-256 is not the stored one."""
    descriptor, name = tempfile.mkstemp(suffix=".pdf", dir=workdir)
    digest = hashlib.sha256()
    with os.fdopen(descriptor, "wb") as spool, source.open() as stream:
        while chunk := stream.read(_COPY_CHUNK):
            digest.update(chunk)
            spool.write(chunk)
    if digest.hexdigest() != source.sha256.lower():
        # R-SEC-3: never release a file that differs from what was stored and listed.
        raise PacketError(
            f"{source.label}: the stored file does not match its recorded SHA-256; "
            "it was not released."
        )
    return Path(name)


class _HashingWriter(io.RawIOBase):
    """Writes through to the caller's stream, hashing every byte on the way."""

    def __init__(self, out: BinaryIO) -> None:
        super().__init__()
        self._out = out
        self._digest = hashlib.sha256()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._digest.update(data)
        self._out.write(data)
        return len(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


# ------------------------------------------------------------------------------ the strip


@dataclass(frozen=True)
class _NumberFont:
    data: bytes
    widths: tuple[int, ...]
    bbox: tuple[int, int, int, int]
    ascent: int
    descent: int
    cap_height: int

    def text_width(self, text: str, size: float) -> float:
        return sum(self.widths[ord(char) - _FIRST_CHAR] for char in text) * size / 1000


@cache
def _number_font() -> _NumberFont:
    """A few-kilobyte subset of Liberation Sans with just what "Packet page n of N" needs."""
    # fontTools is imported on first use: it adds 0.15 s to every start-up otherwise.
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(FONT_DIR / "LiberationSans-Regular.ttf")
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.drop_tables += ["FFTM"]  # FontForge's timestamp table, unused in PDF
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=_NUMBER_CHARS)
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    scale = 1000 / font["head"].unitsPerEm
    cmap = font.getBestCmap()
    metrics = font["hmtx"].metrics
    widths = tuple(
        round(metrics[cmap[code]][0] * scale) if code in cmap else 0
        for code in range(_FIRST_CHAR, _LAST_CHAR + 1)
    )
    head, hhea = font["head"], font["hhea"]
    bbox = tuple(round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax))
    return _NumberFont(
        data=buffer.getvalue(),
        widths=widths,
        bbox=bbox,  # type: ignore[arg-type]
        ascent=round(hhea.ascent * scale),
        descent=round(hhea.descent * scale),
        cap_height=round(font["OS/2"].sCapHeight * scale),
    )


def _embed_number_font(packet: pikepdf.Pdf) -> pikepdf.Object:
    import pikepdf
    from pikepdf import Array, Dictionary, Name

    font = _number_font()
    font_file = pikepdf.Stream(packet, font.data)
    font_file.Length1 = len(font.data)
    base_font = Name("/PRTLPN+LiberationSans")
    descriptor = Dictionary(
        Type=Name.FontDescriptor,
        FontName=base_font,
        Flags=32,  # nonsymbolic: codes are WinAnsi characters
        FontBBox=Array(font.bbox),
        ItalicAngle=0,
        Ascent=font.ascent,
        Descent=font.descent,
        CapHeight=font.cap_height,
        StemV=80,
        FontFile2=font_file,
    )
    return packet.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.TrueType,
            BaseFont=base_font,
            FirstChar=_FIRST_CHAR,
            LastChar=_LAST_CHAR,
            Widths=Array(font.widths),
            Encoding=Name.WinAnsiEncoding,
            FontDescriptor=packet.make_indirect(descriptor),
        )
    )


def _strip_form(packet: pikepdf.Pdf, reference: str, recipient: str, generated_on: date):
    """Render the strip text once and import it as a Form XObject of the packet."""
    import pikepdf

    strip_pdf = render_pdf(
        "packet_strip.html",
        {"reference": reference, "recipient": recipient, "generated_on": generated_on},
        title="Packet strip",
        subject=PART2_SHORT_STATEMENT,
        letterhead=None,
        variant=None,
    )
    with pikepdf.open(io.BytesIO(strip_pdf)) as source:
        if len(source.pages) != 1:
            raise PacketError("The strip text does not fit on one line; shorten the recipient.")
        form = source.pages[0].as_form_xobject()
        return packet.copy_foreign(form)


def _number(value: float) -> str:
    """A PDF number with at most 4 decimals, no exponent."""
    return format(Decimal(repr(round(value, 4))).normalize(), "f")


def _placement(page: pikepdf.Page) -> tuple[list[float], list[float]]:
    """The matrix that shrinks the page's own drawing, and the strip's placement matrix.

    The page keeps its size (a Letter page stays 8.5 x 11 in, so it prints on Letter paper
    unscaled); its drawing is scaled down evenly, centred across, to free a band at the
    bottom as the reader sees it, where the strip goes. For a rotated page that band is on the
    edge /Rotate turns to the bottom, and the strip is drawn turned the same way. Images are
    scaled by the matrix, never re-encoded.
    """
    x0, y0, x1, y1 = _normalized(page.cropbox)
    width, height = x1 - x0, y1 - y0
    rotate = int(page.obj.get("/Rotate", 0)) % 360
    sideways = rotate in (90, 270)
    visible_width, visible_height = (height, width) if sideways else (width, height)
    s = visible_width / STRIP_DESIGN_WIDTH
    h = STRIP_DESIGN_HEIGHT * s
    k = (visible_height - h) / visible_height
    if sideways:
        across = y0 + (height - k * height) / 2 - k * y0  # centred along the page's y
        band_x = x0 + h if rotate == 270 else x0  # the drawing moves off the band
        content = [k, 0, 0, k, band_x - k * x0, across]
        strip = [0, s, -s, 0, x1, y0] if rotate == 90 else [0, -s, s, 0, x0, y1]
    else:
        across = x0 + (width - k * width) / 2 - k * x0
        band_y = y0 + h if rotate == 0 else y0
        content = [k, 0, 0, k, across, band_y - k * y0]
        strip = [s, 0, 0, s, x0, y0] if rotate == 0 else [-s, 0, 0, -s, x1, y1]
    return content, strip


def _normalized(box: pikepdf.Array) -> tuple[float, float, float, float]:
    a, b, c, d = (float(v) for v in box)
    return min(a, c), min(b, d), max(a, c), max(b, d)


def _resource_name(resources: pikepdf.Dictionary, category: str, base: str, obj) -> Name:
    """A name for ``obj`` in the page's resources that never shadows one the page uses."""
    from pikepdf import Dictionary, Name

    if category not in resources:
        resources[category] = Dictionary()
    table = resources[category]
    for suffix in range(100):
        name = f"/{base}{suffix or ''}"
        if name not in table:
            table[name] = obj
            return Name(name)
        if table[name].is_indirect and table[name].objgen == obj.objgen:
            return Name(name)
    raise PacketError("A page uses too many resource names to add the strip.")


def _stamp_strips(packet: pikepdf.Pdf, reference: str, recipient: str, generated_on: date) -> None:
    """Enlarge every page and draw the strip with its packet page number below it."""
    import pikepdf
    from pikepdf import Array, Dictionary

    form = _strip_form(packet, reference, recipient, generated_on)
    font = _embed_number_font(packet)
    metrics = _number_font()
    total = len(packet.pages)
    for number, page in enumerate(packet.pages, start=1):
        content, matrix = _placement(page)
        # The page's own drawing, shrunk, and its state isolated in q ... Q before the strip.
        shrink = f"q {' '.join(_number(v) for v in content)} cm\n".encode("ascii")
        if "/Resources" not in page.obj:
            page.obj.Resources = Dictionary()
        resources = page.obj.Resources
        form_name = _resource_name(resources, "/XObject", "PortalStrip", form)
        font_name = _resource_name(resources, "/Font", "PortalPageNo", font)
        label = f"Packet page {number} of {total}"
        x = STRIP_DESIGN_WIDTH - _NUMBER_RIGHT_MARGIN
        x -= metrics.text_width(label, _NUMBER_FONT_SIZE)
        draw = (
            f"Q q {' '.join(_number(v) for v in matrix)} cm {form_name} Do "
            f"BT {font_name} {_NUMBER_FONT_SIZE} Tf {_number(x)} {_NUMBER_BASELINE} Td "
            f"({label}) Tj ET Q\n"
        ).encode("ascii")
        page.contents_add(pikepdf.Stream(packet, shrink), prepend=True)
        page.contents_add(pikepdf.Stream(packet, draw))
        page.obj.MediaBox = Array([float(v) for v in _normalized(page.cropbox)])
        for box in ("/TrimBox", "/BleedBox", "/ArtBox"):
            if box in page.obj:
                del page.obj[box]
