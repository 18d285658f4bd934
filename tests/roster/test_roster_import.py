"""Roster CSV import: every row checked, problems by line, nothing half-imported (issue 2)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sql_text

from portal.core.actor import SYSTEM
from portal.core.db import utcnow
from portal.roster.models import Admission, RosterBlockingKey, RosterName, RosterPatient
from portal.roster.operations import import_roster
from portal.roster.parsing import COLUMNS, RosterFileRefused, parse_roster
from portal.trail.models import AuditEvent
from tests.factories import roster_keys

HEADER = ",".join(COLUMNS)
AVERY_1 = ("M-0001,Avery,Quill,Avery Stone;Ave Q,1980-04-12,1234,2016-03-01,2016-04-02,"
           "residential,Box 12,yes")
AVERY_2 = ("M-0001,Avery,Quill,Avery Stone;Ave Q,1980-04-12,1234,2017-06-01,2017-06-09,"
           "detox,Box 12,yes")
BLAKE = "M-0002,Blake,Núñez,,1975-12-01,,2015-01-10,,outpatient,,partial"


def csv_bytes(*rows: str, header: str = HEADER) -> io.BytesIO:
    return io.BytesIO(("\n".join((header, *rows)) + "\n").encode("utf-8"))


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_import_creates_patients_with_every_admission_and_other_name(db):
    result = import_roster(db, csv_bytes(AVERY_1, AVERY_2, BLAKE), actor=SYSTEM)
    assert result.imported and (result.created, result.updated, result.admissions) == (2, 0, 3)
    avery = db.scalar(select(RosterPatient).where(RosterPatient.mrn == "M-0001"))
    assert [a.program for a in avery.admissions] == ["residential", "detox"]
    assert sorted(n.full_name for n in avery.other_names) == ["Ave Q", "Avery Stone"]
    assert avery.chart_survived == "yes" and avery.ssn_last4 == "1234"
    blake = db.scalar(select(RosterPatient).where(RosterPatient.mrn == "M-0002"))
    assert blake.legal_last_name == "Núñez" and blake.admissions[0].discharged_on is None


def test_import_stores_the_blocking_keys_of_the_roster_match_module(db):
    import_roster(db, csv_bytes(AVERY_1, AVERY_2), actor=SYSTEM)
    avery = db.scalar(select(RosterPatient).where(RosterPatient.mrn == "M-0001"))
    rows = db.execute(select(RosterBlockingKey.year_month_key, RosterBlockingKey.month_day_key,
                             RosterBlockingKey.year_day_key)
                      .where(RosterBlockingKey.patient_id == avery.id)).all()
    # The date-of-birth key is the patient's dob column itself.
    stored = {key for row in rows for key in row} | {f"dob:{avery.dob.isoformat()}"}
    assert stored == roster_keys(avery.legal_first_name, avery.legal_last_name,
                                 tuple(n.full_name for n in avery.other_names), avery.dob)
    assert len(stored) == 3 * len(rows) + 1  # each row holds three keys of its own


def test_every_problem_is_listed_with_its_line_and_nothing_is_imported(db):
    rows = (
        AVERY_1,
        "M-0003,Casey,,,1980-02-30,12a4,2016-01-01,2015-12-01,residential,,maybe",
        "M-0004,Drew,Ames,,1990-01-01,,2016-01-01,,,,",
        AVERY_1.replace("1980-04-12", "1980-04-13").replace("2016-03-01,2016-04-02", "2016-05-01,"),
    )
    result = import_roster(db, csv_bytes(*rows), actor=SYSTEM)
    assert not result.imported
    by_line = {}
    for line, text in result.errors:
        by_line.setdefault(line, []).append(text)
    assert "legal_last_name is empty" in by_line[3]
    assert any("1980-02-30" in t and "not a real date" in t for t in by_line[3])
    assert any("ssn_last4" in t for t in by_line[3])
    assert any("chart_survived" in t for t in by_line[3])
    assert by_line[4] == ["program is empty on a row with an admission"]
    assert any("line 2" in t and "date of birth" in t for t in by_line[5])
    assert 2 not in by_line
    assert count(db, RosterPatient) == 0 and count(db, Admission) == 0


def test_discharge_before_admission_is_refused(db):
    row = "M-0009,Eli,Fox,,1970-01-01,,2016-05-01,2016-04-01,detox,,"
    result = import_roster(db, csv_bytes(row), actor=SYSTEM)
    assert result.errors == [(2, "discharged_on is before admitted_on")]


def test_the_same_admission_twice_is_refused(db):
    result = import_roster(db, csv_bytes(AVERY_1, AVERY_1), actor=SYSTEM)
    assert not result.imported
    assert result.errors == [(3, "MRN M-0001 has the admission of 2016-03-01 twice (also line 2)")]


def test_skip_invalid_imports_the_valid_rows_and_skips_disagreeing_patients(db):
    disagreeing = AVERY_2.replace("Quill", "Quil")
    bad = "M-0005,Finn,,,1980-01-01,,,,,,"
    result = import_roster(db, csv_bytes(AVERY_1, disagreeing, BLAKE, bad), actor=SYSTEM,
                           skip_invalid=True)
    assert result.imported and result.created == 1 and result.skipped_rows == 2
    assert [p.mrn for p in db.scalars(select(RosterPatient))] == ["M-0002"]


def test_a_file_missing_columns_is_refused_whole(db):
    header = HEADER.replace(",chart_survived", "").replace("dob,", "")
    result = import_roster(db, csv_bytes("x", header=header), actor=SYSTEM)
    assert not result.imported
    assert "dob, chart_survived" in result.errors[0][1]


def test_a_file_that_is_not_utf8_is_refused_with_the_line(db):
    data = (HEADER + "\n" + BLAKE + "\n").encode("latin-1")
    try:
        parse_roster(io.BytesIO(data))
    except RosterFileRefused as exc:
        assert exc.problems[0].startswith("Line 2: the file is not UTF-8")
    else:
        raise AssertionError("a Latin-1 file was accepted")


def test_a_utf16_file_is_refused(db):
    data = (HEADER + "\n" + AVERY_1 + "\n").encode("utf-16")
    result = import_roster(db, io.BytesIO(data), actor=SYSTEM)
    assert not result.imported and "not UTF-8" in result.errors[0][1]


def test_a_byte_order_mark_and_reordered_columns_are_accepted(db):
    columns = list(reversed(COLUMNS))
    values = dict(zip(COLUMNS, BLAKE.split(","), strict=True))
    row = ",".join(values[c] for c in columns)
    data = ("\ufeff" + ",".join(columns) + "\r\n" + row + "\r\n").encode("utf-8")
    result = import_roster(db, io.BytesIO(data), actor=SYSTEM)
    assert result.imported and result.created == 1


def test_reimport_updates_by_mrn_and_replaces_admissions(db):
    import_roster(db, csv_bytes(AVERY_1, AVERY_2, BLAKE), actor=SYSTEM)
    avery_id = db.scalar(select(RosterPatient.id).where(RosterPatient.mrn == "M-0001"))
    moved = AVERY_1.replace("Box 12", "Offsite box 7").replace("Avery Stone;Ave Q", "")
    result = import_roster(db, csv_bytes(moved), actor=SYSTEM)
    assert (result.created, result.updated) == (0, 1)
    db.expire_all()
    avery = db.get(RosterPatient, avery_id)
    assert avery.chart_location == "Offsite box 7"
    assert [a.admitted_on for a in avery.admissions] == [date(2016, 3, 1)]
    assert avery.other_names == []
    assert count(db, RosterPatient) == 2 and count(db, RosterName) == 0


def test_import_writes_one_audit_event_with_counts_only(db):
    import_roster(db, csv_bytes(AVERY_1, BLAKE), actor=SYSTEM)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "roster.imported"))
    assert event.summary["created"] == 2 and event.summary["admissions"] == 2
    assert "M-0001" not in str(event.summary) and "Quill" not in str(event.summary)


def test_cli_imports_and_reports(app, runner, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(AVERY_1, AVERY_2, BLAKE).getvalue())
    result = runner.invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "Imported 2 new and updated 0 existing patient(s) with 3 admission(s)" in result.output
    with app.app_context():
        from portal.core.db import get_session

        assert count(get_session(), RosterPatient) == 2


def test_cli_lists_problems_and_imports_nothing_without_skip_invalid(app, runner, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(AVERY_1, "M-0005,Finn,,,1980-01-01,,,,,,").getvalue())
    result = runner.invoke(args=["roster", "import", str(path)])
    assert result.exit_code == 1
    assert "Line 3: legal_last_name is empty" in result.output
    assert "Nothing was imported" in result.output
    with app.app_context():
        from portal.core.db import get_session

        assert count(get_session(), RosterPatient) == 0


def test_cli_skip_invalid_imports_the_rest(app, runner, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes(AVERY_1, "M-0005,Finn,,,1980-01-01,,,,,,").getvalue())
    result = runner.invoke(args=["roster", "import", str(path), "--skip-invalid"])
    assert result.exit_code == 0, result.output
    assert "skipped 1 invalid row(s)" in result.output


def test_imported_patients_carry_the_import_time_in_utc(db):
    if db.get_bind().dialect.name == "postgresql":
        # Bulk rows go in as text: a session in another zone must not shift the stored time.
        db.execute(sql_text("SET LOCAL TIME ZONE 'America/Los_Angeles'"))
    before = utcnow()
    import_roster(db, csv_bytes(BLAKE), actor=SYSTEM)
    patient = db.scalar(select(RosterPatient))
    assert before <= patient.created_at == patient.updated_at <= utcnow()


def test_checking_progress_reaches_the_whole_file_size():
    data = csv_bytes(AVERY_1, AVERY_2, BLAKE)
    reported: list[int] = []
    parse_roster(data, on_bytes=reported.append)
    assert sum(reported) == len(data.getvalue())


def test_reading_in_blocks_finds_the_same_rows_lines_and_problems(monkeypatch):
    quoted = 'M-0007,"Dana",Vo,"Dana\nVo",1988-08-08,,2019-02-01,,detox,"Box 9,\r\nshelf C",no'
    rows = [AVERY_1, AVERY_2, BLAKE, quoted, "M-0008,Finn,,,1980-13-01,,,,,,", "",
            "M-0009," + "x" * 300 + ",Long,,1970-01-01,,,,,,", BLAKE.replace("M-0002", "M-0010")]
    data = ("\ufeff" + HEADER + "\r\n" + "\r\n".join(rows) + "\r\n").encode("utf-8")

    def parsed_with(block_bytes: int):
        monkeypatch.setattr("portal.roster.parsing.BLOCK_BYTES", block_bytes)
        reported: list[int] = []
        result = parse_roster(io.BytesIO(data), on_bytes=reported.append)
        assert sum(reported) == len(data)
        return result

    whole = parsed_with(1 << 20)
    assert whole.rows == 7 and len(whole.patients) == 4
    assert whole.patients["M-0007"].chart_location == "Box 9,\r\nshelf C"
    for size in (1, 7, 64, 200):
        small = parsed_with(size)
        assert (small.errors, small.rows, small.sha256) == (whole.errors, whole.rows,
                                                            whole.sha256)
        assert small.patients == whole.patients


def test_a_bad_byte_or_nul_far_into_the_file_is_refused_with_its_line(monkeypatch):
    monkeypatch.setattr("portal.roster.parsing.BLOCK_BYTES", 100)
    good = [BLAKE.replace("M-0002", f"M-{n:04d}") for n in range(100, 140)]
    for bad, problem in ((b"M-0200,Ren\xe9,Ortiz", "not UTF-8 text (byte 11 of the line"),
                         (b"M-0200,Ren\x00,Ortiz", "contains NUL characters")):
        data = ("\n".join((HEADER, *good)) + "\n").encode() + bad + b",,1970-01-01,,,,,,\n"
        with pytest.raises(RosterFileRefused) as refused:
            parse_roster(io.BytesIO(data + (BLAKE + "\n").encode()))
        assert refused.value.problems[0].startswith(f"Line {len(good) + 2}: ")
        assert problem in refused.value.problems[0]
