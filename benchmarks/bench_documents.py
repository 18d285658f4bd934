"""Benchmark the release documents and the released packet, each next to a reference.

Run: .venv/bin/python benchmarks/bench_documents.py [--workdir DIR] [--repeat N]

Prints, from one run:
  1. one letter, median warm render, next to WeasyPrint rendering a one-paragraph page
     (target under 3x);
  2. a whole release of a 20-page scanned record (cover letter, consent, packet), median;
  3. the 600-page packet (6 files of 100 scanned-like pages at 200 dpi): the whole build,
     strips included, and the strips timed on their own, next to qpdf merging the same files
     and overlaying a pre-rendered 600-page stamp PDF (target within 4x of qpdf);
  4. the peak memory of that build, measured in a child process (target under 300 MB).

The scans are generated deterministically (seeded) into the work directory and reused.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pikepdf  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from weasyprint import HTML  # noqa: E402

from portal.release import documents as d  # noqa: E402
from portal.release.letterhead import letterhead_from_config  # noqa: E402
from portal.release.packet import RecordSource, release_packet  # noqa: E402
from portal.release.pdf import render_html  # noqa: E402

DPI = 200
PAGE_POINTS = (612, 792)  # US Letter
PAGE_PIXELS = (PAGE_POINTS[0] * DPI // 72, PAGE_POINTS[1] * DPI // 72)  # 1700 x 2200
FILES, PAGES_PER_FILE = 6, 100
REFERENCE, RECIPIENT = "R-2026-00042", "Harbor Law Group LLP"
CONFIG = {
    "CUSTODIAN_ADDRESS": "PO Box 4821\nMalibu, CA 90265",
    "CUSTODIAN_PHONE": "(310) 555-0142",
    "CUSTODIAN_EMAIL": "records@custodian.example",
    "PROGRAM_NAME": "The Canyon at Peace Park",
    "COMPLAINT_CONTACT_TITLE": "Privacy Officer",
}
ONE_PARAGRAPH = (
    "<p>Thank you for your request. We received it and gave it a reference number. Please "
    "use this reference whenever you contact us. We will check who you are, look for the "
    "records you asked for, and send you our answer by the date the law sets.</p>"
)
TODAY = date(2026, 11, 26)


# ------------------------------------------------------------------------------ test records


def scanned_page(seed: str) -> bytes:
    """A 200 dpi grayscale page that compresses like a scan: paper grain, lines of 'text'."""
    rng = random.Random(seed)
    grain = Image.frombytes("L", (256, 256), rng.randbytes(256 * 256)).point(lambda v: 226 + v % 14)
    page = Image.new("L", PAGE_PIXELS)
    for x in range(0, PAGE_PIXELS[0], 256):
        for y in range(0, PAGE_PIXELS[1], 256):
            page.paste(grain, (x, y))
    draw = ImageDraw.Draw(page)
    y = 180
    while y < PAGE_PIXELS[1] - 200:
        x = 160
        while x < PAGE_PIXELS[0] - 260:
            word = rng.randint(40, 190)
            draw.rectangle((x, y, x + word, y + 22), fill=rng.randint(30, 90))
            x += word + rng.randint(16, 30)
        y += rng.randint(40, 48)
    jpeg = io.BytesIO()
    page.save(jpeg, "JPEG", quality=75)
    return jpeg.getvalue()


def scanned_pdf(path: Path, pages: int, seed: str) -> None:
    """A PDF of full-bleed scanned pages, each a DCT image drawn over the whole page."""
    pdf = pikepdf.new()
    for number in range(pages):
        image = pikepdf.Stream(
            pdf,
            scanned_page(f"{seed}-{number}"),
            Type=pikepdf.Name.XObject,
            Subtype=pikepdf.Name.Image,
            Width=PAGE_PIXELS[0],
            Height=PAGE_PIXELS[1],
            ColorSpace=pikepdf.Name.DeviceGray,
            BitsPerComponent=8,
            Filter=pikepdf.Name.DCTDecode,
        )
        page = pdf.add_blank_page(page_size=PAGE_POINTS)
        page.obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Scan=image))
        page.obj.Contents = pdf.make_stream(b"q 612 0 0 792 0 0 cm /Scan Do Q")
    pdf.save(path)


def ensure_records(workdir: Path) -> tuple[Path, list[Path]]:
    """The 20-page record and the six 100-page files, generated once per work directory."""
    marker = workdir / f"scans-v1-{DPI}dpi-{FILES}x{PAGES_PER_FILE}.done"
    small = workdir / "record-20.pdf"
    large = [workdir / f"record-{index}.pdf" for index in range(FILES)]
    if not marker.exists():
        print(
            f"Generating {FILES * PAGES_PER_FILE + 20} scanned pages at {DPI} dpi in "
            f"{workdir} (once) ...",
            flush=True,
        )
        scanned_pdf(small, 20, "small")
        for index, path in enumerate(large):
            scanned_pdf(path, PAGES_PER_FILE, f"large-{index}")
        marker.touch()
    return small, large


def stamp_pdf(path: Path, pages: int) -> None:
    """The qpdf reference's pre-rendered stamp: one text line per page (not timed)."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    for number in range(1, pages + 1):
        page = pdf.add_blank_page(page_size=PAGE_POINTS)
        page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        page.obj.Contents = pdf.make_stream(
            f"BT /F1 7 Tf 36 8 Td (42 CFR part 2 prohibits unauthorized use or disclosure of "
            f"these records. Reference {REFERENCE}. Packet page {number} of {pages}) Tj ET".encode()
        )
    pdf.save(path)


