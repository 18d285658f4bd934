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


def pdf_attachment(data: bytes, filename: str) -> Response:
    """A PDF the portal generated, offered as a download with its file name."""
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
