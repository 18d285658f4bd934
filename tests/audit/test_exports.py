"""Exports prove their integrity (R-SEC-3): one snapshot, one head, a signed manifest.

Verification must fail, with the right reason, on a changed byte, a deleted row, two rows
swapped, a manifest of another export, a wrong key and a cut-off file; the untouched export
verifies with the stand-alone recipe in a process that cannot import the portal.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Text, cast, func, select

from portal.audit import exports
from portal.audit.exports import csv_line
from portal.audit.models import ExportRecord
from portal.audit.verify import verify_export
from portal.core.actor import Actor
from portal.core.db import commit
from portal.trail.chain import append_event, format_timestamp
from portal.trail.models import AuditEvent
from portal.trail.signing import public_key_pem
from tests.audit.helpers import add_events, export, public_pem, raw_sql, sign_in_auditor
from tests.factories import make_request, make_staff

STANDALONE = Path(__file__).with_name("standalone_verify.py")
FORMATS = ("csv", "jsonl")


@pytest.fixture
def trail(db, auditor):
    add_events(db, 12)
    return "/audit/trail/export"


def _verify(app, body: bytes, manifest: dict):
    return verify_export(io.BytesIO(body), manifest, public_pem(app))


def _lines(body: bytes, file_format: str) -> tuple[list[bytes], list[bytes]]:
    """(header lines, data lines) of an export."""
    lines = body.splitlines(keepends=True)
    return (lines[:1], lines[1:]) if file_format == "csv" else ([], lines)


@pytest.mark.parametrize("file_format", FORMATS)
def test_an_untouched_audit_export_verifies(app, client, trail, file_format):
    body, manifest, _ = export(client, f"{trail}.{file_format}")
    result = _verify(app, body, manifest)
    assert result.ok, result.message
    assert manifest["rows"] == 12
    assert manifest["chain_head"]["id"] == 12


@pytest.mark.parametrize("file_format", FORMATS)
def test_an_untouched_request_log_export_verifies(app, client, db, auditor, file_format):
    for _ in range(3):
        make_request(db)
    commit()
    body, manifest, _ = export(client, f"/audit/requests/export.{file_format}")
    assert manifest["rows"] == 3
    assert _verify(app, body, manifest).ok


@pytest.mark.parametrize("file_format", FORMATS)
def test_changing_one_byte_fails_as_altered(app, client, trail, file_format):
    body, manifest, _ = export(client, f"{trail}.{file_format}")
    position = body.index(b"request.viewed", len(body) // 2)
    changed = body[:position] + b"R" + body[position + 1:]
    result = _verify(app, changed, manifest)
    assert (result.ok, result.reason) == (False, "altered")


def test_a_changed_value_in_json_lines_names_the_event(app, client, trail):
    body, manifest, _ = export(client, f"{trail}.jsonl")
    lines = body.splitlines(keepends=True)
    event = json.loads(lines[6])
    event["object_id"] = 8
    lines[6] = json.dumps(event).encode() + b"\n"
    result = _verify(app, b"".join(lines), manifest)
    assert result.reason == "altered"
    assert "event 7 does not match its hash" in result.message


@pytest.mark.parametrize("file_format", FORMATS)
def test_deleting_one_row_fails_as_missing_rows(app, client, trail, file_format):
    body, manifest, _ = export(client, f"{trail}.{file_format}")
    header, rows = _lines(body, file_format)
    result = _verify(app, b"".join(header + rows[:5] + rows[6:]), manifest)
    assert (result.ok, result.reason) == (False, "missing_rows")


@pytest.mark.parametrize("file_format", FORMATS)
def test_reordering_two_rows_fails_as_reordered(app, client, trail, file_format):
    body, manifest, _ = export(client, f"{trail}.{file_format}")
    header, rows = _lines(body, file_format)
    rows[4], rows[5] = rows[5], rows[4]
    result = _verify(app, b"".join(header + rows), manifest)
    assert (result.ok, result.reason) == (False, "reordered")


@pytest.mark.parametrize("file_format", FORMATS)
def test_the_manifest_of_another_export_fails_as_different_export(app, client, db, trail,
                                                                  file_format):
    body, _, _ = export(client, f"{trail}.{file_format}", action="request.viewed")
    add_events(db, 3, action="document.downloaded")
    _, other_manifest, _ = export(client, f"{trail}.{file_format}",
                                  action="document.downloaded")
    result = _verify(app, body, other_manifest)
    assert (result.ok, result.reason) == (False, "different_export")


@pytest.mark.parametrize("file_format", FORMATS)
def test_a_truncated_file_fails_as_truncated(app, client, trail, file_format):
    body, manifest, _ = export(client, f"{trail}.{file_format}")
    result = _verify(app, body[: len(body) * 2 // 3], manifest)
    assert (result.ok, result.reason) == (False, "truncated")


def test_a_wrong_public_key_fails_on_the_signature(app, client, trail):
    body, manifest, _ = export(client, f"{trail}.jsonl")
    stranger = public_key_pem(Ed25519PrivateKey.generate())
    result = verify_export(io.BytesIO(body), manifest, stranger)
    assert (result.ok, result.reason) == (False, "signature")


def test_an_edited_manifest_fails_on_the_signature(app, client, trail):
    body, manifest, _ = export(client, f"{trail}.csv")
    manifest["rows"] = 11
    assert _verify(app, body, manifest).reason == "signature"


def _standalone(tmp_path: Path, body: bytes, manifest: dict, key_pem: str):
    export_file, manifest_file, key_file = (tmp_path / "export", tmp_path / "manifest.json",
                                            tmp_path / "key.pem")
    export_file.write_bytes(body)
    manifest_file.write_text(json.dumps(manifest))
    key_file.write_text(key_pem)
    # Isolated mode, run from an empty directory, with `portal` made unimportable.
    runner = ("import runpy, sys; sys.modules['portal'] = None; "
              f"sys.argv = ['verify', {str(export_file)!r}, {str(manifest_file)!r}, "
              f"{str(key_file)!r}]; runpy.run_path({str(STANDALONE)!r}, run_name='__main__')")
    return subprocess.run([sys.executable, "-I", "-c", runner], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("file_format", FORMATS)
def test_the_standalone_recipe_verifies_an_untouched_export_without_the_portal(
        app, client, trail, tmp_path, file_format):
    body, manifest, _ = export(client, f"{trail}.{file_format}")
    result = _standalone(tmp_path, body, manifest, public_pem(app))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK: 12 rows")
    if file_format == "jsonl":
        assert "chain recomputed over 12 events" in result.stdout


def test_the_standalone_recipe_fails_on_a_changed_file(app, client, trail, tmp_path):
    body, manifest, _ = export(client, f"{trail}.jsonl")
    result = _standalone(tmp_path, body.replace(b"request.viewed", b"request.viewer", 1),
                         manifest, public_pem(app))
    assert result.returncode == 1
    assert "FAILED" in result.stderr


def test_a_json_lines_export_of_an_edited_trail_shows_an_outsider_the_edited_event(
        app, client, db, trail, tmp_path):
    raw_sql(db, "UPDATE audit_event SET summary = '{\"n\": 99}' WHERE id = 3")
    body, manifest, _ = export(client, f"{trail}.jsonl")
    assert _verify(app, body, manifest).ok  # a faithful copy of what the database holds...
    result = _standalone(tmp_path, body, manifest, public_pem(app))
    assert result.returncode == 1  # ...in which the recomputed chain breaks at event 3
    assert "event 3 does not match its hash" in result.stderr


def test_events_appended_after_the_export_began_are_left_out(app, client, db, trail):
    response = client.get(f"{trail}.jsonl")
    add_events(db, 4, action="queue.viewed")  # committed while the download waits
    body = response.get_data()
    manifest = client.get(f"/audit/exports/{response.headers['X-Export-Id']}/manifest").json
    ids = [json.loads(line)["id"] for line in body.splitlines()]
    assert ids == list(range(1, 13))
    assert manifest["chain_head"]["id"] == 12
    assert b"queue.viewed" not in body


def test_a_request_log_export_reads_one_snapshot(app, client, db, auditor):
    make_request(db)
    commit()
    response = client.get("/audit/requests/export.csv", buffered=False)
    chunks = iter(response.response)
    header = next(chunks)  # the snapshot is open from here on
    late = make_request(db)
    commit()
    body = header + b"".join(chunks)
    assert late.reference.encode() not in body
    assert len(body.splitlines()) == 2


def test_the_export_is_on_the_audit_trail_before_its_first_byte(app, client, db, trail):
    response = client.get(f"{trail}.csv")
    db.expunge_all()
    started = db.scalar(select(AuditEvent).where(AuditEvent.action == "audit.exported"))
    assert started is not None and started.summary["export"] == "audit"
    db.rollback()  # end this read: on SQLite the manifest is stored by the only writer
    response.get_data()
    db.expunge_all()
    completed = db.scalar(select(AuditEvent).where(AuditEvent.action == "audit.export_completed"))
    record = db.scalar(select(ExportRecord))
    assert completed.summary["sha256"] == record.sha256


def test_the_manifest_is_offered_only_once_the_file_is_complete(client, trail):
    response = client.get(f"{trail}.jsonl")
    manifest_url = f"/audit/exports/{response.headers['X-Export-Id']}/manifest"
    assert client.get(manifest_url).status_code == 404
    response.get_data()
    assert client.get(manifest_url).status_code == 200


def test_the_download_streams_instead_of_building_the_file_first(client, trail):
    response = client.get(f"{trail}.csv", buffered=False)
    assert response.is_streamed
    assert "Content-Length" not in response.headers
    assert response.headers["Content-Disposition"].startswith("attachment;")


def _stored_rows(db):
    return db.execute(
        select(AuditEvent.id, AuditEvent.occurred_at, AuditEvent.actor_type,
               AuditEvent.actor_id, AuditEvent.action, AuditEvent.object_type,
               AuditEvent.object_id, AuditEvent.request_id, AuditEvent.client_ip,
               AuditEvent.prev_hash, AuditEvent.hash, cast(AuditEvent.summary, Text))
        .order_by(AuditEvent.id)
    ).all()


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised(app, client, db, auditor):
    risky = Actor(kind="staff", id=7, client_ip="=HYPERLINK(\"http://x\")")
    append_event(db, "request.viewed", actor=risky, object_type="@SUM(1)", summary={"a": 1})
    append_event(db, "-2+3", actor=Actor(kind="system", client_ip="+1"), summary={})
    add_events(db, 3)
    body, _, _ = export(client, "/audit/trail/export.csv")
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[1][8] == "'=HYPERLINK(\"http://x\")"
    assert rows[1][5] == "'@SUM(1)"
    assert rows[2][4] == "'-2+3" and rows[2][8] == "'+1"
    assert rows[3][4] == "request.viewed"


@pytest.mark.parametrize("batch", [3, 5000])
def test_csv_export_applies_the_documented_rule_to_every_stored_value(
        app, client, db, auditor, monkeypatch, batch):
    # Small batches mix clean batches (SQLite's fast path) with ones that need care.
    monkeypatch.setattr("portal.audit.exports.SQLITE_BATCH", batch)
    add_events(db, 4)
    tricky = ["plain", "with, comma", 'with "quotes"', "line\nbreak", "'apostrophe", "\ttab",
              "", "café ☕"]
    for n, value in enumerate(tricky):
        append_event(db, "request.viewed", actor=Actor(kind="staff", id=n, client_ip=value),
                     object_type=value or None, object_id=-n, summary={"note": value})
    add_events(db, 5)
    body, manifest, _ = export(client, "/audit/trail/export.csv")
    db.expunge_all()
    stored = [r for r in _stored_rows(db) if r[0] <= manifest["chain_head"]["id"]]
    expected = "".join(
        csv_line((r[0], format_timestamp(r[1]), *r[2:]), quote_last=True) for r in stored)
    assert body.decode().split("\n", 1)[1] == expected


def test_a_tampered_cell_gets_the_csv_rule_whatever_batch_it_falls_in(
        app, client, db, auditor, monkeypatch):
    # Values the portal never writes but an edited database can hold, one per event. Exported
    # one event per batch or chunk (each judged alone) and all in one, the bytes must agree,
    # and exactly the edited events take the careful path.
    add_events(db, 13)
    ids = db.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
    edits = [("hash", 'a,"b'), ("prev_hash", "-1"), ("action", "x\ry"), ("client_ip", "@1"),
             ("actor_type", "=1"), ("object_type", "+x"), ("summary", '"=cmd"'),
             ("client_ip", "tab\tinside"), ("summary", "-1"), ("summary", '{\n"n": 1}')]
    for event_id, (name, value) in zip(ids[1:], edits, strict=False):
        raw_sql(db, f"UPDATE audit_event SET {name} = :value WHERE id = :id",  # noqa: S608
                value=value, id=event_id)
    sqlite = db.get_bind().dialect.name == "sqlite"
    if sqlite:  # only SQLite can store a timestamp that begins with a dash (and has two)
        raw_sql(db, "UPDATE audit_event SET occurred_at = '-2026-0101 00:00:00.000000' "
                    "WHERE id = :id", id=ids[11])
    careful = []
    sqlite_careful, pg_careful = exports._sqlite_csv_careful, exports._pg_csv_careful

    def sqlite_spy(conn, plan, after, last):
        careful.append(last)
        return sqlite_careful(conn, plan, after, last)

    def pg_spy(chunk):
        careful.append(int(chunk.split(b",", 1)[0]))
        return pg_careful(chunk)

    monkeypatch.setattr(exports, "_sqlite_csv_careful", sqlite_spy)
    monkeypatch.setattr(exports, "_pg_csv_careful", pg_spy)
    bodies = []
    for batch, chunk_bytes in ((1, 1), (5000, exports.CHUNK_BYTES)):
        monkeypatch.setattr(exports, "SQLITE_BATCH", batch)
        monkeypatch.setattr(exports, "CHUNK_BYTES", chunk_bytes)
        careful.clear()
        body, _, _ = export(client, "/audit/trail/export.csv")
        bodies.append(body)
        if batch == 1:  # PostgreSQL's own quoting suits a summary starting with a quote
            assert careful == (ids[1:12] if sqlite else ids[1:7] + ids[8:11])
    assert bodies[1].startswith(bodies[0])  # the first export ends with the edited events
    rows = list(csv.reader(io.StringIO(bodies[0].decode(), newline="")))
    assert len(rows) == len(ids) + 1 and all(len(row) == 12 for row in rows)
    column = {name: n for n, name in enumerate(rows[0])}
    for event_id, (name, value) in zip(ids[1:], edits, strict=False):
        expected = "'" + value if value[0] in "=+-@'\t\r" else value
        assert rows[ids.index(event_id) + 1][column[name]] == expected
    if sqlite:
        assert rows[12][column["occurred_at"]] == "'-2026-0101T00:00:00.000000+00:00"
    assert rows[13][0] == str(ids[12]) and rows[13][2] == "system"  # untouched


def test_a_risky_summary_among_ordinary_events_is_neutralised(client, db, auditor):
    # The other events of its batch (or chunk) are clean; the edited summary still needs care.
    add_events(db, 3)
    ids = db.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
    raw_sql(db, "UPDATE audit_event SET summary = '-1' WHERE id = :id", id=ids[1])
    body, _, _ = export(client, "/audit/trail/export.csv")
    rows = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert [row[11] for row in rows[1:4]] == ['{"n": 0}', "'-1", '{"n": 2}']
    assert b"\"'-1\"\n" in body


def test_the_postgresql_copy_reader_ends_cleanly_on_every_path(app, db):
    # Rows already received are taken without psycopg's reader, the rest through it; either
    # way the COPY ends with the connection usable, and a server error mid-COPY is raised.
    engine = app.extensions["db_engine"]
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's COPY reader")
    add_events(db, 40)
    ids = db.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()

    class PsycopgReadsEveryRow:
        def __init__(self, pgconn):
            self.pgconn = pgconn

        def get_copy_data(self, _async):
            return 0, b""  # "nothing received yet": every row goes through copy.read()

        def __getattr__(self, name):
            return getattr(self.pgconn, name)

    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        for reader in (driver.pgconn, PsycopgReadsEveryRow(driver.pgconn)):
            for query, failing in (("SELECT id", False), (f"SELECT 1 / (id - {ids[-1]})", True)):
                sql = f"COPY ({query} FROM audit_event ORDER BY id) TO STDOUT"
                try:
                    with driver.cursor().copy(sql) as copy:
                        out = exports._CopyOut(copy, reader)
                        chunks = list(out)
                        data = b"".join(chunk for chunk, _rows in chunks)
                        rows = sum(rows for _chunk, rows in chunks)
                except psycopg.errors.DivisionByZero:
                    assert failing
                    conn.rollback()
                else:
                    assert not failing and data == "".join(f"{i}\n" for i in ids).encode()
                    assert (rows, out.first, out.last) == (
                        len(ids), f"{ids[0]}\n".encode(), f"{ids[-1]}\n".encode())
                assert conn.exec_driver_sql("SELECT 1").scalar() == 1


def test_the_default_request_log_export_holds_no_names_birth_dates_or_addresses(
        app, client, db, auditor):
    make_request(db, patient_first_name="Zebulon", patient_last_name="Quartermaine",
                 address_line1="42 Wallaby Way", contact_email="zq@example.test")
    commit()
    for file_format in FORMATS:
        body, manifest, _ = export(client, f"/audit/requests/export.{file_format}")
        for secret in (b"Zebulon", b"Quartermaine", b"1980-04-12", b"Wallaby", b"zq@example"):
            assert secret not in body
        assert "patient_last_name" not in manifest["columns"]


def test_the_identified_export_needs_its_own_permission(client, db, auditor):
    response = client.get("/audit/requests/export-identified.csv")
    assert response.status_code == 403


def test_the_identified_export_asks_for_the_password_again(app, client, db, auth):
    from portal.accounts.models import AuthSession

    officer = sign_in_auditor(db, auth, role="compliance")
    session_row = db.scalar(select(AuthSession).where(AuthSession.staff_id == officer.id))
    session_row.created_at = datetime.now(UTC) - timedelta(minutes=30)
    session_row.last_seen_at = datetime.now(UTC)
    commit()
    response = client.get("/audit/requests/export-identified.csv")
    assert response.status_code == 302
    assert "/staff/reauthenticate" in response.headers["Location"]
    posted = client.post("/audit/requests/export-identified.csv", data=PURPOSE)
    assert posted.status_code == 302 and "/staff/reauthenticate" in posted.headers["Location"]


PURPOSE = {"purpose": "regulator", "purpose_detail": "The state survey asked on 12/1."}


def test_the_identified_export_holds_names_and_is_recorded_as_identified(app, client, db, auth):
    officer = sign_in_auditor(db, auth, role="compliance")
    make_request(db, patient_first_name="Zebulon", patient_last_name="Quartermaine")
    commit()
    body, manifest, _ = export(client, "/audit/requests/export-identified.csv", form=PURPOSE)
    assert b"Quartermaine" in body
    assert manifest["export"] == "requests_identified"
    assert _verify(app, body, manifest).ok
    db.expunge_all()
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "audit.exported"))
    assert event.summary["export"] == "requests_identified"
    assert event.summary["purpose"] == "regulator" and "survey" not in str(event.summary)
    # R-AUD-4: an auditor sees who exported what and why.
    listing = client.get("/audit/exports").get_data(as_text=True)
    identified = listing.split('id="identified"', 1)[1]
    assert officer.display_name in identified
    assert "A regulator or accreditor asked for it" in identified
    assert "The state survey asked on 12/1." in identified


def test_the_identified_export_asks_its_purpose_first_and_keeps_the_filter(client, db, auth):
    sign_in_auditor(db, auth, role="compliance")
    make_request(db, patient_first_name="Zebulon", patient_last_name="Quartermaine")
    commit()
    page = client.get("/audit/requests/export-identified.csv?kind=copies")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Why you are exporting names and addresses" in html
    assert "Quartermaine" not in html
    assert 'action="/audit/requests/export-identified.csv?kind=copies"' in html
    refused = client.post("/audit/requests/export-identified.csv?kind=copies",
                          data={"purpose": "legal", "purpose_detail": ""})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Write a sentence about what the export is for." in text
    assert '<option selected value="legal">' in text
    assert db.scalar(select(func.count()).select_from(ExportRecord)) == 0


def test_a_clerk_cannot_export_anything(client, db, auth):
    clerk = make_staff(db, "clerk")
    commit()
    auth.staff(clerk.id)
    for url in ("/audit/trail/export.csv", "/audit/requests/export.jsonl"):
        assert client.get(url).status_code == 403


def test_a_bad_filter_starts_no_export(client, db, auditor):
    response = client.get("/audit/trail/export.csv",
                          query_string={"date_from": "2026-05-01", "date_to": "2026-04-01"})
    assert response.status_code == 400
    assert "The end date is before the start date" in response.get_data(as_text=True)
    assert db.scalar(select(ExportRecord)) is None
