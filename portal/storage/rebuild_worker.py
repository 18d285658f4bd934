"""The rebuild of one uploaded file, run as its own process (see portal.storage.rebuild).

Run by path with ``python -I``, so it imports nothing of the portal, Flask or the database:
only Pillow, pypdfium2 and pikepdf. It reads the file from stdin and writes the rebuilt file to
stdout. It sets its own memory and CPU limits before it reads the file. Exit status 0: done; 3: the
file is refused, with one line ``code detail`` on stderr (codes: damaged, encrypted, no_pages,
too_many_pages, page_too_large, too_many_pixels, not_accepted). Anything else (a crash, a limit
reached) is a failure the parent reports as a file it could not check.

Modes (argv[1]), limits as JSON (argv[2]):

- ``outside_pdf``: a PDF from outside the program (a requester, an attorney). Every page is
  rendered with pdfium, annotation appearances and form fields drawn in, and the copy is a new
  PDF holding one JPEG per page and nothing else: none of the sender's content streams, fonts,
  actions, scripts, attachments or image codecs survive.
- ``staff_pdf``: a staff scan or record. Form fields get appearances and every annotation is
  flattened into its page; then annotations, actions, forms, XFA, JavaScript, attachments (the
  catalogue's /AF and /Names/EmbeddedFiles, and per page), metadata and the document info are
  dropped, and every image is decoded and re-encoded. A page whose image cannot be decoded is
  replaced by its rendering.
- ``image``: a JPEG or PNG photo, decoded and re-encoded (orientation applied, metadata and
  trailing bytes gone).
"""

from __future__ import annotations

import io
import json
import sys
import warnings
import zlib

# The largest page side PDF allows (ISO 32000: 14,400 units, 200 inches).
MAX_PAGE_POINTS = 14_400


class Refused(Exception):
    def __init__(self, code: str, detail: str = ""):
        super().__init__(code)
        self.code, self.detail = code, detail


def _pillow(max_pixels: int):
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    return Image


# ------------------------------------------------------------------------------ images


def rebuild_image(data: bytes, media_type: str, limits: dict) -> bytes:
    from PIL import ImageOps, UnidentifiedImageError

    image_module = _pillow(int(limits["max_image_pixels"]))
    expected = "JPEG" if media_type == "image/jpeg" else "PNG"
    if media_type == "image/jpeg":
        intact = data.rfind(b"\xff\xd9") > data.rfind(b"\xff\xda") >= 0
    else:
        intact = data.rfind(b"IEND") > data.find(b"IDAT") >= 0
    if not intact:
        raise Refused("damaged", "the image ends early")
    try:
        with image_module.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > int(limits["max_image_pixels"]) or not width or not height:
                raise Refused("too_many_pixels", f"{width}x{height}")
            if probe.format != expected:
                raise Refused("damaged", f"a {probe.format} inside")
            probe.verify()
        with image_module.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
    except Refused:
        raise
    except (image_module.DecompressionBombError, image_module.DecompressionBombWarning):
        raise Refused("too_many_pixels") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise Refused("damaged") from None
    if media_type == "image/jpeg":
        mode = "L" if upright.mode in ("1", "L", "LA", "I", "I;16") else "RGB"
    else:
        mode = "RGBA" if "A" in upright.getbands() or "transparency" in upright.info else "RGB"
        if upright.mode in ("1", "L"):
            mode = "L"
    pixels = upright.convert(mode)
    clean = image_module.new(pixels.mode, pixels.size)
    clean.paste(pixels)
    out = io.BytesIO()
    if media_type == "image/jpeg":
        clean.save(out, format="JPEG", quality=90, optimize=True)
    else:
        clean.save(out, format="PNG", optimize=True)
    return out.getvalue()


# ------------------------------------------------------------------------------ pdfium


def _open_pdfium(data: bytes):
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise Refused("encrypted") from None
        raise Refused("damaged") from None
    # Form fields are drawn only with pdfium's form environment. It runs no document
    # JavaScript: pdfium has a script engine only when built with V8, and pypdfium2's is not.
    document.init_forms()
    return document


def _check_pages(document, limits: dict) -> int:
    count = len(document)
    if count == 0:
        raise Refused("no_pages")
    if count > int(limits["max_pages"]):
        raise Refused("too_many_pages", str(count))
    return count


