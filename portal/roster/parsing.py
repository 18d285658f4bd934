"""Reading and checking a roster CSV: every problem with its line number, nothing written.

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
"""

from __future__ import annotations

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
from typing import BinaryIO

from portal.rules.deadlines import pacific_date

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
MAX_ERRORS_KEPT = 1000
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
