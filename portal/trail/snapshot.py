"""A read-only view of the database frozen at one moment, for exports (R-SEC-3).

PostgreSQL: a REPEATABLE READ, READ ONLY transaction on a pooled connection. SQLite (WAL): a
deferred read transaction on a connection of its own engine; the app's engine begins every
transaction with BEGIN IMMEDIATE (the audit append needs the write lock), which would block
every writer for as long as a download runs, so exports read through a second engine whose
transactions begin DEFERRED and whose connections are query-only.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from portal.trail.chain import ChainHead
from portal.trail.models import AuditEvent


def _sqlite_reader_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA query_only=ON")  # an export never writes
    cursor.close()


def _sqlite_begin_deferred(conn) -> None:
    # The snapshot is fixed by the first read; readers never block writers under WAL.
    conn.exec_driver_sql("BEGIN")


def snapshot_engine(app: Flask) -> Engine:
    """The engine export snapshots read through (created once per app)."""
    engine = app.extensions.get("audit_snapshot_engine")
    if engine is None:
        main = app.extensions["db_engine"]
        if main.dialect.name != "sqlite" or main.url.database in (None, "", ":memory:"):
            engine = main  # PostgreSQL, or an in-memory SQLite only one engine can see
        else:
            engine = create_engine(
                main.url, poolclass=NullPool,
                connect_args={"check_same_thread": False, "isolation_level": None},
            )
            event.listen(engine, "connect", _sqlite_reader_pragmas)
            event.listen(engine, "begin", _sqlite_begin_deferred)
        app.extensions["audit_snapshot_engine"] = engine
    return engine


class Snapshot:
    """One consistent, read-only state of the database until ``close()``."""

    def __init__(self, app: Flask):
        engine = snapshot_engine(app)
        self.connection: Connection = engine.connect()
        self.dialect = engine.dialect.name
        if self.dialect == "postgresql":
            self.connection.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        self.connection.begin()
        # The first read fixes the snapshot on both databases.
        self.head = self._read_head()

    def _read_head(self) -> ChainHead | None:
        row = self.connection.execute(
            select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
        ).first()
        return ChainHead(row.id, row.hash) if row else None

    def event_hash(self, event_id: int) -> str | None:
        """The stored hash of one event as this snapshot sees it."""
        return self.connection.scalar(select(AuditEvent.hash).where(AuditEvent.id == event_id))

    def close(self) -> None:
        """End the read transaction and give the connection back."""
        try:
            self.connection.rollback()
        finally:
            self.connection.close()

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
