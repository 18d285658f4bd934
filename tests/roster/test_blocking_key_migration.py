"""Migration 0002 carries stored blocking keys over to the dense table and back."""

from __future__ import annotations

import os
from datetime import date

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from portal.cli import alembic_config
from portal.core.db import make_engine
from portal.rules.roster_match import roster_key_rows
from tests.factories import roster_keys

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL")
PATIENTS = [
    (1, "M-1", "Avery", "Quill", ("Avery Stone", "Ave Q"), date(1980, 4, 12)),
    (2, "M-2", "José Luis", "de la Cruz", (), date(1960, 2, 29)),
    (3, "M-3", "", "Solo", (), date(1999, 7, 4)),  # no given name: a date-of-birth key only
]


@pytest.fixture
def migrated_engine(app, tmp_path):
    """An empty database of the kind under test, migrated by the test itself."""
    name = "portal_roster_migration_check"
    if PG_URL:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    engine = make_engine(url)
    app.extensions["db_engine"], original = engine, app.extensions["db_engine"]
    yield engine
    app.extensions["db_engine"] = original
    engine.dispose()
    if PG_URL:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_upgrade_and_downgrade_keep_every_stored_key(app, migrated_engine):
    config = alembic_config(app)
    with app.app_context():
        command.upgrade(config, "0001")
    with migrated_engine.begin() as conn:
        for patient_id, mrn, first, last, _others, dob in PATIENTS:
            conn.execute(text(
                "INSERT INTO roster_patient (id, mrn, legal_first_name, legal_last_name, dob, "
                "chart_survived, created_at, updated_at) VALUES (:id, :mrn, :first, :last, :dob, "
                "'yes', :now, :now)"), {"id": patient_id, "mrn": mrn, "first": first, "last": last,
                                        "dob": dob, "now": "2026-01-01 00:00:00"})
        # The keys as the first schema stored them: one row each.
        for patient_id, _mrn, first, last, others, dob in PATIENTS:
            for key in sorted(roster_keys(first, last, others, dob)):
                conn.execute(text("INSERT INTO roster_blocking_key (patient_id, key) "
                                  "VALUES (:p, :k)"), {"p": patient_id, "k": key})

    with app.app_context():
        command.upgrade(config, "head")
    with migrated_engine.connect() as conn:
        dense = conn.execute(text("SELECT patient_id, year_month_key, month_day_key, "
                                  "year_day_key FROM roster_blocking_key")).all()
    for patient_id, _mrn, first, last, others, dob in PATIENTS:
        assert {tuple(row[1:]) for row in dense if row[0] == patient_id} == set(
            roster_key_rows(first, last, others, dob))
    assert not [row for row in dense if row[0] == 3]

    with app.app_context():
        command.downgrade(config, "0001")
    with migrated_engine.connect() as conn:
        restored = conn.execute(text("SELECT patient_id, key FROM roster_blocking_key")).all()
    for patient_id, _mrn, first, last, others, dob in PATIENTS:
        assert sorted(key for pid, key in restored if pid == patient_id) == sorted(
            roster_keys(first, last, others, dob))