def _render(page, limits: dict):
    """One page as an RGB Pillow image, at the configured DPI but never past the pixel limit."""
    width, height = page.get_size()
    if not (0 < width <= MAX_PAGE_POINTS and 0 < height <= MAX_PAGE_POINTS):
        raise Refused("page_too_large", f"{width:.0f}x{height:.0f} points")
    scale = int(limits["dpi"]) / 72
    max_pixels = int(limits["max_page_pixels"])
    if width * height * scale * scale > max_pixels:
        scale = (max_pixels / (width * height)) ** 0.5
    bitmap = page.render(scale=scale, may_draw_forms=True)
    try:
        image = bitmap.to_pil().convert("RGB")
    finally:
        bitmap.close()
    return image, width, height


def _jpeg(image, grey: bool, quality: int = 80) -> bytes:
    """A page rendering as JPEG; a page with no colour is stored grey (a third of the size)."""
    out = io.BytesIO()
    (image.convert("L") if grey else image).save(out, format="JPEG", quality=quality,
                                                 optimize=True)
    return out.getvalue()


def _is_grey(image) -> bool:
    from PIL import ImageChops

    small = image.convert("RGB").resize((64, 64))
    r, g, b = small.split()
    return max(ImageChops.difference(r, g).getextrema()[1],
               ImageChops.difference(g, b).getextrema()[1]) < 12


def _image_page(pdf, jpeg: bytes, pixel_size: tuple[int, int], grey: bool,
                width: float, height: float):
    import pikepdf

    image = pikepdf.Stream(pdf, jpeg)
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height = pixel_size
    image.ColorSpace = pikepdf.Name.DeviceGray if grey else pikepdf.Name.DeviceRGB
    image.BitsPerComponent = 8
    image.Filter = pikepdf.Name.DCTDecode
    content = pikepdf.Stream(pdf, f"q {width:.4f} 0 0 {height:.4f} 0 0 cm /Im0 Do Q".encode())
    return pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=[0, 0, width, height],
        Resources=pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image)),
        Contents=content)


def _add_rendered_page(pdf, page, limits: dict) -> None:
    import pikepdf

    image, width, height = _render(page, limits)
    grey = _is_grey(image)
    jpeg = _jpeg(image, grey)
    pdf.pages.append(pikepdf.Page(_image_page(pdf, jpeg, image.size, grey, width, height)))


def rebuild_outside_pdf(data: bytes, limits: dict) -> bytes:
    import pikepdf

    _pillow(int(limits["max_page_pixels"]))
    document = _open_pdfium(data)
    try:
        count = _check_pages(document, limits)
        out_pdf = pikepdf.new()
        for index in range(count):
            page = document[index]
            try:
                _add_rendered_page(out_pdf, page, limits)
            finally:
                page.close()
    finally:
        document.close()
    out = io.BytesIO()
    out_pdf.save(out, static_id=False, compress_streams=True)
    return out.getvalue()


# ------------------------------------------------------------------------------ staff PDFs

# /Names goes whole: scripts and attachments live there, and named destinations serve only
# the links, which are dropped with the annotations.
_CATALOGUE_DROPS = ("/OpenAction", "/AA", "/Metadata", "/AF", "/AcroForm", "/Threads",
                    "/Collection", "/URI", "/SpiderInfo", "/Perms", "/Legal", "/Names",
                    "/Dests")


def _strip_document(pdf) -> None:
    root = pdf.Root
    for key in _CATALOGUE_DROPS:
        if key in root:
            del root[key]
    if "/Info" in pdf.trailer:
        del pdf.trailer["/Info"]


def _strip_page(page) -> None:
    for key in ("/Annots", "/AA", "/AF", "/Metadata", "/PieceInfo", "/Trans"):
        if key in page.obj:
            del page.obj[key]


def make_inert(pdf) -> None:
    """Draw every annotation into its page (a filled form, a visible signature survive), then
    drop annotations, actions, forms, XFA, JavaScript, attachments and metadata.

    Also used on the released packet as it is assembled (portal.release.packet), so a record
    stored before uploads were rebuilt is made inert there too.
    """
    if "/AcroForm" in pdf.Root:
        pdf.generate_appearance_streams()
    pdf.flatten_annotations(mode="all")
    _strip_document(pdf)
    for page in pdf.pages:
        _strip_page(page)


def _reencode_images(pdf, resources, seen: set) -> bool:
    """Re-encode every image under ``resources`` (Form XObjects too); False if one cannot be."""
    import pikepdf
    from pikepdf import PdfImage

    if resources is None or "/XObject" not in resources:
        return True
    for _name, xobject in resources.XObject.items():
        if not isinstance(xobject, pikepdf.Stream) or xobject.objgen in seen:
            continue
        seen.add(xobject.objgen)
        subtype = xobject.get("/Subtype")
        if subtype == pikepdf.Name.Form:
            for key in ("/AF", "/Metadata", "/PieceInfo", "/OC"):
                if key in xobject:
                    del xobject[key]
            if not _reencode_images(pdf, xobject.get("/Resources"), seen):
                return False
            continue
        if subtype != pikepdf.Name.Image:
            continue
        try:
            image = PdfImage(xobject).as_pil_image()
        except Exception:  # noqa: BLE001 - any codec pikepdf cannot decode: render instead
            return False
        _write_image(xobject, image)
    return True


