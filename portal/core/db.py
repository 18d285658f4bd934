"""Database: declarative base, engine and one session per request or CLI command.

Operations flush but never commit; the request (``after_request``) or the CLI command commits
once, so one user action is one transaction.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

from flask import Flask, current_app, g, has_app_context, request
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import DateTime, TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every model; the naming convention keeps migrations stable."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Timezone-aware current UTC time (stored as UTC, shown in Pacific time)."""
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create the engine for a URL; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "isolation_level": None},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is off; we issue BEGIN ourselves so that a
        # transaction that will write takes the write lock up front (BEGIN IMMEDIATE).
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "before_cursor_execute", _sqlite_before_execute)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


# SQLite has one write lock for the whole database. A unit of work that changes things takes
# it at BEGIN (IMMEDIATE), because a deferred transaction that read first cannot become a
# writer once another connection has committed (SQLITE_BUSY, and the busy timeout does not
# help). Pages that only read, and record in the audit trail what they showed, would then hold
# the lock while they query and render, and clerks' page views would queue behind each other.
# Those units of work start as a read snapshot instead (BEGIN, deferred); their first write
# ends the snapshot, which has written nothing, and begins IMMEDIATE, so the lock is held only
# for the writes themselves. Code that must read under the lock before writing (the audit
# append reads the chain head) calls take_write_lock() first.
_READ_SNAPSHOT = "portal_read_snapshot"
_WRITE_STATEMENT = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|SAVEPOINT)\b", re.IGNORECASE)
_READ_METHODS = frozenset({"GET", "HEAD"})


def read_mostly(view):
    """Mark a view that only reads and audits (a search sent as POST): it starts as a snapshot."""
    view.read_mostly = True
    return view


def _sqlite_begin(conn) -> None:
    read_first = has_app_context() and bool(g.get("db_read_first"))
    conn.info[_READ_SNAPSHOT] = read_first
    conn.exec_driver_sql("BEGIN" if read_first else "BEGIN IMMEDIATE")


def _sqlite_before_execute(conn, cursor, statement, _params, _context, _executemany) -> None:
    if conn.info.get(_READ_SNAPSHOT) and _WRITE_STATEMENT.match(statement):
        _become_writer(conn, cursor)


def _become_writer(conn, cursor) -> None:
    # Nothing was written under the snapshot, so ending it loses nothing.
    cursor.execute("COMMIT")
    cursor.execute("BEGIN IMMEDIATE")
    conn.info[_READ_SNAPSHOT] = False


def take_write_lock(session: Session) -> None:
    """Hold the database's write lock from here to the commit (SQLite; a no-op elsewhere).

    Call it before reading what a write depends on, so the read and the write see the same
    state: on SQLite a unit of work may have started as a read snapshot (see above). Rows
    loaded under the snapshot are expired, so they are read again, now under the lock."""
    if session.get_bind().dialect.name != "sqlite":
        return
    conn = session.connection()
    if not conn.info.get(_READ_SNAPSHOT):
        return
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        _become_writer(conn, cursor)
    finally:
        cursor.close()
    changed = session.dirty
    for instance in list(session.identity_map.values()):
        if instance not in changed:
            session.expire(instance)


def init_app(app: Flask) -> None:
    """Bind an engine and session factory to the app and close sessions after each request."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db_engine"] = engine
    maker = app.extensions["db_sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    event.listen(maker, "after_commit", _forget_undo)
    event.listen(maker, "after_rollback", _run_undo)

    @app.before_request
    def _choose_transaction_mode() -> None:
        # Before anything queries: pages that only read start as a snapshot (SQLite).
        view = app.view_functions.get(request.endpoint)
        g.db_read_first = request.method in _READ_METHODS or getattr(view, "read_mostly", False)

    @app.teardown_appcontext
    def _close_session(_exc) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()


def get_session() -> Session:
    """The session of the current request or CLI command (created on first use)."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db_sessionmaker"]()
    return g.db_session


def commit() -> None:
    """Commit the current unit of work; what waits for the commit then runs (after_commit)."""
    session = g.get("db_session")
    if session is not None:
        session.commit()


_UNDO = "portal_on_rollback"
_DONE = "portal_on_commit"


def after_commit(callback, session: Session | None = None) -> None:
    """Run callback once this unit of work (the current one by default) has committed: a job
    handed over, a file's pending marker cleared. A rollback drops it."""
    (session or get_session()).info.setdefault(_DONE, []).append(callback)


def on_rollback(session: Session, callback) -> None:
    """Undo something done outside the database (a file written) unless this unit of work
    commits: rolled back, failed at the commit, or abandoned when its context ends. A worker
    killed outright leaves the file for `flask --app portal fsck` to find."""
    session.info.setdefault(_UNDO, []).append(callback)


def _forget_undo(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released is not the commit
        return
    session.info.pop(_UNDO, None)
    for callback in session.info.pop(_DONE, []):
        try:
            callback()
        except Exception:  # the commit stands; what failed is in the log (a job's hand-over
            # is swept again, a pending marker is cleared by the sweep)
            logging.getLogger("portal.db").exception("work after a commit failed")


def _run_undo(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.info.pop(_DONE, None)
    for callback in reversed(session.info.pop(_UNDO, [])):
        try:
            callback()
        except Exception:  # an undo that fails leaves an orphan for `fsck` to report
            logging.getLogger("portal.db").exception("undo after a rollback failed")


def rollback_quietly() -> None:
    """Roll back when the database may be gone (an error page): a failure here is no news."""
    try:
        rollback()
    except Exception:
        logging.getLogger("portal.db").warning("rollback failed: the database did not answer")


def rollback() -> None:
    """Abandon the current unit of work and anything waiting for its commit."""
    session = g.get("db_session")
    if session is not None:
        session.rollback()


class UTCDateTime(TypeDecorator):
    """Stores UTC; always returns an aware UTC datetime, the same on SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
