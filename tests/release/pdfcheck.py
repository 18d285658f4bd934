"""Read generated PDFs back the way a reader, a printer or an auditor would."""

from __future__ import annotations

import io
import math
import re
import subprocess
from collections import Counter

import pikepdf
import pypdf

# Direction marks WeasyPrint inserts around isolated text; a reader never sees them.
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def pdftotext(
    data: bytes,
    *,
    first: int | None = None,
    last: int | None = None,
    crop: tuple[int, int, int, int] | None = None,
    layout: bool = False,
) -> str:
    """Text as poppler's pdftotext extracts it (optionally a page range or a crop in points).

    ``layout`` keeps table rows on one line; the default reading order suits running text.
    """
    command = ["pdftotext", "-enc", "UTF-8"]
    if layout:
        command.append("-layout")
    if first:
        command += ["-f", str(first)]
    if last:
        command += ["-l", str(last)]
    if crop:
        x, y, width, height = crop
        command += ["-x", str(x), "-y", str(y), "-W", str(width), "-H", str(height)]
    result = subprocess.run([*command, "-", "-"], input=data, capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def text(data: bytes, **options) -> str:
    """Extracted text, whitespace collapsed, direction marks and page footers removed."""
    pages = _BIDI_CONTROLS.sub("", pdftotext(data, **options)).split("\f")
    return " ".join(_FOOTER.sub("", " ".join(page.split())) for page in pages).strip()


# The page furniture at the foot of every page, which splits sentences running across pages.
_FOOTER = re.compile(
    r"\s*(Reference \S+ • )?Generated [A-Z][a-z]+ \d{1,2}, \d{4}\s*Page \d+ of \d+\s*$"
)


def page_texts(data: bytes) -> list[str]:
    """Collapsed text of each page."""
    return [
        " ".join(_BIDI_CONTROLS.sub("", page).split())
        for page in pdftotext(data).split("\f")[: page_count(data)]
    ]


def page_count(data: bytes) -> int:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return len(pdf.pages)


def font_sizes(data: bytes, page_index: int) -> Counter[float]:
    """Effective size in points of every visible character drawn on a page."""
    sizes: Counter[float] = Counter()

    def visit(chars, cm, tm, font, size):
        if not chars.strip():
            return
        a = tm[0] * cm[0] + tm[1] * cm[2]
        b = tm[0] * cm[1] + tm[1] * cm[3]
        c = tm[2] * cm[0] + tm[3] * cm[2]
        d = tm[2] * cm[1] + tm[3] * cm[3]
        sizes[round(size * math.sqrt(abs(a * d - b * c)), 2)] += len(chars.strip())

    pypdf.PdfReader(io.BytesIO(data)).pages[page_index].extract_text(visitor_text=visit)
    return sizes


def unembedded_fonts(data: bytes) -> list[str]:
    """Names of fonts whose program is not inside the PDF (empty when all are embedded)."""
    missing = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for obj in pdf.objects:
            if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Type") != "/Font":
                continue
            if obj.get("/Subtype") in ("/Type0", "/Type3"):
                continue  # Type0 is checked through its descendant; Type3 glyphs are inline
            descriptor = obj.get("/FontDescriptor")
            if descriptor is None or not any(
                key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
            ):
                missing.append(str(obj.get("/BaseFont")))
    return missing


def font_count(data: bytes) -> int:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return sum(
            1
            for obj in pdf.objects
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/Font"
        )


def metadata(data: bytes) -> dict[str, str]:
    """The document information dictionary as strings."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return {str(key): str(value) for key, value in pdf.docinfo.items()}


def pdf_ua_marking(data: bytes) -> tuple[bool, bool, str]:
    """(has a structure tree, is marked, the XMP pdfuaid:part value or '')."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = pdf.Root
        marked = bool(root.get("/MarkInfo", {}).get("/Marked", False))
        xmp = root.Metadata.read_bytes().decode("utf-8") if "/Metadata" in root else ""
        match = re.search(r"pdfuaid:part(?:>|=\")\s*(\d+)", xmp)
        return "/StructTreeRoot" in root, marked, match.group(1) if match else ""


def list_items(data: bytes) -> list[list[tuple[str, ...]]]:
    """Every list (/L) in the structure tree: for each, the tags of each child's children.

    A list tagged for PDF/UA gives [("/LBody",), ...] or [("/Lbl", "/LBody"), ...]; a child
    that is not an /LI shows as ("not LI: /S",).
    """
    found: list[list[tuple[str, ...]]] = []

    def kids(element) -> list:
        children = element.get("/K")
        if children is None:
            return []
        children = list(children) if isinstance(children, pikepdf.Array) else [children]
        return [c for c in children if isinstance(c, pikepdf.Dictionary) and "/S" in c]

    def walk(element) -> None:
        if str(element.get("/S")) == "/L":
            found.append(
                [
                    tuple(str(c.S) for c in kids(item))
                    if str(item.S) == "/LI"
                    else (f"not LI: {item.S}",)
                    for item in kids(element)
                ]
            )
        for child in kids(element):
            walk(child)

    with pikepdf.open(io.BytesIO(data)) as pdf:
        for top in kids(pdf.Root.StructTreeRoot):
            walk(top)
    return found
