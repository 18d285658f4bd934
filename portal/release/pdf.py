"""Render a document template with plain values to PDF bytes through WeasyPrint.

The only place that talks to WeasyPrint. Templates live in templates/documents, are rendered
by a Jinja2 environment of our own with autoescaping on, and can fetch nothing but our own
stylesheet and the fonts shipped in portal/release/fonts: every other URL (file:, http(s),
data:, anything) is refused, and a refused fetch stops the render rather than leaving a hole.
"""

from __future__ import annotations

import atexit
import re
import threading
from collections.abc import Mapping
from datetime import date
from functools import cache
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from portal.release.letterhead import Letterhead
from portal.rules import notices
from portal.rules.consent import RECIPIENT_KINDS

__all__ = [
    "DOCUMENT_AUTHOR",
    "FONT_DIR",
    "RESOURCE_SCHEME",
    "TEMPLATE_DIR",
    "DocumentResourceFetcher",
    "render_html",
    "render_pdf",
]

#: R-SEC-4: the author field of every PDF is the neutral custodian title.
DOCUMENT_AUTHOR = "Records Custodian"
#: Private URL scheme under which templates reach the shipped stylesheet and fonts.
RESOURCE_SCHEME = "portal-doc"
FONT_DIR = Path(__file__).resolve().parent / "fonts"
TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates" / "documents"
#: The one stylesheet of every document, in TEMPLATE_DIR.
STYLESHEET = "documents.css"

_MEDIA_TYPES = {".ttf": "font/ttf", ".css": "text/css"}


@cache
def _resources() -> dict[str, Path]:
    """Every URL path a template may fetch, mapped to the file that answers it."""
    files = {f"fonts/{path.name}": path for path in FONT_DIR.glob("*.ttf")}
    files[STYLESHEET] = TEMPLATE_DIR / STYLESHEET
    return files


@cache
def _resource_bytes(name: str) -> bytes:
    return _resources()[name].read_bytes()


@cache
def _fetcher_class() -> type:
    # WeasyPrint is imported on first use: it costs about a second and 100 MB at start-up,
    # which every CLI command and web worker would otherwise pay.
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class _DocumentResourceFetcher(URLFetcher):
        """Serves portal-doc: URLs from package files and refuses every other URL."""

        def __init__(self) -> None:
            # Any refusal aborts the render: a template asking for an outside URL is a bug.
            super().__init__(fail_on_errors=True)

        def fetch(self, url: str, headers: Mapping[str, str] | None = None):
            scheme, _, name = url.partition(":")
            if scheme.lower() != RESOURCE_SCHEME or name not in _resources():
                raise PermissionError(f"Document resource refused: {url[:80]!r}")
            media_type = _MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream")
            return URLFetcherResponse(url, _resource_bytes(name), {"Content-Type": media_type})

    return _DocumentResourceFetcher


def DocumentResourceFetcher():  # noqa: N802  (a factory standing in for the class)
    """A WeasyPrint URL fetcher that serves portal-doc: URLs and refuses every other URL."""
    return _fetcher_class()()


def long_date(value: date | None) -> str:
    """A date as letters print it: November 26, 2026."""
    if value is None:
        return ""
    return f"{value:%B} {value.day}, {value.year}"


def nobreak(value: object) -> str:
    """Keep a phone number or citation on one line: its spaces become no-break spaces."""
    return str(value).replace(" ", "\u00a0")


#: Characters that break a line, or start a new paragraph, wherever they stand.
_LINE_BREAKS = re.compile("[\n\r\t\f\v\x1c-\x1e\x85\u2028\u2029]")
#: Printable ASCII: no right-to-left letter, no direction control, all in the shipped font.
_PLAIN_ASCII = re.compile("[\x20-\x7e]*")


def oneline(value: object) -> str:
    """One line of text: any line or paragraph break becomes a space.

    The sender block and the window address set their lines apart with newlines under
    ``white-space: pre-line`` (see documents.css), so a value printed there must not bring
    its own: it would push the next lines down, out of the envelope window.
    """
    return _LINE_BREAKS.sub(" ", str(value))


def isolate(value: object) -> Markup:
    """Escape user-supplied text and isolate its direction, so RTL names cannot reorder a line.

    Text in printable ASCII has no right-to-left letter and no direction control, so it cannot
    reorder anything and needs no isolating: it is only escaped (each ``<bdi>`` is one more
    inline box for WeasyPrint to lay out). Anything else is wrapped in ``<bdi dir="auto">``,
    which also lets names fall back to the wider-script font. Line breaks become spaces.
    """
    text = oneline(value)
    if _PLAIN_ASCII.fullmatch(text):
        return escape(text)
    return Markup('<bdi dir="auto">%s</bdi>') % escape(text)


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,  # a missing value fails loudly, never prints blank
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        long_date=long_date, isolate=isolate, nobreak=nobreak, oneline=oneline
    )
    environment.globals.update(notices=notices, recipient_kinds=RECIPIENT_KINDS)
    return environment


