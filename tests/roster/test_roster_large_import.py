"""A large import rebuilds indexes and foreign keys inside its transaction; the match's lookup."""

from __future__ import annotations

from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

import portal.models  # noqa: F401
from portal.core.actor import SYSTEM
from portal.core.db import Base
from portal.roster import bulk
from portal.roster.candidates import candidate_ids
from portal.roster.models import Admission, RosterBlockingKey, RosterName, RosterPatient
from portal.roster.operations import import_roster
from portal.rules.roster_match import MatchQuery, blocking_keys_for_query, roster_key_rows
from tests.factories import make_patient, make_roster_patient
from tests.roster.test_roster_import import AVERY_1, AVERY_2, BLAKE, csv_bytes

# SQLite cannot reflect expression indexes (lower(email)); PostgreSQL compares them.
pytestmark = [
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression"),
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
]


@pytest.fixture
def large(monkeypatch):
    """Every import counts as large, so the tests' small files take the rebuilding path."""
    monkeypatch.setattr(bulk, "LARGE_IMPORT", 1)


def schema_differences(db) -> list:
    """What the database (as this session sees it) lacks or has beyond the models."""
    context = MigrationContext.configure(db.connection(), opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


def stored_key_rows(db, patient_id: int) -> set[tuple[str, str, str]]:
    return {tuple(row) for row in db.execute(
        select(RosterBlockingKey.year_month_key, RosterBlockingKey.month_day_key,
               RosterBlockingKey.year_day_key).where(RosterBlockingKey.patient_id == patient_id)
    )}


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_only_a_big_import_that_is_a_good_part_of_the_roster_rebuilds():
    assert bulk._is_large(10_000, 40_000)
    assert not bulk._is_large(10_000, 40_001)
    assert not bulk._is_large(9_999, 9_999)


def test_a_large_import_writes_the_same_rows_and_restores_every_index(db, large):
    result = import_roster(db, csv_bytes(AVERY_1, AVERY_2, BLAKE), actor=SYSTEM)
    assert result.imported and (result.created, result.admissions) == (2, 3)
    assert schema_differences(db) == []
    db.commit()
    for patient in db.scalars(select(RosterPatient)):
        assert stored_key_rows(db, patient.id) == set(roster_key_rows(
            patient.legal_first_name, patient.legal_last_name,
            tuple(n.full_name for n in patient.other_names), patient.dob))
    assert count(db, Admission) == 3 and count(db, RosterName) == 2

    # Re-importing (the update path) under the same rebuild.
    renamed = AVERY_1.replace("Avery,Quill", "Avery,Stone").replace("Avery Stone;Ave Q", "")
    result = import_roster(db, csv_bytes(renamed), actor=SYSTEM)
    assert (result.created, result.updated) == (0, 1)
    db.commit()
    assert schema_differences(db) == []
    avery = db.scalar(select(RosterPatient).where(RosterPatient.mrn == "M-0001"))
    assert stored_key_rows(db, avery.id) == set(roster_key_rows("Avery", "Stone", (), avery.dob))
    assert count(db, Admission) == 2 and count(db, RosterName) == 0


def test_a_large_import_that_fails_leaves_the_indexes_and_no_rows(db, large, monkeypatch):
    def broken(*_args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(bulk, "_child_rows", broken)
    with pytest.raises(RuntimeError):
        import_roster(db, csv_bytes(AVERY_1, BLAKE), actor=SYSTEM)
    db.rollback()
    assert schema_differences(db) == []
    assert count(db, RosterPatient) == 0


def test_candidates_are_found_by_each_kind_of_key(db):
    robert = make_roster_patient(db, first="Robert", last="Garcia", dob=date(1975, 3, 8))
    unkeyed = make_patient(db, first="Zed", last="Umber", dob=date(1961, 1, 30))

    def found(first: str, last: str, dob: date) -> list[int]:
        query = MatchQuery(first_name=first, last_name=last, other_names=(), dob=dob)
        return candidate_ids(db, blocking_keys_for_query(query))

    assert found("Robert", "Garcia", date(1975, 3, 8)) == [robert.id]
    assert found("Bob", "Garcia", date(1975, 3, 20)) == [robert.id]  # year and month
    assert found("Robert", "Garsia", date(1979, 3, 8)) == [robert.id]  # month and day
    assert found("Roberto", "Garcia", date(1975, 7, 8)) == [robert.id]  # year and day
    assert found("Tom", "Hale", date(1974, 3, 8)) == [robert.id]  # date of birth, a year off
    assert found("Tom", "Hale", date(1975, 7, 9)) == []
    # Without stored keys a patient is still found by the date of birth, never by name.
    assert found("Anyone", "Else", date(1961, 1, 30)) == [unkeyed.id]
    assert found("Zed", "Umber", date(1961, 2, 28)) == []
