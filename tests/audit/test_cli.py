"""CLI twins for scheduled jobs: export with a signed manifest beside the file, and check it."""

from __future__ import annotations

import json

from sqlalchemy import select

from portal.audit.models import ExportRecord
from portal.core.db import commit
from portal.trail.models import AuditEvent
from portal.trail.signing import key_fingerprint, load_private_key, public_key_pem
from tests.audit.helpers import add_events
from tests.factories import make_request


def test_export_audit_writes_the_file_and_a_signed_manifest_that_verifies(runner, db, tmp_path):
    add_events(db, 7)
    out = tmp_path / "trail.jsonl"
    result = runner.invoke(args=["export", "audit", "--format", "jsonl", "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "trail.jsonl.manifest.json").read_text())
    assert manifest["rows"] == 7 and manifest["file_name"] == "trail.jsonl"
    assert manifest["exported_by"] == {"type": "system"}
    checked = runner.invoke(args=["audit", "verify-export", str(out),
                                  str(tmp_path / "trail.jsonl.manifest.json")])
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith("OK:")


def test_export_requests_with_a_date_range(runner, db, tmp_path):
    make_request(db)
    commit()
    out = tmp_path / "requests.csv"
    result = runner.invoke(args=["export", "requests", "--from", "2026-01-01", "--to",
                                 "2026-12-31", "--format", "csv", "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads(out.with_name("requests.csv.manifest.json").read_text())
    assert manifest["filter"] == {"received_from": "2026-01-01", "received_to": "2026-12-31"}
    assert manifest["rows"] == len(out.read_text().splitlines()) - 1


def test_a_cli_export_is_on_the_audit_trail_with_its_digest(runner, db, tmp_path):
    add_events(db, 2)
    runner.invoke(args=["export", "audit", "--out", str(tmp_path / "t.csv")])
    db.expunge_all()
    actions = db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["audit.exported", "audit.export_completed"]
    assert db.scalar(select(ExportRecord)).sha256 is not None


def test_a_bad_date_range_says_why_and_writes_nothing(runner, db, tmp_path):
    out = tmp_path / "x.csv"
    result = runner.invoke(args=["export", "requests", "--from", "2026-05-01", "--to",
                                 "2026-04-01", "--out", str(out)])
    assert result.exit_code == 2
    assert "The end date is before the start date" in result.output
    assert not out.exists()


def test_an_unknown_status_says_which_are_allowed(runner, tmp_path):
    result = runner.invoke(args=["export", "requests", "--status", "lost",
                                 "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert "Unknown status “lost”" in result.output


def test_verify_export_fails_with_the_reason_on_a_changed_file(runner, db, tmp_path):
    add_events(db, 5)
    out = tmp_path / "t.csv"
    runner.invoke(args=["export", "audit", "--out", str(out)])
    out.write_bytes(out.read_bytes().replace(b"request.viewed", b"request.Viewed", 1))
    result = runner.invoke(args=["audit", "verify-export", str(out), f"{out}.manifest.json"])
    assert result.exit_code == 1
    assert "FAILED (altered)" in result.output


def test_public_key_prints_the_key_shown_to_auditors(app, runner):
    key = load_private_key(app.config["KEY_DIR"])
    result = runner.invoke(args=["audit", "public-key"])
    assert public_key_pem(key) in result.output
    assert key_fingerprint(key) in result.output
