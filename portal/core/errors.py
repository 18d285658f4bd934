"""Error pages that leak nothing, and the conflict raised when a request changed meanwhile."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g, has_request_context, render_template
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from portal.core import db

log = logging.getLogger("portal.errors")

MESSAGES = {
    400: ("Something was wrong with that request",
          "Please go back, check what you entered and try again."),
    403: ("You do not have access to this page",
          "If you think you should, contact the records custodian."),
    404: ("Page not found", "The address may be mistyped, or the link may have expired."),
    405: ("That action is not available here", "Please go back and try again."),
    409: ("This request changed while you were working on it",
          "Someone else saved a change first. Reload the page to see the latest version, then "
          "make your change again. Nothing you typed was saved, and nothing was overwritten."),
    413: ("The file is too large", "Please choose a smaller file and try again."),
    429: ("Too many attempts", "Please wait a few minutes, then try again."),
    503: ("This service is not available just now",
          "Nothing was changed. What you saved before is kept. Please try again in a few minutes."),
    500: ("Something went wrong on our side",
          "Nothing you entered was lost. Please try again in a few minutes."),
}


class Conflict(HTTPException):
    """Two people acted on the same request at once; the later one must reload (HTTP 409)."""

    code = 409
    description = MESSAGES[409][1]


def render_error(code: int, detail: str | None = None):
    """Render the error page for a status code."""
    title, text = MESSAGES.get(code, MESSAGES[500])
    if not has_request_context() or request_ctx.url_adapter is None:
        # An untrusted Host header leaves no URL adapter: answer without building links.
        page = f"<!doctype html><html lang='en'><title>{escape(title)}</title>" \
               f"<h1>{escape(title)}</h1><p>{escape(text)}</p></html>"
        return page, code
    try:
        return render_template("errors/error.html", code=code, title=title,
                               text=detail or text), code
    except Exception:  # the page itself needed the database (who is signed in): render it
        log.warning("error page rendered signed out: the database did not answer")
        db.rollback_quietly()
        g._login_user = current_app.login_manager.anonymous_user()
        return render_template("errors/error.html", code=code, title=title,
                               text=detail or text), code


def init_app(app: Flask) -> None:
    """Register handlers for the HTTP errors and for stale (concurrently changed) rows."""

    def _http_error(exc: HTTPException):
        db.rollback()
        code = exc.code or 500
        detail = getattr(exc, "user_message", None)
        return render_error(code if code in MESSAGES else 400, detail)

    for code in MESSAGES:
        if code != 500:
            app.register_error_handler(code, _http_error)
    app.register_error_handler(Conflict, _http_error)

    @app.errorhandler(CSRFError)
    def _csrf(_exc):
        db.rollback()
        return render_error(
            400,
            "This form had expired or was sent twice, so it was not saved. Go back, reload the "
            "page, and send it again: saved answers are kept, but anything typed since the last "
            "save needs to be entered again.",
        )

    @app.errorhandler(StaleDataError)
    def _stale(_exc):
        db.rollback()
        return render_error(409)

    @app.errorhandler(OperationalError)
    def _database_unavailable(_exc):
        # The database is restarting or unreachable: the portal's own page, a 503 the
        # visitor can retry, and a hint to clients and proxies (Retry-After).
        db.rollback_quietly()
        log.warning("database unavailable: answered 503")
        page, code = render_error(503)
        return page, code, {"Retry-After": "30"}

    @app.errorhandler(500)
    def _server_error(exc):
        db.rollback_quietly()
        log.error("unhandled error: %s", type(getattr(exc, "original_exception", exc)).__name__)
        return render_error(500)