# ------------------------------------------------------------------------------ measuring


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def sources(paths: list[Path]) -> list[RecordSource]:
    return [
        RecordSource(
            f"Scanned record part {index + 1}", sha256_of(path), lambda path=path: path.open("rb")
        )
        for index, path in enumerate(paths)
    ]


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def medians(actions: list[Callable[[], object]], repeat: int) -> list[float]:
    """Median time of each action, measured in turn, so machine load hits all alike."""
    for _ in range(3):
        for action in actions:
            action()
    samples: list[list[float]] = [[] for _ in actions]
    for _ in range(repeat):
        for action, times in zip(actions, samples, strict=True):
            times.append(timed(action))
    return [statistics.median(times) for times in samples]


def front_matter(letterhead) -> tuple[bytes, bytes]:
    cover = d.cover_letter_pdf(
        d.CoverLetter(
            reference=REFERENCE,
            generated_on=TODAY,
            to=d.MailingAddress(
                name=RECIPIENT, lines=("11 Shore Rd Suite 400", "Long Beach, CA 90802")
            ),
            patient_name="Maria Lopez",
            released=("Complete record, 2016 to 2018",),
            third_party_consents=(d.ConsentSummary(
                title="Consent to release records",
                signed_by="Maria Lopez",
                signed_on=TODAY,
                recipient=RECIPIENT,
                information="Complete record, 2016 to 2018",
                purpose="Legal representation",
                expires_on=TODAY.replace(year=2027),
            ),),
            consent_copy_enclosed=True,
        ),
        letterhead,
    )
    consent = d.consent_form_pdf(
        d.ConsentForm(
            generated_on=TODAY,
            reference=REFERENCE,
            patient_name="Maria Lopez",
            patient_date_of_birth=None,
            information="Complete record, 2016 to 2018",
            recipients=(
                d.MailingAddress(
                    name=RECIPIENT, lines=("11 Shore Rd Suite 400", "Long Beach, CA 90802")
                ),
            ),
            purpose="Legal representation",
            expires_on=TODAY.replace(year=2027),
            signed_by="Maria Lopez",
            signed_on=TODAY,
            recipient_kind="lawyer",
        ),
        letterhead,
    )
    return cover, consent


def build_packet(records: list[Path], out: Path, cover: bytes, consent: bytes) -> None:
    with out.open("wb") as stream:
        release_packet(
            stream,
            cover_pdf=cover,
            consent_pdfs=[("Copy of the signed consent", consent)],
            records=sources(records),
            reference=REFERENCE,
            recipient=RECIPIENT,
            generated_on=TODAY,
        )


def strips_alone(records: list[Path], cover: bytes, consent: bytes) -> float:
    """Time only the strip stamping of the 600 pages (merging and saving excluded)."""
    from portal.release.packet import _stamp_strips  # internal: timed on its own on purpose

    with contextlib.ExitStack() as stack:
        packet = stack.enter_context(pikepdf.new())
        for data in (cover, consent):
            packet.pages.extend(stack.enter_context(pikepdf.open(io.BytesIO(data))).pages)
        for path in records:
            source = pikepdf.open(path, access_mode=pikepdf.AccessMode.stream)
            packet.pages.extend(stack.enter_context(source).pages)
        return timed(lambda: _stamp_strips(packet, REFERENCE, RECIPIENT, TODAY))


def qpdf_reference(records: list[Path], stamp: Path, workdir: Path) -> float:
    merged, out = workdir / "qpdf-merged.pdf", workdir / "qpdf-out.pdf"
    start = time.perf_counter()
    subprocess.run(
        ["qpdf", "--empty", "--pages", *map(str, records), "--", str(merged)], check=True
    )
    subprocess.run(["qpdf", str(merged), "--overlay", str(stamp), "--", str(out)], check=True)
    return time.perf_counter() - start


