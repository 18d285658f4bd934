"""`backup` and `restore`: the database, the files and a signed manifest, restorable into an
empty instance that then passes `audit verify` and `fsck` (issue 13, R-SEC-5)."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from tests.conftest import make_test_config

PG_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")


@pytest.fixture
def data(app):
    """A request with a stored document and its audit events, committed."""
    from portal.core.actor import SYSTEM
    from portal.core.db import commit, get_session
    from portal.storage.operations import save_document
    from tests.factories import make_request

    with app.test_request_context():
        session = get_session()
        req = make_request(session, patient_first_name="Marisol", patient_last_name="Ybarra")
        doc = save_document(session, io.BytesIO(b"%PDF-1.4 Marisol Ybarra chart " * 200),
                            kind="record", filename="chart.pdf", media_type="application/pdf",
                            actor=SYSTEM, request_id=req.id)
        commit()
        return {"request": req.reference, "document": doc.id}


@pytest.fixture
def empty_instance(tmp_path, app):
    """A second instance with the same keys and an empty database and file store."""
    from portal import create_app

    root = tmp_path / "restored"
    shutil.copytree(app.config["KEY_DIR"], root / "keys")
    if PG_URL:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS portal_restore_check WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE portal_restore_check"))
        url = PG_URL.rsplit("/", 1)[0] + "/portal_restore_check"
    else:
        url = f"sqlite:///{root / 'restored.sqlite3'}"
    restored = create_app(make_test_config(url, root))
    yield restored
    restored.extensions["db_engine"].dispose()
    if PG_URL:
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS portal_restore_check WITH (FORCE)"))
        admin.dispose()


def _every_byte(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file())


def test_a_backup_restores_into_an_empty_instance_that_verifies(app, runner, data, tmp_path,
                                                                empty_instance):
    from portal.requests.models import RecordRequest
    from portal.storage.models import StoredDocument
    from portal.storage.operations import open_document

    target = tmp_path / "backup"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "Files: 1 copied as stored (encrypted)." in result.output
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["document_type"] == "portal-backup-manifest"
    # Never in the clear: the name is in the database and in the file, not in the backup.
    assert b"Marisol" not in _every_byte(target) and b"Ybarra" not in _every_byte(target)

    result = empty_instance.test_cli_runner().invoke(args=["restore", str(target)])
    assert result.exit_code == 0, result.output
    assert "event(s) verified, up to the backup's head" in result.output
    assert "missing or damaged: 0" in result.output
    with empty_instance.app_context():
        from portal.core.db import get_session

        session = get_session()
        assert session.scalar(select(RecordRequest.reference)) == data["request"]
        document = session.get(StoredDocument, data["document"])
        with open_document(document) as reader:
            assert reader.read().startswith(b"%PDF-1.4 Marisol Ybarra chart")
    verify = empty_instance.test_cli_runner().invoke(args=["audit", "verify"])
    assert verify.exit_code == 0, verify.output
    fsck = empty_instance.test_cli_runner().invoke(args=["fsck"])
    assert fsck.exit_code == 0, fsck.output


def test_a_restore_onto_an_instance_that_holds_data_is_refused(app, runner, data, tmp_path):
    target = tmp_path / "backup"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    result = runner.invoke(args=["restore", str(target)])
    assert result.exit_code == 1
    assert "The database already holds tables" in result.output


def test_a_backup_directory_that_is_not_empty_or_not_writable_is_refused(runner, tmp_path):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "old.txt").write_text("an older backup")
    result = runner.invoke(args=["backup", str(busy)])
    assert result.exit_code == 1 and "is not empty" in result.output
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = runner.invoke(args=["backup", str(blocker / "below")])
    assert result.exit_code == 1 and "Cannot write to" in result.output


@pytest.mark.parametrize("tamper", ["manifest", "database", "file", "type"])
def test_a_tampered_backup_is_refused_and_nothing_is_restored(app, runner, data, tmp_path,
                                                               empty_instance, tamper):
    from portal.trail.signing import load_private_key, sign_manifest

    target = tmp_path / "backup"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    if tamper == "manifest":
        manifest["files_gone"] = ["x"]
        manifest_path.write_text(json.dumps(manifest))
        expected = "signature does not verify"
    elif tamper == "type":  # another signed document, validly signed, is not a backup
        manifest["document_type"] = "audit-export"
        manifest_path.write_text(json.dumps(sign_manifest(
            manifest, load_private_key(app.config["KEY_DIR"]))))
        expected = "is not a backup manifest"
    else:
        path = target / "database.enc" if tamper == "database" else next(
            (target / "files").iterdir())
        data_bytes = bytearray(path.read_bytes())
        data_bytes[len(data_bytes) // 2] ^= 1
        path.write_bytes(bytes(data_bytes))
        expected = "differs from the signed manifest"
    result = empty_instance.test_cli_runner().invoke(args=["restore", str(target)])
    assert result.exit_code == 1 and expected in result.output
    from sqlalchemy import inspect

    assert inspect(empty_instance.extensions["db_engine"]).get_table_names() == []


def test_the_restore_checks_the_manifest_with_the_public_key_alone(app, runner, data, tmp_path,
                                                                   empty_instance):
    from portal.trail.signing import load_private_key, public_key_pem

    target = tmp_path / "backup"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    pem = tmp_path / "public.pem"
    pem.write_text(public_key_pem(load_private_key(app.config["KEY_DIR"])))
    (Path(empty_instance.config["KEY_DIR"]) / "export_signing.key").unlink()
    result = empty_instance.test_cli_runner().invoke(
        args=["restore", str(target), "--public-key", str(pem)])
    assert "Database restored" in result.output, result.output
    with empty_instance.app_context():
        from portal.core.db import get_session
        from portal.requests.models import RecordRequest

        assert get_session().scalar(select(func.count()).select_from(RecordRequest)) == 1
