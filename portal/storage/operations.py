"""Storing and reading documents: the encrypted store plus the StoredDocument row."""

from __future__ import annotations

import contextlib
import hashlib
import io
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.core.actor import SYSTEM, Actor
from portal.core.db import after_commit, on_rollback, utcnow
from portal.core.keys import FILE_KEY_FILE, keyed_app_object
from portal.jobs.outbox import JobContext, handler
from portal.storage.filestore import (
    FileStore,
    IntegrityError,
    LocalEncryptedFileStore,
    UnknownFile,
)
from portal.storage.models import StoredDocument
from portal.trail.chain import append_event


def _build_store(app, key: bytes) -> FileStore:
    """STORAGE_BACKEND "local" (a directory, the default) or "s3" (an S3-compatible bucket)."""
    backend = app.config.get("STORAGE_BACKEND", "local")
    if backend == "s3":
        from portal.storage.s3 import S3EncryptedFileStore, make_client

        if not app.config.get("STORAGE_S3_BUCKET"):
            raise RuntimeError("STORAGE_BACKEND 's3' needs STORAGE_S3_BUCKET")
        return S3EncryptedFileStore(make_client(app.config), app.config["STORAGE_S3_BUCKET"],
                                    key, prefix=app.config.get("STORAGE_S3_PREFIX", "files/"))
    if backend != "local":
        raise RuntimeError(f"STORAGE_BACKEND must be 'local' or 's3', not {backend!r}")
    return LocalEncryptedFileStore(Path(app.config["STORAGE_DIR"]), key)


def file_store() -> FileStore:
    """The app's file store (one per app, created on first use)."""
    return keyed_app_object("file_store", FILE_KEY_FILE, "file-encryption key", _build_store)


def save_document(
    session: Session,
    stream: BinaryIO,
    *,
    kind: str,
    filename: str,
    media_type: str,
    actor: Actor,
    max_bytes: int | None = None,
    audit: bool = True,
    original: bytes | None = None,
    **links,
) -> StoredDocument:
    """Encrypt a stream into the store and record it; ``links`` set request_id, part_id, etc.

    ``original``: for an upload rebuilt inert, the bytes as received, stored (encrypted) as a
    document of kind 'original' pointing at this one, with no other link (R-SEC-2).
    """
    store = file_store()
    # Marked pending until the unit of work commits; if it does not, no row will point to the
    # file: it is removed at the rollback, or by the sweep if the process was killed.
    blob = store.put(stream, max_bytes=max_bytes, pending=True)
    key = blob.storage_key
    on_rollback(session, lambda: (store.delete(key), store.clear_pending(key)))
    after_commit(lambda: store.clear_pending(key), session)
    document = StoredDocument(
        storage_key=blob.storage_key,
        kind=kind,
        filename=filename[:255],
        media_type=media_type,
        size=blob.size,
        sha256=blob.sha256,
        uploaded_by_staff_id=actor.id if actor.kind == "staff" else None,
        uploaded_by_requester_id=actor.id if actor.kind == "requester" else None,
        **links,
    )
    session.add(document)
    session.flush()
    if audit:
        append_event(
            session, "document.stored", actor=actor, object_type="document",
            object_id=document.id, request_id=document.request_id,
            summary={"kind": kind, "size": blob.size},
        )
    if original:
        kept = save_document(session, io.BytesIO(original), kind="original", filename=filename,
                             media_type="application/octet-stream", actor=actor, audit=False,
                             original_of_id=document.id)
        if audit:
            append_event(session, "document.original_kept", actor=actor,
                         object_type="document", object_id=kept.id,
                         request_id=document.request_id,
                         summary={"copy": document.id, "size": kept.size})
    return document


def delete_document(session: Session, document: StoredDocument) -> None:
    """Remove a document row (and its kept original) now, and their encrypted files once the
    transaction commits."""
    # The original's row goes with its copy (ON DELETE CASCADE); its file is removed here.
    keys = [document.storage_key, *session.scalars(select(StoredDocument.storage_key).where(
        StoredDocument.original_of_id == document.id))]
    session.delete(document)
    session.flush()
    store = file_store()

    def _remove_files() -> None:
        for key in keys:
            with contextlib.suppress(UnknownFile):
                store.delete(key)

    after_commit(_remove_files)


def open_document(document: StoredDocument) -> BinaryIO:
    """A decrypting, verifying stream of a stored document (callers audit the access)."""
    return file_store().open(document.storage_key)


