"""`flask --app portal fsck`: stored files against their rows, both ways (and --repair)."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest


@pytest.fixture
def documents(app):
    """Two stored documents, committed: returns their storage keys."""
    from portal.core.actor import SYSTEM
    from portal.core.db import commit, get_session
    from portal.storage.operations import save_document

    keys = []
    with app.app_context():
        for n in range(2):
            doc = save_document(get_session(), io.BytesIO(b"%PDF-1.4 " + bytes([n]) * 5000),
                                kind="record", filename=f"{n}.pdf",
                                media_type="application/pdf", actor=SYSTEM)
            keys.append(doc.storage_key)
        commit()
    return keys


def _file(app, key: str) -> Path:
    (path,) = Path(app.config["STORAGE_DIR"]).glob(f"??/??/{key}")
    return path


def _age(path: Path, hours: float = 2) -> None:
    past = time.time() - hours * 3600
    os.utime(path, (past, past))


def _orphan(app) -> str:
    """A file written by a unit of work that was killed before its commit."""
    from portal.storage.operations import file_store

    with app.app_context():
        key = file_store().put(io.BytesIO(b"orphaned upload")).storage_key
    _age(_file(app, key))
    return key


def test_a_consistent_store_passes(runner, documents):
    result = runner.invoke(args=["fsck"])
    assert result.exit_code == 0, result.output
    assert "Documents: 2. Files: 2." in result.output
    assert "Files no row points to: 0." in result.output
    assert "Files failing their integrity check: 0." in result.output


def test_an_orphan_is_found_then_quarantined_with_repair(app, runner, documents):
    key = _orphan(app)
    result = runner.invoke(args=["fsck"])
    assert result.exit_code == 1 and "Files no row points to: 1." in result.output
    result = runner.invoke(args=["fsck", "--repair"])
    assert result.exit_code == 0, result.output
    assert "Files no row points to: 1 (quarantined 1)." in result.output
    assert (Path(app.config["STORAGE_DIR"]) / ".quarantine" / key).exists()
    assert "Files no row points to: 0." in runner.invoke(args=["fsck"]).output


def test_a_file_written_in_the_last_hour_may_belong_to_a_running_upload_and_is_left(
        app, runner, documents):
    from portal.storage.operations import file_store

    with app.app_context():
        key = file_store().put(io.BytesIO(b"in flight")).storage_key
    _age(_file(app, key), hours=0)  # written now by the app's clock (the tests may shift it)
    result = runner.invoke(args=["fsck", "--repair"])
    assert result.exit_code == 0
    assert "1 more written in the last 60 minutes, left alone" in result.output
    assert _file(app, key).exists()


def test_a_missing_file_and_a_damaged_file_are_reported_by_document(app, runner, documents):
    from sqlalchemy import select

    from portal.core.db import get_session
    from portal.storage.models import StoredDocument

    _file(app, documents[0]).unlink()
    damaged = _file(app, documents[1])
    data = bytearray(damaged.read_bytes())
    data[-5] ^= 1
    damaged.write_bytes(bytes(data))
    with app.app_context():
        ids = dict(get_session().execute(
            select(StoredDocument.storage_key, StoredDocument.id)).all())
    result = runner.invoke(args=["fsck"])
    assert result.exit_code == 1
    assert f"Rows whose file is missing: 1 (documents {ids[documents[0]]})." in result.output
    assert f"integrity check: 1 (documents {ids[documents[1]]})." in result.output


def test_a_half_written_upload_is_removed_with_repair(app, runner, documents):
    stale = Path(app.config["STORAGE_DIR"]) / ".incoming-killed"
    stale.write_bytes(b"partial")
    _age(stale)
    assert "Half-written uploads: 1." in runner.invoke(args=["fsck"]).output
    assert "Half-written uploads: 1 (removed)." in runner.invoke(args=["fsck", "--repair"]).output
    assert not stale.exists()
