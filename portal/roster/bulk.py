"""Writing a checked roster: plain rows in batches, indexes rebuilt for a large import.

Writes go in batches of plain rows (COPY on PostgreSQL, executemany on SQLite; never one ORM
object at a time), so 100,000 patients import in seconds; the whole import is one
transaction, committed by the caller. An import of at least LARGE_IMPORT patients that is a
good part of the roster drops the indexes (and on PostgreSQL the foreign keys) of admissions,
other names and blocking keys, and rebuilds them before it ends, inside that transaction (see
_BulkWriter.indexes_rebuilt). benchmarks/bench_roster_import.py measures it.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from portal.core.actor import Actor
from portal.core.db import take_write_lock, utcnow
from portal.roster.models import Admission, RosterBlockingKey, RosterName, RosterPatient
from portal.roster.parsing import ImportResult, ParsedPatient, ParsedRoster, _without_cyclic_gc
from portal.rules import roster_match
from portal.trail.chain import append_event

BATCH = 5000
# From this many patients, and a quarter of the roster, an import rebuilds the indexes.
LARGE_IMPORT = 10_000
T = TypeVar("T")


def _batches(items: list, size: int = BATCH) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class _BulkWriter:
    """Plain multi-row writes on the session's own connection and transaction.

    Rows arrive as tuples of ints, strings (dates as ISO text) and None, which both databases
    take as they are: PostgreSQL through COPY (its fastest path), SQLite through one
    executemany per table and batch. Both skip the ORM and SQLAlchemy's per-row parameter
    handling, which cost more than the database itself. New patient ids are reserved up
    front (a sequence range on PostgreSQL; on SQLite the write lock taken by BEGIN IMMEDIATE
    is held, so max(id) + 1 onwards is ours).
    """

    def __init__(self, session: Session):
        self.session = session
        self.connection = session.connection()
        self.dialect = self.connection.dialect.name
        self.raw = self.connection.connection.driver_connection
        self._cache_size = None
        if self.dialect == "sqlite":
            # A roster's key indexes outgrow SQLite's default 2 MB page cache and thrash.
            self._cache_size = self.raw.execute("PRAGMA cache_size").fetchone()[0]
            self.raw.execute("PRAGMA cache_size=-32768")

    def close(self) -> None:
        if self._cache_size is not None:
            self.raw.execute(f"PRAGMA cache_size={int(self._cache_size)}")

    def timestamp(self, moment: datetime) -> str:
        """A UTC time as this database's column type stores it, as text."""
        if self.dialect == "sqlite":
            # What SQLAlchemy's SQLite DateTime stores: naive UTC with microseconds.
            naive = moment.astimezone(UTC).replace(tzinfo=None)
            return naive.isoformat(sep=" ", timespec="microseconds")
        return moment.astimezone(UTC).isoformat(timespec="microseconds")

    def reserve_ids(self, table: str, count: int) -> list[int]:
        if not count:
            return []
        if self.dialect == "postgresql":
            with self.raw.cursor() as cursor:
                # The sequence is looked up once, not once per id (a catalog query each time).
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", (table,))
                sequence = cursor.fetchone()[0]
                # One array, not a row per id.
                cursor.execute("SELECT array_agg(nextval(%s::regclass)) "
                               "FROM generate_series(1, %s)", (sequence, count))
                return cursor.fetchone()[0]
        start = (self.session.scalar(text(f"SELECT max(id) FROM {table}")) or 0) + 1  # noqa: S608
        return list(range(start, start + count))

    def delete_children(self, table: str, patient_ids: list[int]) -> None:
        """Delete a child table's rows of these patients."""
        if self.dialect == "postgresql":
            # One array, one scan: hundreds of IN lists each cost a scan of the table.
            with self.raw.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table} WHERE patient_id = ANY(%s)",  # noqa: S608
                               (patient_ids,))
            return
        for chunk in _batches(patient_ids, 900):  # SQLite caps the bound variables
            marks = ", ".join("?" for _ in chunk)
            self.raw.execute(f"DELETE FROM {table} WHERE patient_id IN ({marks})",  # noqa: S608
                             chunk)

    def update_by_id(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """Set ``columns`` of existing rows; each row is the new values followed by the id."""
        mark = "%s" if self.dialect == "postgresql" else "?"
        assignments = ", ".join(f"{name} = {mark}" for name in columns)
        with contextlib.closing(self.raw.cursor()) as cursor:
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE id = {mark}", rows)  # noqa: S608

    def insert(self, table: str, columns: tuple[str, ...], rows: list[tuple],
               meanwhile: Callable[[], T] | None = None) -> T | None:
        """Insert rows; then run ``meanwhile`` (if given) and return what it returns.

        On PostgreSQL ``meanwhile`` runs once the rows are sent and before the COPY ends, so
        Python prepares the next rows while the server is still storing these.
        """
        if not rows:
            return meanwhile() if meanwhile else None
        names = ", ".join(columns)
        if self.dialect == "postgresql":
            with self.raw.cursor() as cursor, cursor.copy(
                f"COPY {table} ({names}) FROM STDIN"  # noqa: S608
            ) as copy:
                for row in rows:
                    copy.write_row(row)
                return meanwhile() if meanwhile else None
        marks = ", ".join("?" for _ in columns)
        self.raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608
        return meanwhile() if meanwhile else None

    @contextlib.contextmanager
    def indexes_rebuilt(self, tables: Iterable[Table]) -> Iterator[None]:
        """Drop the tables' secondary indexes (and, on PostgreSQL, foreign keys), then rebuild.

        For an import that writes a large part of the roster: building an index from all of
        its rows at once (a sort) costs a fraction of updating it row by row, and PostgreSQL
        checks a re-added foreign key with one join instead of a lookup per row. Everything
        happens inside the import's transaction: a failed import rolls the drops back too.
        Meanwhile PostgreSQL holds an exclusive lock on these tables, so a roster match waits
        for the import to commit; SQLite allows one writer anyway and its readers keep their
        snapshot.
        """
        tables = list(tables)
        indexes = [index for table in tables for index in table.indexes]
        foreign_keys = [] if self.dialect != "postgresql" else [
            constraint for table in tables for constraint in table.foreign_key_constraints]
        for constraint in foreign_keys:
            self.connection.execute(DropConstraint(constraint))
        for index in indexes:
            self.connection.execute(DropIndex(index))
        yield
        for index in indexes:
            self.connection.execute(CreateIndex(index))
        for constraint in foreign_keys:
            self.connection.execute(AddConstraint(constraint))


PATIENT_COLUMNS = ("id", "mrn", "legal_first_name", "legal_last_name", "dob", "ssn_last4",
                   "chart_location", "chart_survived", "created_at", "updated_at")
# What a re-import replaces on a patient it already knows (by MRN).
UPDATED_COLUMNS = ("mrn", "legal_first_name", "legal_last_name", "dob", "ssn_last4",
                   "chart_location", "chart_survived", "updated_at")
ADMISSION_COLUMNS = ("patient_id", "admitted_on", "discharged_on", "program")
KEY_COLUMNS = ("patient_id", "year_month_key", "month_day_key", "year_day_key")
# The tables a large import fills with its indexes (and foreign keys) rebuilt afterwards.
REBUILT_TABLES = (RosterBlockingKey.__table__, Admission.__table__, RosterName.__table__)


def _existing_ids(session: Session, patients: list[ParsedPatient]) -> tuple[dict[str, int], int]:
    """Ids of the file's MRNs already on the roster, and the roster's size (one pass)."""
    wanted = {p.mrn for p in patients}
    found: dict[str, int] = {}
    size = 0
    for mrn, patient_id in session.execute(select(RosterPatient.mrn, RosterPatient.id)):
        size += 1
        if mrn in wanted:
            found[mrn] = patient_id
    return found, size


def _is_large(patients: int, roster_after: int) -> bool:
    """Whether rebuilding the indexes beats updating them: a big import, a big share of all."""
    return patients >= LARGE_IMPORT and patients * 4 >= roster_after


@_without_cyclic_gc
def write_roster(
    session: Session, parsed: ParsedRoster, *, actor: Actor, skip_invalid: bool = False,
    on_patients: Callable[[int], None] | None = None,
) -> ImportResult:
    """Write a checked roster in batches; refuse (write nothing) if it has problems.

    With ``skip_invalid`` the invalid rows (and patients with disagreeing rows) are left out
    and the rest is written. ``on_patients`` is called with each batch's size (progress).
    Flushes and audits; the caller commits (or rolls back if this raises).
    """
    if parsed.error_count and not skip_invalid:
        return ImportResult(imported=False, errors=parsed.errors, error_count=parsed.error_count,
                            skipped_rows=parsed.skipped_rows)
    session.flush()
    take_write_lock(session)  # reserved ids and the MRNs read below must hold until the commit
    patients = parsed.valid_patients
    existing, roster_size = _existing_ids(session, patients)
    writer = _BulkWriter(session)
    new_ids = iter(writer.reserve_ids("roster_patient", len(patients) - len(existing)))
    # Each patient's id, in the order of `patients`: the roster's, or a new one.
    patient_ids = [existing.get(p.mrn) or next(new_ids) for p in patients]
    large = _is_large(len(patients), roster_size + len(patients) - len(existing))
    now = utcnow()
    stamp = writer.timestamp(now)
    admissions = 0
    try:
        if existing:
            # Re-imported patients get the file's admissions, other names and keys. Deleted
            # before any index is dropped: SQLite finds a patient's rows through them.
            for table in ("admission", "roster_name", "roster_blocking_key"):
                writer.delete_children(table, list(existing.values()))
        with writer.indexes_rebuilt(REBUILT_TABLES) if large else contextlib.nullcontext():
            for start in range(0, len(patients), BATCH):
                chunk = patients[start:start + BATCH]
                ids = patient_ids[start:start + BATCH]
                children = writer.insert("roster_patient", PATIENT_COLUMNS, [
                    (patient_id, p.mrn, p.first, p.last, p.dob.isoformat(), p.ssn_last4,
                     p.chart_location, p.chart_survived, stamp, stamp)
                    for patient_id, p in zip(ids, chunk, strict=True) if p.mrn not in existing
                ], meanwhile=functools.partial(_child_rows, chunk, ids))
                writer.update_by_id("roster_patient", UPDATED_COLUMNS, [
                    (p.mrn, p.first, p.last, p.dob.isoformat(), p.ssn_last4, p.chart_location,
                     p.chart_survived, stamp, existing[p.mrn])
                    for p in chunk if p.mrn in existing
                ])
                for table, columns, rows in children:
                    writer.insert(table, columns, rows)
                admissions += len(children[0][2])
                if on_patients:
                    on_patients(len(chunk))
    finally:
        writer.close()
    # Rows written behind the ORM's back: nothing cached in this session may be trusted.
    session.expire_all()
    created, updated = len(patients) - len(existing), len(existing)
    result = ImportResult(
        imported=True, created=created, updated=updated, admissions=admissions,
        skipped_rows=parsed.skipped_rows, errors=parsed.errors, error_count=parsed.error_count,
    )
    append_event(
        session, "roster.imported", actor=actor, object_type="roster",
        summary={"created": created, "updated": updated, "admissions": admissions,
                 "skipped_rows": parsed.skipped_rows, "file_sha256": parsed.sha256},
    )
    return result


def _child_rows(
    chunk: list[ParsedPatient], ids: list[int]
) -> list[tuple[str, tuple[str, ...], list[tuple]]]:
    """(table, columns, rows) of the admissions, other names and blocking keys of a batch."""
    pairs = list(zip(ids, chunk, strict=True))
    key_rows = roster_match.roster_key_rows
    return [
        ("admission", ADMISSION_COLUMNS, [
            (patient_id, admitted.isoformat(), discharged.isoformat() if discharged else None,
             program)
            for patient_id, patient in pairs
            for admitted, discharged, program, _line in patient.admissions
        ]),
        ("roster_name", ("patient_id", "full_name"), [
            (patient_id, name) for patient_id, patient in pairs for name in patient.other_names
        ]),
        ("roster_blocking_key", KEY_COLUMNS, [
            (patient_id, *keys)
            for patient_id, patient in pairs
            for keys in key_rows(patient.first, patient.last, patient.other_names, patient.dob)
        ]),
    ]
