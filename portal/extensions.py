"""Extensions created once without an app and bound in create_app."""

from __future__ import annotations

from flask import Flask, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
babel = Babel()


def select_locale() -> str:
    """English by default; Spanish when the visitor chose it or the browser prefers it."""
    from flask import current_app, has_request_context

    if not has_request_context():  # CLI commands and background jobs
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get("lang")
    languages = current_app.config["LANGUAGES"]
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or "en"


def init_extensions(app: Flask) -> None:
    """Bind every extension to the app."""
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.session_protection = None  # our own revocable sessions (AuthSession)
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config["RATELIMIT_HEADERS_ENABLED"] = False
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
