"""The roster: import it from CSV, and match requests against it (R-ID-2(c)).

Roster CSV format (UTF-8, comma separated, a header row naming the columns, any order)::

    mrn               the chart number; required; at most 40 characters
    legal_first_name  required
    legal_last_name   required
    other_names       other full names the patient was known by, separated by ';' (optional)
    dob               date of birth, YYYY-MM-DD; required
    ssn_last4         last 4 digits of the SSN, or empty
    admitted_on       admission date, YYYY-MM-DD (empty only on a row with no stay at all)
    discharged_on     discharge date, YYYY-MM-DD, or empty when the chart does not say
    program           detox, residential, outpatient... (required with an admission)
    chart_location    where the chart is kept (optional)
    chart_survived    yes, partial, no or unknown (empty means unknown): the 2018 fire

One row per admission: a patient with three stays has three rows with the same MRN, and the
patient's fields (names, other names, date of birth, SSN, chart location, chart survived) must
agree on every one of them. Every row is checked before anything is written; each problem is
reported with its line number, and nothing is imported while any remain, unless the import is
told to skip invalid rows (then a patient whose rows disagree is skipped whole). Importing again
updates patients by MRN: their names, other names, admissions and blocking keys are replaced by
the file's; patients the file does not mention are left as they are. A file that is not UTF-8
is refused whole.

Writes go in batches of plain rows (COPY on PostgreSQL, executemany on SQLite; never one ORM
object at a time), so 100,000 patients import in seconds; the whole import is one
transaction, committed by the caller. An import of at least LARGE_IMPORT patients that is a
good part of the roster drops the indexes (and on PostgreSQL the foreign keys) of admissions,
other names and blocking keys, and rebuilds them before it ends, inside that transaction (see
_BulkWriter.indexes_rebuilt). benchmarks/bench_roster_import.py measures it.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import hashlib
import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import BinaryIO, TypeVar

from flask import current_app
from sqlalchemy import Table, delete, func, or_, select, text, union
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from portal.core.actor import Actor
from portal.core.db import take_write_lock, utcnow
from portal.roster.models import Admission, RosterBlockingKey, RosterName, RosterPatient
from portal.rules import roster_match
from portal.rules.deadlines import pacific_date
from portal.rules.roster_match import MatchThresholds, RosterCandidate, Stay
from portal.trail.chain import append_event

COLUMNS = (
    "mrn", "legal_first_name", "legal_last_name", "other_names", "dob", "ssn_last4",
    "admitted_on", "discharged_on", "program", "chart_location", "chart_survived",
)
REQUIRED_COLUMNS = ("mrn", "legal_first_name", "legal_last_name", "dob")
CHART_SURVIVED = ("yes", "partial", "no", "unknown")
# Patient fields that every row of one MRN must repeat identically.
PATIENT_FIELDS = ("legal_first_name", "legal_last_name", "other_names", "dob", "ssn_last4",
                  "chart_location", "chart_survived")
FIELD_LABELS = {
    "legal_first_name": "legal first name", "legal_last_name": "legal last name",
    "other_names": "other names", "dob": "date of birth", "ssn_last4": "SSN last 4",
    "chart_location": "chart location", "chart_survived": "chart survived",
}
LIMITS = {"mrn": 40, "legal_first_name": 120, "legal_last_name": 120, "program": 40,
          "chart_location": 200}
OTHER_NAME_LIMIT = 240
EARLIEST = date(1900, 1, 1)
BATCH = 5000
# From this many patients, and a quarter of the roster, an import rebuilds the indexes.
LARGE_IMPORT = 10_000
MAX_ERRORS_KEPT = 1000
T = TypeVar("T")
BLOCK_BYTES = 1 << 20  # read, decode and report progress a megabyte at a time


class RosterFileRefused(Exception):
    """The whole file is unusable (wrong encoding, missing columns); nothing was read into it."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(slots=True)
class ParsedPatient:
    """One patient assembled from its rows: the patient fields and its admissions."""

    line: int
    mrn: str
    first: str
    last: str
    other_names: tuple[str, ...]
    dob: date
    ssn_last4: str | None
    chart_location: str | None
    chart_survived: str
    # (admitted_on, discharged_on, program, line): few per patient, so a list is enough.
    admissions: list[tuple[date, date | None, str, int]]
    invalid: bool = False