def _write_image(xobject, image) -> None:
    import pikepdf

    for key in ("/DecodeParms", "/Decode", "/Metadata", "/Alternates", "/OPI", "/OC"):
        if key in xobject:
            del xobject[key]
    if image.mode == "1":
        xobject.write(zlib.compress(image.tobytes()), filter=pikepdf.Name.FlateDecode)
        xobject.ColorSpace, xobject.BitsPerComponent = pikepdf.Name.DeviceGray, 1
        return
    grey = image.mode in ("L", "LA", "I", "I;16")
    pixels = image.convert("L" if grey else "RGB")
    out = io.BytesIO()
    pixels.save(out, format="JPEG", quality=90)
    xobject.write(out.getvalue(), filter=pikepdf.Name.DCTDecode)
    xobject.ColorSpace = pikepdf.Name.DeviceGray if grey else pikepdf.Name.DeviceRGB
    xobject.BitsPerComponent = 8
    if "/ImageMask" in xobject:
        del xobject["/ImageMask"]


def rebuild_staff_pdf(data: bytes, limits: dict) -> bytes:
    import pikepdf

    _pillow(int(limits["max_page_pixels"]))
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PasswordError:
        raise Refused("encrypted") from None
    except (pikepdf.PdfError, ValueError, KeyError, RuntimeError, OSError):
        raise Refused("damaged") from None
    with pdf:
        if pdf.is_encrypted:
            raise Refused("encrypted")
        count = len(pdf.pages)
        if count == 0:
            raise Refused("no_pages")
        if count > int(limits["max_pages"]):
            raise Refused("too_many_pages", str(count))
        try:
            for page in pdf.pages:
                box = page.mediabox
                width, height = float(box[2]) - float(box[0]), float(box[3]) - float(box[1])
                if not (0 < abs(width) <= MAX_PAGE_POINTS and 0 < abs(height) <= MAX_PAGE_POINTS):
                    raise Refused("page_too_large", f"{width:.0f}x{height:.0f} points")
            make_inert(pdf)
            to_render = []
            seen: set = set()
            for index, page in enumerate(pdf.pages):
                if not _reencode_images(pdf, page.obj.get("/Resources"), seen):
                    to_render.append(index)
        except Refused:
            raise
        except (pikepdf.PdfError, ValueError, KeyError, RuntimeError, OSError, TypeError,
                AttributeError, RecursionError):
            raise Refused("damaged") from None
        if to_render:
            _replace_with_renderings(pdf, data, to_render, limits)
        out = io.BytesIO()
        pdf.remove_unreferenced_resources()
        pdf.save(out, static_id=False, compress_streams=True)
    return out.getvalue()


def _replace_with_renderings(pdf, data: bytes, indexes: list[int], limits: dict) -> None:
    """Pages with an image no decoder here reads are replaced by their rendering."""
    import pikepdf

    document = _open_pdfium(data)
    try:
        for index in indexes:
            page = document[index]
            try:
                image, width, height = _render(page, limits)
            finally:
                page.close()
            grey = _is_grey(image)
            new_page = pikepdf.Page(_image_page(pdf, _jpeg(image, grey), image.size, grey,
                                                width, height))
            pdf.pages[index] = new_page
    finally:
        document.close()


# ------------------------------------------------------------------------------ main


def _limit_self(limits: dict) -> None:
    """Memory, CPU, no core dumps, few files: set before the first byte of the file is read."""
    import resource

    memory = int(limits["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = int(limits["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def main() -> int:
    mode, limits = sys.argv[1], json.loads(sys.argv[2])
    _limit_self(limits)
    data = sys.stdin.buffer.read()
    sys.setrecursionlimit(2000)
    try:
        if mode == "outside_pdf":
            out = rebuild_outside_pdf(data, limits)
        elif mode == "staff_pdf":
            out = rebuild_staff_pdf(data, limits)
        elif mode in ("image/jpeg", "image/png"):
            out = rebuild_image(data, mode, limits)
        else:
            raise Refused("not_accepted", mode)
    except Refused as refusal:
        sys.stderr.write(f"{refusal.code} {refusal.detail}\n")
        return 3
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
