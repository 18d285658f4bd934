"""Failures a visitor can meet: the database gone, the disk full, a unit of work that fails.

Nothing half-written is left behind, and the answer is the portal's own page saying what to do.
"""

from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from portal.storage.models import StoredDocument


def _stored_files(app) -> list[Path]:
    """Every file in the store, pending markers included (a marker left is a leak too)."""
    return [p for p in Path(app.config["STORAGE_DIR"]).rglob("*") if p.is_file()]


@pytest.fixture
def database_down(app):
    """Every new connection and every statement fails, as while PostgreSQL restarts."""
    engine = app.extensions["db_engine"]
    engine.dispose()

    def refuse(*_args, **_kwargs):
        raise OperationalError("connect", {}, ConnectionRefusedError("database restarting"))

    event.listen(engine, "do_connect", refuse)
    yield
    event.remove(engine, "do_connect", refuse)


def test_the_error_page_renders_while_the_database_is_down(app, client, auth, database_down):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 handler answers
    response = client.get("/sign-in/link/" + "x" * 43)
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "Please try again in a few minutes" in page and "<html" in page
    assert "Traceback" not in page and "OperationalError" not in page


def test_the_error_page_renders_for_a_signed_in_clerk_while_the_database_is_down(
        app, client, auth, db):
    from portal.core.db import commit
    from tests.factories import make_staff

    staff = make_staff(db, "clerk")
    commit()
    auth.staff(staff.id)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    engine = app.extensions["db_engine"]
    engine.dispose()

    def refuse(*_args, **_kwargs):
        raise OperationalError("connect", {}, ConnectionRefusedError("database restarting"))

    event.listen(engine, "do_connect", refuse)
    try:
        response = client.get("/staff/queue")
    finally:
        event.remove(engine, "do_connect", refuse)
    assert response.status_code == 503
    assert "Please try again in a few minutes" in response.get_data(as_text=True)


def test_a_file_written_in_a_unit_of_work_that_rolls_back_is_removed(app, db):
    from portal.core.actor import SYSTEM
    from portal.core.db import commit, rollback
    from portal.storage.operations import save_document

    with app.app_context():
        from portal.core.db import get_session

        save_document(get_session(), io.BytesIO(b"%PDF-1.4 kept"), kind="record",
                      filename="kept.pdf", media_type="application/pdf", actor=SYSTEM)
        commit()
    kept = _stored_files(app)
    assert len(kept) == 1
    with app.app_context():
        from portal.core.db import get_session

        save_document(get_session(), io.BytesIO(b"%PDF-1.4 lost"), kind="record",
                      filename="lost.pdf", media_type="application/pdf", actor=SYSTEM)
        assert len(_stored_files(app)) == 3  # the new file and its pending marker
        rollback()
    assert _stored_files(app) == kept


def test_a_file_is_removed_when_the_commit_itself_fails(app):
    from portal.core.actor import SYSTEM
    from portal.core.db import commit, get_session
    from portal.storage.operations import save_document

    with app.app_context():
        session = get_session()
        save_document(session, io.BytesIO(b"%PDF-1.4 x"), kind="record", filename="x.pdf",
                      media_type="application/pdf", actor=SYSTEM)
        # A second document under the same storage key: the commit's flush fails.
        doc = session.scalar(select(StoredDocument))
        session.add(StoredDocument(storage_key=doc.storage_key, kind="record", filename="y",
                                   media_type="application/pdf", size=1, sha256="0" * 64))
        with pytest.raises(Exception):  # noqa: B017 - the driver's IntegrityError
            commit()
        from portal.core.db import rollback

        rollback()
    assert _stored_files(app) == []


def test_a_full_disk_refuses_the_upload_clearly_and_keeps_no_part_of_it(app, monkeypatch):
    """ENOSPC while writing: HTTP 503 with what to do; no file, no row."""
    import os

    from portal.storage import filestore

    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(filestore.os, "fsync", full)
    from portal.core.actor import SYSTEM
    from portal.core.db import get_session
    from portal.storage.operations import save_document

    with app.app_context(), pytest.raises(filestore.StorageFull) as refused:
        save_document(get_session(), io.BytesIO(b"data"), kind="record", filename="a.pdf",
                      media_type="application/pdf", actor=SYSTEM)
    monkeypatch.setattr(filestore.os, "fsync", real_fsync)
    assert refused.value.code == 503 and "nothing from this page was saved" in str(
        refused.value.description)
    assert _stored_files(app) == []
    with app.app_context():
        assert get_session().scalar(select(StoredDocument)) is None


def test_a_full_disk_during_a_wizard_upload_shows_the_portal_s_page_and_keeps_the_answers(
        app, client, monkeypatch):
    from portal.storage import filestore
    from tests.journey.samples import PATIENT_ANSWERS, Wizard, jpeg_bytes

    wizard = Wizard(client)
    wizard.fill(PATIENT_ANSWERS, until="documents")

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(filestore.os, "fsync", full)
    response = wizard.post("documents", files={"photo_id": ("id.jpg", jpeg_bytes())})
    assert response.status_code == 503
    assert "nothing from this page was saved" in response.get_data(as_text=True)
    monkeypatch.undo()
    assert _stored_files(app) == []
    page = client.get("/request/step/contact").get_data(as_text=True)
    assert PATIENT_ANSWERS["contact"]["email"] in page


def test_a_file_of_a_process_killed_before_its_commit_is_swept(app, runner):
    """kill -9 between the write and the commit: the file stays marked pending, and the
    sweep (every quarter of an hour) removes it; fsck never calls it an orphan."""
    import os
    import time

    from portal.core.actor import SYSTEM
    from portal.core.db import commit, get_session
    from portal.storage.operations import save_document, sweep_pending

    with app.app_context():
        session = get_session()
        save_document(session, io.BytesIO(b"%PDF-1.4 killed"), kind="record",
                      filename="k.pdf", media_type="application/pdf", actor=SYSTEM)
        session.info.clear()  # the process dies: neither its rollback nor its commit runs
    [marker] = (Path(app.config["STORAGE_DIR"]) / ".pending").iterdir()
    os.utime(marker, (time.time(), time.time()))  # marked now by the app's (maybe shifted) clock
    assert "(the sweep's): 1." in runner.invoke(args=["fsck", "--grace-minutes", "0"]).output
    with app.app_context():
        assert sweep_pending(get_session()) == 0  # too recent: it may still commit
        past = time.time() - 3600
        os.utime(marker, (past, past))
        assert sweep_pending(get_session()) == 1
        commit()
    assert _stored_files(app) == []
    result = runner.invoke(args=["fsck", "--grace-minutes", "0"])
    assert result.exit_code == 0 and "Files no row points to: 0." in result.output