@dataclass
class FsckReport:
    """What `flask --app portal fsck` found: counts for the operator, storage keys for repair."""

    rows: int = 0
    files: int = 0
    orphans: list[str] = field(default_factory=list)  # a file no row points to
    recent: int = 0  # unreferenced but younger than the grace period (a write in progress)
    missing: list[int] = field(default_factory=list)  # document ids whose file is gone
    damaged: list[int] = field(default_factory=list)  # document ids failing the check
    incomplete: int = 0  # half-written uploads left by a killed process
    pending: int = 0  # written by a unit of work not committed (yet, or ever: the sweep's)
    swept: int = 0
    quarantined: int = 0


def verify_document(document: StoredDocument) -> None:
    """Read the whole stored file once and compare its digest; raises IntegrityError (a
    downloaded packet is checked before it leaves, `fsck` checks every file)."""
    digest = hashlib.sha256()
    with open_document(document) as reader:
        for chunk in iter(lambda: reader.read(1024 * 1024), b""):
            digest.update(chunk)
    if digest.hexdigest() != document.sha256:
        raise IntegrityError(document.storage_key)


def sweep_pending(session: Session, *, older_than: timedelta = timedelta(minutes=15)) -> int:
    """Files whose unit of work never committed (the process was killed): removed, unless a
    row points to them after all (killed between the commit and clearing the marker).
    Returns how many files were removed."""
    store = file_store()
    cutoff = utcnow() - older_than
    removed = 0
    for storage_key, marked in list(store.pending_keys()):
        if marked >= cutoff:
            continue
        referenced = session.scalar(
            select(StoredDocument.id).where(StoredDocument.storage_key == storage_key))
        if referenced is None and store.exists(storage_key):
            store.delete(storage_key)
            removed += 1
        store.clear_pending(storage_key)
    if removed:
        append_event(session, "storage.swept", actor=SYSTEM, object_type="file_store",
                     summary={"removed": removed})
    return removed


@handler("storage.sweep_pending")
def sweep_pending_job(session: Session, _payload: dict, _context: JobContext) -> None:
    """Every quarter of an hour (portal/jobs/dispatch.py SCHEDULE)."""
    sweep_pending(session)


def check_store(session: Session, *, repair: bool = False, verify_content: bool = True,
                grace: timedelta = timedelta(hours=1)) -> FsckReport:
    """Compare the file store with the StoredDocument rows, in both directions.

    Files written less than ``grace`` ago may belong to a unit of work still running, so
    they are counted apart and never touched. With ``repair`` orphans are moved to the
    quarantine (never deleted: a person decides) and half-written uploads are removed; rows
    whose file is missing or damaged are only reported, since nothing here can restore them.
    """
    store = file_store()
    report = FsckReport()
    cutoff = utcnow() - grace
    if repair:
        report.swept = sweep_pending(session, older_than=grace)
    pending = {key for key, _marked in store.pending_keys()}
    # One query for every row's key, id and digest (what the checks below need).
    documents = {row.storage_key: row for row in session.execute(
        select(StoredDocument.storage_key, StoredDocument.id, StoredDocument.sha256))}
    rows = {key: row.id for key, row in documents.items()}
    report.rows = len(rows)
    present = set()
    for storage_key, written in store.iter_keys():
        report.files += 1
        present.add(storage_key)
        if storage_key not in rows:
            if storage_key in pending:
                report.pending += 1
            elif written < cutoff:
                report.orphans.append(storage_key)
            else:
                report.recent += 1
    for storage_key, document_id in rows.items():
        if storage_key not in present:
            report.missing.append(document_id)
        elif verify_content:
            try:
                verify_document(documents[storage_key])
            except IntegrityError:
                report.damaged.append(document_id)
    stale = store.stale_incoming(cutoff)
    report.incomplete = len(stale)
    if repair:
        for storage_key in report.orphans:
            store.quarantine(storage_key)
            report.quarantined += 1
        for item in stale:
            store.discard_incoming(item)
    append_event(session, "storage.checked", actor=SYSTEM, object_type="file_store", summary={
        "rows": report.rows, "files": report.files, "orphans": len(report.orphans),
        "missing": len(report.missing), "damaged": len(report.damaged),
        "incomplete": report.incomplete, "quarantined": report.quarantined})
    return report