_thread_state = threading.local()
# The main thread's fonts are let go before the interpreter tears its modules down: WeasyPrint's
# FontConfiguration removes its temporary font folder when collected, which fails (and leaves
# the folder) once shutil is gone.
atexit.register(lambda: vars(_thread_state).clear())


def _font_config_stylesheet_and_fetcher():
    """The fonts, the parsed stylesheet and the fetcher, once per thread: warm renders skip
    all three (the fetcher keeps no state between fetches, but building one sets up a whole
    urllib opener)."""
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    if not hasattr(_thread_state, "stylesheet"):
        font_config = FontConfiguration()
        fetcher = DocumentResourceFetcher()
        _thread_state.stylesheet = CSS(
            string=_resource_bytes(STYLESHEET).decode("utf-8"),
            base_url=f"{RESOURCE_SCHEME}:",
            url_fetcher=fetcher,
            font_config=font_config,
        )
        _thread_state.font_config = font_config
        _thread_state.fetcher = fetcher
    return _thread_state.font_config, _thread_state.stylesheet, _thread_state.fetcher


#: Whitespace alone between two block-level tags (``</p>\n  <h2>``, ``</li>\n  <li>``, ...).
#: Only tags that documents.css leaves block-level (or table parts) are named, and none of them
#: is ever set to ``white-space: pre`` or ``pre-wrap``; the pre-line paragraphs hold inline
#: content only. Inline tags (strong, bdi, span, a) are not named: a space next to one counts.
_BLOCK_TAG = (
    r"/?(?:html|head|body|meta|title|header|main|section|div|p|h[1-6]|ul|ol|li"
    r"|table|thead|tbody|tr|th|td|fieldset|legend)\b[^<>]*"
)
_WHITESPACE_BETWEEN_BLOCKS = re.compile(rf"(<{_BLOCK_TAG}>)[ \t\r\n]+(?=<{_BLOCK_TAG}>)")


def drop_whitespace_between_blocks(html: str) -> str:
    """Remove whitespace-only text between block-level tags.

    Such text prints nothing (CSS collapses it away), but WeasyPrint still parses it, gives it
    a styled box and then discards that box, for every gap between paragraphs, headings and
    list items: a couple of percent of a letter's render time.
    """
    return _WHITESPACE_BETWEEN_BLOCKS.sub(r"\1", html)


def render_html(template_name: str, values: Mapping[str, object], **context: object) -> str:
    """Render a document template to an HTML string (exposed for tests and previews)."""
    return _environment().get_template(template_name).render({**values, **context})


def render_pdf(
    template_name: str,
    values: Mapping[str, object],
    *,
    title: str,
    subject: str,
    letterhead: Letterhead | None,
    variant: str | None = "pdf/ua-1",
) -> bytes:
    """Render ``templates/documents/<template_name>`` with plain values to PDF bytes.

    ``values`` must hold ``generated_on`` (a date, printed in the footer) and may hold
    ``reference`` (the request reference, also in the footer). ``variant`` is a WeasyPrint
    PDF variant; the default tags the PDF for screen readers (PDF/UA-1). Title and subject
    go into the document metadata, the author is always "Records Custodian".
    """
    if not isinstance(values.get("generated_on"), date):
        raise ValueError("Document values need 'generated_on' as a date for the footer.")
    html = render_html(
        template_name,
        values,
        title=title,
        subject=subject,
        letterhead=letterhead,
        author=DOCUMENT_AUTHOR,
        reference=values.get("reference"),
    )
    from weasyprint import HTML

    font_config, stylesheet, fetcher = _font_config_stylesheet_and_fetcher()
    html = drop_whitespace_between_blocks(html)
    document = HTML(string=html, base_url=f"{RESOURCE_SCHEME}:", url_fetcher=fetcher).render(
        font_config=font_config, stylesheets=[stylesheet], pdf_variant=variant
    )
    document.metadata.title = title
    document.metadata.description = subject
    document.metadata.authors = [DOCUMENT_AUTHOR]
    generated_on = values["generated_on"]
    document.metadata.created = document.metadata.modified = generated_on.isoformat()
    return document.write_pdf(pdf_variant=variant)
