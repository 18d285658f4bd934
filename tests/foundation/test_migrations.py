"""Alembic migrations are the only way the schema changes: they must build what the models say."""

from __future__ import annotations

import os

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

import portal.models  # noqa: F401
from portal.core.cli import alembic_config
from portal.core.db import Base, make_engine

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")


@pytest.fixture
def fresh_database_url(tmp_path):
    """An empty database of the kind under test."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
        return
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = "portal_migration_check"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


# SQLite cannot reflect expression indexes (lower(email)); PostgreSQL compares them.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrations_build_exactly_the_models_schema(app, fresh_database_url):
    engine = make_engine(fresh_database_url)
    app.extensions["db_engine"], original = engine, app.extensions["db_engine"]
    try:
        with app.app_context():
            command.upgrade(alembic_config(app), "head")
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == [], f"models and migrations disagree: {differences}"
    finally:
        app.extensions["db_engine"] = original
        engine.dispose()


def test_migrations_downgrade_to_nothing_and_back(app, fresh_database_url):
    engine = make_engine(fresh_database_url)
    app.extensions["db_engine"], original = engine, app.extensions["db_engine"]
    try:
        with app.app_context():
            command.upgrade(alembic_config(app), "head")
            command.downgrade(alembic_config(app), "base")
            command.upgrade(alembic_config(app), "head")
    finally:
        app.extensions["db_engine"] = original
        engine.dispose()


def _row(conn, table: str, values: dict) -> None:
    columns = ", ".join(values)
    conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608 (fixed names)
                      f"({', '.join(':' + name for name in values)})"), values)


def test_migration_0003_backfills_old_consents_as_stating_neither_r_rel_2(app,
                                                                         fresh_database_url):
    """A consent signed before 0003 stated neither the limits on use nor the 2.31(a)(4)(iii)
    statement: after the upgrade it says so, and the downgrade gives the old schema back."""
    engine = make_engine(fresh_database_url)
    app.extensions["db_engine"], original = engine, app.extensions["db_engine"]
    now = "2026-11-01 17:00:00"
    try:
        with app.app_context():
            command.upgrade(alembic_config(app), "0002")
        with engine.begin() as conn:
            _row(conn, "requester", {"id": 1, "email": "a@example.test", "created_at": now})
            _row(conn, "record_request", {
                "id": 1, "reference": "CPP-2026-00001", "kind": "copies", "status": "submitted",
                "is_open": True, "version": 1, "requester_id": 1, "requester_type": "patient",
                "patient_first_name": "Avery", "patient_last_name": "Quill",
                "patient_dob": "1980-04-12", "search_names": "avery quill",
                "contact_email": "a@example.test", "fee_estimate_cents": 0, "fee_waived": False,
                "recipient_type": "third_party", "delivery": "mail", "received_via": "web",
                "received_at": now, "received_on": "2026-11-01", "hipaa_due_on": "2026-12-01",
                "working_due_on": "2026-11-16", "created_at": now, "updated_at": now})
            _row(conn, "consent", {
                "id": 1, "request_id": 1, "scope": "general", "patient_name": "Avery Quill",
                "disclosing_program": "The Canyon at Peace Park",
                "information_description": "Complete record", "recipient_name": "Dr. Lee",
                "purpose": "Continuing care", "expires_on": "2027-05-01",
                "signature_name": "Avery Quill", "signed_at": now,
                "statements_acknowledged": True, "known_false": False})
        with app.app_context():
            command.upgrade(alembic_config(app), "0003")
        with engine.connect() as conn:
            row = conn.execute(text(
                "SELECT recipient_kind, recipient_kind_settled, use_limits_stated, "
                "redisclosure_statement_included, signature_name FROM consent")).one()
        assert (row[0], row[1], bool(row[2]), bool(row[3]), row[4]) == (
            None, None, False, False, "Avery Quill")
        with app.app_context():
            command.downgrade(alembic_config(app), "0002")
        with engine.connect() as conn:
            columns = list(conn.execute(text("SELECT * FROM consent")).keys())
            assert "use_limits_stated" not in columns
            assert conn.execute(text("SELECT signature_name FROM consent")).scalar() == (
                "Avery Quill")
    finally:
        app.extensions["db_engine"] = original
        engine.dispose()
