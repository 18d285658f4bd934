"""The records request portal: application factory."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.config import DEFAULT_SECRET_KEY, DEFAULTS, environment_overrides
from portal.core import logredact
from portal.core.keys import SECRET_KEY_FILE, read_key

#: The web areas, each with its blueprint(s); the roster's pages live with the clerks' queue.
BLUEPRINTS = (
    "portal.public.blueprint",
    "portal.accounts.blueprint",
    "portal.requester.blueprint",
    "portal.identity.blueprint",
    "portal.queue.blueprint",
    "portal.queue.roster_blueprint",
    "portal.audit.blueprint",
)
#: Modules that register job handlers (portal.jobs.outbox.handler), imported by every process
#: so that a worker can run any job that any process wrote.
JOB_MODULES = (
    "portal.jobs.mail",
    "portal.audit.heads",
    "portal.jobs.dispatch",
    "portal.identity.operations",
    "portal.requests.location",
    "portal.requests.operations",
    "portal.requests.reminders",
    "portal.requester.drafts",
    "portal.storage.operations",
)
#: Areas that may contribute CLI commands in portal/<area>/cli.py.
CLI_AREAS = ("accounts", "requester", "roster", "audit", "storage")


def create_app(test_config: dict | None = None) -> Flask:
    """Create the app: defaults, then instance/config.py, then PORTAL_* env, then test_config."""
    root = Path(__file__).resolve().parent.parent
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.environ.get("PORTAL_INSTANCE_PATH", str(root / "instance")),
        template_folder=str(root / "templates"),
        static_folder="static",
    )
    load_config(app, test_config)
    configure_logging(app)
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    # The URL map is complete: every log line now loses the tokens its rules name.
    logredact.learn_routes(app.url_map)
    logredact.install()
    return app


def load_config(app: Flask, test_config: dict | None) -> None:
    """Layer the configuration sources and derive the paths that depend on the instance."""
    app.config.from_mapping(DEFAULTS)
    app.config["ENV"] = "production"
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(environment_overrides())
    if test_config:
        app.config.update(test_config)
    instance = Path(app.instance_path)
    defaults = {
        "DATABASE_URL": f"sqlite:///{instance / 'portal.sqlite3'}",
        "KEY_DIR": str(instance / "keys"),
        "STORAGE_DIR": str(instance / "files"),
        "OUTBOX_DIR": str(instance / "outbox"),
        "AUDIT_HEAD_FILE": str(instance / "audit-heads.jsonl"),
    }
    for key, value in defaults.items():
        if not app.config.get(key):
            app.config[key] = value
    if app.config["SECRET_KEY"] == DEFAULT_SECRET_KEY:
        stored = read_key(Path(app.config["KEY_DIR"]), SECRET_KEY_FILE)
        if stored:
            app.config["SECRET_KEY"] = stored.decode()
    app.config["TESTING"] = bool(app.config.get("TESTING"))
    production = app.config["ENV"] not in ("development", "testing") and not app.config["TESTING"]
    # Only `python -m portal.init_instance`, which creates the key, may start without one.
    if production and not app.config.get("CREATING_INSTANCE"):
        secret = app.config["SECRET_KEY"]
        if not secret or secret == DEFAULT_SECRET_KEY or len(str(secret)) < 32:
            raise RuntimeError(
                "Refusing to start: no secret key. Run `python -m portal.init_instance` (add "
                "--development on a laptop) or set PORTAL_SECRET_KEY to a long random value."
            )
    if not app.config.get("TRUSTED_HOSTS"):
        host = urlsplit(app.config["BASE_URL"]).hostname
        app.config["TRUSTED_HOSTS"] = None if app.config["TESTING"] else [host]
    https = app.config["BASE_URL"].startswith("https://")
    app.config["SESSION_COOKIE_SECURE"] = https
    # Over https every cookie is __Host- prefixed: Secure, Path=/, no Domain, so no other
    # host (a sibling subdomain) can set or shadow it. The rename signs everyone out once.
    app.config["COOKIE_PREFIX"] = "__Host-" if https else ""
    name = app.config["SESSION_COOKIE_NAME"]
    if https and not name.startswith("__Host-"):
        app.config["SESSION_COOKIE_NAME"] = "__Host-" + name
        app.config["SESSION_COOKIE_PATH"] = "/"
        app.config["SESSION_COOKIE_DOMAIN"] = None
    app.config["PREFERRED_URL_SCHEME"] = urlsplit(app.config["BASE_URL"]).scheme
    if app.config["PROXY_COUNT"]:
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)


def configure_logging(app: Flask) -> None:
    """Application logs carry no PHI: events name surrogate ids only (R-SEC-4); request lines
    lose their tokens and query values (portal.core.logredact, installed once routes exist)."""
    level = logging.DEBUG if app.debug else logging.INFO
    logging.getLogger("portal").setLevel(level)
    if not logging.getLogger().handlers:
        # Libraries speak only when something is wrong; the portal's own loggers say more.
        logging.basicConfig(level=logging.WARNING,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def register_extensions(app: Flask) -> None:
    """Bind the shared extensions and the cross-cutting request hooks."""
    from portal.accounts import sessions
    from portal.core import db, security, templating
    from portal.extensions import init_extensions, login_manager

    db.init_app(app)
    init_extensions(app)
    register_jobs(app)
    sessions.init_login(login_manager)
    security.init_app(app)
    templating.init_app(app)


def register_jobs(app: Flask) -> None:
    """Load every job handler and choose who runs committed jobs (JOBS_MODE)."""
    import importlib

    from portal.jobs import dispatch

    for name in JOB_MODULES:
        importlib.import_module(name)
    dispatch.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Each web area owns its blueprint (portal/<area>/blueprint.py)."""
    import importlib

    for name in BLUEPRINTS:
        app.register_blueprint(importlib.import_module(name).bp)


def register_errorhandlers(app: Flask) -> None:
    """Custom error pages that leak nothing and roll back the unit of work."""
    from portal.core import errors

    errors.init_app(app)


def register_commands(app: Flask) -> None:
    """CLI commands: each area contributes its own in portal/<area>/cli.py when it has one."""
    import importlib

    from portal import cli as app_cli

    app_cli.init_app(app)
    for area in CLI_AREAS:
        importlib.import_module(f"portal.{area}.cli").init_app(app)
