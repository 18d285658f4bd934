"""Pages that only read do not hold SQLite's write lock while they read (portal.core.db).

A unit of work that changes things takes the lock at BEGIN; a page view starts as a read
snapshot and takes the lock only for its audit event, which is still chained after every event
committed meanwhile. On PostgreSQL there is no database-wide write lock, so these are SQLite's.
"""

from __future__ import annotations

import sqlite3

import pytest
from flask import g
from sqlalchemy import select

from portal.core import db as dbmod
from portal.core.actor import SYSTEM
from portal.requests.models import RecordRequest
from portal.trail.chain import append_event, verify_chain
from portal.trail.models import AuditEvent
from tests.factories import make_request


@pytest.fixture
def sqlite_path(app) -> str:
    url = app.config["DATABASE_URL"]
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's database-wide write lock")
    return url.removeprefix("sqlite:///")


def _other_writer(path: str) -> sqlite3.Connection:
    """A second connection that gives up at once if the write lock is held."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=0.2)
    conn.execute("PRAGMA busy_timeout=200")
    return conn


def _append_elsewhere(app, action: str) -> None:
    # Another worker's page view, committed while ours is between its reads and its write.
    with app.app_context():
        append_event(dbmod.get_session(), action, actor=SYSTEM)
        dbmod.commit()


def test_a_page_view_reads_without_the_write_lock_and_chains_its_event_after_others(
        app, sqlite_path):
    with app.app_context():
        append_event(dbmod.get_session(), "test.first", actor=SYSTEM)
        dbmod.commit()

    with app.test_request_context("/staff/queue", method="GET"):
        app.preprocess_request()
        session = dbmod.get_session()
        assert session.scalar(select(AuditEvent.action)) == "test.first"  # snapshot taken

        other = _other_writer(sqlite_path)
        other.execute("BEGIN IMMEDIATE")  # would fail with 'database is locked' if we held it
        other.execute("ROLLBACK")
        other.close()
        _append_elsewhere(app, "test.meanwhile")

        mine = append_event(session, "queue.viewed", actor=SYSTEM)
        dbmod.commit()

    assert mine.id == 3
    with app.app_context():
        session = dbmod.get_session()
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        result = verify_chain(session)
    assert actions == ["test.first", "test.meanwhile", "queue.viewed"]
    assert result.ok, result.reason


def test_a_change_holds_the_write_lock_from_its_first_read(app, sqlite_path):
    with app.test_request_context("/staff/requests/1/claim", method="POST"):
        app.preprocess_request()
        session = dbmod.get_session()
        session.scalar(select(AuditEvent.id))
        other = _other_writer(sqlite_path)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
        dbmod.rollback()


def test_a_search_sent_as_post_reads_as_a_snapshot(app, sqlite_path):
    with app.test_request_context("/staff/queue/search", method="POST"):
        app.preprocess_request()
        assert g.db_read_first is True
        dbmod.get_session().scalar(select(AuditEvent.id))
        other = _other_writer(sqlite_path)
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        other.close()
        dbmod.rollback()


def test_taking_the_lock_rereads_what_the_snapshot_loaded(app, sqlite_path):
    with app.app_context():
        req = make_request(dbmod.get_session())
        dbmod.commit()
        request_id = req.id

    with app.test_request_context("/", method="GET"):
        app.preprocess_request()
        session = dbmod.get_session()
        seen = session.get(RecordRequest, request_id)
        old_version = seen.version

        other = _other_writer(sqlite_path)
        other.execute("UPDATE record_request SET version = version + 1 WHERE id = ?",
                      (request_id,))
        other.close()
        assert seen.version == old_version  # the snapshot still shows the old row

        dbmod.take_write_lock(session)
        assert seen.version == old_version + 1  # read again, under the lock
        dbmod.rollback()


def test_a_write_under_the_snapshot_is_not_lost(app, sqlite_path):
    # A page that changes a row without asking for the lock first (a 'last seen' time) still
    # writes it: the first write statement ends the snapshot and takes the lock.
    with app.app_context():
        req = make_request(dbmod.get_session())
        dbmod.commit()
        request_id = req.id

    with app.test_request_context("/", method="GET"):
        app.preprocess_request()
        session = dbmod.get_session()
        session.get(RecordRequest, request_id).contact_email = "new@example.org"
        session.flush()
        other = _other_writer(sqlite_path)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
        dbmod.commit()

    with app.app_context():
        stored = dbmod.get_session().get(RecordRequest, request_id)
        assert stored.contact_email == "new@example.org"
