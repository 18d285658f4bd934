"""Alembic migrations are the only way the schema changes: they must build what the models say."""

from __future__ import annotations

import os

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

import portal.models  # noqa: F401
from portal.cli import alembic_config
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


NOW = "2026-11-01 17:00:00"


def _request_with_consent(conn) -> None:
    """A third-party request and its consent as the 0002 schema stored them."""
    _row(conn, "requester", {"id": 1, "email": "a@example.test", "created_at": NOW})
    _row(conn, "record_request", {
        "id": 1, "reference": "CPP-2026-00001", "kind": "copies", "status": "submitted",
        "is_open": True, "version": 1, "requester_id": 1, "requester_type": "patient",
        "patient_first_name": "Avery", "patient_last_name": "Quill",
        "patient_dob": "1980-04-12", "search_names": "avery quill",
        "contact_email": "a@example.test", "fee_estimate_cents": 0, "fee_waived": False,
        "recipient_type": "third_party", "delivery": "mail", "received_via": "web",
        "received_at": NOW, "received_on": "2026-11-01", "hipaa_due_on": "2026-12-01",
        "working_due_on": "2026-11-16", "created_at": NOW, "updated_at": NOW})
    _row(conn, "consent", {
        "id": 1, "request_id": 1, "scope": "general", "patient_name": "Avery Quill",
        "disclosing_program": "The Canyon at Peace Park",
        "information_description": "Complete record", "recipient_name": "Dr. Lee",
        "purpose": "Continuing care", "expires_on": "2027-05-01",
        "signature_name": "Avery Quill", "signed_at": NOW,
        "statements_acknowledged": True, "known_false": False})


@pytest.fixture
def migrated(app, fresh_database_url):
    """(engine, migrate): the database under test and a function that moves it to a revision."""
    engine = make_engine(fresh_database_url)
    app.extensions["db_engine"], original = engine, app.extensions["db_engine"]

    def migrate(revision: str, *, down: bool = False) -> None:
        with app.app_context():
            (command.downgrade if down else command.upgrade)(alembic_config(app), revision)

    yield engine, migrate
    app.extensions["db_engine"] = original
    engine.dispose()


def test_migration_0003_backfills_old_consents_as_stating_neither_r_rel_2(migrated):
    """A consent signed before 0003 stated neither the limits on use nor the 2.31(a)(4)(iii)
    statement: after the upgrade it says so, and the downgrade gives the old schema back."""
    engine, migrate = migrated
    migrate("0002")
    with engine.begin() as conn:
        _request_with_consent(conn)
    migrate("0003")
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT recipient_kind, recipient_kind_settled, use_limits_stated, "
            "redisclosure_statement_included, signature_name FROM consent")).one()
    assert (row[0], row[1], bool(row[2]), bool(row[3]), row[4]) == (
        None, None, False, False, "Avery Quill")
    migrate("0002", down=True)
    with engine.connect() as conn:
        columns = list(conn.execute(text("SELECT * FROM consent")).keys())
        assert "use_limits_stated" not in columns
        assert conn.execute(text("SELECT signature_name FROM consent")).scalar() == (
            "Avery Quill")


def test_migration_0004_turns_each_logged_match_into_a_run_r_id_2_c(migrated):
    """Two roster.matched events become two runs; the last carries today's stored ranking."""
    engine, migrate = migrated
    migrate("0003")
    with engine.begin() as conn:
        _request_with_consent(conn)
        _row(conn, "roster_patient", {
            "id": 7, "mrn": "M-7", "legal_first_name": "Avery", "legal_last_name": "Quill",
            "dob": "1980-04-12", "chart_survived": "yes", "created_at": NOW, "updated_at": NOW})
        for event_id, when, candidates in ((1, "2026-11-01 17:01:00", 3),
                                           (2, "2026-11-02 09:00:00", 1)):
            _row(conn, "audit_event", {
                "id": event_id, "occurred_at": when, "actor_type": "system", "actor_id": None,
                "action": "roster.matched", "object_type": "request", "object_id": 1,
                "request_id": 1, "summary": f'{{"candidates": {candidates}, "ranked": 1}}',
                "prev_hash": "0" * 64, "hash": str(event_id) * 64})
        _row(conn, "roster_match", {
            "id": 1, "request_id": 1, "patient_id": 7, "rank": 1, "score": 0.97,
            "decision": "likely", "matched_fields": '{"dob": "exact"}',
            "computed_at": "2026-11-02 09:00:00"})
    migrate("0004")
    with engine.connect() as conn:
        runs = conn.execute(text(
            "SELECT candidate_count, ranking, inputs_digest FROM roster_match_run "
            "ORDER BY id")).all()
    assert [r[0] for r in runs] == [3, 1]
    assert runs[0][1] is None and runs[1][1] is not None
    assert '"patient_id": 7' in str(runs[1][1]).replace("'", '"')
    assert all(r[2] is None for r in runs)
    migrate("0003", down=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_event")).scalar() == 2


def test_migration_0010_keeps_requests_and_refuses_to_drop_an_address_abroad(migrated):
    """A request stored before 0010 keeps its US address (no country); the downgrade refuses
    while a request has a country, and goes through, keeping the rest, once none has."""
    engine, migrate = migrated
    migrate("0009")
    with engine.begin() as conn:
        _request_with_consent(conn)
    migrate("0010")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT address_country, address_care_of, contact_email "
                                 "FROM record_request")).one() == (None, None, "a@example.test")
        conn.execute(text("UPDATE record_request SET address_country = 'Spain'"))
    with pytest.raises(RuntimeError, match="address abroad"):
        migrate("0009", down=True)
    with engine.begin() as conn:
        conn.execute(text("UPDATE record_request SET address_country = NULL"))
    migrate("0009", down=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT contact_email FROM record_request")).scalar() == (
            "a@example.test")


def test_migration_0011_names_the_run_each_location_relied_on_r_id_2_c(migrated):
    """A patient located after two runs relied on the later one made before the decision; a
    run made after the decision is not the one relied on."""
    engine, migrate = migrated
    migrate("0010")
    with engine.begin() as conn:
        _request_with_consent(conn)
        for run_id, when in ((1, "2026-11-01 17:01:00"), (2, "2026-11-02 09:00:00"),
                             (3, "2026-11-05 09:00:00")):
            _row(conn, "roster_match_run", {
                "id": run_id, "request_id": 1, "ran_at": when, "actor_type": "system",
                "candidate_count": 1})
        _row(conn, "proofing_step", {
            "id": 1, "request_id": 1, "question": "patient", "evidence": "roster_match",
            "result": "accepted", "decided_at": "2026-11-03 10:00:00"})
        _row(conn, "proofing_step", {
            "id": 2, "request_id": 1, "question": "requester", "evidence": "photo_id",
            "result": "accepted", "decided_at": "2026-11-03 09:00:00"})
    migrate("0011")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, match_run_id FROM proofing_step ORDER BY id")
                            ).all() == [(1, 2), (2, None)]
    migrate("0010", down=True)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM proofing_step")).scalar() == 2
