"""Security headers, a strict CSP, no-store caching, and the per-request transaction."""

from __future__ import annotations

from flask import Flask, Response, g, request

from portal.core import db

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'; object-src 'none'"
)
# Served documents (ID previews, PDFs) are sandboxed: nothing in them may run.
SANDBOX_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"


def init_app(app: Flask) -> None:
    """Register the hooks that every response passes through."""
    from portal.core.ids import BoundedIntegerConverter

    # Before any blueprint adds its rules: every <int:…> stays in the database's range.
    app.url_map.converters["int"] = BoundedIntegerConverter

    @app.after_request
    def _finish_transaction(response: Response) -> Response:
        # The request owns the transaction: commit once, unless the response is a failure.
        if response.status_code >= 500 or g.get("rollback_only"):
            db.rollback()
        else:
            db.commit()
        return response

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "no-referrer"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        if app.config["BASE_URL"].startswith("https://"):
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if request.endpoint != "static":
            # Signed-in pages and anything showing PHI must never sit in a cache.
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        return response


#: What an uploaded file may be labelled as when it is served; anything else goes out as bytes.
SERVED_UPLOAD_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """RFC 6266: an ASCII fallback name, and the real name percent-encoded when it differs."""
    from urllib.parse import quote

    kind = "inline" if inline else "attachment"
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_"
                       for c in filename) or "file"
    value = f'{kind}; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


def file_response(body, *, filename: str, media_type: str, length: int | None = None,
                  generated: bool, inline: bool = False) -> Response:
    """Every file the portal sends goes through here (R-SEC-5).

    A file someone uploaded (``generated=False``) is always an attachment, labelled only as
    one of the types uploads are checked to be (else application/octet-stream), so no browser
    renders it in the portal's origin. Only what the portal made itself (its PDFs, the
    re-encoded preview images) may be shown inline. Either way the response carries the
    sandboxing CSP and nosniff, so nothing in a file can run even if a browser opens it.
    """
    if inline and not generated:
        raise ValueError("an uploaded file is never served inline")
    if not generated and media_type not in SERVED_UPLOAD_TYPES:
        media_type = "application/octet-stream"
    response = Response(body, mimetype=media_type)
    response.headers["Content-Disposition"] = content_disposition(filename, inline=inline)
    response.headers["Content-Security-Policy"] = SANDBOX_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    if length is not None:
        response.headers["Content-Length"] = str(length)
    return response


def pdf_attachment(data: bytes, filename: str) -> Response:
    """A PDF the portal generated, offered as a download with its file name."""
    return file_response(data, filename=filename, media_type="application/pdf", generated=True)
