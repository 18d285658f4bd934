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
