"""Rebuilding uploaded files inert, in a process of their own (R-SEC-2, #14 part 1).

The parsers that read a hostile file (pdfium, qpdf, libjpeg, libpng) run in a child process
(portal/storage/rebuild_worker.py, started with ``python -I`` by path, so it loads nothing of
the portal) under limits it sets on itself before it reads the file: address space
(``UPLOAD_REBUILD_MEMORY_MB``), CPU seconds (``UPLOAD_REBUILD_CPU_SECONDS``), a wall-clock
timeout, a page cap and a pixel limit per page and per image. A file that makes the child
crash or reach a limit is refused as one we could not check. (A record a clerk attaches is
first checked in the web process by validate_record_pdf, with pikepdf, for its plain-words
refusals; an upload from outside is parsed only in the child.)

Which rebuild (see the worker's docstring): files from outside (requesters, attorneys) are
rasterized page by page into image-only PDFs; staff scans keep their text and drawings but
lose everything active, with annotations flattened and images re-encoded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

WORKER = Path(__file__).with_name("rebuild_worker.py")

OUTSIDE_PDF = "outside_pdf"
STAFF_PDF = "staff_pdf"


#: Largest image accepted, in pixels: a 48-megapixel phone photo fits; a bomb does not.
MAX_IMAGE_PIXELS = 50_000_000
#: Largest page rendering, in pixels: Letter at 150 dpi is 2.1 million, tabloid 4.2.
MAX_PAGE_PIXELS = 16_000_000


@dataclass(frozen=True)
class Limits:
    """What one rebuild may use (the settings are in portal.config, UPLOAD_REBUILD_*)."""

    memory_mb: int
    cpu_seconds: int
    wall_seconds: int
    max_pages: int
    dpi: int
    max_page_pixels: int = MAX_PAGE_PIXELS
    max_image_pixels: int = MAX_IMAGE_PIXELS

    @classmethod
    def from_config(cls, config, *, staff: bool = False) -> Limits:
        """The limits for an upload from outside, or (``staff``) for a record to release."""
        kind = "STAFF_" if staff else ""
        return cls(
            memory_mb=int(config["UPLOAD_REBUILD_MEMORY_MB"]),
            cpu_seconds=int(config[f"UPLOAD_REBUILD_{kind}CPU_SECONDS"]),
            wall_seconds=int(config[f"UPLOAD_REBUILD_{kind}WALL_SECONDS"]),
            max_pages=int(config["RECORD_MAX_PAGES" if staff else "UPLOAD_MAX_PAGES"]),
            dpi=int(config["UPLOAD_RASTER_DPI"]),
        )


class RebuildRefused(Exception):
    """The file is refused: ``code`` says why (see the worker), ``detail`` adds a figure."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code} {detail}".strip())
        self.code, self.detail = code, detail


def rebuild(data: bytes, mode: str, limits: Limits) -> bytes:
    """The rebuilt file, or RebuildRefused ('unsafe' when the child failed or hit a limit)."""
    # The child sets its own memory and CPU limits before it reads a byte of the file
    # (preexec_fn is not safe in a process with threads, as a web server has).
    settings = json.dumps({"max_pages": limits.max_pages, "dpi": limits.dpi,
                           "max_page_pixels": limits.max_page_pixels,
                           "max_image_pixels": limits.max_image_pixels,
                           "memory_mb": limits.memory_mb, "cpu_seconds": limits.cpu_seconds})
    try:
        child = subprocess.run(  # noqa: S603 - our own interpreter and script, no shell
            [sys.executable, "-I", str(WORKER), mode, settings], input=data,
            capture_output=True, timeout=limits.wall_seconds, env={"PATH": "/usr/bin:/bin"},
            check=False)
    except subprocess.TimeoutExpired:
        raise RebuildRefused("unsafe", "took too long") from None
    if child.returncode == 0 and child.stdout:
        return child.stdout
    if child.returncode == 3:
        line = child.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        code, _, detail = line[0].partition(" ")
        raise RebuildRefused(code or "damaged", detail)
    raise RebuildRefused("unsafe", f"exit {child.returncode}")
