"""Fixtures every test uses: an app on a clean database, a client, a CLI runner, sign-in.

The suite runs on SQLite by default and on PostgreSQL when PORTAL_TEST_DATABASE_URL is set.
The schema is created once per session; every test starts from empty tables.
PORTAL_TEST_NOW (an ISO time with its offset) starts every clock Python reads at that moment,
to run the suite on a weekend, a holiday, New Year's Eve or a change of daylight saving time.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import text

import portal.models  # noqa: F401
from portal import create_app
from portal.core.db import Base, make_engine

# Test apps never read the developer's instance/config.py (`make run` writes one, with its own
# BASE_URL and TRUSTED_HOSTS): an empty instance folder of their own, for this run only.
if "PORTAL_INSTANCE_PATH" not in os.environ:
    os.environ["PORTAL_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="portal-test-instance-")
    atexit.register(shutil.rmtree, os.environ["PORTAL_INSTANCE_PATH"], ignore_errors=True)

TEST_DB_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")
TEST_NOW = os.environ.get("PORTAL_TEST_NOW")


_traveller = None


def pytest_configure(config) -> None:
    """With PORTAL_TEST_NOW, every clock starts at that moment, before tests are collected
    (so dates that modules compute on import are from that day too), and ticks on."""
    global _traveller
    if not TEST_NOW:
        return
    from datetime import datetime

    import time_machine

    moment = datetime.fromisoformat(TEST_NOW)
    if moment.tzinfo is None:
        raise pytest.UsageError("PORTAL_TEST_NOW needs an offset, e.g. 2027-03-14T09:30:00+00:00")
    _traveller = time_machine.travel(moment, tick=True)
    _traveller.start()


def pytest_unconfigure(config) -> None:
    if _traveller is not None:
        _traveller.stop()


def _url(tmp_root: Path) -> str:
    return TEST_DB_URL or f"sqlite:///{tmp_root / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """Create the schema once for the session on the chosen database."""
    url = _url(tmp_path_factory.mktemp("db"))
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        # The test database is the suite's own: start from an empty schema, so tables left by
        # another revision (another branch, an interrupted run) cannot block the drop.
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    engine.dispose()
    return url


def _empty_tables(engine) -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            names = ", ".join(t.name for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


def make_test_config(database_url: str, root: Path, **overrides) -> dict:
    """Settings for a test app: temporary directories, cheap hashing, no CSRF unless asked."""
    config = {
        "TESTING": True,
        "ENV": "testing",
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "DATABASE_URL": database_url,
        "KEY_DIR": str(root / "keys"),
        "STORAGE_DIR": str(root / "files"),
        "OUTBOX_DIR": str(root / "outbox"),
        "AUDIT_HEAD_FILE": str(root / "audit-heads.jsonl"),
        "BASE_URL": "http://localhost",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "JOBS_MODE": "inline",
        # Production hashing is deliberately slow; tests only need the same code path.
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_KIB": 1024,
        "PASSWORD_HASH_PARALLELISM": 1,
        "CUSTODIAN_ADDRESS": "PO Box 0000\nLos Angeles, CA 90000",
        "CUSTODIAN_PHONE": "(555) 010-0000",
        "CUSTODIAN_EMAIL": "records@example.invalid",
    }
    config.update(overrides)
    return config


@pytest.fixture
def app_config(database_url, tmp_path) -> dict:
    """The test app's settings; override entries in a test module's own fixture if needed."""
    from portal.core.keys import ensure_keys

    ensure_keys(tmp_path / "keys")
    return make_test_config(database_url, tmp_path)


class IsolatedClient(FlaskClient):
    """A test client whose every request has its own application context, as in production.

    Flask reuses an application context that is already pushed (the ``db`` fixture's), which
    would share ``g``, the database session and Flask-Login's cached user between the test and
    its requests. The test's own unit of work ends before each request (commit setup
    explicitly); rows it loaded are read again afterwards, seeing what the request did.
    """

    def open(self, *args, **kwargs):
        if has_app_context() and g.get("db_session") is not None:
            g.db_session.rollback()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def app(app_config):
    """A fresh app per test, on empty tables."""
    app = create_app(app_config)
    app.test_client_class = IsolatedClient
    yield app
    engine = app.extensions["db_engine"]
    _empty_tables(engine)
    engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    """The app's database session inside an app context (commit it yourself in setup).

    It reads as a snapshot, as a page does (portal.core.db): a test that only looks, or
    reloads a row after a request, must not hold SQLite's write lock, or the next request, or
    ``auth``'s own unit of work, would wait for it in vain. Its first write takes the lock."""
    from portal.core.db import get_session

    with app.app_context():
        g.db_read_first = True
        yield get_session()


@pytest.fixture
def scope(app):
    """Open a short unit of work (own app context, committed on exit) for setup or checks.

    Each scope has its own session, so what the client's requests did is read fresh and no
    transaction stays open while the client runs. A bare request context lets operations that
    compose emails pick a language, as they would inside a clerk's request.
    """
    from portal.core.db import commit, get_session

    @contextmanager
    def unit():
        with app.test_request_context():
            yield get_session()
            commit()

    return unit


@pytest.fixture
def outbox(app):
    """Read the development outbox: a list of email.message.EmailMessage, oldest first."""
    from portal.jobs.mail import read_outbox

    return lambda: read_outbox(Path(app.config["OUTBOX_DIR"]))


class AuthActions:
    """Sign a test client in without the UI (the UI itself has its own tests)."""

    def __init__(self, app, client):
        self._app = app
        self._client = client

    def _login(self, kind: str, user_id: int, mfa_passed: bool = True) -> None:
        from portal.accounts.models import Requester, StaffUser
        from portal.accounts.sessions import start_session
        from portal.core.db import commit, get_session

        with self._app.app_context():
            session = get_session()
            model = StaffUser if kind == "staff" else Requester
            principal = start_session(session, kind, session.get(model, user_id))
            principal.auth_session.mfa_passed = mfa_passed
            cookie_id = principal.get_id()
            commit()
        with self._client.session_transaction() as flask_session:
            flask_session["_user_id"] = cookie_id
            flask_session["_fresh"] = True

    def staff(self, staff_id: int, *, mfa_passed: bool = True) -> None:
        """Sign in as a member of staff who passed MFA just now."""
        self._login("staff", staff_id, mfa_passed)

    def requester(self, requester_id: int) -> None:
        """Sign in as a requester (as after following a magic link)."""
        self._login("requester", requester_id)

    def sign_out(self) -> None:
        with self._client.session_transaction() as flask_session:
            flask_session.clear()


@pytest.fixture
def auth(app, client) -> AuthActions:
    return AuthActions(app, client)