@dataclass
class ParsedRoster:
    """A checked roster file: the valid patients, every problem by line, and what was read."""

    patients: dict[str, ParsedPatient]
    errors: list[tuple[int, str]]
    rows: int
    sha256: str
    error_count: int = 0
    skipped_rows: int = 0

    @property
    def valid_patients(self) -> list[ParsedPatient]:
        """The patients an import writes (patients with disagreeing rows are left out)."""
        return [p for p in self.patients.values() if not p.invalid]


@dataclass
class ImportResult:
    """What an import did, in counts (and the problems that stopped or thinned it)."""

    imported: bool
    created: int = 0
    updated: int = 0
    admissions: int = 0
    skipped_rows: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    error_count: int = 0


# --- Reading and checking ---------------------------------------------------------------


def _without_cyclic_gc(function):
    """Run ``function`` with Python's cyclic garbage collector paused, then resume it.

    An import allocates millions of small acyclic objects (rows, dates, tuples) that reference
    counting frees on its own; the collector's repeated passes over the survivors found nothing
    and cost about a third of the checking time.
    """

    @functools.wraps(function)
    def paused(*args, **kwargs):
        if not gc.isenabled():
            return function(*args, **kwargs)
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            gc.enable()

    return paused


def _decoded_lines(
    stream: BinaryIO, digest, on_bytes: Callable[[int], None] | None
) -> Iterator[str]:
    """The file's lines as text (each with its "\\n"), as reading it line by line gives them.

    Decoded a block of whole lines at a time: one decode and one line split in C per block
    cost far less than a decode per line. A block with a byte that is not UTF-8, or a NUL, is
    read again line by line, so its good lines come first and the bad one is reported with its
    number, exactly where a line-by-line reading would have stopped.
    """
    return itertools.chain.from_iterable(_decoded_blocks(stream, digest, on_bytes))


def _decoded_blocks(
    stream: BinaryIO, digest, on_bytes: Callable[[int], None] | None
) -> Iterator[Iterable[str]]:
    lines_before = 0
    pending: list[bytes] = []  # the start of a line that continues in the next block
    while True:
        block = stream.read(BLOCK_BYTES)
        if block:
            cut = block.rfind(b"\n") + 1
            if not cut:
                pending.append(block)
                continue
            data = b"".join((*pending, block[:cut]))
            pending = [block[cut:]]
        else:
            data = b"".join(pending)
            pending = []
            if not data:
                return
        digest.update(data)
        if on_bytes:
            on_bytes(len(data))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and not lines_before:
            text = text.removeprefix("\ufeff")
        if text is None or "\x00" in text:
            yield _checked_lines(data, lines_before)
        else:
            # newline="\n" splits on "\n" only, as iterating the binary file does.
            yield io.StringIO(text, newline="\n")
        lines_before += data.count(b"\n")