def child_build(workdir: Path) -> None:
    """Run in a fresh process: one 600-page build, then report this process's peak memory.

    Linux carries a parent's peak RSS over fork and exec into the child's ru_maxrss, so the
    parent starts this child before it does anything heavy (see ``main``).
    """
    letterhead = letterhead_from_config(CONFIG)
    cover, consent = front_matter(letterhead)
    _, large = ensure_records(workdir)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds = timed(lambda: build_packet(large, workdir / "packet-child.pdf", cover, consent))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_kib": peak, "before_kib": baseline}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "bench-documents"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each packet build")
    parser.add_argument("--child-build", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-generate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.child_generate:
        ensure_records(args.workdir)
        return
    if args.child_build:
        child_build(args.workdir)
        return

    # Children first, while this process is still small: its peak would be inherited.
    child = [sys.executable, __file__, "--workdir", str(args.workdir)]
    subprocess.run([*child, "--child-generate"], check=True)
    parent_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    measured = subprocess.run([*child, "--child-build"], check=True, capture_output=True, text=True)
    memory = json.loads(measured.stdout.strip().splitlines()[-1])

    small, large = ensure_records(args.workdir)
    letterhead = letterhead_from_config(CONFIG)
    cover, consent = front_matter(letterhead)
    pages = FILES * PAGES_PER_FILE

    # 1. One letter, warm, next to WeasyPrint rendering a one-paragraph page.
    letter = d.Acknowledgement(
        reference=REFERENCE,
        generated_on=TODAY,
        to=d.MailingAddress(
            name="Maria Lopez", lines=("1420 Ocean Park Blvd Apt 3", "Santa Monica, CA 90405")
        ),
        received_on=TODAY,
        requested=("A copy of the complete record, 2016 to 2018",),
        delivery="Secure download link by email",
        california_due_on=TODAY,
        hipaa_due_on=TODAY,
        about_name="Maria Lopez",
    )
    # A third figure splits the letter's cost: WeasyPrint alone on the letter's own HTML.
    letter_html = render_html(
        "acknowledgement.html",
        {"letter": letter, "reference": REFERENCE, "generated_on": TODAY},
        letterhead=letterhead,
        title="t",
        subject="s",
        author="a",
    )
    letter_s, paragraph_s, same_html_s = medians(
        [
            lambda: d.acknowledgement_pdf(letter, letterhead),
            lambda: HTML(string=ONE_PARAGRAPH).write_pdf(),
            lambda: HTML(string=letter_html).write_pdf(),
        ],
        repeat=30,
    )

    # 2. A whole release of a 20-page record: cover letter, consent, packet.
    def whole_release() -> None:
        cover_pdf, consent_pdf = front_matter(letterhead)
        build_packet([small], args.workdir / "packet-20.pdf", cover_pdf, consent_pdf)

    release_s = statistics.median(timed(whole_release) for _ in range(5))

    # 3. The 600-page packet next to qpdf merge + overlay of a pre-rendered stamp.
    stamp = args.workdir / f"stamp-{pages}.pdf"
    if not stamp.exists():
        stamp_pdf(stamp, pages + 6)  # cover, consent and manifest pages too
    build_s, qpdf_s, strip_s = [], [], []
    for _ in range(args.repeat):
        build_s.append(
            timed(lambda: build_packet(large, args.workdir / "packet-600.pdf", cover, consent))
        )
        qpdf_s.append(qpdf_reference(large, stamp, args.workdir))
        strip_s.append(strips_alone(large, cover, consent))
    build_m, qpdf_m, strip_m = map(statistics.median, (build_s, qpdf_s, strip_s))

    # 4. Peak memory of the build, measured in the child started above.
    peak_mb, before_mb = memory["peak_kib"] / 1024, memory["before_kib"] / 1024
    packet_mb = (args.workdir / "packet-600.pdf").stat().st_size / 1e6
    source_mb = sum(path.stat().st_size for path in large) / 1e6

    print()
    print(
        f"Release documents benchmark ({pages} scanned pages at {DPI} dpi, "
        f"{source_mb:.0f} MB in {FILES} files; packet {packet_mb:.0f} MB)"
    )
    print(
        f"1. letter (acknowledgement), warm median   {letter_s * 1000:8.1f} ms   "
        f"one-paragraph WeasyPrint page {paragraph_s * 1000:6.1f} ms   "
        f"ratio {letter_s / paragraph_s:4.2f}x  (target < 3x)"
    )
    print(
        f"   (WeasyPrint alone on the same letter HTML, default styles: "
        f"{same_html_s * 1000:.1f} ms)"
    )
    print(f"2. whole release, 20-page record, median   {release_s:8.2f} s")
    print(
        f"3. 600-page packet build, median            {build_m:8.2f} s    "
        f"qpdf merge + overlay {qpdf_m:6.2f} s   "
        f"ratio {build_m / qpdf_m:4.2f}x  (target < 4x)"
    )
    print(
        f"   of which the strips alone                {strip_m:8.2f} s    "
        f"({strip_m / pages * 1000:.2f} ms per page)"
    )
    print(
        f"4. peak memory of the build (child)         {peak_mb:8.0f} MB   "
        f"(child before the build {before_mb:.0f} MB, parent at spawn "
        f"{parent_kib / 1024:.0f} MB; target < 300 MB)"
    )


if __name__ == "__main__":
    main()