def _checked_lines(data: bytes, lines_before: int) -> Iterator[str]:
    """Decode a block line by line; refuse the file at its first line that is not UTF-8."""
    for number, raw in enumerate(io.BytesIO(data), start=lines_before + 1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RosterFileRefused([
                f"Line {number}: the file is not UTF-8 text (byte {exc.start + 1} of the line "
                "cannot be read). Save it from your spreadsheet as \"CSV UTF-8\" and try again."
            ]) from None
        if number == 1:
            text = text.removeprefix("\ufeff")
        if "\x00" in text:
            raise RosterFileRefused([
                f"Line {number}: the file contains NUL characters, so it is not UTF-8 text "
                "(it may be UTF-16). Save it as \"CSV UTF-8\" and try again."
            ])
        yield text


def _parse_date(text: str) -> date | None:
    """A strict YYYY-MM-DD date, or None when it is not one (impossible dates included)."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _known_date(text: str, dates: dict[str, date]) -> date | None:
    """`_parse_date`, remembering valid dates: a roster repeats its dates many times."""
    parsed = _parse_date(text)
    if parsed is not None:
        dates[text] = parsed
    return parsed


# (column, position in COLUMNS, limit) of the columns with a length limit.
_LIMITED = tuple((name, COLUMNS.index(name), limit) for name, limit in LIMITS.items())
_SHORTEST_LIMIT = min(LIMITS.values())


def _check_row(
    values: tuple[str, ...], today: date, dates: dict[str, date]
) -> tuple[list[str], tuple]:
    """Problems with one row (its stripped cells in COLUMNS order), and its parsed values:
    (other names, dob, ssn_last4, chart_survived, admitted_on, discharged_on)."""
    (mrn, first, last, other_text, dob_text, ssn, admitted_text, discharged_text, program,
     _location, survived_text) = values
    problems: list[str] = []
    if not (mrn and first and last and dob_text):
        for name, value in zip(REQUIRED_COLUMNS, (mrn, first, last, dob_text), strict=True):
            if not value:
                problems.append(f"{name} is empty")
    if max(map(len, values)) > _SHORTEST_LIMIT:
        for name, index, limit in _LIMITED:
            if len(values[index]) > limit:
                problems.append(f"{name} is longer than {limit} characters")
    others: tuple[str, ...] = ()
    if other_text:
        others = tuple(n.strip() for n in other_text.split(";") if n.strip())
        if any(len(n) > OTHER_NAME_LIMIT for n in others):
            problems.append(f"an other name is longer than {OTHER_NAME_LIMIT} characters")
    dob = None
    if dob_text:
        dob = dates.get(dob_text) or _known_date(dob_text, dates)
        if dob is None:
            problems.append(f"dob '{dob_text}' is not a real date in the form YYYY-MM-DD")
        elif not EARLIEST <= dob <= today:
            problems.append(f"dob {dob.isoformat()} is not a possible date of birth")
    if ssn and not (len(ssn) == 4 and ssn.isascii() and ssn.isdigit()):
        problems.append("ssn_last4 must be exactly 4 digits, or empty")
    survived = survived_text.casefold() or "unknown"
    if survived not in CHART_SURVIVED:
        problems.append("chart_survived must be one of yes, partial, no, unknown")

    admitted = discharged = None
    if admitted_text:
        admitted = dates.get(admitted_text) or _known_date(admitted_text, dates)
        if admitted is None:
            problems.append(
                f"admitted_on '{admitted_text}' is not a real date in the form YYYY-MM-DD"
            )
    if discharged_text:
        discharged = dates.get(discharged_text) or _known_date(discharged_text, dates)
        if discharged is None:
            problems.append(f"discharged_on '{discharged_text}' is not a real date in "
                            "the form YYYY-MM-DD")
    if not admitted_text and (discharged_text or program):
        problems.append("admitted_on is empty but the row has a discharge date or program")
    if admitted:
        if not program:
            problems.append("program is empty on a row with an admission")
        if dob and admitted < dob:
            problems.append("admitted_on is before the date of birth")
        if admitted > today:
            problems.append("admitted_on is in the future")
        if discharged and discharged < admitted:
            problems.append("discharged_on is before admitted_on")
    return problems, (others, dob, ssn or None, survived, admitted, discharged)


@_without_cyclic_gc
def parse_roster(
    stream: BinaryIO, *, today: date | None = None, on_bytes: Callable[[int], None] | None = None,
) -> ParsedRoster:
    """Read and check a roster CSV from a binary stream; raise RosterFileRefused if unusable.

    ``on_bytes`` is called with the number of bytes read since its last call, about every
    megabyte and at the end (for a progress bar).
    """
    today = today or pacific_date(datetime.now(UTC))  # the custodian's calendar
    digest = hashlib.sha256()
    reader = csv.reader(_decoded_lines(stream, digest, on_bytes))
    try:
        header = next(reader)
    except StopIteration:
        raise RosterFileRefused(["The file is empty: expected a header row."]) from None
    except csv.Error as exc:
        raise RosterFileRefused([f"Line 1: {exc}"]) from None
    names = [h.strip().casefold() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise RosterFileRefused([
            "Line 1: the header is missing the column(s) " + ", ".join(missing)
            + ". Expected: " + ", ".join(COLUMNS) + "."
        ])
    duplicated = sorted({n for n in names if n in COLUMNS and names.count(n) > 1})
    if duplicated:
        raise RosterFileRefused(["Line 1: these columns appear twice: " + ", ".join(duplicated)])
    # The documented columns' cells of a row, in COLUMNS order, whatever the file's order.
    cells = itemgetter(*(names.index(name) for name in COLUMNS))
    width = len(names)

    result = ParsedRoster(patients={}, errors=[], rows=0, sha256="")
    invalid_lines: set[int] = set()
    dates: dict[str, date] = {}
    strip = str.strip

    def problem(line: int, text: str) -> None:
        result.error_count += 1
        invalid_lines.add(line)
        if len(result.errors) < MAX_ERRORS_KEPT:
            result.errors.append((line, text))

    try:
        for row in reader:
            if len(row) == width:
                values = tuple(map(strip, cells(row)))
                # A row with an MRN is not blank; otherwise look at every cell.
                if not values[0] and not "".join(row).strip():
                    continue
            elif not "".join(row).strip():  # a blank line, or only separators
                continue
            else:
                values = None
            result.rows += 1
            line = reader.line_num
            if values is None:
                problem(line, f"expected {width} fields, found {len(row)}")
                continue
            problems, parsed = _check_row(values, today, dates)
            if problems:
                for text in problems:
                    problem(line, text)
                continue
            _add_row(result, line, values, parsed, problem)
    except csv.Error as exc:
        raise RosterFileRefused([f"Line {reader.line_num}: {exc}"]) from None
    result.sha256 = digest.hexdigest()
    result.skipped_rows = len(invalid_lines)
    result.errors.sort()
    return result


def _add_row(result: ParsedRoster, line: int, values: tuple[str, ...], parsed: tuple,
             problem) -> None:
    mrn, first, last = values[0], values[1], values[2]
    others, dob, ssn, survived, admitted, discharged = parsed
    location = values[9] or None
    patient = result.patients.get(mrn)
    if patient is None:
        # Positional: ParsedPatient's field order (cheaper than keywords, once per patient).
        patient = ParsedPatient(line, mrn, first, last, others, dob, ssn, location, survived, [])
        result.patients[mrn] = patient
    else:
        known = (patient.first, patient.last, patient.other_names, patient.dob,
                 patient.ssn_last4, patient.chart_location, patient.chart_survived)
        fields = (first, last, others, dob, ssn, location, survived)
        if known != fields:
            differing = [FIELD_LABELS[name] for name, a, b in zip(PATIENT_FIELDS, known, fields,
                                                                  strict=True) if a != b]
            patient.invalid = True
            problem(line, f"MRN {mrn} appears on line {patient.line} with a different "
                          + ", ".join(differing))
            return
    if admitted is None:
        return
    for earlier in patient.admissions:
        if earlier[0] == admitted:
            patient.invalid = True
            problem(line, f"MRN {mrn} has the admission of {admitted.isoformat()} twice "
                          f"(also line {earlier[3]})")
            return
    patient.admissions.append((admitted, discharged, values[8], line))


# --- Writing ----------------------------------------------------------------------------


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


def import_roster(
    session: Session, stream: BinaryIO, *, actor: Actor, skip_invalid: bool = False,
) -> ImportResult:
    """Check and import a roster CSV in one go (the browser upload; the CLI adds progress)."""
    try:
        parsed = parse_roster(stream)
    except RosterFileRefused as exc:
        return ImportResult(imported=False, errors=[(0, p) for p in exc.problems],
                            error_count=len(exc.problems))
    return write_roster(session, parsed, actor=actor, skip_invalid=skip_invalid)


def roster_counts(session: Session) -> dict[str, int]:
    """How many patients and admissions the roster holds."""
    return {
        "patients": session.scalar(select(func.count()).select_from(RosterPatient)) or 0,
        "admissions": session.scalar(select(func.count()).select_from(Admission)) or 0,
    }


# --- Matching ---------------------------------------------------------------------------


def match_thresholds() -> MatchThresholds:
    """The configured thresholds (MATCH_*), or the module's calibrated defaults."""
    config = current_app.config
    default = roster_match.DEFAULT_THRESHOLDS
    likely = config.get("MATCH_LIKELY_THRESHOLD")
    possible = config.get("MATCH_POSSIBLE_THRESHOLD")
    return MatchThresholds(
        likely=float(likely) if likely is not None else default.likely,
        possible=float(possible) if possible is not None else default.possible,
    )


def load_candidates(session: Session, patient_ids: list[int]) -> list[RosterCandidate]:
    """The matcher's view of roster patients, loaded in three set-based queries."""
    if not patient_ids:
        return []
    rows = session.execute(
        select(RosterPatient.id, RosterPatient.mrn, RosterPatient.legal_first_name,
               RosterPatient.legal_last_name, RosterPatient.dob, RosterPatient.ssn_last4)
        .where(RosterPatient.id.in_(patient_ids))
    ).all()
    names: dict[int, list[str]] = {}
    for patient_id, full_name in session.execute(
        select(RosterName.patient_id, RosterName.full_name)
        .where(RosterName.patient_id.in_(patient_ids))
    ):
        names.setdefault(patient_id, []).append(full_name)
    stays: dict[int, list[Stay]] = {}
    for patient_id, admitted, discharged, program in session.execute(
        select(Admission.patient_id, Admission.admitted_on, Admission.discharged_on,
               Admission.program)
        .where(Admission.patient_id.in_(patient_ids)).order_by(Admission.admitted_on)
    ):
        stays.setdefault(patient_id, []).append(Stay(admitted, discharged, program))
    return [
        RosterCandidate(
            patient_id=row.id, mrn=row.mrn, first_name=row.legal_first_name,
            last_name=row.legal_last_name, other_names=tuple(names.get(row.id, ())),
            dob=row.dob, ssn_last4=row.ssn_last4, stays=tuple(stays.get(row.id, ())),
        )
        for row in rows
    ]


def refresh_blocking_keys(session: Session, patients: Iterable[int | RosterPatient]) -> int:
    """Recompute the stored blocking keys of patients added or changed outside an import.

    The import keeps keys in step itself; anything else that writes roster patients (demo
    data, a correction by hand) must call this, or the match finds those patients by their
    date of birth only. ``patients`` are ids or RosterPatient rows. Returns the number of key
    rows stored (one per pair of name initials).
    """
    session.flush()
    patient_ids = [p if isinstance(p, int) else p.id for p in patients]
    table = RosterBlockingKey.__table__
    session.execute(delete(table).where(table.c.patient_id.in_(patient_ids)))
    rows = [
        dict(zip(KEY_COLUMNS, (candidate.patient_id, *keys), strict=True))
        for candidate in load_candidates(session, patient_ids)
        for keys in roster_match.roster_key_rows(candidate.first_name, candidate.last_name,
                                                 candidate.other_names, candidate.dob)
    ]
    if rows:
        session.execute(table.insert(), rows)
    return len(rows)


def candidate_ids(session: Session, keys: Iterable[str]) -> list[int]:
    """Roster patients sharing at least one of these blocking keys, by id (ascending).

    ``dob:`` keys look up the patients' date of birth; the name-and-date keys their column
    of roster_blocking_key (see portal.roster.models).
    """
    by_kind: dict[str, list[str]] = {"dob": [], "nym": [], "nmd": [], "nyd": []}
    for key in keys:
        by_kind[key[:3]].append(key)
    table = RosterBlockingKey
    named = select(table.patient_id).where(or_(
        table.year_month_key.in_(sorted(by_kind["nym"])),
        table.month_day_key.in_(sorted(by_kind["nmd"])),
        table.year_day_key.in_(sorted(by_kind["nyd"])),
    ))
    born = select(RosterPatient.id).where(
        RosterPatient.dob.in_(sorted(date.fromisoformat(key[4:]) for key in by_kind["dob"])))
    return sorted(session.scalars(union(named, born)))


# --- Roster pages -----------------------------------------------------------------------


def search_roster(session: Session, term: str, actor: Actor,
                  limit: int = 50) -> list[RosterPatient]:
    """Roster patients by MRN, or whose legal or other names contain every typed word.

    Audited as roster.searched with the number of results only (never the term).
    """
    term = term.strip()
    by_mrn = list(session.scalars(select(RosterPatient).where(RosterPatient.mrn == term)))
    if by_mrn:
        found = by_mrn
    else:
        words = [w for w in term.casefold().split() if w]
        query = select(RosterPatient)
        for word in words:
            pattern = f"%{word.replace('%', '').replace('_', '')}%"
            other = select(RosterName.patient_id).where(func.lower(RosterName.full_name)
                                                         .like(pattern))
            query = query.where(
                func.lower(RosterPatient.legal_first_name).like(pattern)
                | func.lower(RosterPatient.legal_last_name).like(pattern)
                | RosterPatient.id.in_(other)
            )
        found = list(session.scalars(
            query.order_by(RosterPatient.legal_last_name, RosterPatient.legal_first_name,
                           RosterPatient.id).limit(limit)))
    append_event(session, "roster.searched", actor=actor, object_type="roster",
                 summary={"results": len(found), "by_mrn": bool(by_mrn)})
    return found
